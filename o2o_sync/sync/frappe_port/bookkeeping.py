"""The port's bookkeeping: transactions, the pull cursor, Sync Mappings and Sync Logs.

The pull cursor (and the entities read from the start) belongs to the Database Connection
the settings point at (fields `pull_cursor_updated_at`, `pull_cursor_id`,
`pulled_entities`): another portal has its own. Failures that are not about one invoice are
recognised by `faults.is_transient`.
"""

import html
import json
from contextlib import contextmanager

import frappe
from frappe.utils import get_datetime, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	DATABASE_CONNECTION,
	F_INVOICE_NUMBER,
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	PURCHASE_INVOICE,
	SETTINGS,
	SYNC_LOG,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.sync.frappe_port import faults
from o2o_sync.sync.frappe_port.mapping_rows import MAPPING_FIELDS, insert_mapping
from o2o_sync.sync.model.errors import TransientError
from o2o_sync.sync.model.port import LogEntry, MappingRecord, summary_of

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
#: Sync Log fields the desk renders as HTML (Text; the Code traceback is escaped by its formatter).
LOG_HTML_FIELDS = ("message",)

#: Database Connection fields of the pull cursor and of the entities read from the start.
CURSOR_TS = "pull_cursor_updated_at"
CURSOR_ID = "pull_cursor_id"
PULLED_ENTITIES = "pulled_entities"


def desk_text(text: str | None) -> str | None:
	"""`text` safe to show in a Text or Data field: `&`, `<` and `>` escaped when it holds `<`
	or `>`, else unchanged.

	The desk renders these fields' stored values as HTML (Frappe's `Text` and `Data`
	formatters do not escape: Frappe sanitises them when a document is saved, which a bulk
	insert skips), and portal text in a message (a vendor's name, an invoice number) may hold
	`<script>` or `<img onerror=...>` (issue 7, hostile input). Escaped, it reads as typed.
	"""
	if text and ("<" in text or ">" in text):
		return html.escape(text, quote=False)
	return text


def _log_value(entry: LogEntry, field: str):
	"""A Sync Log column's value of `entry`: Int columns 0 for None, HTML-rendered ones `desk_text`."""
	value = getattr(entry, field)
	if field in LOG_HTML_FIELDS:
		return desk_text(value)
	return 0 if value is None and field in LOG_INT_FIELDS else value


#: `<` and `>` in a summary become look-alikes: the list escapes its titles itself (an entity
#: would show as `&lt;`), the report view does not (a tag would be markup).
SUMMARY_ANGLES = str.maketrans({"<": "\u2039", ">": "\u203a"})


