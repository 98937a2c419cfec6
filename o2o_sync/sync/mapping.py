"""Pure mapping between portal invoices and Purchase Invoice specs (contract, "What maps to what").

Nothing here talks to a database: the pull engine gives it portal records and what
the ERPNext port resolved (supplier, items), and gets back a *spec*: a plain dict the
port turns into a Purchase Invoice. Every refusal is an `InvoiceError` naming the
requisition, the line and the field.
"""

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from . import gst
from .errors import InvoiceError
from .money import PAISA, ZERO, amount_tolerance, beyond_float_precision, parse_text_number
from .records import PortalInvoice, PortalLine, Vendor

INR_CURRENCY_ID = 1
RATE_PLACES = Decimal("0.000001")  # Purchase Invoice Item `rate` has 6 decimals (Property Setter)


@dataclass(frozen=True)
class EntityConfig:
	"""One row of O2O Sync Settings' `entities` table: a portal entity mapped to a Company."""

	entity_id: str
	company: str
	company_gstin: str = ""
	cgst_account: str | None = None
	sgst_account: str | None = None
	igst_account: str | None = None
	expense_account: str | None = None
	cost_center: str | None = None


@dataclass(frozen=True)
class ItemInfo:
	"""An ERPNext Item as the mapping needs it."""

	item_code: str
	is_stock_item: bool = False


@dataclass(frozen=True)
class PullSettings:
	"""The O2O Sync Settings the pull reads (see the doctype for meanings)."""

	default_item: str | None = None
	freight_item: str | None = None
	supplier_group: str | None = None
	submit_pulled_invoices: bool = False
	conflict_strategy: str = "Hold for review"
	pull_batch_size: int = 200
	from_date: date | None = None
	entities: dict[str, EntityConfig] = field(default_factory=dict)


# ---------------------------------------------------------------- identity and change


def invoice_label(inv: PortalInvoice) -> str:
	"""'Requisition 1042 (AGO2O/26-27/0046)': how messages name a portal invoice."""
	number = f" ({inv.invoice_number})" if inv.invoice_number else ""
	return f"Requisition {inv.id}{number}"


def split_by_vendor(inv: PortalInvoice) -> list[PortalInvoice]:
	"""One portal invoice per vendor of its lines (contract, "Pull": one Purchase Invoice
	per (requisition, vendor)). Lines without a vendor form a slice of vendor None.

	Returns copies sharing the header, each with only its vendor's lines, ordered by vendor id.
	"""
	by_vendor: dict[int | None, list[PortalLine]] = {}
	for line in inv.lines:
		by_vendor.setdefault(line.vendor_id, []).append(line)
	if not by_vendor:
		return [replace(inv, lines=[])]
	return [replace(inv, lines=by_vendor[v]) for v in sorted(by_vendor, key=lambda v: (v is None, v or 0))]


def slice_vendor_id(inv: PortalInvoice) -> int:
	"""The vendor id a slice from `split_by_vendor` belongs to (0 when its lines name none)."""
	return (inv.lines[0].vendor_id if inv.lines else None) or 0


def invoice_date(inv: PortalInvoice) -> date | None:
	"""Invoice date: the date of `invoice_generated_at`, else of `created_at` (contract, "Pull")."""
	moment = inv.invoice_generated_at or inv.created_at
	return moment.date() if moment else None


def _date_text(value) -> str | None:
	if isinstance(value, datetime):
		return value.date().isoformat()
	if isinstance(value, date):
		return value.isoformat()
	return None


def portal_view(inv: PortalInvoice) -> dict:
	"""The portal columns o2o_sync maps, canonical and JSON-ready, for hashing and diffs."""
	return {
		"invoice_number": inv.invoice_number or "",
		"invoice_date": _date_text(inv.invoice_generated_at or inv.created_at),
		"delivery_date": _date_text(inv.delivery_date),
		"remark": inv.remark or "",
		"freight_cost": str(inv.freight_cost or "").strip(),
		"currency_id": inv.currency_id,
		"entity": str(inv.entity or ""),
		"order_status": inv.order_status,
		"acknowledgement": inv.acknowledgement,
		"is_invoice_cancel": int(inv.is_invoice_cancel or 0),
		"is_delete": int(inv.is_delete or 0),
		"lines": [
			[
				line.id,
				line.product_id,
				line.quantity,
				(line.unit_rate or "").strip(),
				line.uom or "",
				str(line.cost),
				str(line.gst_amt),
			]
			for line in sorted(inv.lines, key=lambda li: li.id)
		],
	}


