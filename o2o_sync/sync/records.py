"""Plain records of the portal's rows as the engine sees them (contract, "Tables").

The ProcureUAT client builds these from `purchase_requisitions`,
`purchase_order_items` and `vendors`; money is already rounded to the paisa
(`money.paisa`) and the raw FLOAT value kept beside it for resolution checks.
Datetimes are naive Asia/Kolkata local time; zero or invalid datetimes are None.
"""

from dataclasses import dataclass, field
from datetime import datetime
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
	cost_raw: float | None = None
	gst_amt_raw: float | None = None


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