def _summary(message: str | None) -> str:
	"""The Sync Log `summary` of `message`: its first line (`summary_of`), with `<` and `>` as
	‹ and › so that no view renders portal text in it as HTML."""
	return summary_of(message).translate(SUMMARY_ANGLES)


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
	`_forget_caches`, which calls `_forget_transaction`).

	Within one transaction it remembers the `o2o_sync_status` the port gave the Purchase
	Invoices it inserted, which spares `save_mapping` writing it again for every new invoice;
	forgotten at every commit, rollback and rolled-back savepoint.
	"""

	def _transaction_facts(self) -> dict:
		"""{Purchase Invoice: the o2o_sync_status it was inserted with in this transaction}."""
		facts = self.__dict__.get("_o2o_facts")
		if facts is None:
			facts = self._o2o_facts = {}
		return facts

	def _forget_transaction(self):
		"""What was true in this transaction may not be any more (commit, rollback, savepoint)."""
		self.__dict__.pop("_o2o_facts", None)

	def note_invoice_status(self, name: str, status: str | None):
		"""The Purchase Invoice `name` was just written with `o2o_sync_status` = `status` (the
		port's `insert_invoice`): saving its mapping in that status need not write it again.
		None: its status is not known (any other write to the invoice's fields)."""
		facts = self._transaction_facts()
		if status is None:
			facts.pop(name, None)
		else:
			facts[name] = status

	# ------------------------------------------------------------ transactions

	@contextmanager
	def atomic(self):
		"""A database savepoint; rolled back (and re-raised) on any exception, and the
		port's caches forgotten (what they name may have been rolled back). When the savepoint
		is gone (the database rolled the whole transaction back: a deadlock, a lost
		connection), raises `TransientError` from the original error."""
		savepoint = "o2o_" + frappe.generate_hash(length=10)
		frappe.db.savepoint(savepoint)
		try:
			yield
		except BaseException as e:
			self._forget_caches()
			try:
				frappe.db.rollback(save_point=savepoint)
			except Exception as rollback_error:
				if not faults.is_transient(rollback_error):
					raise
				raise TransientError(
					f"the transaction was rolled back under savepoint {savepoint}: {type(e).__name__}: {e}"
				) from e
			raise
		else:
			frappe.db.release_savepoint(savepoint)

	def commit(self):
		"""Make what was done so far durable (the scheduler's pull commits each batch)."""
		self._forget_transaction()
		frappe.db.commit()  # nosemgrep: the scheduler's pull commits each batch it finished

	def rollback(self):
		"""Undo everything since the last commit; a lost connection is replaced by a new one."""
		self._forget_caches()
		try:
			frappe.db.rollback()  # nosemgrep: the pull's page that failed goes back whole
		except Exception as e:
			if not faults.is_transient(e):
				raise
			faults.reconnect()

	def is_transient(self, error):
		"""See `port.ERPNextPort.is_transient`, `faults.is_transient` and, in a backfill part,
		`backfill_rows.BackfillRows.duplicate_is_transient`."""
		return faults.is_transient(error) or self.duplicate_is_transient(error)

	# ------------------------------------------------------------ the pull cursor

	def _connection(self) -> str:
		"""The Database Connection whose cursor this port keeps: the one it was made for, else
		the one O2O Sync Settings names. Raises frappe.ValidationError when there is none."""
		name = getattr(self, "connection", None) or frappe.db.get_single_value(
			SETTINGS, "database_connection"
		)
		if not name:
			frappe.throw(frappe._("Set a Database Connection in O2O Sync Settings first"))
		return name

	def get_cursor(self):
		"""The pull cursor of the Database Connection: (change time, naive portal time, or
		None; requisition id). Raises frappe.DoesNotExistError when the connection is gone."""
		name = self._connection()
		row = frappe.db.get_value(DATABASE_CONNECTION, name, [CURSOR_TS, CURSOR_ID], as_dict=True)
		if row is None:
			raise frappe.DoesNotExistError(f"{DATABASE_CONNECTION} {name} not found")
		ts = row.get(CURSOR_TS)
		return (get_datetime(ts) if ts else None, int(row.get(CURSOR_ID) or 0))

	def save_cursor(self, updated_at, requisition_id):
		"""Move the pull cursor of the Database Connection to (`updated_at`, requisition id), in
		the current transaction (not a change of the document: no `modified`, no Version)."""
		frappe.db.set_value(
			DATABASE_CONNECTION,
			self._connection(),
			{CURSOR_TS: updated_at, CURSOR_ID: int(requisition_id)},
			update_modified=False,
		)

	def pulled_entities(self) -> set[str]:
		"""Entity ids of the Database Connection's portal read from the start (JSON list)."""
		text = frappe.db.get_value(DATABASE_CONNECTION, self._connection(), PULLED_ENTITIES)
		try:
			values = json.loads(text) if text else []
		except ValueError:
			values = []
		return {str(v).strip() for v in values} if isinstance(values, list) else set()

	def save_pulled_entities(self, entity_ids):
		"""Replace the Database Connection's list of entities read from the start."""
		frappe.db.set_value(
			DATABASE_CONNECTION,
			self._connection(),
			PULLED_ENTITIES,
			json.dumps(sorted(str(e) for e in entity_ids)),
			update_modified=False,
		)

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

	def _refreshed_key(self) -> str:
		return f"o2o_sync:registry_refreshed:{self._connection()}"

	def refreshed_version(self):
		"""See `port.ERPNextPort.refreshed_version`: kept in Frappe's cache (a lost cache costs
		one search more); every Sync Mapping is written with the running registry."""
		value = frappe.cache.get_value(self._refreshed_key())
		return value if isinstance(value, str) else None

	def save_refreshed_version(self, version):
		"""See `port.ERPNextPort.save_refreshed_version`."""
		frappe.cache.set_value(self._refreshed_key(), version)

	def mappings_outdated(self, version, limit):
		"""Up to `limit` Synced Sync Mappings of a draft or submitted Purchase Invoice whose
		snapshot carries another registry version than `version` (`merge.registry_version`),
		least recently modified first."""
		fields = ", ".join(f"m.`{f}`" for f in MAPPING_FIELDS)
		rows = frappe.db.sql(
			f"""select {fields} from `tabSync Mapping` m
			join `tabPurchase Invoice` pi on pi.name = m.purchase_invoice
			where m.status = %s and pi.docstatus < 2 and m.snapshot is not null and m.snapshot not like %s
			order by m.modified asc limit %s""",
			(SYNCED, f'%"version": "{version}"%', int(limit)),
			as_dict=True,
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
		"""Insert or update the Sync Mapping of (procureuat_id, procureuat_vendor_id), found by a
		locking read (the latest committed row, not this transaction's snapshot); sets
		`record.name`, and the linked Purchase Invoice's `o2o_sync_status` to its status.

		A new mapping is one INSERT (`mapping_rows.insert_mapping`), not a Document insert:
		every value is the engine's own, so its controller has nothing to check. The invoice's
		status is not written again when the port inserted it in that status in this
		transaction (`note_invoice_status`). Raises frappe.CharacterLengthExceededError for a
		value longer than its field, the database's IntegrityError for a second mapping of a key.
		"""
		values = {k: getattr(record, k) for k in MAPPING_FIELDS if k != "name"}
		values["snapshot"] = (
			json.dumps(record.snapshot, sort_keys=True, default=str) if record.snapshot else None
		)
		# why it is held, only while it is (a push or pull that settles it need not know the field)
		values["held_reason"] = record.held_reason if record.status == CONFLICT else None
		inserted_status = self._transaction_facts()
		# a backfill part owns its requisitions (`engine.pull.backfill`): its plain read stands,
		# and a locking read of a missing key would take a gap lock the other parts' inserts wait on
		if not record.name and not self.parallel:
			# a locking read: it sees a mapping another job committed after this transaction
			# began (a push job and its retry at once), which a plain read's snapshot would not,
			# so it is updated rather than inserted twice
			record.name = frappe.db.get_value(
				SYNC_MAPPING,
				{F_PROCUREUAT_ID: record.procureuat_id, F_VENDOR_ID: record.procureuat_vendor_id},
				"name",
				for_update=True,
			)
		if record.name:
			frappe.db.set_value(SYNC_MAPPING, record.name, values)
		else:
			record.name = insert_mapping(values)
		if record.purchase_invoice and inserted_status.pop(record.purchase_invoice, None) != record.status:
			# an UPDATE by name: nothing happens when the invoice is gone
			frappe.db.set_value(
				PURCHASE_INVOICE,
				record.purchase_invoice,
				F_SYNC_STATUS,
				record.status,
				update_modified=False,
			)

	# ------------------------------------------------------------ Sync Logs

	def write_logs(self, entries: list[LogEntry]):
		"""Append Sync Log rows in one statement (bulk insert); None Int fields become 0, and
		`summary` is the message's first line (what the Sync Log list shows). Portal text in
		them may hold HTML: the message is stored as `desk_text`, the summary by `_summary`."""
		if not entries:
			return
		now = now_datetime()
		user = frappe.session.user if getattr(frappe, "session", None) else "Administrator"
		fields = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx"]
		fields += [*LOG_FIELDS, "summary"]
		values = [
			(
				frappe.generate_hash(length=12),
				now,
				now,
				user,
				user,
				0,
				0,
				*(_log_value(e, f) for f in LOG_FIELDS),
				_summary(e.message),
			)
			for e in entries
		]
		frappe.db.bulk_insert(SYNC_LOG, fields, values)


def write_logs_now(entries: list[LogEntry]) -> None:
	"""Write Sync Log rows and commit at once, so they survive the rollback or error that
	follows. Only for the app's own jobs and requests: never inside someone else's transaction."""
	Bookkeeping().write_logs(entries)
	frappe.db.commit()  # nosemgrep: a log row must survive the request that wrote it
