"""Settling what the sync held, from the Sync Mapping form, `frappe.call`, the console and the
bench CLI (Frappe side of `resolve.py`).

- `get_conflict(mapping)`: the held mapping with the fields in question side by side (the
  value at the last sync, the portal's now, ERPNext's now), the actions that apply and the
  table the form shows (HTML-escaped). Reads the portal; writes nothing.
- `resolve_conflict(mapping, keep=None, fields=None, action=None)`: apply a person's choice
  to both sides in one go (see `resolve.ConflictResolver.resolve`) and commit. Only Accounts
  Manager and System Manager (plus write permission on the mapping) may resolve.
- `list_conflicts()`: one dict per held mapping, for the console and `bench o2o-conflicts`.
"""

from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import escape_html, now_datetime
from frappe.utils.file_lock import LockTimeoutError

from o2o_sync.constants import CONFLICT, SYNC_MAPPING
from o2o_sync.sync.desk import require_manager
from o2o_sync.sync.engine.resolve import ConflictResolver
from o2o_sync.sync.engines import pull_settings, push_engine
from o2o_sync.sync.jobs import pull_lock
from o2o_sync.sync.model.errors import O2OSyncError, ProcureUATConnectionError

#: the most held mappings `list_conflicts` reads (each one reads the portal)
LIST_LIMIT = 200
#: seconds a resolution waits for a running pull before answering busy
PULL_WAIT_SECONDS = 30


def conflict_resolver() -> ConflictResolver:
	"""A `ConflictResolver` over the Frappe push port, the portal client and O2O Sync Settings,
	with the push engine that re-pushes ERPNext's invoices. Raises ProcureUATConnectionError
	when the portal cannot be reached."""
	pusher = push_engine()
	return ConflictResolver(
		pusher.port,
		pusher.client,
		pull_settings(),
		pusher=pusher,
		clock=now_datetime,
		registry=pusher.registry,
	)


def _record(resolver: ConflictResolver, mapping: str):
	"""The Sync Mapping `mapping` as the engine's `MappingRecord`; throws DoesNotExistError."""
	row = frappe.db.get_value(SYNC_MAPPING, mapping, ["procureuat_id", "procureuat_vendor_id"], as_dict=True)
	if not row:
		frappe.throw(_("Sync Mapping {0} not found").format(escape_html(mapping)), frappe.DoesNotExistError)
	key = (int(row.procureuat_id), int(row.procureuat_vendor_id))
	return resolver.port.get_mappings([key])[key]


@contextmanager
def _nothing_kept():
	"""Roll back whatever happens inside (reading the held state may resolve a Supplier)."""
	savepoint = "o2o_read_" + frappe.generate_hash(length=8)
	frappe.db.savepoint(savepoint)
	try:
		yield
	finally:
		frappe.db.rollback(save_point=savepoint)


def _describe(resolver: ConflictResolver, record) -> dict:
	"""The held mapping as a dict (see `held_states.HeldConflict.as_dict`), or, when the portal
	cannot be read, `{"mapping", "status", "held_reason", "error", "fields": [], "actions": []}`."""
	try:
		with _nothing_kept():
			return resolver.describe(record).as_dict()
	except O2OSyncError as e:  # the portal unreachable, the invoice gone from it
		return {
			"mapping": record.name,
			"procureuat_id": record.procureuat_id,
			"procureuat_vendor_id": record.procureuat_vendor_id,
			"purchase_invoice": record.purchase_invoice,
			"origin": record.origin,
			"held_reason": record.held_reason,
			"message": record.last_error,
			"error": str(e),
			"fields": [],
			"actions": [],
			"choosable": [],
		}


