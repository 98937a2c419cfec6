"""The portal row of a Purchase Invoice (contract, "Push"): what the portal can hold
(`check_pushable`), the `purchase_requisitions` / `purchase_order_items` column values
(`build_portal_rows`), the financial year of its number and its payment state
(`finance_status`). Pure: no client, no port; `push.PushEngine` writes what it builds.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.constants import F_PRODUCT_ID, F_VENDOR_ID, PURCHASE_INVOICE
from o2o_sync.sync.model import columns, field_maps
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.money import PAISA
from o2o_sync.sync.model.records import PushInvoice
from o2o_sync.sync.model.rules import ON_NET_TOTAL, TAX_GST, TAX_OTHER

GST_PERCENTAGE_WIDTH = 2  # `gst_percentage` is VARCHAR(2)
CURRENCY = "INR"  # the portal's only currency (contract: `currency_id` 1)


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


def _mapped(inv: PushInvoice, values: dict, table: str, registry, line: int | None = None) -> dict:
	"""The portal values of the field maps that push (issue 12), converted back to each
	column's type and length; raises InvoiceError naming the field when a column cannot hold
	its value (nothing is truncated)."""
	out = {}
	for c in field_maps.pushed_columns(table, registry):
		try:
			out[c.key] = c.to_portal(values.get(c.erpnext_field))
		except ValueError as e:
			_fail(inv, f"{c.label or c.erpnext_field} ({c.erpnext_field}) {e}", c.erpnext_field, line)
	return out


def build_portal_rows(
	inv: PushInvoice, settings: PushSettings, registry=columns.REGISTRY
) -> tuple[dict, list[dict]]:
	"""Column values of the `purchase_requisitions` row and its `purchase_order_items` rows.

	Follows the contract's "Push" column list; amounts are rounded to the paisa and
	`unit_rate` written as text. `invoice_number` is left out: the client allocates it
	from `invoice_counter` in the writing transaction. The field maps of the `registry`
	that push add their columns (`Column.to_portal`). Raises InvoiceError (see
	`check_pushable`; a mapped value the portal's column cannot hold).
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
	header.update(_mapped(inv, inv.extra, columns.REQUISITIONS, registry))
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
				**_mapped(inv, line.extra, columns.ORDER_ITEMS, registry, line.idx),
			}
		)
	return header, lines


def _rate_text(rate: Decimal) -> str:
	return format(Decimal(rate).normalize(), "f")


def totals_note(inv: PushInvoice, lines: list[dict]) -> str:
	"""What of ERPNext's payable the portal's lines do not hold, for the Sync Log (contract,
	"Push": columns): '' or '; …' naming the rounding adjustment of a rounded total and the
	paise an additional discount on the grand total leaves beyond the net total and the tax
	rows. ERPNext books both to the company's Round Off account; the portal has no column for
	either, its lines add up to the net total, the GST rows and their sum."""
	total = sum((Decimal(li["total_amt"]) for li in lines), Decimal(0))
	parts = []
	if inv.discount_residue:
		parts.append(
			f"the additional discount leaves ₹{inv.discount_residue:.2f} between ERPNext's grand total"
			f" ₹{total + inv.discount_residue:.2f} and its net total plus taxes"
		)
	if inv.rounding_adjustment:
		parts.append(
			f"ERPNext's rounding adjustment ₹{inv.rounding_adjustment:.2f} (rounded total ₹{inv.grand_total:.2f})"
		)
	if not parts:
		return ""
	return (
		f"; the portal's lines add up to ₹{total:.2f}; "
		+ " and ".join(parts)
		+ " (in the company's Round Off account) is not on the portal"
	)