def view_hash(view: dict) -> str:
	"""sha256 hex of a view's canonical JSON (sorted keys, no spaces)."""
	text = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
	return hashlib.sha256(text.encode()).hexdigest()


#: Which Purchase Invoice field groups a change of each portal column touches.
PORTAL_COLUMN_GROUPS: dict[str, tuple[str, ...]] = {
	"invoice_number": ("bill_no",),
	"invoice_date": ("bill_date", "posting_date"),
	"delivery_date": ("due_date",),
	"remark": ("remarks",),
	"freight_cost": ("items", "taxes"),
	"currency_id": ("items", "taxes"),
	"lines": ("items", "taxes"),
	"entity": ("company",),
	"order_status": (),
	"acknowledgement": (),
	"is_invoice_cancel": (),
	"is_delete": (),
}
STATUS_COLUMNS = ("order_status", "acknowledgement")


def changed_columns(old: dict | None, new: dict) -> list[str]:
	"""Portal columns whose value differs between two `portal_view`s (all when `old` is None)."""
	if old is None:
		return sorted(new)
	return sorted(k for k in new if old.get(k) != new.get(k))


def changed_groups(old: dict | None, new: dict) -> set[str]:
	"""Keys of two ERPNext views (see the port's `read_view`) whose values differ."""
	if old is None:
		return set(new)
	return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def three_way_merge(base_portal: dict | None, new_portal: dict, base_erp: dict | None, current_erp: dict):
	"""Decide what a portal edit may change on a draft Purchase Invoice.

	Args: the portal views at last sync and now, the ERPNext views at last sync and now.
	Returns `(apply_groups, conflict_groups, portal_columns)`: the Purchase Invoice field
	groups to take from the portal, those ERPNext also changed differently since the last
	sync (a conflict), and the portal columns that moved.
	"""
	columns = changed_columns(base_portal, new_portal)
	portal_groups = {g for c in columns for g in PORTAL_COLUMN_GROUPS.get(c, ())}
	erp_groups = changed_groups(base_erp, current_erp) if base_erp is not None else set()
	conflicts = portal_groups & erp_groups
	return portal_groups - conflicts, conflicts, columns


# ---------------------------------------------------------------- portal -> Purchase Invoice


def _fail(inv: PortalInvoice, message: str, *, field: str, line: PortalLine | None = None):
	where = invoice_label(inv) + (f", line {line.id}" if line is not None else "")
	raise InvoiceError(f"{where}: {message}", invoice=inv.id, field=field, line=line.id if line else None)


def _line_description(inv: PortalInvoice, line: PortalLine) -> str:
	parts = [f"ProcureUAT product {line.product_id}" if line.product_id else "ProcureUAT line"]
	if line.quantity:
		parts.append(f"{line.quantity} {line.uom or 'unit'}".strip())
	if (line.unit_rate or "").strip():
		parts.append(f"@ {line.unit_rate.strip()}")
	return " ".join(parts) + f" (line {line.id})"


def due_date_for(inv: PortalInvoice, posting: date) -> date:
	"""`delivery_date` when not before the posting date, else the posting date (contract, "Pull")."""
	delivery = inv.delivery_date.date() if isinstance(inv.delivery_date, datetime) else None
	return delivery if delivery and delivery >= posting else posting


