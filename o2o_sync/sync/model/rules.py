"""The rules the ERPNext port follows, kept here so they run and are tested without Frappe.

The port (`frappe_port`, or the in-memory one of the tests) only reads and writes
ERPNext; what it writes and how it reads a figure is decided here:

- how a new Supplier is named when the vendor's name is taken, and which names it cannot take;
- what a portal edit may change on a draft Purchase Invoice and what it keeps;
- the Item Tax Template a GST slab gets on which accounts;
- the GST rows of a pulled invoice (amounts and item-wise detail);
- the GST of each line the push sends, and what the supplier is owed.

Amounts are Decimal rupees, rates Decimal percent.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from o2o_sync.sync.model import gst
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.money import share_out, shown
from o2o_sync.sync.model.records import InvoiceSpec, Vendor

# ---------------------------------------------------------------- Suppliers


#: Characters a Supplier's name and `supplier_name` (a Data field) hold in ERPNext.
SUPPLIER_NAME_LENGTH = 140
#: Characters Frappe refuses in a document's name (`frappe.model.naming.validate_name`).
NAME_FORBIDDEN = "<>"


def supplier_name_for(vendor: Vendor, name_taken: bool) -> str:
	"""The `supplier_name` of a new Supplier made for a portal vendor.

	Args: the `vendors` row; whether a Supplier already has the vendor's name (as its
	name or its `supplier_name`). Returns the vendor's name, else when taken
	"name - code", else (no code) "name - id": contract, "Pull": suppliers.

	Raises InvoiceError (field `vendors.name`) for a name ERPNext cannot give a Supplier:
	blank, holding `<` or `>` (Frappe refuses them in names), or longer than
	`SUPPLIER_NAME_LENGTH`; a person links a Supplier (its ProcureUAT Vendor ID) or renames
	the vendor on the portal (issue 7, hostile input).
	"""
	name = vendor.name
	if name_taken:
		name = f"{vendor.name} - {vendor.code}" if vendor.code else f"{vendor.name} - {vendor.id}"
	if not vendor.name.strip():
		problem = "is blank"
	elif any(c in name for c in NAME_FORBIDDEN):
		problem = "holds '<' or '>', which ERPNext refuses in a Supplier's name"
	elif len(name) > SUPPLIER_NAME_LENGTH:
		problem = f"makes a Supplier name of {len(name)} characters; ERPNext holds {SUPPLIER_NAME_LENGTH}"
	else:
		return name
	raise InvoiceError(
		f"vendors.name of vendor {vendor.id} ({shown(vendor.name)}) {problem}: set ProcureUAT Vendor ID"
		" on an existing Supplier, or rename the vendor on the portal",
		field="vendors.name",
	)


# ---------------------------------------------------------------- updating a draft from the portal

#: The field group of the Purchase Invoice's company (`mapping.PORTAL_COLUMN_GROUPS`).
COMPANY_GROUP = "company"
#: The field group of the Purchase Invoice Items.
ITEMS_GROUP = "items"
#: The field group of the GST rows (Purchase Taxes and Charges).
TAXES_GROUP = "taxes"

#: Purchase Invoice Item fields an update keeps on a row it matched: an accountant may
#: have re-coded the line (the portal does not map them).
KEPT_ITEM_FIELDS = ("cost_center", "expense_account")

#: The key of a line without a portal item id (the freight line): one per Item code.
FREIGHT_KEY = "freight"


def header_updates(spec: InvoiceSpec, groups: Iterable[str]) -> dict:
	"""The Purchase Invoice header fields a portal edit sets on a draft.

	Args: the spec (`spec.build_spec`), the field groups to take from the portal
	(`merge.three_way_merge`). Returns {fieldname: value}: `company` when its group is
	named, then every header field whose fieldname is a named group. A None value
	(e.g. a `due_date` left to the supplier's payment terms) is never written.
	"""
	groups = set(groups)
	values = {}
	if COMPANY_GROUP in groups and spec.company is not None:
		values["company"] = spec.company
	for fieldname, value in spec.header.items():
		if fieldname in groups and value is not None:
			values[fieldname] = value
	return values


def updates_items(groups: Iterable[str]) -> bool:
	"""True when the update rewrites the Purchase Invoice Items."""
	return ITEMS_GROUP in set(groups)


def rewrites_gst_rows(groups: Iterable[str]) -> bool:
	"""True when the update rewrites the GST rows: new lines change their base, so an
	items change rewrites them too. Tax rows on other accounts (TDS...) are kept."""
	groups = set(groups)
	return TAXES_GROUP in groups or ITEMS_GROUP in groups


def item_row_key(procureuat_item_id: int | None, item_code: str):
	"""Which existing Purchase Invoice Item a spec line updates: the portal item id
	(`procureuat_item_id`), or ("freight", item_code) for a line without one."""
	return procureuat_item_id or (FREIGHT_KEY, item_code)


#: Purchase Invoice Item fields ERPNext derives from a row's rate and the Item's price (the
#: buying price list's rate, the margin or discount between them): a portal edit clears them
#: on a matched row, so ERPNext derives them again from the new rate as for a new row (left
#: as they were, ERPNext puts the old rate back: price list rate + the old margin).
PRICING_FIELDS = (
	"price_list_rate",
	"margin_type",
	"margin_rate_or_amount",
	"rate_with_margin",
	"discount_percentage",
	"discount_amount",
)


def item_update_values(values: dict) -> dict:
	"""The values a portal edit writes on an existing (matched) Purchase Invoice Item:
	the new row's values without `KEPT_ITEM_FIELDS`."""
	return {k: v for k, v in values.items() if k not in KEPT_ITEM_FIELDS}


# ---------------------------------------------------------------- Item Tax Templates


#: How every Item Tax Template the pull makes is titled: "O2O GST 18% Intra-State ...".
TEMPLATE_TITLE_PREFIX = "O2O GST "
#: Hex characters of the accounts' digest in a template's title.
DIGEST_LENGTH = 6


def item_tax_template_title(split: str, rate: Decimal, rows: list[tuple[str, Decimal]] | None = None) -> str:
	"""Title of the Item Tax Template of a GST slab: 'O2O GST 18% Intra-State', followed, when
	its `rows` (`item_tax_template_rates`) are given, by a short digest of them
	(`template_digest`): 'O2O GST 18% Intra-State 3f9a2c'. ERPNext names it "title - ABBR".

	The digest keeps apart the templates of one company and slab on other accounts (GST
	accounts changed, or two entities of one company with accounts of their own): a template
	must carry the accounts of the invoice's GST rows, or ERPNext charges the line nothing.
	"""
	kind = "Intra-State" if split == gst.INTRA_STATE else "Inter-State"
	title = f"{TEMPLATE_TITLE_PREFIX}{gst.format_rate(rate)}% {kind}"
	return f"{title} {template_digest(rows)}" if rows is not None else title


def template_digest(rows: Iterable[tuple[str, Decimal]]) -> str:
	"""A short stable digest (`DIGEST_LENGTH` hex characters of SHA-1) of a template's
	(account, rate percent) rows, whatever their order; rates to 4 decimals, as ERPNext keeps
	them."""
	text = "\n".join(sorted(f"{account}={Decimal(rate):.4f}" for account, rate in rows))
	return hashlib.sha1(text.encode()).hexdigest()[:DIGEST_LENGTH]


def template_rows_match(have: Iterable[tuple[str, Decimal]], want: Iterable[tuple[str, Decimal]]) -> bool:
	"""True when an Item Tax Template's (tax_type, tax_rate) rows are exactly `want`'s: the
	same accounts at the same rates (to 4 decimals), none missing, none more."""

	def canon(rows):
		return sorted((account, f"{Decimal(str(rate)):.4f}") for account, rate in rows)

	return canon(have) == canon(want)


def item_tax_template_rates(split: str, rate: Decimal, accounts: dict) -> list[tuple[str, Decimal]]:
	"""(account, rate percent) rows of a slab's Item Tax Template (contract, "Pull": GST).

	Within a state CGST and SGST take half the slab each; across states IGST takes it all.
	`accounts` maps 'cgst'/'sgst'/'igst' to accounts (`InvoiceSpec.tax_accounts`).
	"""
	if split == gst.INTRA_STATE:
		return [(accounts["cgst"], rate / 2), (accounts["sgst"], rate / 2)]
	return [(accounts["igst"], rate)]


# ---------------------------------------------------------------- the GST rows of a pulled invoice

#: Purchase Taxes and Charges `charge_type` of a pulled invoice's GST rows: the amount is the
#: portal's, ERPNext keeps it (an "On Net Total" row would round once per row, the portal
#: rounds once per line: contract, "Pull": totals).
ACTUAL = "Actual"


@dataclass(frozen=True)
class GstRow:
	"""One GST row of a pulled invoice: its account kind ('cgst', 'sgst', 'igst') and account,
	its amount (rupees: the sum of the lines' shares) and its item-wise tax detail as ERPNext
	keeps it (`item_wise_tax_detail`: item code -> [rate percent, amount rupees])."""

	kind: str
	account: str
	amount: Decimal
	item_wise: dict


def pulled_gst_rows(spec: InvoiceSpec) -> list[GstRow]:
	"""The GST rows a pulled invoice carries, one per account of `spec.tax_accounts`.

	Each row's amount is the sum over the lines of the line's share of `gst_amt`
	(`gst.line_shares`: the invoice's CGST half its GST rounded half-up and shared over the
	lines, each line's SGST the rest of its `gst_amt`; IGST all), so each
	account, the GST total and the grand total equal what the portal's lines add up to.
	The item-wise detail gives each line's own rate for the account (half the slab for
	CGST/SGST) and its share, keyed by item code as ERPNext keys it: lines of the same Item
	add their amounts and show the last line's rate, as ERPNext's own computation does.
	Contract, "Pull": GST and totals.
	"""
	rows = []
	shares = gst.line_shares([line.gst_amt for line in spec.items], spec.gst_split)
	for kind, account in spec.tax_accounts.items():
		amount = Decimal(0)
		detail: dict[str, list] = {}
		for line, line_shares in zip(spec.items, shares, strict=True):
			share = line_shares.get(kind, Decimal(0))
			amount += share
			before = detail.get(line.item_code, [0, Decimal(0)])[1]
			detail[line.item_code] = [gst.account_rate(kind, line.gst_rate), before + share]
		item_wise = {code: [float(rate), float(value)] for code, (rate, value) in detail.items()}
		rows.append(GstRow(kind, account, amount, item_wise))
	return rows


# ---------------------------------------------------------------- what the push reads

#: Purchase Taxes and Charges `charge_type` of the GST rows the portal can hold.
ON_NET_TOTAL = "On Net Total"

# `PushTax.kind`
TAX_GST = "gst"
TAX_TDS = "tds"
TAX_OTHER = "other"


def tax_kind(is_gst_account: bool, is_withholding: bool) -> str:
	"""`PushTax.kind` of a tax row: GST when its account is a GST account of the settings,
	else TDS when ERPNext marks it a tax-withholding row, else other."""
	if is_gst_account:
		return TAX_GST
	return TAX_TDS if is_withholding else TAX_OTHER


def line_gst_rate(gst_rows: Iterable[tuple[str, str, Decimal]], item_rates: dict[str, Decimal]) -> Decimal:
	"""A line's GST rate (percent) as ERPNext charges it.

	Args: the invoice's GST rows as (account_head, charge_type, rate); the line's own
	rates by account (its `item_tax_rate`, from the Item Tax Template). Sums, over the
	GST rows "On Net Total", the line's rate for the account when it has one, else the
	row's rate (ERPNext: the item's tax rate overrides the row's).
	"""
	return sum(
		(
			item_rates.get(account, rate)
			for account, charge_type, rate in gst_rows
			if charge_type == ON_NET_TOTAL
		),
		Decimal(0),
	)


def gst_amount(net_amount: Decimal, rate: Decimal) -> Decimal:
	"""GST in rupees on a line's net amount at `rate` percent, unrounded: the weight of the
	line in its GST rows' sharing (`line_gst_shares`)."""
	return net_amount * rate / 100


def line_gst_shares(
	lines: list[tuple[Decimal, dict[str, Decimal]]], gst_rows: Iterable[tuple[str, str, Decimal, Decimal]]
) -> list[Decimal]:
	"""Each line's GST (rupees to the paisa) as the push writes `gst_amt`: every GST row's
	amount shared out over the lines, never rounded per line on its own.

	Args: the lines as (net amount, their own rates by account: `item_tax_rate`); the GST
	rows as (account_head, charge_type, rate, amount after discount). For each row "On Net
	Total", its amount is shared by the largest remainder (`money.share_out`) in proportion
	to each line's unrounded tax for that row (`gst_amount` at the line's rate for the
	account, else the row's), so the lines add up to each row, to ERPNext's total GST and,
	with their net amounts, to its grand total exactly. On a tie the paisa goes to the line
	the earlier rows gave least above its exact tax (CGST's odd paisa to one line, SGST's to
	the next). Returns one amount per line. Contract, "Push": columns.
	"""
	totals = [Decimal(0)] * len(lines)
	surplus = [Decimal(0)] * len(lines)  # Σ (share - exact tax) over the rows so far
	for account, charge_type, rate, amount in gst_rows:
		if charge_type != ON_NET_TOTAL:
			continue
		weights = [gst_amount(net, rates.get(account, rate)) for net, rates in lines]
		for i, share in enumerate(share_out(amount, weights, tie_break=list(surplus))):
			totals[i] += share
			surplus[i] += share - weights[i]
	return totals


def payable(grand_total, rounded_total, rounding_disabled):
	"""What the supplier is owed: `rounded_total`, unless rounding is disabled on the
	invoice or `rounded_total` is empty (None or 0), then `grand_total` (ERPNext's basis
	of the outstanding amount). Returns the chosen value as given; the caller rounds it.
	"""
	if rounding_disabled or not rounded_total:
		return grand_total
	return rounded_total
