"""The push: Purchase Invoices made in ERPNext into ProcureUAT (contract, "Push").

`push_rows.build_portal_rows` maps an ERPNext invoice onto the portal's columns (pure;
re-exported here); `PushEngine` writes it through the client, records the Sync Mapping and
the Sync Log, and is idempotent under retry: a row whose `order_code` is the invoice's name
(or one of its amendment chain) is found and updated, never inserted twice. Pushes of one
invoice are serialised on the portal (`portal_writes.write_invoice`); a lost connection
leaves the invoice Pending, a cancellation the portal did not take is queued (Pending) for
the periodic retry, and a re-push never overwrites a portal edit held in Conflict.
"""

import time
import traceback
from datetime import datetime

from o2o_sync.constants import (
	CONFLICT,
	FAILED,
	NOT_SYNCED,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PENDING,
	PURCHASE_INVOICE,
	PUSH,
	SKIPPED,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.engine.push.rows import (
	CURRENCY,
	GST_PERCENTAGE_WIDTH,
	PushSettings,
	build_portal_rows,
	check_pushable,
	finance_status,
	financial_year,
	totals_note,
)
from o2o_sync.sync.model import columns, merge
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import O2OSyncError, ProcureUATConnectionError
from o2o_sync.sync.model.port import LogEntry, MappingRecord

__all__ = [
	"CURRENCY",
	"GST_PERCENTAGE_WIDTH",
	"OP_CANCEL",
	"OP_PAYMENT_STATUS",
	"OP_PUSH",
	"PushEngine",
	"PushSettings",
	"build_portal_rows",
	"check_pushable",
	"finance_status",
	"financial_year",
]

# Sync Log operations of the push
OP_PUSH = "Push"
OP_CANCEL = "Cancel"
OP_PAYMENT_STATUS = "Payment Status"


class PushEngine:
	"""Pushes ERPNext's invoices to the portal. `port` is the ERPNext side of the push
	(`frappe_port.FrappePushPort` or an in-memory one), `client` a ProcureUATClient."""

	def __init__(
		self,
		port,
		client,
		settings: PushSettings,
		clock=datetime.now,
		registry=columns.REGISTRY,
		is_stopping=None,
	):
		self.port = port
		self.client = client
		self.settings = settings
		self.clock = clock
		self.registry = tuple(registry)  # the run's column registry, field maps included
		#: `is_stopping(error)`: True for an error that stops the job from outside (RQ's job
		#: timeout) or is ERPNext's database failing, not the invoice: the push is not marked
		#: Failed for it; the job keeps the invoice Pending (`jobs`). Default: none is.
		self.is_stopping = is_stopping or (lambda error: False)

	def _log(self, operation, status, message, name, portal_id=None, tb=None, started=None):
		self.port.write_logs(
			[
				LogEntry(
					direction=PUSH,
					operation=operation,
					status=status,
					message=message,
					reference_doctype=PURCHASE_INVOICE,
					reference_name=name,
					procureuat_id=portal_id,
					traceback=tb,
					duration_ms=int((time.monotonic() - started) * 1000) if started else 0,
				)
			]
		)

	def _record_portal_state(self, rec: MappingRecord, requisition_id: int):
		"""Remember the portal row as written, so the pull sees it as unchanged (no loop)."""
		for inv in self.client.fetch_invoices([requisition_id]):
			for s in m.split_by_vendor(inv):
				if m.slice_vendor_id(s) == rec.procureuat_vendor_id:
					view = columns.portal_view(s, self.registry)
					rec.portal_hash = columns.view_hash(view)
					rec.snapshot = merge.make_snapshot(
						view, (rec.snapshot or {}).get("erpnext"), self.registry
					)
					rec.portal_updated_at = s.change_ts
					rec.procureuat_invoice_number = s.invoice_number

	def push(self, name: str) -> dict:
		"""Write a submitted Purchase Invoice to the portal (insert, or update its row).

		Returns `{"status": "Synced"|"Failed"|"Skipped", "message", "procureuat_id",
		"invoice_number"}`. Invoice problems are logged and returned, not raised;
		ProcureUATConnectionError is raised after logging so a job can retry.
		"""
		started = time.monotonic()
		inv = self.port.push_invoice(name)
		if inv is None:
			return {"status": SKIPPED, "message": f"{name} does not exist"}
		if inv.docstatus != 1:
			return {
				"status": SKIPPED,
				"message": f"{name} is not submitted; only submitted invoices are pushed",
			}
		rec = self.port.mapping_for_invoice(inv.chain)
		if rec and rec.origin == ORIGIN_PORTAL:
			return {
				"status": SKIPPED,
				"message": f"{name} came from ProcureUAT; only its payment state is sent back",
			}
		if rec and rec.status == CONFLICT and rec.purchase_invoice == name:
			return self._held(name, rec, started)
		try:
			header, lines = build_portal_rows(inv, self.settings, self.registry)
			result = self.client.write_invoice(
				header,
				lines,
				order_codes=inv.chain,
				prefix=self.settings.invoice_prefix,
				financial_year=financial_year(inv.posting_date),
			)
		except ProcureUATConnectionError as e:
			self._stays_pending(name, e, started)
			raise
		except Exception as e:
			if self.is_stopping(e):
				raise  # not about the invoice: it stays Pending (the job says so) and is retried
			message = (
				str(e)
				if isinstance(e, O2OSyncError)
				else f"{PURCHASE_INVOICE} {name}: {type(e).__name__}: {e}"
			)
			self.port.save_push_failure(name, rec, message)
			self._log(OP_PUSH, FAILED, message, name, tb=traceback.format_exc(), started=started)
			return {"status": FAILED, "message": message}

		rec = rec or MappingRecord(procureuat_id=result["requisition_id"], procureuat_vendor_id=inv.vendor_id)
		rec.procureuat_id = result["requisition_id"]
		rec.procureuat_vendor_id = inv.vendor_id
		rec.purchase_invoice = name
		rec.origin = ORIGIN_ERPNEXT
		rec.status = SYNCED
		rec.entity_id = str(inv.entity_id)
		rec.last_error = None
		rec.conflict_fields = None
		rec.last_synced_at = self.clock()
		rec.finance_status = finance_status(inv.outstanding_amount, inv.grand_total)
		try:
			self._record_portal_state(rec, result["requisition_id"])
		except ProcureUATConnectionError as e:
			self._stays_pending(name, e, started)  # written but not confirmed: the retry finds its row
			raise
		self.port.save_push_success(name, rec, result["invoice_number"])
		verb = "Inserted" if result["created"] else "Updated"
		message = f"{verb} portal requisition {result['requisition_id']} ({result['invoice_number']}) from {name} with {len(lines)} line(s)"
		message += totals_note(inv, lines)
		self._log(OP_PUSH, SUCCESS, message, name, result["requisition_id"], started=started)
		return {
			"status": SYNCED,
			"message": message,
			"procureuat_id": result["requisition_id"],
			"invoice_number": result["invoice_number"],
		}

	def _stays_pending(self, name: str, error: Exception, started: float) -> None:
		"""The portal went away (unreachable, or the connection lost inside its transaction,
		which the portal then rolled back or had committed whole): the invoice stays Pending,
		its mapping untouched, and the periodic retry pushes it again (idempotent)."""
		self.port.set_invoice_status(name, PENDING)
		self._log(
			OP_PUSH,
			FAILED,
			f"{PURCHASE_INVOICE} {name}: {error}; it stays Pending and is retried",
			name,
			tb=traceback.format_exc(),
			started=started,
		)

	def _held(self, name: str, rec: MappingRecord, started: float) -> dict:
		"""A re-push of an invoice whose portal row holds a portal edit in Conflict: the row is
		not written (each direction owns its state; contract, "Both directions"). The invoice
		goes to Conflict, so the periodic retry leaves it; a person resolves it (then sets the
		Sync Mapping to Pending) or amends the invoice (the amendment's push goes through)."""
		what = rec.conflict_fields or "the portal's row"
		message = (
			f"{PURCHASE_INVOICE} {name}: held: the portal's edit ({what}) of requisition {rec.procureuat_id}"
			" is in Conflict; resolve it first, then set its Sync Mapping to Pending"
		)
		self.port.set_invoice_status(name, CONFLICT)
		self._log(OP_PUSH, CONFLICT, message, name, rec.procureuat_id, started=started)
		return {"status": CONFLICT, "message": message, "procureuat_id": rec.procureuat_id}

	def cancel(self, name: str) -> dict:
		"""Mark a cancelled pushed invoice's portal row cancelled (`is_invoice_cancel`, date).

		Pulled invoices are the vendor's document: nothing is sent (contract, "Origin"). An
		invoice without a Sync Mapping whose push was never confirmed (it may have reached the
		portal before a crash) has the rows carrying its name in `order_code` cancelled, if
		any. Returns `{"status": "Synced"|"Skipped", "message"}` and sets the invoice's status
		(Synced; Not Synced when it never reached the portal). Raises ProcureUATConnectionError
		when the portal is unreachable, after setting the invoice Pending and logging: the
		cancellation is queued and `scheduler.retry_pending_pushes` sends it again.
		"""
		started = time.monotonic()
		rec = self.port.mapping_for_invoice([name])
		if rec and rec.origin != ORIGIN_ERPNEXT:
			return {
				"status": SKIPPED,
				"message": f"{name} was not pushed by o2o_sync; the portal is not touched",
			}
		try:
			if rec is None:
				return self._cancel_unconfirmed(name, started)
			self.client.cancel_invoice(rec.procureuat_id)
			self._record_portal_state(rec, rec.procureuat_id)
		except ProcureUATConnectionError as e:
			self.port.set_invoice_status(name, PENDING)
			self._log(
				OP_CANCEL,
				FAILED,
				f"{PURCHASE_INVOICE} {name}: {e}; the cancellation is queued: it stays Pending and is sent again",
				name,
				rec.procureuat_id if rec else None,
				tb=traceback.format_exc(),
				started=started,
			)
			raise
		rec.last_synced_at = self.clock()
		self.port.save_mapping(rec)
		self.port.set_invoice_status(name, SYNCED)
		message = f"Cancelled portal requisition {rec.procureuat_id} ({rec.procureuat_invoice_number}) after {name} was cancelled"
		self._log(OP_CANCEL, SUCCESS, message, name, rec.procureuat_id, started=started)
		return {"status": SYNCED, "message": message}

	def _cancel_unconfirmed(self, name: str, started: float) -> dict:
		"""Cancel the portal rows an unconfirmed push of `name` may have written (found by
		`order_code`); none: the invoice never reached the portal, and is Not Synced."""
		ids = self.client.rows_written_for(name)
		for requisition_id in ids:
			self.client.cancel_invoice(requisition_id)
		if not ids:
			self.port.set_invoice_status(name, NOT_SYNCED)
			return {
				"status": SKIPPED,
				"message": f"{name} has no portal row of its own (never pushed, or its amendment took the row"
				" over); the portal is not touched",
			}
		self.port.set_invoice_status(name, SYNCED)
		listed = ", ".join(str(i) for i in ids)
		message = f"Cancelled portal requisition {listed} carrying {name}, whose push was never confirmed, after {name} was cancelled"
		self._log(OP_CANCEL, SUCCESS, message, name, ids[0], started=started)
		return {"status": SYNCED, "message": message}

	def sync_payment_states(
		self, names: list[str] | None = None, chunk: int | None = None, deadline: float | None = None
	) -> dict:
		"""Send `finance_status` for mapped invoices whose payment state moved.

		Args: invoice names, or None for every mapped invoice (the periodic job); `chunk`,
		invoices whose state moved sent and committed together (`port.commit` after each;
		None: all in one, committed by the caller); `deadline`, a `time.monotonic()` value
		past which no chunk is started (at least one is). Resumable: a sent state is saved on
		its Sync Mapping, so the next call skips it.
		Returns `{"updated": n, "unchanged": n, "left": n}` (`left`: moved states not sent
		before the deadline); one UPDATE statement per state value and chunk.
		"""
		started = time.monotonic()
		states = self.port.payment_states(names)  # [(MappingRecord, outstanding, grand_total)]
		moved = []
		for rec, outstanding, grand_total in states:
			status = finance_status(outstanding, grand_total)
			if status != rec.finance_status:
				rec.finance_status = status
				moved.append(rec)
		size = max(1, int(chunk)) if chunk else max(1, len(moved))
		sent, requisitions = 0, set()
		for at in range(0, len(moved), size):
			if sent and deadline is not None and time.monotonic() >= deadline:
				break
			part = moved[at : at + size]
			changes = {rec.procureuat_id: rec.finance_status for rec in part}
			self.client.set_finance_status(changes)
			requisitions.update(changes)
			for rec in part:
				self.port.save_mapping(rec)
				self._log(
					OP_PAYMENT_STATUS,
					SUCCESS,
					f"finance_status {rec.finance_status} sent for {rec.purchase_invoice} (requisition {rec.procureuat_id})",
					rec.purchase_invoice,
					rec.procureuat_id,
					started=started,
				)
			sent += len(part)
			if chunk:
				self.port.commit()
		# portal rows updated: a requisition's vendor slices share one
		return {
			"updated": len(requisitions),
			"unchanged": len(states) - len(moved),
			"left": len(moved) - sent,
		}
