"""Snapshots of the last sync and the three-way merge (contract, "Both directions").

A Sync Mapping keeps the snapshot of both sides as they were at the last sync: the portal
view (`columns.portal_view`) and the ERPNext view (the port's `invoice_view`). A portal
edit is compared with it column by column, and ERPNext's edits field group by field group:
what only the portal changed is applied, what both changed is a conflict, unless both
changed it to the same value (`same_as_portal`). The snapshot carries the column
registry's version; one saved under another registry is upgraded before it is compared.
`erpnext_edited_later` is the clock comparison of the "Latest edit wins" strategy.
Frappe-free.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from o2o_sync.sync.model.columns import (
	LINE_FIELD,
	PULL,
	REGISTRY,
	Column,
	erpnext_header_fields,
	erpnext_line_fields,
	groups_by_column,
	header_columns,
	line_columns,
)
from o2o_sync.sync.model.records import InvoiceSpec

#: The portal's clock: its DATETIME columns are naive Asia/Kolkata local time (contract, "Tables").
PORTAL_TIME_ZONE = ZoneInfo("Asia/Kolkata")

# ---------------------------------------------------------------- snapshots

#: The line columns of snapshots saved before snapshots carried a version.
LEGACY_LINE_COLUMNS = ("id", "product_id", "quantity", "unit_rate", "uom", "cost", "gst_amt")


def _line_keys(registry) -> list[str]:
	return [c.key for c in line_columns(registry) if c.compared and c.role != LINE_FIELD]


def registry_version(registry: Iterable[Column] = REGISTRY) -> str:
	"""A short fingerprint of what a snapshot holds: the compared columns and ERPNext fields."""
	registry = tuple(registry)
	parts = [
		[c.key for c in header_columns(registry) if c.compared],
		_line_keys(registry),
		sorted(erpnext_header_fields(registry)),
	]
	mapped_lines = [c.view_key for c in line_columns(registry) if c.role == LINE_FIELD]
	if mapped_lines:  # field maps of line columns (issue 12); older registries hash as before
		parts.append([mapped_lines, sorted(erpnext_line_fields(registry))])
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
	snapshot: dict | None,
	portal_now: dict,
	erpnext_now: dict | None,
	registry: Iterable[Column] = REGISTRY,
	docstatus: int = 0,
) -> dict:
	"""A snapshot saved under another registry, brought to this one.

	A column added since takes its current value as its base (so it does not read as an
	edit), on the portal side, in each line still there, and for a new ERPNext header field;
	a column removed since is dropped. Returns the snapshot unchanged when its version is
	current, an empty-view snapshot for None.

	A column added by a field map (issue 12) whose Purchase Invoice field does not hold the
	portal's value yet is filled once: its portal base is None (the portal reads as having
	changed it, ERPNext as not), so the three-way merge takes the portal's value; only on a
	draft (`docstatus` 0), or a submitted invoice when the field allows on submit. Nothing
	reads as ERPNext's edit, so adding a map never makes a conflict.
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
		fill = _to_fill(portal, portal_now, erpnext_now, registry, docstatus)
		portal = {
			k: (portal[k] if k in portal else None if k in fill else portal_now.get(k))
			for k in portal_now
			if k != "lines"
		}
		portal["lines"] = lines
	if erpnext is not None and erpnext_now is not None:
		erpnext = {k: (erpnext[k] if k in erpnext else erpnext_now.get(k)) for k in erpnext_now}
	return make_snapshot(portal, erpnext, registry)


