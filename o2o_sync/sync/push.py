"""The push: Purchase Invoices made in ERPNext into ProcureUAT (contract, "Push").

`build_portal_rows` maps an ERPNext invoice onto the portal's columns (pure);
`PushEngine` writes it through the client, records the Sync Mapping and the Sync Log,
and is idempotent under retry: a row whose `order_code` is the invoice's name (or one
of its amendment chain) is found and updated, never inserted twice.
"""

import time
import traceback
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.constants import (
	F_PRODUCT_ID,
	F_VENDOR_ID,
	FAILED,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PENDING,
	PURCHASE_INVOICE,
	PUSH,
	SKIPPED,
	SUCCESS,
	SYNCED,
)

from . import columns, merge
from . import mapping as m
from .errors import InvoiceError, O2OSyncError, ProcureUATConnectionError
from .money import PAISA
from .port import LogEntry, MappingRecord
from .records import PushInvoice
from .rules import ON_NET_TOTAL, TAX_GST, TAX_OTHER

GST_PERCENTAGE_WIDTH = 2  # `gst_percentage` is VARCHAR(2)
CURRENCY = "INR"  # the portal's only currency (contract: `currency_id` 1)

# Sync Log operations of the push
OP_PUSH = "Push"
OP_CANCEL = "Cancel"
OP_PAYMENT_STATUS = "Payment Status"


@dataclass(frozen=True)
class PushSettings:
	"""What the push reads from O2O Sync Settings."""

	invoice_prefix: str
	portal_user_id: int


def financial_year(d: date) -> str:
	"""Indian financial year (April to March) as the portal writes it: 2026-11-21 -> '26-27'."""
	start = d.year if d.month >= 4 else d.year - 1
	return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def finance_status(outstanding: Decimal, grand_total: Decimal) -> int:
	"""Portal payment state (contract, "Push": payment state): 0 all outstanding, 1 part, 2 none."""
	outstanding, grand_total = Decimal(outstanding), Decimal(grand_total)
	if outstanding <= PAISA / 2:
		return 2
	if outstanding >= grand_total - PAISA / 2:
		return 0
	return 1


def _fail(inv: PushInvoice, message: str, field: str, line: int | None = None):
	where = f"{PURCHASE_INVOICE} {inv.name}" + (f", row {line}" if line else "")
	raise InvoiceError(f"{where}: {message}", invoice=inv.name, field=field, line=line)


def check_pushable(inv: PushInvoice) -> None:
	"""Refuse what the portal cannot hold (contract, "Push"), naming what to fix.

	Raises InvoiceError: a return (debit note), a non-INR currency, a fractional
	quantity, a tax row other than GST "On Net Total" (or TDS), an unmapped entity,
	a Supplier without `procureuat_vendor_id` or an Item without `procureuat_product_id`.
	"""
	if inv.is_return:
		_fail(inv, "is a return (debit note); ProcureUAT holds no returns", "is_return")
	if inv.currency != CURRENCY:
		_fail(inv, f"is in {inv.currency}; ProcureUAT holds {CURRENCY} only", "currency")
	if not inv.entity_id:
		_fail(inv, f"company {inv.company} is not mapped to a portal entity in O2O Sync Settings", "company")
	for line in inv.lines:
		if line.qty != line.qty.to_integral_value():
			_fail(
				inv,
				f"quantity {line.qty.normalize()} of {line.item_code} is fractional; ProcureUAT holds whole quantities",
				"qty",
				line.idx,
			)
	for tax in inv.taxes:
		if tax.kind == TAX_OTHER or (tax.kind == TAX_GST and tax.charge_type != ON_NET_TOTAL):
			_fail(
				inv,
				f'tax row {tax.account_head} ({tax.charge_type}) is not a GST row "{ON_NET_TOTAL}" (or TDS); ProcureUAT cannot hold it',
				"taxes",
				tax.idx,
			)
	missing = []
	if not inv.vendor_id:
		missing.append(f"Supplier {inv.supplier} (set its ProcureUAT Vendor ID)")
	items = sorted({li.item_code for li in inv.lines if not li.product_id})
	missing += [f"Item {code} (set its ProcureUAT Product ID)" for code in items]
	if missing:
		_fail(
			inv,
			"map " + " and ".join(missing) + " before it can be pushed",
			F_VENDOR_ID if not inv.vendor_id else F_PRODUCT_ID,
		)


