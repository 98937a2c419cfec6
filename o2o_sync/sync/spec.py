"""A portal invoice into the Purchase Invoice the pull writes (contract, "Pull").

Pure: `build_spec` gets a vendor slice of a portal invoice and what the pull resolved on the
ERPNext side (the Supplier, Items, the entity's config) and returns an `InvoiceSpec`;
`check_totals` compares ERPNext's computed totals with the portal's. Every refusal is an
`InvoiceError` naming the requisition, the line and the field. Amounts are Decimal rupees.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.constants import (
	F_ACKNOWLEDGEMENT,
	F_INVOICE_NUMBER,
	F_ORDER_STATUS,
	F_PROCUREUAT_ID,
	F_VENDOR_ID,
)

from . import columns, gst
from .errors import InvoiceError
from .mapping import (
	INR_CURRENCY_ID,
	EntityConfig,
	ItemInfo,
	due_date_for,
	invoice_date,
	invoice_label,
	slice_vendor_id,
)
from .money import PAISA, ZERO, amount_tolerance, beyond_float_precision, parse_text_number
from .records import ExpectedTotals, InvoiceSpec, PortalInvoice, PortalLine, SpecLine, Vendor

RATE_PLACES = Decimal("0.000001")  # Purchase Invoice Item `rate` has 6 decimals (Property Setter)


def fail(inv: PortalInvoice, message: str, *, field: str, line: PortalLine | None = None):
	"""Raise InvoiceError '<Requisition N (number)>[, line L]: message' for `field`."""
	where = invoice_label(inv) + (f", line {line.id}" if line is not None else "")
	raise InvoiceError(f"{where}: {message}", invoice=inv.id, field=field, line=line.id if line else None)


def build_spec(
	inv: PortalInvoice,
	*,
	vendor: Vendor | None,
	supplier: str,
	entity: EntityConfig,
	items: dict[int, ItemInfo],
	default_item: ItemInfo | None,
	freight_item: ItemInfo | None,
	supplier_has_payment_terms: bool = False,
	registry=columns.REGISTRY,
) -> InvoiceSpec:
	"""Turn one vendor slice of a portal invoice into the Purchase Invoice to write.

	Args: the slice (`mapping.split_by_vendor`), its `vendors` row, the resolved Supplier
	name, the entity's config, Items by portal `product_id` and the resolved default and
	freight Items (None when the settings name none), the column registry.

	Returns an `InvoiceSpec`: header fields (bill_no, bill_date, posting_date, due_date —
	None when the supplier's payment terms decide —, remarks and every one-to-one registry
	field), the `procureuat_*` tracking fields, the GST split and accounts, the lines (rate
	to six places) and the totals they must reconcile to.

	Raises InvoiceError naming the requisition, the line and the field: no invoice number
	or date, currency not INR, unknown vendor, no lines, zero or missing quantity, no Item,
	a stock item, GST from an unregistered vendor, GST off every slab, bad freight, missing
	GST accounts.
	"""
	posting = _check_header(inv, vendor)
	split = gst.gst_split(vendor.normalized_gstin, entity.company_gstin)
	lines = [_spec_line(inv, line, vendor, split, entity, items, default_item) for line in inv.lines]
	freight = _freight_line(inv, entity, freight_item)
	if freight:
		lines.append(freight)
	header, status = columns.erpnext_values(inv, registry)
	header.update(
		bill_date=posting,
		posting_date=posting,
		due_date=None if supplier_has_payment_terms else due_date_for(inv, posting),
	)
	return InvoiceSpec(
		company=entity.company,
		supplier=supplier,
		header=header,
		tracking={
			F_PROCUREUAT_ID: inv.id,
			F_VENDOR_ID: vendor.id,
			F_INVOICE_NUMBER: header["bill_no"],
			F_ORDER_STATUS: status.get(F_ORDER_STATUS),
			F_ACKNOWLEDGEMENT: status.get(F_ACKNOWLEDGEMENT),
		},
		gst_split=split,
		tax_accounts=_tax_accounts(inv, entity, split),
		items=lines,
		expected=_expected(inv, lines),
	)


def _check_header(inv: PortalInvoice, vendor: Vendor | None) -> date:
	"""Refuse a header the pull cannot book; returns the posting date."""
	if not (inv.invoice_number or "").strip():
		fail(inv, "invoice_number is empty", field="invoice_number")
	posting = invoice_date(inv)
	if posting is None:
		fail(inv, "neither invoice_generated_at nor created_at holds a date", field="invoice_generated_at")
	if inv.currency_id not in (None, INR_CURRENCY_ID):
		fail(inv, f"currency_id {inv.currency_id} is not INR (1)", field="currency_id")
	if vendor is None:
		vid = slice_vendor_id(inv)
		fail(
			inv,
			f"vendor_id {vid or 'empty'} is not a known vendor",
			field="vendor_id",
			line=inv.lines[0] if inv.lines else None,
		)
	if not inv.lines:
		fail(inv, "has no lines", field="purchase_order_items")
	return posting


def _line_description(line: PortalLine) -> str:
	parts = [f"ProcureUAT product {line.product_id}" if line.product_id else "ProcureUAT line"]
	if line.quantity:
		parts.append(f"{line.quantity} {line.uom or 'unit'}".strip())
	if (line.unit_rate or "").strip():
		parts.append(f"@ {line.unit_rate.strip()}")
	return " ".join(parts) + f" (line {line.id})"


def _spec_line(inv, line: PortalLine, vendor: Vendor, split: str, entity, items, default_item) -> SpecLine:
	"""One portal line as a Purchase Invoice Item: qty = quantity, rate = cost / quantity,
	GST slab detected from cost and gst_amt (contract, "Pull": line, GST)."""
	if not line.quantity or line.quantity <= 0:
		fail(
			inv, f"quantity {line.quantity!r} must be a whole number above zero", field="quantity", line=line
		)
	item = (items.get(line.product_id) if line.product_id else None) or default_item
	if item is None:
		fail(
			inv,
			f"product_id {line.product_id} has no Item (set Item.procureuat_product_id or a default item in O2O Sync Settings)",
			field="product_id",
			line=line,
		)
	if item.is_stock_item:
		fail(
			inv,
			f"Item {item.item_code} is a stock item; pulled lines must be non-stock (no Purchase Receipt clears them)",
			field="product_id",
			line=line,
		)
	if line.gst_amt and split == gst.NO_GST:
		fail(
			inv,
			f"gst_amt ₹{line.gst_amt} charged by vendor {vendor.id} ({vendor.name}) who has no GSTIN (unregistered)",
			field="gst_amt",
			line=line,
		)
	slab = gst.detect_slab(line.cost, line.gst_amt) if split != gst.NO_GST else ZERO
	if slab is None:
		fail(
			inv,
			f"gst_amt ₹{line.gst_amt} on cost ₹{line.cost} matches no GST slab ({', '.join(gst.format_rate(s) for s in gst.GST_SLABS)} %)",
			field="gst_amt",
			line=line,
		)
	return SpecLine(
		procureuat_item_id=line.id,
		item_code=item.item_code,
		description=_line_description(line),
		qty=int(line.quantity),
		rate=(line.cost / line.quantity).quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
		amount=line.cost,
		gst_rate=slab,
		gst_amt=line.gst_amt,
		uom=line.uom or None,
		expense_account=entity.expense_account,
		cost_center=entity.cost_center,
	)


def _freight_line(inv: PortalInvoice, entity: EntityConfig, freight_item: ItemInfo | None) -> SpecLine | None:
	"""`freight_cost` above zero as a line of the freight item, without GST (contract, "Pull")."""
	try:
		freight = parse_text_number(inv.freight_cost) or ZERO
	except ValueError as e:
		fail(inv, str(e), field="freight_cost")
	if freight < 0:
		fail(inv, f"freight_cost {inv.freight_cost!r} is negative", field="freight_cost")
	if freight == 0:
		return None
	if freight_item is None:
		fail(
			inv, "freight_cost is above zero but O2O Sync Settings has no freight item", field="freight_cost"
		)
	freight = freight.quantize(PAISA, rounding=ROUND_HALF_UP)
	return SpecLine(
		procureuat_item_id=None,
		item_code=freight_item.item_code,
		description=f"Freight on {invoice_label(inv)}",
		qty=1,
		rate=freight.quantize(RATE_PLACES),
		amount=freight,
		gst_rate=None,
		gst_amt=ZERO,
		uom=None,
		expense_account=entity.expense_account,
		cost_center=entity.cost_center,
	)


def _tax_accounts(inv: PortalInvoice, entity: EntityConfig, split: str) -> dict[str, str]:
	"""The GST rows' accounts: CGST and SGST within a state, IGST across (contract, "Pull": GST)."""
	accounts = {}
	if split == gst.INTRA_STATE:
		accounts = {"cgst": entity.cgst_account, "sgst": entity.sgst_account}
	elif split == gst.INTER_STATE:
		accounts = {"igst": entity.igst_account}
	missing = [k.upper() for k, v in accounts.items() if not v]
	if missing:
		fail(
			inv,
			f"entity {entity.entity_id} has no {'/'.join(missing)} account in O2O Sync Settings",
			field="entities." + "_".join(m.lower() for m in missing) + "_account",
		)
	return accounts