def build_spec(
	inv: PortalInvoice,
	*,
	vendor: Vendor | None,
	supplier: str,
	entity: EntityConfig,
	items: dict[int, ItemInfo],
	settings: PullSettings,
	default_item: ItemInfo | None,
	freight_item: ItemInfo | None,
	supplier_has_payment_terms: bool = False,
) -> dict:
	"""Turn one vendor slice of a portal invoice into a Purchase Invoice spec.

	Args: the slice (`split_by_vendor`), its `vendors` row, the resolved Supplier name,
	the entity's config, Items by portal `product_id`, the settings and the resolved
	default/freight Items. Amounts are Decimal rupees.

	Returns a dict: header fields (company, supplier, bill_no, bill_date, posting_date,
	due_date or None to let the supplier's payment terms decide, remarks, the
	`procureuat_*` fields), `gst_split`, `tax_accounts`, `items` (each with qty, rate to
	six places, amount, gst_rate, gst_amt, procureuat_item_id, item_code, description,
	expense_account, cost_center) and `expected` totals with their tolerance.

	Raises InvoiceError naming the requisition, the line and the field: no invoice
	number or date, currency not INR, zero or missing quantity, unknown vendor, GST not
	a slab, GST from an unregistered vendor, a stock item, missing GST accounts.
	"""
	if not (inv.invoice_number or "").strip():
		_fail(inv, "invoice_number is empty", field="invoice_number")
	posting = invoice_date(inv)
	if posting is None:
		_fail(inv, "neither invoice_generated_at nor created_at holds a date", field="invoice_generated_at")
	if inv.currency_id not in (None, INR_CURRENCY_ID):
		_fail(inv, f"currency_id {inv.currency_id} is not INR (1)", field="currency_id")
	if vendor is None:
		vid = slice_vendor_id(inv)
		_fail(
			inv,
			f"vendor_id {vid or 'empty'} is not a known vendor",
			field="vendor_id",
			line=inv.lines[0] if inv.lines else None,
		)
	if not inv.lines:
		_fail(inv, "has no lines", field="purchase_order_items")

	split = gst.gst_split(vendor.normalized_gstin, entity.company_gstin)
	lines = []
	expected_net = ZERO
	expected_gst = ZERO
	beyond = False
	for line in inv.lines:
		if not line.quantity or line.quantity <= 0:
			_fail(
				inv,
				f"quantity {line.quantity!r} must be a whole number above zero",
				field="quantity",
				line=line,
			)
		item = items.get(line.product_id) if line.product_id else None
		item = item or default_item
		if item is None:
			_fail(
				inv,
				f"product_id {line.product_id} has no Item (set Item.procureuat_product_id or a default item in O2O Sync Settings)",
				field="product_id",
				line=line,
			)
		if item.is_stock_item:
			_fail(
				inv,
				f"Item {item.item_code} is a stock item; pulled lines must be non-stock (no Purchase Receipt clears them)",
				field="product_id",
				line=line,
			)
		if line.gst_amt and split == gst.NO_GST:
			_fail(
				inv,
				f"gst_amt ₹{line.gst_amt} charged by vendor {vendor.id} ({vendor.name}) who has no GSTIN (unregistered)",
				field="gst_amt",
				line=line,
			)
		slab = gst.detect_slab(line.cost, line.gst_amt) if split != gst.NO_GST else ZERO
		if slab is None:
			_fail(
				inv,
				f"gst_amt ₹{line.gst_amt} on cost ₹{line.cost} matches no GST slab ({', '.join(gst.format_rate(s) for s in gst.GST_SLABS)} %)",
				field="gst_amt",
				line=line,
			)
		rate = (line.cost / line.quantity).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
		beyond = beyond or beyond_float_precision(line.cost) or beyond_float_precision(line.gst_amt)
		lines.append(
			{
				"procureuat_item_id": line.id,
				"item_code": item.item_code,
				"description": _line_description(inv, line),
				"qty": int(line.quantity),
				"rate": rate,
				"amount": line.cost,
				"gst_rate": slab,
				"gst_amt": line.gst_amt,
				"uom": line.uom or None,
				"expense_account": entity.expense_account,
				"cost_center": entity.cost_center,
			}
		)
		expected_net += line.cost
		expected_gst += line.gst_amt

	try:
		freight = parse_text_number(inv.freight_cost) or ZERO
	except ValueError as e:
		_fail(inv, str(e), field="freight_cost")
	if freight < 0:
		_fail(inv, f"freight_cost {inv.freight_cost!r} is negative", field="freight_cost")
	if freight > 0:
		if freight_item is None:
			_fail(
				inv,
				"freight_cost is above zero but O2O Sync Settings has no freight item",
				field="freight_cost",
			)
		freight = freight.quantize(PAISA, rounding=ROUND_HALF_UP)
		lines.append(
			{
				"procureuat_item_id": None,
				"item_code": freight_item.item_code,
				"description": f"Freight on {invoice_label(inv)}",
				"qty": 1,
				"rate": freight.quantize(RATE_PLACES),
				"amount": freight,
				"gst_rate": None,
				"gst_amt": ZERO,
				"uom": None,
				"expense_account": entity.expense_account,
				"cost_center": entity.cost_center,
			}
		)
		expected_net += freight

	tax_accounts = {}
	if split == gst.INTRA_STATE:
		tax_accounts = {"cgst": entity.cgst_account, "sgst": entity.sgst_account}
	elif split == gst.INTER_STATE:
		tax_accounts = {"igst": entity.igst_account}
	missing = [k.upper() for k, v in tax_accounts.items() if not v]
	if missing:
		_fail(
			inv,
			f"entity {entity.entity_id} has no {'/'.join(missing)} account in O2O Sync Settings",
			field="entities." + "_".join(m.lower() for m in missing) + "_account",
		)

	n = len(lines)
	tolerance = max(amount_tolerance(expected_net, PAISA * n), amount_tolerance(expected_gst, PAISA * n))
	due = None if supplier_has_payment_terms else due_date_for(inv, posting)
	return {
		"company": entity.company,
		"supplier": supplier,
		"bill_no": inv.invoice_number.strip(),
		"bill_date": posting,
		"posting_date": posting,
		"due_date": due,
		"remarks": inv.remark or "",
		"procureuat_id": inv.id,
		"procureuat_vendor_id": vendor.id,
		"procureuat_invoice_number": inv.invoice_number.strip(),
		"procureuat_order_status": inv.order_status,
		"procureuat_acknowledgement": inv.acknowledgement,
		"gst_split": split,
		"tax_accounts": tax_accounts,
		"items": lines,
		"expected": {
			"net_total": expected_net,
			"gst_total": expected_gst,
			"tolerance": tolerance,
			"beyond_float": beyond,
		},
	}