def build_portal_rows(inv: PushInvoice, settings: PushSettings) -> tuple[dict, list[dict]]:
	"""Column values of the `purchase_requisitions` row and its `purchase_order_items` rows.

	Follows the contract's "Push" column list; amounts are rounded to the paisa and
	`unit_rate` written as text. `invoice_number` is left out: the client allocates it
	from `invoice_counter` in the writing transaction. Raises InvoiceError (see
	`check_pushable`).
	"""
	check_pushable(inv)
	posting = datetime.combine(inv.posting_date, datetime.min.time())
	rates = sorted({line.gst_rate for line in inv.lines})
	fitting = [r for r in rates if len(_rate_text(r)) <= GST_PERCENTAGE_WIDTH]
	gst_percentage = (
		_rate_text(rates[0])
		if len(rates) == 1 and fitting
		else (_rate_text(max(fitting)) if fitting else "0")
	)
	user = int(settings.portal_user_id or 0)
	header = {
		"entity": str(inv.entity_id),
		"order_name": inv.supplier_name,
		"order_code": inv.name,
		"address": inv.supplier_address or "",
		"remark": inv.remarks or "",
		"acknowledgement": 1,
		"order_status": 2,
		"status": "active",
		"category": 0,
		"amend_no": "0",
		"reason": "ERPNext",
		"transportation_mode": "",
		"vehicle_no": "",
		"challan_number": "",
		"freight_rate": "0",
		"freight_cost": "0",
		"requisition_at": posting,
		"created_at": posting,
		"invoice_generated_at": posting,
		"requisition_by": user,
		"created_by": user,
		"updated_by": user,
		"invoice_series": 1,
		"invoice_generated": 1,
		"is_visible_header": 1,
		"vendor_created": 0,
		"gst_percentage": gst_percentage,
		"credit_note_number": inv.bill_no or "",
		"currency_id": m.INR_CURRENCY_ID,
	}
	lines = []
	for line in inv.lines:
		cost = line.net_amount.quantize(PAISA, rounding=ROUND_HALF_UP)
		gst_amt = line.gst_amount.quantize(PAISA, rounding=ROUND_HALF_UP)
		lines.append(
			{
				"vendor_id": inv.vendor_id,
				"product_id": line.product_id,
				"brand_id": 0,
				"image": "",
				"status": "active",
				"quantity": int(line.qty),
				"unit_rate": format(line.rate.normalize(), "f"),
				"uom": line.uom,
				"cost": cost,
				"gst_amt": gst_amt,
				"total_amt": cost + gst_amt,
				"created_by": user,
				"updated_by": user,
				"created_at": posting,
			}
		)
	return header, lines


def _rate_text(rate: Decimal) -> str:
	return format(Decimal(rate).normalize(), "f")


class PushEngine:
	"""Pushes ERPNext's invoices to the portal. `port` is the ERPNext side of the push
	(`frappe_port.FrappePushPort` or an in-memory one), `client` a ProcureUATClient."""

	def __init__(self, port, client, settings: PushSettings, clock=datetime.now):
		self.port = port
		self.client = client
		self.settings = settings
		self.clock = clock

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
					view = columns.portal_view(s)
					rec.portal_hash = columns.view_hash(view)
					rec.snapshot = merge.make_snapshot(view, (rec.snapshot or {}).get("erpnext"))
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
		try:
			header, lines = build_portal_rows(inv, self.settings)
			result = self.client.write_invoice(
				header,
				lines,
				order_codes=inv.chain,
				prefix=self.settings.invoice_prefix,
				financial_year=financial_year(inv.posting_date),
			)
		except ProcureUATConnectionError as e:
			# stays Pending: the periodic retry pushes it again once the portal answers
			self.port.set_invoice_status(name, PENDING)
			self._log(
				OP_PUSH,
				FAILED,
				f"{PURCHASE_INVOICE} {name}: {e}; it stays Pending and is retried",
				name,
				tb=traceback.format_exc(),
				started=started,
			)
			raise
		except Exception as e:
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
		self._record_portal_state(rec, result["requisition_id"])
		self.port.save_push_success(name, rec, result["invoice_number"])
		verb = "Inserted" if result["created"] else "Updated"
		message = f"{verb} portal requisition {result['requisition_id']} ({result['invoice_number']}) from {name} with {len(lines)} line(s)"
		self._log(OP_PUSH, SUCCESS, message, name, result["requisition_id"], started=started)
		return {
			"status": SYNCED,
			"message": message,
			"procureuat_id": result["requisition_id"],
			"invoice_number": result["invoice_number"],
		}

	def cancel(self, name: str) -> dict:
		"""Mark a cancelled pushed invoice's portal row cancelled (`is_invoice_cancel`, date).

		Pulled invoices are the vendor's document: nothing is sent (contract, "Origin").
		"""
		started = time.monotonic()
		rec = self.port.mapping_for_invoice([name])
		if not rec or rec.origin != ORIGIN_ERPNEXT:
			return {
				"status": SKIPPED,
				"message": f"{name} was not pushed by o2o_sync; the portal is not touched",
			}
		self.client.cancel_invoice(rec.procureuat_id)
		self._record_portal_state(rec, rec.procureuat_id)
		rec.last_synced_at = self.clock()
		self.port.save_mapping(rec)
		message = f"Cancelled portal requisition {rec.procureuat_id} ({rec.procureuat_invoice_number}) after {name} was cancelled"
		self._log(OP_CANCEL, SUCCESS, message, name, rec.procureuat_id, started=started)
		return {"status": SYNCED, "message": message}

	def sync_payment_states(self, names: list[str] | None = None) -> dict:
		"""Send `finance_status` for mapped invoices whose payment state moved.

		Args: invoice names, or None for every mapped invoice (the periodic job).
		Returns `{"updated": n, "unchanged": n}`; one UPDATE statement per state value.
		"""
		started = time.monotonic()
		states = self.port.payment_states(names)  # [(MappingRecord, outstanding, grand_total)]
		changes: dict[int, int] = {}
		moved = []
		for rec, outstanding, grand_total in states:
			status = finance_status(outstanding, grand_total)
			if status != rec.finance_status:
				changes[rec.procureuat_id] = status
				rec.finance_status = status
				moved.append(rec)
		if changes:
			self.client.set_finance_status(changes)
			for rec in moved:
				self.port.save_mapping(rec)
				self._log(
					OP_PAYMENT_STATUS,
					SUCCESS,
					f"finance_status {rec.finance_status} sent for {rec.purchase_invoice} (requisition {rec.procureuat_id})",
					rec.purchase_invoice,
					rec.procureuat_id,
					started=started,
				)
		return {"updated": len(changes), "unchanged": len(states) - len(changes)}