def _expected(inv: PortalInvoice, lines: list[SpecLine]) -> ExpectedTotals:
	"""The totals to reconcile to: Σ cost (+ freight) and Σ gst_amt, ₹0.01 per line or the
	FLOAT resolution above ₹1,31,072 (contract, "Pull": totals)."""
	net = sum((li.amount for li in lines), ZERO)
	tax = sum((li.gst_amt for li in lines), ZERO)
	n = len(lines)
	tolerance = max(amount_tolerance(net, PAISA * n), amount_tolerance(tax, PAISA * n))
	beyond = any(beyond_float_precision(li.cost) or beyond_float_precision(li.gst_amt) for li in inv.lines)
	return ExpectedTotals(net_total=net, gst_total=tax, tolerance=tolerance, beyond_float=beyond)


def check_totals(inv: PortalInvoice, spec: InvoiceSpec, net_total: Decimal, gst_total: Decimal) -> str:
	"""Check ERPNext's computed totals against the portal's (contract, "Pull": totals).

	Args: the portal slice, its spec, ERPNext's net total and the sum of its GST rows (rupees).
	Returns '' or, above ₹1,31,072, a note that the amounts reconciled within the FLOAT
	resolution. Raises InvoiceError naming the field (`cost` or `gst_amt`) otherwise.
	"""
	exp = spec.expected
	tol = exp.tolerance
	if abs(Decimal(net_total) - exp.net_total) > tol:
		fail(
			inv,
			f"net total ₹{Decimal(net_total):.2f} in ERPNext differs from the portal's sum of cost ₹{exp.net_total:.2f} (tolerance ₹{tol})",
			field="cost",
		)
	if abs(Decimal(gst_total) - exp.gst_total) > tol:
		fail(
			inv,
			f"GST ₹{Decimal(gst_total):.2f} in ERPNext differs from the portal's sum of gst_amt ₹{exp.gst_total:.2f} (tolerance ₹{tol}); an Item Tax Template on the Item or Item Group may have replaced the line's",
			field="gst_amt",
		)
	if exp.beyond_float:
		return f"amounts above ₹1,31,072 reconciled within the portal FLOAT column's resolution (±₹{tol})"
	return ""
