"""One page of portal invoices into ERPNext, one vendor slice at a time (contract, "Pull"):
each slice in its own savepoint, so a Purchase Invoice is written whole or not at all; an
unchanged slice is skipped by the hash of its mapped columns (`columns.portal_view`); a failed
one is marked Failed with a message naming the invoice and the field, and the page goes on.

`SliceSync` is held by the run (`run.PullEngine`); what to do with a slice is decided by
`decisions.InvoiceDecisions`, its Supplier and Items come from `masters.Masters`.
"""

import copy
import time
import traceback

from o2o_sync.sync.engine.pull.dates import DateReports
from o2o_sync.sync.engine.pull.decisions import InvoiceDecisions
from o2o_sync.sync.engine.pull.masters import Masters
from o2o_sync.sync.engine.pull.tally import Tally
from o2o_sync.sync.model import columns
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import InvoiceError, O2OSyncError, ProcureUATConnectionError, TransientError
from o2o_sync.sync.model.port import (
	CONFLICT,
	FAILED,
	ORIGIN_ERPNEXT,
	SUCCESS,
	SYNCED,
	ERPNextPort,
	MappingRecord,
)
from o2o_sync.sync.model.records import PortalInvoice, Vendor

#: Characters the Sync Mapping's `procureuat_invoice_number` (a Data field) holds.
MAPPING_NUMBER_LENGTH = 140
#: Exceptions that stop the job from outside (RQ's `JobTimeoutException`), by class name (the
#: engine imports no RQ): neither about one invoice nor worth retrying; they end the run.
STOPPING = frozenset({"JobTimeoutException"})


def is_stopping(error: BaseException) -> bool:
	"""True when `error` stops the job from outside (`STOPPING`): the slice is rolled back and
	the error raised on, never recorded as the invoice's failure."""
	return type(error).__name__ in STOPPING


def first_cause(error: BaseException) -> str:
	"""'Type: text' of the error that started it all (following `__cause__`, else
	`__context__`): a deadlock rather than the missing savepoint it left behind."""
	seen = set()
	while id(error) not in seen and (error.__cause__ or error.__context__) is not None:
		seen.add(id(error))
		error = error.__cause__ or error.__context__
	return f"{type(error).__name__}: {error}"


def is_transient(port: ERPNextPort, error: BaseException) -> bool:
	"""True when `error` is not about one invoice but about ERPNext's database or the worker
	(`port.is_transient`). The portal's own errors are not: the caller handles them."""
	if isinstance(error, ProcureUATConnectionError):
		return False
	return isinstance(error, TransientError) or bool(port.is_transient(error))


class SliceSync:
	"""Applies vendor slices of portal invoices and saves their Sync Mappings.

	Args: `port`, the `ERPNextPort`; `client`, the portal client (`fetch_vendors`);
	`settings`, the `mapping.PullSettings`; `registry`, the column registry; `clock`, the
	time written as `last_synced_at` (ERPNext's); and the run's `masters`, `decisions`,
	`tally` and `dates`.
	"""

	def __init__(
		self,
		port: ERPNextPort,
		client,
		settings: m.PullSettings,
		registry,
		clock,
		masters: Masters,
		decisions: InvoiceDecisions,
		tally: Tally,
		dates: DateReports,
	):
		self.port = port
		self.client = client
		self.settings = settings
		self.registry = registry
		self.clock = clock
		self.masters = masters
		self.decisions = decisions
		self.tally = tally
		self.dates = dates

	def process(self, invoices: list[PortalInvoice], seen: set, only=None, force=False):
		"""Sync every vendor slice of `invoices` of a mapped entity.

		Args: `seen`, the (requisition id, vendor id) keys applied this run, added to;
		`only`, limits it to those keys; `force`, re-applies unchanged ones (retries).
		"""
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
		self.masters.load_items({li.product_id for part in slices for li in part.lines if li.product_id})
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
			self.tally.counts["unchanged"] += 1
			return
		self.dates.report(inv, record)
		record = record or MappingRecord(procureuat_id=key[0], procureuat_vendor_id=key[1])
		record.entity_id = str(inv.entity)
		record.procureuat_invoice_number = inv.invoice_number
		record.portal_updated_at = inv.change_ts
		known = set(self.masters.suppliers)
		before = copy.deepcopy(record)  # what the rolled-back attempt changes in `record` must not stick
		try:
			with self.port.atomic():
				outcome = self.decisions.apply(inv, vendor, record, view)
				record.portal_hash = portal_hash
				record.last_synced_at = self.clock()
				if outcome.count == "conflict":
					record.status, record.last_error = CONFLICT, outcome.message
				elif not pushed_failed:
					record.status, record.last_error, record.conflict_fields = SYNCED, None, None
				self.port.save_mapping(record)
		except Exception as e:
			if is_stopping(e):
				raise
			if is_transient(self.port, e):  # not about this invoice: the whole page goes back (run)
				raise TransientError(f"{m.invoice_label(inv)}: {first_cause(e)}") from e
			self.masters.forget_suppliers_since(known)
			self._fail(inv, before, e, started)
			return
		self.tally.counts[outcome.count] += 1
		if outcome.operation:
			self.tally.log(
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
		self.tally.counts["failed"] += 1
		if repeated:
			return
		self.tally.log(
			"Create" if not record.purchase_invoice else "Update",
			FAILED,
			message,
			invoice=inv,
			reference=record.purchase_invoice,
			tb=traceback.format_exc(),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
