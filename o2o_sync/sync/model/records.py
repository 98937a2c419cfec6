"""The engine's typed records: what each side's rows look like to the sync.

- The portal's rows (contract, "Tables"): `PortalInvoice`, `PortalLine`, `Vendor`. The
  ProcureUAT client builds them from `purchase_requisitions`, `purchase_order_items` and
  `vendors` through the column registry (`columns.py`); money is already rounded to the
  paisa (`money.paisa`); datetimes are naive Asia/Kolkata local time, zero or invalid
  ones None.
- What the pull asks ERPNext to write: `InvoiceSpec` with its `SpecLine`s.
- What the push reads from ERPNext: `PushInvoice` with its `PushLine`s and `PushTax`es.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass
class PortalLine:
	"""One `purchase_order_items` row."""

	id: int
	purchase_order_id: int
	vendor_id: int | None
	product_id: int | None
	quantity: int | None
	unit_rate: str | None
	uom: str | None
	cost: Decimal
	gst_amt: Decimal
	total_amt: Decimal
	updated_at: datetime | None = None
	created_at: datetime | None = None
	gst_id: int | None = None
	extra: dict = field(default_factory=dict)  # registry columns without a field of their own


@dataclass
class PortalInvoice:
	"""One `purchase_requisitions` row with `invoice_generated = 1` and its lines.

	`change_ts` is the newest of its own `updated_at` (else `created_at`) and its
	lines' `updated_at`: the pull cursor's key.
	"""

	id: int
	entity: str
	order_name: str
	order_code: str
	address: str
	remark: str
	invoice_number: str | None
	invoice_generated_at: datetime | None
	created_at: datetime | None
	updated_at: datetime | None
	delivery_date: datetime | None
	is_invoice_cancel: int
	invoice_cancel_date: datetime | None
	is_delete: int
	credit_note_number: str
	freight_cost: str | None
	currency_id: int | None
	order_status: int | None
	acknowledgement: int | None
	finance_status: int | None
	change_ts: datetime | None = None
	lines: list[PortalLine] = field(default_factory=list)
	extra: dict = field(default_factory=dict)  # registry columns without a field of their own (columns.py)

	@property
	def is_gone(self) -> bool:
		"""Cancelled or soft-deleted on the portal."""
		return bool(self.is_invoice_cancel) or bool(self.is_delete)


@dataclass
class Vendor:
	"""A `vendors` row, credential columns never read."""

	id: int
	name: str
	code: str
	gstn: str | None
	status: str | None = None
	address: str | None = None
	email: str | None = None

	@property
	def normalized_gstin(self) -> str:
		"""GSTIN trimmed and upper-cased ('' when none), as compared with Supplier `tax_id`."""
		return (self.gstn or "").strip().upper()

	@property
	def state_code(self) -> str:
		"""First two digits of the GSTIN ('' when unregistered)."""
		return self.normalized_gstin[:2]


# ---------------------------------------------------------------- what the pull asks ERPNext to write


@dataclass
class SpecLine:
	"""One Purchase Invoice Item the pull writes (rupees; `rate` to six places).

	`procureuat_item_id` is None on the freight line; `gst_rate` (percent) is None on lines
	without GST (freight), `uom` None where the portal gives none.
	"""

	procureuat_item_id: int | None
	item_code: str
	description: str
	qty: int
	rate: Decimal
	amount: Decimal
	gst_rate: Decimal | None
	gst_amt: Decimal
	uom: str | None = None
	expense_account: str | None = None
	cost_center: str | None = None
	extra: dict = field(default_factory=dict)  # Purchase Invoice Item fields of mapped line columns


@dataclass(frozen=True)
class ExpectedTotals:
	"""The portal's totals a pulled invoice must reconcile to (contract, "Pull": totals):
	rupees, each line's amounts rounded half-up to the paisa and then summed. `by_account`
	maps each GST account to the sum of its lines' shares (`gst.line_shares`); `tolerance`
	is ₹0 unless an amount is beyond a FLOAT's paisa (then the FLOAT resolution)."""

	net_total: Decimal
	gst_total: Decimal
	tolerance: Decimal
	beyond_float: bool = False
	by_account: dict = field(default_factory=dict)

	@property
	def grand_total(self) -> Decimal:
		return self.net_total + self.gst_total


@dataclass
class InvoiceSpec:
	"""A Purchase Invoice as the pull wants it written (`spec.build_spec`).

	`header` holds the Purchase Invoice header fields by fieldname (bill_no, bill_date,
	posting_date, due_date — None lets the supplier's payment terms decide —, remarks, and
	any field a registry column maps to; see `columns`); `tracking` the allow-on-submit
	`procureuat_*` custom fields. `tax_accounts` maps 'cgst'/'sgst'/'igst' to accounts;
	`gst_split` is one of `gst.INTRA_STATE`, `gst.INTER_STATE`, `gst.NO_GST`.
	"""

	company: str
	supplier: str
	header: dict
	tracking: dict
	gst_split: str
	tax_accounts: dict
	items: list[SpecLine]
	expected: ExpectedTotals

	@property
	def bill_no(self) -> str:
		return self.header["bill_no"]

	@property
	def posting_date(self):
		return self.header["posting_date"]


# ---------------------------------------------------------------- what the push reads from ERPNext


@dataclass
class PushLine:
	"""One Purchase Invoice Item as the push needs it (rupees, whole quantities checked later)."""

	idx: int
	item_code: str
	qty: Decimal
	rate: Decimal
	net_amount: Decimal
	gst_amount: Decimal
	gst_rate: Decimal
	product_id: int | None
	uom: str | None = None
	extra: dict = field(default_factory=dict)  # mapped Purchase Invoice Item fields, by fieldname


@dataclass
class PushTax:
	"""One Purchase Taxes and Charges row: `kind` is 'gst', 'tds' or 'other'."""

	idx: int
	account_head: str
	charge_type: str
	kind: str


@dataclass
class PushInvoice:
	"""A submitted Purchase Invoice, read by the port for the push."""

	name: str
	chain: list[str]  # this name and every `amended_from` before it, newest first
	company: str
	entity_id: str | None
	supplier: str
	supplier_name: str
	vendor_id: int | None
	supplier_address: str
	remarks: str
	bill_no: str
	posting_date: date
	currency: str
	is_return: bool
	lines: list[PushLine] = field(default_factory=list)
	taxes: list[PushTax] = field(default_factory=list)
	grand_total: Decimal = Decimal(0)
	outstanding_amount: Decimal = Decimal(0)
	docstatus: int = 1
	extra: dict = field(default_factory=dict)  # mapped Purchase Invoice fields the push writes, by fieldname
	#: ERPNext's rounded total minus its grand total (rupees; 0 when rounding is off): the
	#: portal's lines add up to the grand total, the supplier is owed the rounded total
	rounding_adjustment: Decimal = Decimal(0)
	#: ERPNext's grand total minus its last tax row's running total (rupees): the paise an
	#: additional discount on the grand total leaves when ERPNext spreads it (booked to Round
	#: Off by ERPNext); 0 otherwise. Neither a line's net amount nor a GST row holds it.
	discount_residue: Decimal = Decimal(0)