def conflict_table_html(held: dict) -> str:
	"""The form's table of a held mapping: one row per field in question with the value at the
	last sync, the portal's now and ERPNext's now, and for a draft a checkbox per field to take
	the portal's value (`data-field`). Every value is HTML-escaped (portal text may hold HTML)."""
	if held.get("error"):
		return '<div class="alert alert-warning">{}</div>'.format(
			escape_html(_("Both sides could not be read: {0}").format(held["error"]))
		)
	choosable = set(held.get("choosable") or [])
	head = [_("Field"), _("At the last sync"), _("ProcureUAT now"), _("ERPNext now")]
	if choosable:
		head.append(_("Take ProcureUAT's"))
	rows = []
	for f in held.get("fields") or []:
		cells = [f["label"], f["base"], f["portal"], f["erpnext"]]
		row = "".join(f"<td>{escape_html(str(c or '—'))}</td>" for c in cells)
		if choosable:
			box = (
				f'<input type="checkbox" class="o2o-take-portal" data-field="{escape_html(f["field"])}">'
				if f["field"] in choosable
				else ""
			)
			row += f"<td>{box}</td>"
		rows.append(f'<tr data-field="{escape_html(f["field"])}">{row}</tr>')
	reason = escape_html(held.get("held_reason") or "")
	header = "".join(f"<th>{escape_html(h)}</th>" for h in head)
	return (
		f'<div class="o2o-conflict"><p><b>{escape_html(_("Held because"))}:</b> {reason}</p>'
		f'<table class="table table-bordered table-sm"><thead><tr>{header}</tr></thead>'
		f"<tbody>{''.join(rows)}</tbody></table></div>"
	)


@frappe.whitelist(methods=["GET", "POST"])
def get_conflict(mapping: str) -> dict:
	"""Both sides of a held Sync Mapping, for its form and the console.

	Args: the Sync Mapping name. Returns `{"held": False, "status"}` when it is not in
	Conflict, else the held mapping (`mapping`, `procureuat_id`, `purchase_invoice`, `origin`,
	`held_reason`, `invoice`, `message`, `fields`: `[{field, label, base, portal, erpnext}]`,
	`actions`, `choosable`) with `held: True`, `can_resolve` (Accounts Manager / System
	Manager with write permission) and `html`, the table the form shows. Raises
	frappe.PermissionError without read permission on the mapping. Writes nothing.
	"""
	frappe.has_permission(SYNC_MAPPING, "read", mapping, throw=True)
	status = frappe.db.get_value(SYNC_MAPPING, mapping, "status")
	if status != CONFLICT:
		return {"held": False, "status": status}
	try:
		resolver = conflict_resolver()
		held = _describe(resolver, _record(resolver, mapping))
	except ProcureUATConnectionError as e:
		held = {"mapping": mapping, "error": str(e), "fields": [], "actions": [], "choosable": []}
	held["held"] = True
	held["can_resolve"] = _can_resolve(mapping)
	held["html"] = conflict_table_html(held)
	return held


def _can_resolve(mapping: str) -> bool:
	try:
		require_manager()
	except frappe.PermissionError:
		return False
	return bool(frappe.has_permission(SYNC_MAPPING, "write", mapping))


def _field_list(fields) -> list[str] | None:
	"""`fields` as a list: a list, JSON text of one, or comma-separated text."""
	if fields in (None, "", []):
		return None
	if isinstance(fields, str):
		fields = frappe.parse_json(fields) if fields.strip().startswith("[") else fields.split(",")
	return [str(f).strip() for f in fields if str(f).strip()]


