"""The port's bookkeeping: transactions, the pull cursor, Sync Mappings and Sync Logs."""

import json
from contextlib import contextmanager

import frappe
from frappe.utils import get_datetime, now_datetime

from o2o_sync.constants import (
	F_INVOICE_NUMBER,
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	PURCHASE_INVOICE,
	SETTINGS,
	SYNC_LOG,
	SYNC_MAPPING,
)

from ..port import LogEntry, MappingRecord

#: Sync Mapping fields, as `MappingRecord` attributes.
MAPPING_FIELDS = (
	"name",
	F_PROCUREUAT_ID,
	F_VENDOR_ID,
	"purchase_invoice",
	"origin",
	"status",
	F_INVOICE_NUMBER,
	"entity_id",
	"portal_hash",
	"erpnext_hash",
	"snapshot",
	"portal_updated_at",
	"last_synced_at",
	"finance_status",
	"conflict_fields",
	"last_error",
)
#: Sync Log fields, as `LogEntry` attributes.
LOG_FIELDS = (
	"direction",
	"operation",
	"status",
	"reference_doctype",
	"reference_name",
	F_PROCUREUAT_ID,
	"message",
	"traceback",
	"duration_ms",
)
LOG_INT_FIELDS = (F_PROCUREUAT_ID, "duration_ms")  # Frappe Int columns are NOT NULL

CURSOR_TS = "pull_cursor_updated_at"
CURSOR_ID = "pull_cursor_id"


def amendment_chain(name: str) -> list[str]:
	"""`name` and every Purchase Invoice it amends, newest first (follows `amended_from`)."""
	chain = [name]
	while True:
		previous = frappe.db.get_value(PURCHASE_INVOICE, chain[-1], "amended_from")
		if not previous or previous in chain:
			return chain
		chain.append(previous)


class Bookkeeping:
	"""Transactions, cursor, mappings and logs of `FrappePort` (a mixin: `FrappePort` gives
	`_forget_caches`)."""

	# ------------------------------------------------------------ transactions

	@contextmanager
	def atomic(self):
		"""A database savepoint; rolled back (and re-raised) on any exception, and the
		port's caches forgotten (what they name may have been rolled back)."""
		savepoint = "o2o_" + frappe.generate_hash(length=10)
		frappe.db.savepoint(savepoint)
		try:
			yield
		except BaseException:
			frappe.db.rollback(save_point=savepoint)
			self._forget_caches()
			raise
		else:
			frappe.db.release_savepoint(savepoint)

	def commit(self):
		"""Make what was done so far durable (the scheduler's pull commits each batch)."""
		frappe.db.commit()  # nosemgrep: the scheduler's pull commits each batch it finished

	# ------------------------------------------------------------ the pull cursor

	def get_cursor(self):
		"""The pull cursor from O2O Sync Settings: (`updated_at` watermark or None, requisition id)."""
		row = frappe.db.get_singles_dict(SETTINGS)
		ts = row.get(CURSOR_TS)
		return (get_datetime(ts) if ts else None, int(row.get(CURSOR_ID) or 0))

	def save_cursor(self, updated_at, requisition_id):
		"""Move the pull cursor to (`updated_at`, requisition id)."""
		frappe.db.set_single_value(SETTINGS, {CURSOR_TS: updated_at, CURSOR_ID: int(requisition_id)})

	# ------------------------------------------------------------ Sync Mappings

	def _record(self, row) -> MappingRecord:
		data = {k: row.get(k) for k in MAPPING_FIELDS}
		data["snapshot"] = json.loads(data["snapshot"]) if data.get("snapshot") else None
		data["finance_status"] = int(data["finance_status"] if data["finance_status"] is not None else -1)
		return MappingRecord(**data)

	def get_mappings(self, keys):
		"""Sync Mappings of (requisition id, vendor id) pairs, in one read: {key: MappingRecord}."""
		if not keys:
			return {}
		wanted = set(keys)
		rows = frappe.get_all(
			SYNC_MAPPING,
			filters={F_PROCUREUAT_ID: ["in", sorted({k[0] for k in keys})]},
			fields=list(MAPPING_FIELDS),
		)
		out = {}
		for row in rows:
			key = (int(row.procureuat_id), int(row.procureuat_vendor_id))
			if key in wanted:
				out[key] = self._record(row)
		return out

	def mappings_with_status(self, status, limit):
		"""Up to `limit` Sync Mappings in `status`, least recently modified first."""
		rows = frappe.get_all(
			SYNC_MAPPING,
			filters={"status": status},
			fields=list(MAPPING_FIELDS),
			order_by="modified asc",
			limit=limit,
		)
		return [self._record(r) for r in rows]

	def mapping_for_invoice(self, names: list[str]) -> MappingRecord | None:
		"""The Sync Mapping of the first invoice in `names` (an amendment chain, newest first) that has one."""
		rows = frappe.get_all(
			SYNC_MAPPING, filters={"purchase_invoice": ["in", list(names)]}, fields=list(MAPPING_FIELDS)
		)
		by_invoice = {r.purchase_invoice: r for r in rows}
		for name in names:
			if name in by_invoice:
				return self._record(by_invoice[name])
		return None

	def save_mapping(self, record: MappingRecord):
		"""Insert or update the Sync Mapping of (procureuat_id, procureuat_vendor_id); sets
		`record.name`, and the linked Purchase Invoice's `o2o_sync_status` to its status."""
		values = {k: getattr(record, k) for k in MAPPING_FIELDS if k != "name"}
		values["snapshot"] = (
			json.dumps(record.snapshot, sort_keys=True, default=str) if record.snapshot else None
		)
		if not record.name:
			record.name = frappe.db.get_value(
				SYNC_MAPPING,
				{F_PROCUREUAT_ID: record.procureuat_id, F_VENDOR_ID: record.procureuat_vendor_id},
				"name",
			)
		if record.name:
			frappe.db.set_value(SYNC_MAPPING, record.name, values)
		else:
			doc = frappe.get_doc({"doctype": SYNC_MAPPING, **values})
			doc.insert(ignore_permissions=True)
			record.name = doc.name
		if record.purchase_invoice and frappe.db.exists(PURCHASE_INVOICE, record.purchase_invoice):
			frappe.db.set_value(
				PURCHASE_INVOICE,
				record.purchase_invoice,
				F_SYNC_STATUS,
				record.status,
				update_modified=False,
			)

	# ------------------------------------------------------------ Sync Logs

	def write_logs(self, entries: list[LogEntry]):
		"""Append Sync Log rows in one statement (bulk insert); None Int fields become 0."""
		if not entries:
			return
		now = now_datetime()
		user = frappe.session.user if getattr(frappe, "session", None) else "Administrator"
		fields = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", *LOG_FIELDS]
		values = [
			(
				frappe.generate_hash(length=12),
				now,
				now,
				user,
				user,
				0,
				0,
				*(
					getattr(e, f) if getattr(e, f) is not None or f not in LOG_INT_FIELDS else 0
					for f in LOG_FIELDS
				),
			)
			for e in entries
		]
		frappe.db.bulk_insert(SYNC_LOG, fields, values)
