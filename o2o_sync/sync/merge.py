"""Snapshots of the last sync and the three-way merge (contract, "Both directions").

A Sync Mapping keeps the snapshot of both sides as they were at the last sync: the portal
view (`columns.portal_view`) and the ERPNext view (the port's `invoice_view`). A portal
edit is compared with it column by column, and ERPNext's edits field group by field group:
what only the portal changed is applied, what both changed is a conflict. The snapshot
carries the column registry's version; one saved under another registry is upgraded
before it is compared. Frappe-free.
"""

import hashlib
import json
from collections.abc import Iterable

from .columns import REGISTRY, Column, erpnext_header_fields, groups_by_column, header_columns, line_columns

# ---------------------------------------------------------------- snapshots

#: The line columns of snapshots saved before snapshots carried a version.
LEGACY_LINE_COLUMNS = ("id", "product_id", "quantity", "unit_rate", "uom", "cost", "gst_amt")


def _line_keys(registry) -> list[str]:
	return [c.key for c in line_columns(registry) if c.compared]


def registry_version(registry: Iterable[Column] = REGISTRY) -> str:
	"""A short fingerprint of what a snapshot holds: the compared columns and ERPNext fields."""
	registry = tuple(registry)
	parts = [
		[c.key for c in header_columns(registry) if c.compared],
		_line_keys(registry),
		sorted(erpnext_header_fields(registry)),
	]
	return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


def make_snapshot(portal: dict | None, erpnext: dict | None, registry: Iterable[Column] = REGISTRY) -> dict:
	"""The snapshot of the last sync saved on the Sync Mapping: both views and the version."""
	registry = tuple(registry)
	return {
		"version": registry_version(registry),
		"line_columns": _line_keys(registry),
		"portal": portal,
		"erpnext": erpnext,
	}


def upgrade_snapshot(
	snapshot: dict | None, portal_now: dict, erpnext_now: dict | None, registry: Iterable[Column] = REGISTRY
) -> dict:
	"""A snapshot saved under another registry, brought to this one.

	A column added since takes its current value as its base (so it does not read as an
	edit), on the portal side, in each line still there, and for a new ERPNext header field;
	a column removed since is dropped. Returns the snapshot unchanged when its version is
	current, an empty-view snapshot for None.
	"""
	registry = tuple(registry)
	if not snapshot:
		return make_snapshot(None, None, registry)
	if snapshot.get("version") == registry_version(registry):
		return snapshot
	portal, erpnext = snapshot.get("portal"), snapshot.get("erpnext")
	if portal is not None:
		old_cols = snapshot.get("line_columns") or LEGACY_LINE_COLUMNS
		new_cols = _line_keys(registry)
		current_lines = {
			line[0]: dict(zip(new_cols, line, strict=False)) for line in portal_now.get("lines", [])
		}
		lines = []
		for old in portal.get("lines", []):
			values = dict(zip(old_cols, old, strict=False))
			now = current_lines.get(values.get("id"), {})
			lines.append([values[k] if k in values else now.get(k) for k in new_cols])
		portal = {k: (portal[k] if k in portal else portal_now.get(k)) for k in portal_now if k != "lines"}
		portal["lines"] = lines
	if erpnext is not None and erpnext_now is not None:
		erpnext = {k: (erpnext[k] if k in erpnext else erpnext_now.get(k)) for k in erpnext_now}
	return make_snapshot(portal, erpnext, registry)


# ---------------------------------------------------------------- change detection


def changed_columns(old: dict | None, new: dict) -> list[str]:
	"""Portal view keys whose value differs between two `portal_view`s (all when `old` is None)."""
	if old is None:
		return sorted(new)
	return sorted(k for k in new if old.get(k) != new.get(k))


def changed_groups(old: dict | None, new: dict) -> set[str]:
	"""Keys of two ERPNext views whose values differ (all when `old` is None)."""
	if old is None:
		return set(new)
	return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def three_way_merge(
	base_portal: dict | None,
	new_portal: dict,
	base_erp: dict | None,
	current_erp: dict,
	registry: Iterable[Column] = REGISTRY,
) -> tuple[set[str], set[str], list[str]]:
	"""Decide what a portal edit may change on a draft Purchase Invoice (three-way merge).

	Args: the portal views at the last sync and now, the ERPNext views at the last sync and
	now. Returns `(apply_groups, conflict_groups, portal_columns)`: the Purchase Invoice field
	groups to take from the portal, those ERPNext also changed since the last sync (a
	conflict), and the portal columns that moved.
	"""
	columns = changed_columns(base_portal, new_portal)
	by_column = groups_by_column(registry)
	portal_groups = {g for c in columns for g in by_column.get(c, ())}
	erp_groups = changed_groups(base_erp, current_erp) if base_erp is not None else set()
	conflicts = portal_groups & erp_groups
	return portal_groups - conflicts, conflicts, columns
