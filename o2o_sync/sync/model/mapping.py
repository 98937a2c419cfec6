"""The mapping's settings and a portal invoice's identity (contract, "What maps to what").

The settings the pull reads (`PullSettings`, one `EntityConfig` per mapped portal entity),
how a portal invoice is named in messages, split into one Purchase Invoice per vendor, and
dated. Pure: nothing here talks to a database. The column registry is `columns.py`, the
Purchase Invoice a slice becomes is built in `spec.py`.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from o2o_sync.constants import DEFAULT_STRATEGY
from o2o_sync.sync.model.records import PortalInvoice, PortalLine

INR_CURRENCY_ID = 1  # `currency_id` of INR on the portal (contract, "Pull": freight and currency)


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
	conflict_strategy: str = DEFAULT_STRATEGY
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


def due_date_for(inv: PortalInvoice, posting: date) -> date:
	"""`delivery_date` when not before the posting date, else the posting date (contract, "Pull")."""
	delivery = inv.delivery_date.date() if isinstance(inv.delivery_date, datetime) else None
	return delivery if delivery and delivery >= posting else posting
