"""A portal invoice into the Purchase Invoice the pull writes (contract, "Pull").

Pure: `build_spec` gets a vendor slice of a portal invoice and what the pull resolved on the
ERPNext side (the Supplier, Items, the entity's config) and returns an `InvoiceSpec`;
`check_totals` compares ERPNext's computed totals with the portal's. Every refusal is an
`InvoiceError` naming the requisition, the line and the field. Amounts are Decimal rupees.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.constants import (
	F_ACKNOWLEDGEMENT,
	F_INVOICE_NUMBER,
	F_ORDER_STATUS,
	F_PROCUREUAT_ID,
	F_VENDOR_ID,
)
from o2o_sync.sync.model import columns, gst
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.mapping import (
	INR_CURRENCY_ID,
	EntityConfig,
	ItemInfo,
	due_date_for,
	invoice_date,
	invoice_label,
	slice_vendor_id,
)
from o2o_sync.sync.model.money import (
	ERPNEXT_AMOUNT_LIMIT,
	PAISA,
	ZERO,
	amount_tolerance,
	beyond_float_precision,
	paisa,
	parse_text_number,
	shown,
)
from o2o_sync.sync.model.records import (
	ExpectedTotals,
	InvoiceSpec,
	PortalInvoice,
	PortalLine,
	SpecLine,
	Vendor,
)

RATE_PLACES = Decimal("0.000001")  # Purchase Invoice Item `rate` has 6 decimals (Property Setter)
#: Characters a Data field holds in ERPNext (`bill_no`; Frappe's default varchar length).
DATA_LENGTH = 140
#: The portal's DATETIME columns the header maps: an impossible value fails the invoice.
DATE_COLUMNS = ("invoice_generated_at", "created_at", "delivery_date")


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
	(or one longer than `bill_no` holds), no date or an impossible one (month or day 0),
	currency not INR, no lines, unknown vendor, zero or missing quantity, NULL, unreadable,
	negative or oversized money (`cost`, `gst_amt`, `unit_rate`, `freight_cost`), no Item,
	a stock item, GST from an unregistered vendor, GST off every slab, missing GST accounts.
	"""
	posting = _check_header(inv, vendor)
	split = gst.gst_split(vendor.normalized_gstin, entity.company_gstin)
	lines = [_spec_line(inv, line, vendor, split, entity, items, default_item) for line in inv.lines]
	freight = _freight_line(inv, entity, freight_item)
	if freight:
		lines.append(freight)
	accounts = _tax_accounts(inv, entity, split)
	try:
		header, status = columns.erpnext_values(inv, registry)
	except columns.MappedValueError as e:
		fail(inv, str(e), field=e.column)
	for line, spec_line in zip(inv.lines, lines, strict=False):
		try:
			spec_line.extra = columns.line_values(line, registry)
		except columns.MappedValueError as e:
			fail(inv, str(e), field=e.column, line=line)
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
		tax_accounts=accounts,
		items=lines,
		expected=_expected(inv, lines, split, accounts),
	)


def _check_header(inv: PortalInvoice, vendor: Vendor | None) -> date:
	"""Refuse a header the pull cannot book; returns the posting date.

	Zero datetimes read as None (contract, "Tables"); a value the database keeps but no
	calendar has (month or day 0) reaches here as text and fails naming its column."""
	if not (inv.invoice_number or "").strip():
		fail(inv, "invoice_number is empty", field="invoice_number")
	if len(inv.invoice_number) > DATA_LENGTH:
		fail(
			inv,
			f"invoice_number is {len(inv.invoice_number)} characters; ERPNext's bill_no holds {DATA_LENGTH}",
			field="invoice_number",
		)
	for column in DATE_COLUMNS:
		value = columns.value_of(inv, column)
		if value is not None and not isinstance(value, datetime):
			fail(inv, f"{column} {shown(value)} is not a valid date", field=column)
	posting = invoice_date(inv)
	if posting is None:
		fail(inv, "neither invoice_generated_at nor created_at holds a date", field="invoice_generated_at")
	if inv.currency_id not in (None, INR_CURRENCY_ID):
		fail(inv, f"currency_id {inv.currency_id} is not INR (1)", field="currency_id")
	if not inv.lines:
		fail(inv, "has no lines (no purchase_order_items rows)", field="purchase_order_items")
	if vendor is None:
		vid = slice_vendor_id(inv)
		fail(
			inv,
			f"vendor_id {vid or 'empty'} is not a known vendor",
			field="vendor_id",
			line=inv.lines[0],
		)
	return posting