@frappe.whitelist(methods=["POST"])
def resolve_conflict(mapping: str, keep: str | None = None, fields=None, action: str | None = None) -> dict:
	"""Settle a held Sync Mapping: apply a person's choice to both sides and commit.

	Args: the Sync Mapping name; `keep`, "ERPNext" or "ProcureUAT" (the side whose values
	stay); `fields`, on a draft, the fields to take from ProcureUAT, the rest kept from
	ERPNext (a list, JSON text or "a,b"); `action`, instead of `keep`, one of the actions the
	held state offers ("Keep ERPNext", "Keep ProcureUAT", "Choose per field", "Amend from
	ProcureUAT", "Cancel in ERPNext", "Link anyway", "Create from ProcureUAT").
	Returns `{"status": "Synced", "action", "fields", "purchase_invoice", "message"}`; a
	"Resolve" Sync Log row says who chose what, for which fields. Raises
	frappe.PermissionError unless the user is an Accounts Manager or System Manager with
	write permission on the mapping; frappe.ValidationError when the mapping is not held,
	the choice does not apply, a pull is running, or the portal or ERPNext refuses it or the
	portal cannot be reached (then nothing is applied on either side, and a Failed
	"Resolve" Sync Log row says why).
	"""
	require_manager()
	frappe.has_permission(SYNC_MAPPING, "write", mapping, throw=True)
	fields = _field_list(fields)
	try:
		with pull_lock(timeout=PULL_WAIT_SECONDS):
			resolver = conflict_resolver()
			record = _record(resolver, mapping)
			result = resolver.resolve(
				record, action=action, keep=keep, fields=fields, user=frappe.session.user
			)
	except LockTimeoutError:
		frappe.throw(_("A pull is running; try again when it has finished."), title=_("Not resolved"))
	except O2OSyncError as e:  # ResolveError, ProcureUATConnectionError, InvoiceError
		frappe.db.commit()  # nosemgrep: the Failed "Resolve" Sync Log row; nothing else was kept
		frappe.throw(escape_html(str(e)), title=_("Not resolved"))
	except Exception:
		frappe.db.commit()  # nosemgrep: ERPNext refused (e.g. a cancellation): keep the Failed row
		raise
	frappe.db.set_value(SYNC_MAPPING, mapping, "notified_at", None, update_modified=False)
	frappe.db.commit()  # nosemgrep: both sides are settled; the portal's write is already committed
	return result


@frappe.whitelist(methods=["GET", "POST"])
def list_conflicts() -> list[dict]:
	"""Every held Sync Mapping (at most `LIST_LIMIT`, oldest first), for the console and
	`bench o2o-conflicts`: one dict each with `mapping`, `invoice` (the Purchase Invoice),
	`portal_id` (`purchase_requisitions.id`), `vendor_id`, `portal_invoice` (how the portal
	names it), `origin`, `held_reason`, `message`, `fields` (`[{field, label, base, portal,
	erpnext}]`), `actions`, `choosable` and `error` (why both sides could not be read, else
	None). Raises frappe.PermissionError without read permission on Sync Mapping. Writes nothing.
	"""
	frappe.has_permission(SYNC_MAPPING, "read", throw=True)
	names = frappe.get_all(
		SYNC_MAPPING, filters={"status": CONFLICT}, pluck="name", order_by="modified asc", limit=LIST_LIMIT
	)
	if not names:
		return []
	try:
		resolver = conflict_resolver()
	except ProcureUATConnectionError as e:
		resolver, unreachable = None, str(e)
	out = []
	for name in names:
		if resolver is None:
			row = frappe.db.get_value(
				SYNC_MAPPING,
				name,
				[
					"procureuat_id",
					"procureuat_vendor_id",
					"purchase_invoice",
					"origin",
					"held_reason",
					"last_error",
				],
				as_dict=True,
			)
			held = {
				**row,
				"message": row.pop("last_error"),
				"error": unreachable,
				"fields": [],
				"actions": [],
			}
		else:
			held = _describe(resolver, _record(resolver, name))
		out.append(
			{
				"mapping": name,
				"invoice": held.get("purchase_invoice"),
				"portal_id": held.get("procureuat_id"),
				"vendor_id": held.get("procureuat_vendor_id"),
				"portal_invoice": held.get("invoice"),
				"origin": held.get("origin"),
				"held_reason": held.get("held_reason"),
				"message": held.get("message"),
				"fields": held.get("fields") or [],
				"actions": held.get("actions") or [],
				"choosable": held.get("choosable") or [],
				"error": held.get("error"),
			}
		)
	return out
