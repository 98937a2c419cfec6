"""The pull: ProcureUAT invoices into ERPNext Purchase Invoices (contract, "Pull").

Incremental on a cursor over the portal's change time and id, idempotent by a hash of each
invoice's mapped columns (`columns.portal_view`), one savepoint per Purchase Invoice so an
invoice is written whole or not at all, and a failed invoice retried on every run. The run
(pages, the cursor, failures not about one invoice, dates the cursor cannot trust) is in
`pull_run.py`; what happens to one invoice is decided in `pull_decisions.py`; Suppliers and
Items are resolved in `pull_masters.py`.
"""

import copy
import time
import traceback
from collections import Counter
from datetime import datetime

from o2o_sync.sync.engine.pull.decisions import InvoiceDecisions, Outcome
from o2o_sync.sync.engine.pull.masters import MasterResolution
from o2o_sync.sync.engine.pull.run import CURSOR_OVERLAP_SECONDS, TRANSIENT_RETRIES, PullRun, first_cause
from o2o_sync.sync.model import columns
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import InvoiceError, O2OSyncError, TransientError
from o2o_sync.sync.model.port import (
	CONFLICT,
	FAILED,
	ORIGIN_ERPNEXT,
	PULL,
	SUCCESS,
	SYNCED,
	ERPNextPort,
	LogEntry,
	MappingRecord,
)
from o2o_sync.sync.model.records import PortalInvoice, Vendor

#: Characters the Sync Mapping's `procureuat_invoice_number` (a Data field) holds.
MAPPING_NUMBER_LENGTH = 140
COUNT_KEYS = ("created", "updated", "unchanged", "cancelled", "failed", "linked", "conflict", "deleted")

__all__ = ["COUNT_KEYS", "CURSOR_OVERLAP_SECONDS", "Outcome", "PullEngine"]