def _line_description(line: PortalLine) -> str:
	parts = [f"ProcureUAT product {line.product_id}" if line.product_id else "ProcureUAT line"]
	if line.quantity:
		parts.append(f"{line.quantity} {line.uom or 'unit'}".strip())
	if (line.unit_rate or "").strip():
		parts.append(f"@ {line.unit_rate.strip()}")
	return " ".join(parts) + f" (line {line.id})"


def _amount(inv: PortalInvoice, line: PortalLine, column: str) -> Decimal:
	"""A line's FLOAT money column (`cost`, `gst_amt`) as Decimal rupees: never NULL (a NULL
	amount is not ₹0), a finite number, not negative, within what ERPNext's Currency fields
	hold. Raises InvoiceError naming the requisition, the line and the column."""
	raw = columns.value_of(line, column)
	if raw is None:
		fail(inv, f"{column} is empty (NULL); a missing amount is never taken as ₹0", field=column, line=line)
	try:
		amount = paisa(raw)
	except ValueError as e:
		fail(inv, f"{column} {e}", field=column, line=line)
	if amount < 0:
		fail(
			inv,
			f"{column} ₹{amount} is negative; the pull books no negative amounts",
			field=column,
			line=line,
		)
	if amount >= ERPNEXT_AMOUNT_LIMIT:
		fail(inv, f"{column} ₹{amount} is more than ERPNext's amounts hold", field=column, line=line)
	return amount


def _check_unit_rate(inv: PortalInvoice, line: PortalLine) -> None:
	"""`unit_rate` (text, informational: the rate booked is cost / quantity) may be NULL or
	blank (contract, "Tables"); otherwise it must be a non-negative amount in the grammar of
	`money.parse_text_number`. Raises InvoiceError naming the line and `unit_rate`."""
	try:
		rate = parse_text_number(line.unit_rate)
	except ValueError as e:
		fail(inv, f"unit_rate {e}", field="unit_rate", line=line)
	if rate is not None and rate < 0:
		fail(inv, f"unit_rate {shown(line.unit_rate)} is negative", field="unit_rate", line=line)


def _spec_line(inv, line: PortalLine, vendor: Vendor, split: str, entity, items, default_item) -> SpecLine:
	"""One portal line as a Purchase Invoice Item: qty = quantity, rate = cost / quantity,
	GST slab detected from cost and gst_amt (contract, "Pull": line, GST)."""
	quantity = line.quantity
	if quantity is None:
		fail(
			inv, "quantity is empty (NULL); it must be a whole number above zero", field="quantity", line=line
		)
	if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
		fail(
			inv, f"quantity {shown(quantity)} must be a whole number above zero", field="quantity", line=line
		)
	cost, gst_amt = _amount(inv, line, "cost"), _amount(inv, line, "gst_amt")
	_check_unit_rate(inv, line)
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
	if gst_amt and split == gst.NO_GST:
		fail(
			inv,
			f"gst_amt ₹{gst_amt} charged by vendor {vendor.id} ({vendor.name}) who has no GSTIN (unregistered)",
			field="gst_amt",
			line=line,
		)
	slab = gst.detect_slab(cost, gst_amt) if split != gst.NO_GST else ZERO
	if slab is None:
		fail(
			inv,
			f"gst_amt ₹{gst_amt} on cost ₹{cost} matches no GST slab ({', '.join(gst.format_rate(s) for s in gst.GST_SLABS)} %)",
			field="gst_amt",
			line=line,
		)
	return SpecLine(
		procureuat_item_id=line.id,
		item_code=item.item_code,
		description=_line_description(line),
		qty=quantity,
		rate=(cost / quantity).quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
		amount=cost,
		gst_rate=slab,
		gst_amt=gst_amt,
		uom=line.uom or None,
		expense_account=entity.expense_account,
		cost_center=entity.cost_center,
	)


