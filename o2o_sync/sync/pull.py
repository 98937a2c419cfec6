"""The pull: ProcureUAT invoices into ERPNext Purchase Invoices (contract, "Pull").

Incremental on a cursor over the portal's change time and id, idempotent by a hash of each
invoice's mapped columns (`columns.portal_view`), one savepoint per Purchase Invoice so an
invoice is written whole or not at all, and a failed invoice retried on every run. What
happens to one invoice is decided in `pull_decisions.py`; Suppliers and Items are resolved
in `pull_masters.py`.
"""

import copy
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta

from . import columns
from . import mapping as m
from .errors import InvoiceError, O2OSyncError
from .port import CONFLICT, FAILED, PULL, SKIPPED, SUCCESS, SYNCED, ERPNextPort, LogEntry, MappingRecord
from .pull_decisions import InvoiceDecisions, Outcome
from .pull_masters import MasterResolution
from .records import PortalInvoice, Vendor

#: Seconds of portal history re-read behind the cursor on every run, so an edit made in
#: the same second as the last row read (or committed late) is not missed; unchanged
#: rows in the overlap are skipped by hash.
CURSOR_OVERLAP_SECONDS = 120
COUNT_KEYS = ("created", "updated", "unchanged", "cancelled", "failed", "linked", "conflict", "deleted")

__all__ = ["COUNT_KEYS", "CURSOR_OVERLAP_SECONDS", "Outcome", "PullEngine"]


class PullEngine(InvoiceDecisions, MasterResolution):
	"""Runs one pull.

	Args: `port`, an `ERPNextPort`; `client`, a `procureuat_client.ProcureUATClient` (or
	anything with its `fetch_invoice_batch`, `fetch_invoices` and `fetch_vendors`);
	`settings`, the `mapping.PullSettings`; `clock`, the time written as `last_synced_at`;
	`registry`, the column registry (`columns.REGISTRY`).
	"""

	def __init__(
		self,
		port: ERPNextPort,
		client,
		settings: m.PullSettings,
		clock=datetime.now,
		registry=columns.REGISTRY,
	):
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

	# ------------------------------------------------------------ run

	def run(self, limit: int | None = None) -> dict:
		"""Pull what changed since the cursor, then retry failed invoices.

		Args: `limit`, the most portal invoices to read this run (None: all).
		Returns the counts: created, updated, unchanged, cancelled, failed, linked,
		conflict, deleted (Purchase Invoices), plus `skipped` (invoices of unmapped
		entities) and `batches`. Raises `ProcureUATConnectionError` when the portal is
		unreachable; what was committed before stays, the cursor never skips an invoice.
		"""
		started = time.monotonic()
		seen: set[tuple[int, int]] = set()
		skipped = Counter()
		cursor_ts, cursor_id = self.port.get_cursor()
		after = (cursor_ts - timedelta(seconds=CURSOR_OVERLAP_SECONDS), 0) if cursor_ts else (None, 0)
		batch_size = max(1, int(self.settings.pull_batch_size or 200))
		read = batches = 0
		while limit is None or read < limit:
			size = batch_size if limit is None else min(batch_size, limit - read)
			batch = self.client.fetch_invoice_batch(
				after, size, set(self.settings.entities), from_date=self.settings.from_date
			)
			if not batch.rows_read:
				break
			batches += 1
			read += batch.rows_read
			skipped.update(batch.skipped)
			self._process(batch.invoices, seen)
			after = batch.last_key
			if cursor_ts is None or (after[0], after[1]) > (cursor_ts, cursor_id):
				cursor_ts, cursor_id = after
				self.port.save_cursor(cursor_ts, cursor_id)
			self._flush()
			if batch.rows_read < size:
				break

		self._retry_failed(seen)
		for entity, n in sorted(skipped.items()):
			self._log(
				"Skip",
				SKIPPED,
				f"{n} invoice(s) of portal entity {entity} skipped: the entity is not mapped to a Company in O2O Sync Settings",
			)
		result = dict(self.counts)
		result["skipped"] = sum(skipped.values())
		result["batches"] = batches
		self._log(
			"Pull Run",
			FAILED if self.counts["failed"] else SUCCESS,
			"Pull finished: " + ", ".join(f"{k} {v}" for k, v in result.items()),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
		self._flush()
		return result

	def _retry_failed(self, seen: set[tuple[int, int]]):
		failed = [r for r in self.port.mappings_with_status(FAILED, 1000) if r.key not in seen]
		if not failed:
			return
		invoices = self.client.fetch_invoices(sorted({r.procureuat_id for r in failed}))
		self._process(invoices, seen, only={r.key for r in failed}, force=True)
		self._flush()

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
		if record and not force and record.portal_hash == portal_hash and record.status in (SYNCED, CONFLICT):
			self.counts["unchanged"] += 1
			return
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
				else:
					record.status, record.last_error, record.conflict_fields = SYNCED, None, None
				self.port.save_mapping(record)
		except Exception as e:
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
		"""Mark the mapping Failed with a message naming the invoice and the field."""
		if isinstance(error, O2OSyncError):
			message = str(error)
			if isinstance(error, InvoiceError) and error.invoice is None:
				message = f"{m.invoice_label(inv)}: {message}"
		else:
			message = f"{m.invoice_label(inv)}: {type(error).__name__}: {error}"
		record.status, record.last_error = FAILED, message
		with self.port.atomic():
			self.port.save_mapping(record)
		self.counts["failed"] += 1
		self._log(
			"Create" if not record.purchase_invoice else "Update",
			FAILED,
			message,
			invoice=inv,
			reference=record.purchase_invoice,
			tb=traceback.format_exc(),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