def _to_fill(portal: dict, portal_now: dict, erpnext_now: dict | None, registry, docstatus: int) -> set[str]:
	"""Portal view keys of newly mapped columns whose field ERPNext does not hold as the
	portal now does (see `upgrade_snapshot`)."""
	if erpnext_now is None:
		return set()
	fill = set()
	for c in registry:
		key = c.view_key
		if (
			not c.mapped
			or not c.compared
			or PULL not in c.directions
			or key in portal
			or key not in portal_now
		):
			continue
		if docstatus == 1 and not (c.allow_on_submit and c.role != LINE_FIELD):
			continue
		if docstatus not in (0, 1) or portal_now[key] in (None, "", []):
			continue
		group = c.groups[0] if c.groups else None
		now = erpnext_now.get(group)
		if c.role == LINE_FIELD:
			differs = [[i, text_of(v)] for i, v in portal_now[key]] != [[i, text_of(v)] for i, v in now or []]
		else:
			differs = text_of(portal_now[key]) != text_of(now)
		if differs:
			fill.add(key)
	return fill


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
	same: Callable[[set[str]], set[str]] | None = None,
) -> tuple[set[str], set[str], list[str]]:
	"""Decide what a portal edit may change on a draft Purchase Invoice (three-way merge).

	Args: the portal views at the last sync and now, the ERPNext views at the last sync and
	now; `same`, called with the groups the portal changed when ERPNext changed some of them
	too, gives those ERPNext already holds as the portal's new values map to (e.g.
	`same_as_portal`): neither a conflict nor written.
	Returns `(apply_groups, conflict_groups, portal_columns)`: the Purchase Invoice field
	groups to take from the portal, those ERPNext also changed since the last sync to another
	value (a conflict; both sides making the same change is not one, and nothing is written
	for it), and the portal columns that moved.
	"""
	columns = changed_columns(base_portal, new_portal)
	by_column = groups_by_column(registry)
	portal_groups = {g for c in columns for g in by_column.get(c, ())}
	erp_groups = changed_groups(base_erp, current_erp) if base_erp is not None else set()
	both = portal_groups & erp_groups
	equal = set(same(set(portal_groups))) if both and same else set()
	return portal_groups - both - equal, both - equal, columns


# ---------------------------------------------------------------- comparing values across the sides


def text_of(value) -> str:
	"""A header value as both views spell it: ISO dates, stripped text, '' for None."""
	if value is None:
		return ""
	if isinstance(value, datetime):
		return value.date().isoformat()
	if isinstance(value, date):
		return value.isoformat()
	return str(value).strip()


def _number(value) -> Decimal | None:
	try:
		return Decimal(str(value))
	except (InvalidOperation, ValueError):
		return None


def _item_essentials(rows) -> list[tuple]:
	"""(portal line id, item code, qty, rate) of each Purchase Invoice Item, in order."""
	return [(row[0] or None, row[1], _number(row[2]), _number(row[3])) for row in rows]


def same_as_portal(
	groups: Iterable[str], spec: InvoiceSpec, erp_view: dict, net_total: Decimal, gst_total: Decimal
) -> set[str]:
	"""The field groups whose value ERPNext already holds as the portal's new value maps to.

	Args: candidate groups; the spec of the portal invoice now (`spec.build_spec`); the
	ERPNext view now and ERPNext's net and GST totals (rupees). A header group compares the
	spec's header value with the view's (dates as ISO text, text stripped; a `due_date` left
	to payment terms never compares equal); `company` the company; `items` and `taxes` (one
	unit) compare each Item's portal line id, item code, quantity and rate, and the totals
	within the spec's tolerance (the GST split and slabs show in the GST total).
	"""
	same = set()
	lines_equal = None
	for group in groups:
		if group == "company":
			equal = spec.company == erp_view.get("company")
		elif group in ("items", "taxes"):
			if lines_equal is None:
				want = [
					(li.procureuat_item_id, li.item_code, Decimal(li.qty), Decimal(li.rate))
					for li in spec.items
				]
				exp = spec.expected
				lines_equal = (
					want == _item_essentials(erp_view.get("items") or [])
					and abs(Decimal(net_total) - exp.net_total) <= exp.tolerance
					and abs(Decimal(gst_total) - exp.gst_total) <= exp.tolerance
				)
			equal = lines_equal
		elif spec.header.get(group) is not None:
			equal = text_of(spec.header[group]) == text_of(erp_view.get(group))
		else:
			equal = False
		if equal:
			same.add(group)
	return same


def erpnext_edited_later(portal_changed_at: datetime | None, erpnext_modified: datetime | None) -> bool:
	"""True when ERPNext's last edit is not older than the portal's ("Latest edit wins").

	Args: the portal invoice's change time (naive Asia/Kolkata, `PortalInvoice.change_ts`);
	ERPNext's `modified`, aware in the site's time zone (a naive one is taken as Asia/Kolkata).
	Both are compared in Asia/Kolkata. A tie keeps ERPNext's value (nothing is overwritten on
	a doubt); no portal time keeps ERPNext's, no ERPNext time takes the portal's.
	"""
	if erpnext_modified is None:
		return False
	if portal_changed_at is None:
		return True
	if erpnext_modified.tzinfo is not None:
		erpnext_modified = erpnext_modified.astimezone(PORTAL_TIME_ZONE).replace(tzinfo=None)
	return erpnext_modified >= portal_changed_at.replace(tzinfo=None)