TRACKING_FIELDS = (
	"procureuat_id",
	"procureuat_vendor_id",
	"procureuat_invoice_number",
	"procureuat_order_status",
	"procureuat_acknowledgement",
)


def tracking_fields(spec: dict) -> dict:
	"""The Purchase Invoice's `procureuat_*` custom fields (allow-on-submit) from a spec."""
	return {f: spec[f] for f in TRACKING_FIELDS}


def check_totals(inv: PortalInvoice, spec: dict, net_total: Decimal, gst_total: Decimal) -> str:
	"""Check ERPNext's computed totals against the portal's (contract, "Pull": totals).

	Returns '' or, above ₹1,31,072, a note that the amounts reconciled within the FLOAT
	resolution. Raises InvoiceError naming the field (`cost` or `gst_amt`) otherwise.
	"""
	exp = spec["expected"]
	tol = exp["tolerance"]
	if abs(Decimal(net_total) - exp["net_total"]) > tol:
		_fail(
			inv,
			f"net total ₹{Decimal(net_total):.2f} in ERPNext differs from the portal's sum of cost ₹{exp['net_total']:.2f} (tolerance ₹{tol})",
			field="cost",
		)
	if abs(Decimal(gst_total) - exp["gst_total"]) > tol:
		_fail(
			inv,
			f"GST ₹{Decimal(gst_total):.2f} in ERPNext differs from the portal's sum of gst_amt ₹{exp['gst_total']:.2f} (tolerance ₹{tol}); an Item Tax Template on the Item or Item Group may have replaced the line's",
			field="gst_amt",
		)
	if exp["beyond_float"]:
		return f"amounts above ₹1,31,072 reconciled within the portal FLOAT column's resolution (±₹{tol})"
	return ""