class PullEngine(PullRun, InvoiceDecisions, MasterResolution):
	"""Runs one pull (`run`, in `pull_run.PullRun`).

	Args: `port`, an `ERPNextPort`; `client`, a `procureuat_client.ProcureUATClient` (or
	anything with its `fetch_invoice_batch`, `fetch_invoices` and `fetch_vendors`);
	`settings`, the `mapping.PullSettings`; `clock`, the time written as `last_synced_at`
	(ERPNext's; never compared with portal times); `registry`, the column registry
	(`columns.REGISTRY`); `sleep(seconds)`, the wait between retries of a page that failed
	for a reason not about one invoice; `transient_retries`, how many such retries.
	"""

	def __init__(
		self,
		port: ERPNextPort,
		client,
		settings: m.PullSettings,
		clock=datetime.now,
		registry=columns.REGISTRY,
		sleep=time.sleep,
		transient_retries: int = TRANSIENT_RETRIES,
	):
		self._init_run(sleep, transient_retries)
		self.port = port
		self.client = client
		self.settings = settings
		self.clock = clock
		self.registry = tuple(registry)
		self.counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
		self._suppliers: dict[int, str] = {}
		self._items = {}
		self._logs: list[LogEntry] = []
		self._read_cache: dict[tuple, object] = {}  # read-only facts for this run (items, terms, dates)
		#: called after each committed batch with (counts so far, portal rows read, batches);
		#: the desk's progress bar and the CLI's (see `pull_progress`); None: nothing told
		self.on_batch = None

	def _retry_failed(self, seen: set[tuple[int, int]]):
		"""Retry the pull's own failures. A Failed mapping of an invoice ERPNext pushed is the
		push's failure (`PushEngine`, retried by the push): the pull never marks it Synced."""
		failed = [
			r
			for r in self.port.mappings_with_status(FAILED, 1000)
			if r.key not in seen and r.origin != ORIGIN_ERPNEXT
		]
		if not failed:
			return
		invoices = self.client.fetch_invoices(sorted({r.procureuat_id for r in failed}))
		self._process(invoices, seen, only={r.key for r in failed}, force=True)
		self._flush()

	def retry(self, requisition_ids, keys=None) -> dict:
		"""Pull these portal invoices again now, changed or not: a person's **Retry**.

		Args: `requisition_ids`, portal `purchase_requisitions.id`s; `keys`, (requisition id,
		vendor id) slices: a requisition some key names is retried for those vendors only, one
		no key names for every vendor slice (of a mapped entity). Returns this retry's counts
		(`COUNT_KEYS`). The cursor does not move. Raises ProcureUATConnectionError when the
		portal is unreachable.
		"""
		keys = {(int(k[0]), int(k[1])) for k in keys or ()}
		limited = {k[0] for k in keys}
		invoices = self.client.fetch_invoices(sorted({int(i) for i in requisition_ids}))
		whole = [inv for inv in invoices if inv.id not in limited]
		if whole:
			self._process(whole, set(), force=True)
		if len(whole) < len(invoices):
			self._process([inv for inv in invoices if inv.id in limited], set(), only=keys, force=True)
		self._flush()
		return dict(self.counts)

	def _flush(self):
		if self._logs:
			self.port.write_logs(self._logs)
			self._logs = []
		self.port.commit()

	def _log(self, operation, status, message, *, invoice=None, reference=None, tb=None, duration_ms=0):
		self._logs.append(
			LogEntry(
				direction=PULL,
				operation=operation,
				status=status,
				message=message,
				reference_doctype="Purchase Invoice" if reference else None,
				reference_name=reference,
				procureuat_id=invoice.id if invoice is not None else None,
				traceback=tb,
				duration_ms=duration_ms,
			)
		)

	# ------------------------------------------------------------ one batch

	def _process(self, invoices: list[PortalInvoice], seen, only=None, force=False):
		"""Sync every vendor slice of `invoices` of a mapped entity; `only` limits it to
		those (requisition, vendor) keys, `force` re-applies unchanged ones (retries)."""
		slices = [
			part
			for inv in invoices
			if inv.entity in self.settings.entities
			for part in m.split_by_vendor(inv)
		]
		if not slices:
			return
		vendor_ids = sorted({li.vendor_id for part in slices for li in part.lines if li.vendor_id})
		vendors = self.client.fetch_vendors(vendor_ids) if vendor_ids else {}
		product_ids = sorted({li.product_id for part in slices for li in part.lines if li.product_id})
		self._items = self.port.items_for_products(product_ids) if product_ids else {}
		keys = [(part.id, m.slice_vendor_id(part)) for part in slices]
		mappings = self.port.get_mappings(keys)
		for part, key in zip(slices, keys, strict=True):
			if only is not None and key not in only:
				continue
			seen.add(key)
			self._sync_slice(part, key, vendors.get(key[1]), mappings.get(key), force)

	def _sync_slice(
		self, inv: PortalInvoice, key, vendor: Vendor | None, record: MappingRecord | None, force: bool
	):
		"""Apply one vendor slice in its own savepoint and save its Sync Mapping."""
		started = time.monotonic()
		view = columns.portal_view(inv, self.registry)
		portal_hash = columns.view_hash(view)
		# a failed push (a Failed mapping of origin ERPNext) is the push's to clear, never the pull's
		pushed_failed = bool(record) and record.origin == ORIGIN_ERPNEXT and record.status == FAILED
		settled = (SYNCED, CONFLICT, FAILED) if pushed_failed else (SYNCED, CONFLICT)
		if record and not force and record.portal_hash == portal_hash and record.status in settled:
			self.counts["unchanged"] += 1
			return
		self._report_dates(inv, record)
		record = record or MappingRecord(procureuat_id=key[0], procureuat_vendor_id=key[1])
		record.entity_id = str(inv.entity)
		record.procureuat_invoice_number = inv.invoice_number
		record.portal_updated_at = inv.change_ts
		cached = set(self._suppliers)
		before = copy.deepcopy(record)  # what the rolled-back attempt changes in `record` must not stick
		try:
			with self.port.atomic():
				outcome = self._apply(inv, vendor, record, view)
				record.portal_hash = portal_hash
				record.last_synced_at = self.clock()
				if outcome.count == "conflict":
					record.status, record.last_error = CONFLICT, outcome.message
				elif not pushed_failed:
					record.status, record.last_error, record.conflict_fields = SYNCED, None, None
				self.port.save_mapping(record)
		except Exception as e:
			if self._is_transient(e):  # not about this invoice: the whole page goes back (pull_run)
				raise TransientError(f"{m.invoice_label(inv)}: {first_cause(e)}") from e
			for vendor_id in set(self._suppliers) - cached:
				self._suppliers.pop(vendor_id, None)
			self._fail(inv, before, e, started)
			return
		self.counts[outcome.count] += 1
		if outcome.operation:
			self._log(
				outcome.operation,
				CONFLICT if outcome.count == "conflict" else SUCCESS,
				outcome.message,
				invoice=inv,
				reference=record.purchase_invoice,
				duration_ms=int((time.monotonic() - started) * 1000),
			)

	def _fail(self, inv: PortalInvoice, record: MappingRecord, error: Exception, started: float):
		"""Mark the mapping Failed with a message naming the invoice and the field.

		A failed invoice is retried every run (contract, "Pull"); it writes a Failed Sync Log
		row (with its traceback) only when the failure differs from the mapping's
		`last_error`, so an unchanged failure is one row, not one per run. It is counted in
		`failed` every run."""
		if isinstance(error, O2OSyncError):
			message = str(error)
			if isinstance(error, InvoiceError) and error.invoice is None:
				message = f"{m.invoice_label(inv)}: {message}"
		else:
			message = f"{m.invoice_label(inv)}: {type(error).__name__}: {error}"
		repeated = record.status == FAILED and record.last_error == message
		record.status, record.last_error = FAILED, message
		if len(record.procureuat_invoice_number or "") > MAPPING_NUMBER_LENGTH:  # a Data field
			record.procureuat_invoice_number = record.procureuat_invoice_number[:MAPPING_NUMBER_LENGTH]
		with self.port.atomic():
			self.port.save_mapping(record)
		self.counts["failed"] += 1
		if repeated:
			return
		self._log(
			"Create" if not record.purchase_invoice else "Update",
			FAILED,
			message,
			invoice=inv,
			reference=record.purchase_invoice,
			tb=traceback.format_exc(),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