def _freight_line(inv: PortalInvoice, entity: EntityConfig, freight_item: ItemInfo | None) -> SpecLine | None:
	"""`freight_cost` above zero as a line of the freight item, without GST (contract, "Pull").

	The column is text (contract, "Tables"): blank means no freight; otherwise it must be a
	non-negative amount in the grammar of `money.parse_text_number` (never misread)."""
	try:
		freight = parse_text_number(inv.freight_cost) or ZERO
	except ValueError as e:
		fail(inv, f"freight_cost {e}", field="freight_cost")
	if freight < 0:
		fail(inv, f"freight_cost {shown(inv.freight_cost)} is negative", field="freight_cost")
	if freight >= ERPNEXT_AMOUNT_LIMIT:
		fail(inv, f"freight_cost ₹{freight} is more than ERPNext's amounts hold", field="freight_cost")
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


def _expected(inv: PortalInvoice, lines: list[SpecLine], split: str, accounts: dict) -> ExpectedTotals:
	"""The totals to reconcile to (contract, "Pull": totals): Σ cost (+ freight), Σ gst_amt and
	each GST account's Σ of its lines' shares (`gst.line_shares`), every line's amount first
	rounded half-up to the paisa; equal to the paisa (tolerance ₹0), or within the FLOAT
	resolution when a line's amount is beyond what a FLOAT holds to the paisa (₹1,31,072)."""
	net = sum((li.amount for li in lines), ZERO)
	tax = sum((li.gst_amt for li in lines), ZERO)
	by_account: dict[str, Decimal] = {}
	for shares in gst.line_shares([li.gst_amt for li in lines], split):
		for kind, share in shares.items():
			by_account[accounts[kind]] = by_account.get(accounts[kind], ZERO) + share
	beyond = any(beyond_float_precision(li.cost) or beyond_float_precision(li.gst_amt) for li in inv.lines)
	tolerance = max(amount_tolerance(net, ZERO), amount_tolerance(tax, ZERO)) if beyond else ZERO
	return ExpectedTotals(
		net_total=net, gst_total=tax, tolerance=tolerance, beyond_float=beyond, by_account=by_account
	)


def check_totals(
	inv: PortalInvoice,
	spec: InvoiceSpec,
	net_total: Decimal,
	gst_total: Decimal,
	*,
	grand_total: Decimal | None = None,
	gst_by_account: dict | None = None,
) -> str:
	"""Check ERPNext's computed totals against the portal's (contract, "Pull": totals).

	Args: the portal slice, its spec, ERPNext's net total and the sum of its GST rows; its
	grand total and its GST by account when known (rupees). Each must equal the portal's
	(`spec.expected`) to the paisa, or be within the FLOAT resolution when an amount is beyond
	it. Returns '' or, beyond the FLOAT's paisa, a note that the amounts reconciled within the
	FLOAT resolution. Raises InvoiceError naming the field (`cost` or `gst_amt`) otherwise.
	"""
	exp = spec.expected
	tol = exp.tolerance
	within = "" if not tol else f" (tolerance ₹{tol})"
	if abs(Decimal(net_total) - exp.net_total) > tol:
		fail(
			inv,
			f"net total ₹{Decimal(net_total):.2f} in ERPNext differs from the portal's sum of cost ₹{exp.net_total:.2f}{within}",
			field="cost",
		)
	template_hint = "; an Item Tax Template on the Item or Item Group may have replaced the line's"
	if abs(Decimal(gst_total) - exp.gst_total) > tol:
		fail(
			inv,
			f"GST ₹{Decimal(gst_total):.2f} in ERPNext differs from the portal's sum of gst_amt ₹{exp.gst_total:.2f}{within}{template_hint}",
			field="gst_amt",
		)
	for account, want in exp.by_account.items() if gst_by_account is not None else ():
		got = Decimal(gst_by_account.get(account, ZERO))
		if abs(got - want) > tol:
			fail(
				inv,
				f"{account} ₹{got:.2f} in ERPNext differs from the portal lines' share ₹{want:.2f}{within}",
				field="gst_amt",
			)
	if grand_total is not None and abs(Decimal(grand_total) - exp.grand_total) > tol:
		fail(
			inv,
			f"grand total ₹{Decimal(grand_total):.2f} in ERPNext differs from the portal's sum of cost and gst_amt ₹{exp.grand_total:.2f}{within}",
			field="total_amt",
		)
	if exp.beyond_float:
		return f"amounts above ₹1,31,072 reconciled within the portal FLOAT column's resolution (±₹{tol})"
	return ""


def totals_of(state) -> dict:
	"""The keyword arguments `check_totals` takes from an `InvoiceState` beyond its net and GST
	totals: its grand total and its GST by account."""
	return {"grand_total": state.grand_total, "gst_by_account": state.gst_by_account}
