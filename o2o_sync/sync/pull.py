"""The pull: ProcureUAT invoices into ERPNext Purchase Invoices (contract, "Pull").

Incremental on a cursor over the portal's change time and id, idempotent by a hash
of each invoice's mapped columns, one savepoint per Purchase Invoice so an invoice is
written whole or not at all, and a failed invoice retried on every run.
"""

import copy
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta

from . import mapping as m
from .errors import AmbiguousSupplier, InvoiceError, NeedsAttention, O2OSyncError
from .port import (
	CONFLICT,
	FAILED,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PULL,
	SKIPPED,
	SUCCESS,
	SYNCED,
	ERPNextPort,
	LogEntry,
	MappingRecord,
)
from .records import PortalInvoice, Vendor

#: Seconds of portal history re-read behind the cursor on every run, so an edit made in
#: the same second as the last row read (or committed late) is not missed; unchanged
#: rows in the overlap are skipped by hash.
CURSOR_OVERLAP_SECONDS = 120
COUNT_KEYS = ("created", "updated", "unchanged", "cancelled", "failed", "linked", "conflict", "deleted")


class PullEngine:
	"""Runs one pull. `client` is a `procureuat_client.ProcureUATClient` (or anything with
	its `fetch_invoice_batch`, `fetch_invoices` and `fetch_vendors`); `port` an `ERPNextPort`.
	"""

	def __init__(self, port: ERPNextPort, client, settings: m.PullSettings, clock=datetime.now):
		self.port = port
		self.client = client
		self.settings = settings
		self.clock = clock
		self.counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
		self._suppliers: dict[int, str] = {}
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

	def _retry_failed(self, seen):
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

	def _log(self, operation, status, message, *, inv=None, ref=None, tb=None, duration_ms=0):
		self._logs.append(
			LogEntry(
				direction=PULL,
				operation=operation,
				status=status,
				message=message,
				reference_doctype="Purchase Invoice" if ref else None,
				reference_name=ref,
				procureuat_id=inv.id if inv is not None else None,
				traceback=tb,
				duration_ms=duration_ms,
			)
		)

	# ------------------------------------------------------------ one batch

	def _process(self, invoices: list[PortalInvoice], seen, only=None, force=False):
		slices = [
			s for inv in invoices if inv.entity in self.settings.entities for s in m.split_by_vendor(inv)
		]
		if not slices:
			return
		vendor_ids = sorted({li.vendor_id for s in slices for li in s.lines if li.vendor_id})
		vendors = self.client.fetch_vendors(vendor_ids) if vendor_ids else {}
		product_ids = sorted({li.product_id for s in slices for li in s.lines if li.product_id})
		self._items = self.port.items_for_products(product_ids) if product_ids else {}
		keys = [(s.id, m.slice_vendor_id(s)) for s in slices]
		mappings = self.port.get_mappings(keys)
		for s, key in zip(slices, keys, strict=True):
			if only is not None and key not in only:
				continue
			seen.add(key)
			self._sync_slice(s, key, vendors.get(key[1]), mappings.get(key), force)

	def _sync_slice(self, s: PortalInvoice, key, vendor: Vendor | None, rec: MappingRecord | None, force):
		started = time.monotonic()
		view = m.portal_view(s)
		phash = m.view_hash(view)
		if rec and not force and rec.portal_hash == phash and rec.status in (SYNCED, CONFLICT):
			self.counts["unchanged"] += 1
			return
		rec = rec or MappingRecord(procureuat_id=key[0], procureuat_vendor_id=key[1])
		rec.entity_id = str(s.entity)
		rec.procureuat_invoice_number = s.invoice_number
		rec.portal_updated_at = s.change_ts
		cached = set(self._suppliers)
		before = copy.deepcopy(rec)  # what the rolled-back attempt changes in `rec` must not stick
		try:
			with self.port.atomic():
				outcome, operation, message = self._apply(s, vendor, rec, view)
				rec.portal_hash = phash
				rec.last_synced_at = self.clock()
				if outcome == "conflict":
					rec.status, rec.last_error = CONFLICT, message
				else:
					rec.status, rec.last_error, rec.conflict_fields = SYNCED, None, None
				self.port.save_mapping(rec)
		except Exception as e:
			for vendor_id in set(self._suppliers) - cached:
				self._suppliers.pop(vendor_id, None)
			self._fail(s, before, e, started)
			return
		self.counts[outcome] += 1
		if operation:
			status = CONFLICT if outcome == "conflict" else SUCCESS
			self._log(
				operation,
				status,
				message,
				inv=s,
				ref=rec.purchase_invoice,
				duration_ms=int((time.monotonic() - started) * 1000),
			)

	def _fail(self, s, rec, error, started):
		if isinstance(error, O2OSyncError):
			message = str(error)
			if isinstance(error, InvoiceError) and error.invoice is None:
				message = f"{m.invoice_label(s)}: {message}"
		else:
			message = f"{m.invoice_label(s)}: {type(error).__name__}: {error}"
		rec.status, rec.last_error = FAILED, message
		with self.port.atomic():
			self.port.save_mapping(rec)
		self.counts["failed"] += 1
		self._log(
			"Create" if not rec.purchase_invoice else "Update",
			FAILED,
			message,
			inv=s,
			ref=rec.purchase_invoice,
			tb=traceback.format_exc(),
			duration_ms=int((time.monotonic() - started) * 1000),
		)

	# ------------------------------------------------------------ decisions

	def _apply(self, s: PortalInvoice, vendor, rec: MappingRecord, view) -> tuple[str, str, str]:
		"""Returns (count key, Sync Log operation or '', message); mutates `rec`."""
		state = self.port.get_invoice(rec.purchase_invoice) if rec.purchase_invoice else None
		if state is not None and state.docstatus == 2:
			live = self.port.resolve_amended(state.name)
			if live and live != state.name:
				rec.purchase_invoice = live
				state = self.port.get_invoice(live)

		if state is None:
			if rec.origin == ORIGIN_ERPNEXT and rec.purchase_invoice:
				return (
					"conflict",
					"Update",
					f"{m.invoice_label(s)}: Purchase Invoice {rec.purchase_invoice} no longer exists in ERPNext",
				)
			linked = self.port.resolve_amended(s.order_code) if s.order_code else None
			if linked:
				# A row the push wrote (order_code = invoice name): link it, never create from it.
				rec.origin, rec.purchase_invoice = ORIGIN_ERPNEXT, linked
				rec.snapshot = {"portal": view, "erpnext": None}
				return (
					"linked",
					"Link",
					f"{m.invoice_label(s)} came from ERPNext ({linked}); linked, not created",
				)
			if s.is_gone:
				rec.purchase_invoice = None
				rec.snapshot = {"portal": view, "erpnext": None}
				return "unchanged", "", ""
			return self._create(s, vendor, rec, view)

		if state.docstatus == 2:
			if s.is_gone:
				return "unchanged", "", ""
			return (
				"conflict",
				"Update",
				f"{m.invoice_label(s)} changed on the portal but {state.name} is cancelled in ERPNext; waiting for a person",
			)

		base = rec.snapshot or {}
		base_portal, base_erp = base.get("portal"), base.get("erpnext")
		columns = m.changed_columns(base_portal, view)
		# cancelled or deleted on the portal since the last sync (not already when last seen)
		newly_gone = s.is_gone and not (
			base_portal and (base_portal.get("is_invoice_cancel") or base_portal.get("is_delete"))
		)

		if rec.origin == ORIGIN_ERPNEXT:
			return self._portal_edit_of_pushed(s, rec, state, view, columns, newly_gone)

		if newly_gone:
			return self._gone(s, rec, state, view)

		if state.docstatus == 1:
			return self._edit_submitted(s, rec, state, view, columns)
		return self._edit_draft(s, vendor, rec, state, view, base_portal, base_erp)

	def _create(self, s, vendor, rec, view):
		spec = self._spec(s, vendor)
		self._check_posting_date(spec["company"], spec["posting_date"])
		existing = self.port.find_invoice_by_bill_no(spec["company"], spec["supplier"], spec["bill_no"])
		rec.origin = ORIGIN_PORTAL
		if existing:
			rec.purchase_invoice = existing.name
			rec.snapshot = {"portal": view, "erpnext": existing.view}
			rec.erpnext_hash = m.view_hash(existing.view)
			try:
				m.check_totals(s, spec, existing.net_total, existing.gst_total)
			except InvoiceError as e:
				rec.conflict_fields = "net_total, gst_total"
				return (
					"conflict",
					"Link",
					f"{existing.name} has the same supplier and bill no {spec['bill_no']} but other totals; held for a person. {e}",
				)
			self.port.set_status_fields(existing.name, self._status_fields(spec))
			return (
				"linked",
				"Link",
				f"{m.invoice_label(s)} is already in ERPNext as {existing.name}; linked, not duplicated",
			)
		state = self.port.insert_invoice(spec, submit=False)
		note = m.check_totals(s, spec, state.net_total, state.gst_total)
		if self.settings.submit_pulled_invoices:
			self.port.submit_invoice(state.name)
			state = self.port.get_invoice(state.name)
		rec.purchase_invoice = state.name
		rec.snapshot = {"portal": view, "erpnext": state.view}
		rec.erpnext_hash = m.view_hash(state.view)
		message = (
			f"Created {state.name} from {m.invoice_label(s)}: net ₹{state.net_total:.2f} + GST ₹{state.gst_total:.2f}"
			f" = ₹{state.grand_total:.2f}" + (f"; {note}" if note else "")
		)
		return "created", "Create", message

	def _gone(self, s, rec, state, view):
		what = "cancelled" if s.is_invoice_cancel else "deleted"
		if state.docstatus == 1:
			if state.has_payments:
				rec.conflict_fields = "is_invoice_cancel" if s.is_invoice_cancel else "is_delete"
				return (
					"conflict",
					"Cancel",
					f"{m.invoice_label(s)} was {what} on the portal but {state.name} has payments; not touched, waiting for a person",
				)
			self.port.cancel_invoice(state.name)
			rec.snapshot = {"portal": view, "erpnext": (self.port.get_invoice(state.name) or state).view}
			return (
				"cancelled",
				"Cancel",
				f"Cancelled {state.name}: {m.invoice_label(s)} was {what} on the portal",
			)
		name = state.name
		self.port.delete_invoice(name)
		rec.purchase_invoice = None
		rec.snapshot = {"portal": view, "erpnext": None}
		return "deleted", "Delete", f"Deleted draft {name}: {m.invoice_label(s)} was {what} on the portal"

	def _edit_submitted(self, s, rec, state, view, columns):
		status_cols = [c for c in columns if c in m.STATUS_COLUMNS]
		other = [c for c in columns if m.PORTAL_COLUMN_GROUPS.get(c)]
		if status_cols:
			self.port.set_status_fields(state.name, self._status_fields_of(s))
		if other:
			rec.conflict_fields = ", ".join(other)
			return (
				"conflict",
				"Update",
				(
					f"{m.invoice_label(s)} changed on the portal ({', '.join(other)}) but {state.name} is submitted; "
					"waiting for a person, who can cancel and amend it"
				),
			)
		rec.snapshot = {"portal": view, "erpnext": (rec.snapshot or {}).get("erpnext")}
		if status_cols:
			return "updated", "Update", f"Updated {', '.join(status_cols)} on submitted {state.name}"
		return "unchanged", "", ""

	def _edit_draft(self, s, vendor, rec, state, view, base_portal, base_erp):
		apply, conflicts, columns = m.three_way_merge(base_portal, view, base_erp, state.view)
		strategy = self.settings.conflict_strategy or "Hold for review"
		note = ""
		if conflicts:
			if strategy == "ProcureUAT wins":
				apply |= conflicts
				note = f"; ProcureUAT won the conflict on {', '.join(sorted(conflicts))}"
			elif strategy == "ERPNext wins":
				note = f"; ERPNext's {', '.join(sorted(conflicts))} kept (ERPNext wins)"
			else:
				rec.conflict_fields = ", ".join(sorted(conflicts))
				return (
					"conflict",
					"Update",
					(
						f"{m.invoice_label(s)} and {state.name} both changed {', '.join(sorted(conflicts))} since the last sync; "
						"nothing overwritten, waiting for a person"
					),
				)
		status_cols = [c for c in columns if c in m.STATUS_COLUMNS]
		if not apply and not status_cols:
			rec.snapshot = {"portal": view, "erpnext": state.view}
			return "unchanged", "", ""
		if apply:
			spec = self._spec(s, vendor)
			self._check_posting_date(spec["company"], spec["posting_date"])
			state = self.port.update_invoice(state.name, spec, apply)
			if "items" in apply:
				totals_note = m.check_totals(s, spec, state.net_total, state.gst_total)
				note = (f"; {totals_note}" if totals_note else "") + note
		if status_cols:
			self.port.set_status_fields(state.name, self._status_fields_of(s))
			state = self.port.get_invoice(state.name)
		rec.snapshot = {"portal": view, "erpnext": state.view}
		rec.erpnext_hash = m.view_hash(state.view)
		changed = sorted(set(apply) | set(status_cols))
		return (
			"updated",
			"Update",
			f"Updated draft {state.name} from {m.invoice_label(s)}: {', '.join(changed)}{note}",
		)

	def _portal_edit_of_pushed(self, s, rec, state, view, columns, newly_gone):
		if newly_gone:
			rec.conflict_fields = "is_invoice_cancel" if s.is_invoice_cancel else "is_delete"
			return (
				"conflict",
				"Cancel",
				(
					f"{m.invoice_label(s)} was cancelled on the portal, but {state.name} is ERPNext's document; "
					"held for a person"
				),
			)
		return self._edit_submitted(s, rec, state, view, columns)

	# ------------------------------------------------------------ helpers

	@staticmethod
	def _status_fields_of(s: PortalInvoice) -> dict:
		return {"procureuat_order_status": s.order_status, "procureuat_acknowledgement": s.acknowledgement}

	@staticmethod
	def _status_fields(spec: dict) -> dict:
		return {**m.tracking_fields(spec), "o2o_sync_status": SYNCED}

	def _spec(self, s: PortalInvoice, vendor: Vendor | None) -> dict:
		entity = self.settings.entities[str(s.entity)]
		supplier = self._supplier(s, vendor) if vendor else ""
		default_item = self._cached(("item", self.settings.default_item), self.port.item_info)
		freight_item = self._cached(("item", self.settings.freight_item), self.port.item_info)
		return m.build_spec(
			s,
			vendor=vendor,
			supplier=supplier,
			entity=entity,
			items=self._items,
			settings=self.settings,
			default_item=default_item,
			freight_item=freight_item,
			supplier_has_payment_terms=bool(
				supplier and self._cached(("terms", supplier), self.port.supplier_has_payment_terms)
			),
		)

	def _cached(self, key: tuple, read):
		"""`read(key[1])` once per run; None keys read nothing."""
		if key[1] is None:
			return None
		if key not in self._read_cache:
			self._read_cache[key] = read(key[1])
		return self._read_cache[key]

	def _check_posting_date(self, company, posting_date):
		key = ("date", (company, posting_date))
		if key not in self._read_cache:
			self.port.check_posting_date(company, posting_date)  # raises: not cached, retried next time
			self._read_cache[key] = True

	def _supplier(self, s: PortalInvoice, vendor: Vendor) -> str:
		"""The Supplier for a vendor (contract, "Pull": Supplier); links or creates one."""
		if vendor.id in self._suppliers:
			return self._suppliers[vendor.id]
		name = self.port.supplier_for_vendor(vendor.id)
		if not name and vendor.normalized_gstin:
			candidates = self.port.suppliers_with_gstin(vendor.normalized_gstin)
			if len(candidates) > 1:
				raise AmbiguousSupplier(
					f"{m.invoice_label(s)}: vendor {vendor.id} ({vendor.name}) GSTIN {vendor.normalized_gstin} matches "
					f"{len(candidates)} Suppliers ({', '.join(c[0] for c in candidates)}); link one by setting its ProcureUAT Vendor ID",
					invoice=s.id,
					field="vendors.gstn",
				)
			if candidates:
				name, linked_vendor = candidates[0]
				if linked_vendor and linked_vendor != vendor.id:
					raise AmbiguousSupplier(
						f"{m.invoice_label(s)}: vendor {vendor.id} ({vendor.name}) GSTIN {vendor.normalized_gstin} belongs to "
						f"Supplier {name}, already linked to vendor {linked_vendor}; a person must decide",
						invoice=s.id,
						field="vendors.gstn",
					)
				self.port.link_supplier(name, vendor.id)
		if not name:
			name = self.port.create_supplier(vendor, self.settings.supplier_group)
		self._suppliers[vendor.id] = name
		return name
