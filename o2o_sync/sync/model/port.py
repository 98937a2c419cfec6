"""The engine's port onto ERPNext: what the sync needs from the other side, nothing more.

`frappe_port.FrappePort` is the implementation that ships (Frappe's own API);
`tests/inmemory_port.py` is the in-memory one for the engine's unit tests. Both keep
to the shapes below. Amounts are Decimal rupees, dates `datetime.date`, datetimes
naive Asia/Kolkata.
"""

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from o2o_sync.constants import (  # re-exported: the engine's modules import them from here
	CONFLICT,
	FAILED,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PENDING,
	PULL,
	PUSH,
	SKIPPED,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.model.mapping import ItemInfo
from o2o_sync.sync.model.records import InvoiceSpec, PushInvoice, Vendor

#: characters of a Sync Log's `summary`, the message's first line (a Data field)
SUMMARY_LENGTH = 140


def summary_of(message: str | None) -> str:
	"""The first non-empty line of a Sync Log message, cut to `SUMMARY_LENGTH` characters
	(an ellipsis marks a cut): what the Sync Log list shows."""
	line = next((part.strip() for part in (message or "").splitlines() if part.strip()), "")
	return line if len(line) <= SUMMARY_LENGTH else line[: SUMMARY_LENGTH - 1] + "\u2026"


@dataclass
class MappingRecord:
	"""One Sync Mapping row: the sync state of a (requisition, vendor) pair."""

	procureuat_id: int
	procureuat_vendor_id: int
	purchase_invoice: str | None = None
	origin: str = ORIGIN_PORTAL
	status: str = PENDING
	procureuat_invoice_number: str | None = None
	entity_id: str | None = None
	portal_hash: str | None = None
	erpnext_hash: str | None = None
	snapshot: dict | None = None
	portal_updated_at: datetime | None = None
	last_synced_at: datetime | None = None
	finance_status: int = -1
	conflict_fields: str | None = None
	last_error: str | None = None
	name: str | None = None
	#: why the mapping is in Conflict (`constants.HELD_REASONS`); None unless it is
	held_reason: str | None = None

	@property
	def key(self) -> tuple[int, int]:
		return (self.procureuat_id, self.procureuat_vendor_id)


@dataclass
class InvoiceState:
	"""A Purchase Invoice as the engine sees it after ERPNext computed it.

	`view` is the canonical dict of mapped fields (see `ERPNextPort.insert_invoice`),
	`gst_total` the sum of the company's CGST/SGST/IGST rows (TDS left out), `gst_by_account`
	the same by account. `modified` is
	the document's last change, an aware datetime in the site's time zone (Frappe keeps
	`modified` naive in the System Settings time zone; the port attaches it).
	"""

	name: str
	docstatus: int
	net_total: Decimal
	gst_total: Decimal
	grand_total: Decimal
	outstanding_amount: Decimal
	has_payments: bool
	view: dict = field(default_factory=dict)
	is_return: bool = False
	amended_from: str | None = None
	modified: datetime | None = None
	#: GST account -> the amount of its rows (rupees), TDS left out
	gst_by_account: dict = field(default_factory=dict)


@dataclass
class LogEntry:
	"""One Sync Log row."""

	direction: str
	operation: str
	status: str
	message: str = ""
	reference_doctype: str | None = None
	reference_name: str | None = None
	procureuat_id: int | None = None
	traceback: str | None = None
	duration_ms: int = 0


class ERPNextPort(Protocol):
	"""What the engine asks of ERPNext. Every method may raise `InvoiceError` for one invoice."""

	# -- transactions and bookkeeping
	def atomic(self) -> AbstractContextManager:
		"""A savepoint: everything inside is kept whole or rolled back on exception."""

	def commit(self) -> None:
		"""Make what was done so far durable."""

	def rollback(self) -> None:
		"""Undo everything since the last commit (the pull's page that failed for a reason not
		about one invoice). When the database connection is gone, open a new one: nothing
		uncommitted survived on it anyway."""

	def is_transient(self, error: BaseException) -> bool:
		"""True when `error` is not about one invoice but about the database or the worker:
		connection lost, deadlock, lock wait timeout, the transaction rolled back under the
		engine (a savepoint that no longer exists), the job being stopped. The pull then
		rolls back the whole page and retries it; it never marks an invoice Failed for it."""

	def get_cursor(self) -> tuple[datetime | None, int]:
		"""The pull cursor of the portal the sync points at (its Database Connection):
		(change-time watermark, naive Asia/Kolkata portal time, or None; last requisition id)."""

	def save_cursor(self, updated_at: datetime | None, requisition_id: int) -> None:
		"""Move the pull cursor of that portal (in the current transaction)."""

	def pulled_entities(self) -> set[str]:
		"""Portal entity ids of that portal whose invoices the pull has read from the start."""

	def save_pulled_entities(self, entity_ids: set[str]) -> None:
		"""Replace that list (in the current transaction)."""

	def refreshed_version(self) -> str | None:
		"""The column registry version (`merge.registry_version`) no Synced mapping was found
		outdated for (`save_refreshed_version`), None when not known."""

	def save_refreshed_version(self, version: str) -> None:
		"""Remember that no Synced mapping is outdated for `version` (see `refresh`)."""

	def save_backfill_part(self, part: str, cursor: tuple, read: int, counts: dict, done: bool) -> None:
		"""Save a parallel backfill part's progress (`engine.pull.backfill`) in the current
		transaction: its cursor ((portal change time, requisition id)), invoices read, counts
		(`COUNT_KEYS`) and whether it is done."""

	def reserve_invoice_names(self, n: int) -> None:
		"""In a backfill part: have `n` Purchase Invoice names ready for the next page, taken
		in a transaction of the port's own (a naming series locks its row until commit, so
		parts would otherwise take turns); elsewhere nothing. Called between units."""

	def get_mappings(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], MappingRecord]:
		"""Sync Mappings for (requisition id, vendor id) pairs, in one read."""

	def mappings_with_status(self, status: str, limit: int) -> list[MappingRecord]:
		"""Mappings in a status (e.g. Failed, to retry every run), oldest first."""

	def mappings_outdated(self, version: str, limit: int) -> list[MappingRecord]:
		"""Synced mappings of a draft or submitted Purchase Invoice whose snapshot was saved
		under another column registry than `version` (a field map added, changed or removed)."""

	def save_mapping(self, record: MappingRecord) -> None:
		"""Insert or update by (procureuat_id, procureuat_vendor_id)."""

	def write_logs(self, entries: list[LogEntry]) -> None:
		"""Append Sync Log rows."""

	# -- masters
	def supplier_for_vendor(self, vendor_id: int) -> str | None:
		"""The Supplier linked to a portal vendor (`Supplier.procureuat_vendor_id`)."""

	def suppliers_with_gstin(self, gstin: str) -> list[tuple[str, int | None]]:
		"""Suppliers whose `tax_id` (trimmed, upper-case) equals `gstin`, with their vendor link."""

	def link_supplier(self, supplier: str, vendor_id: int) -> None:
		"""Set `Supplier.procureuat_vendor_id`."""

	def create_supplier(self, vendor: Vendor, supplier_group: str | None) -> str:
		"""Create a Supplier for a vendor (name, else name + code when taken); return its name."""

	def supplier_has_payment_terms(self, supplier: str) -> bool:
		"""True when the Supplier carries a Payment Terms Template (ERPNext sets the due date)."""

	def items_for_products(self, product_ids: list[int]) -> dict[int, ItemInfo]:
		"""Items linked to portal product ids (`Item.procureuat_product_id`)."""

	def item_info(self, item_code: str) -> ItemInfo | None:
		"""An Item by code, or None when it does not exist."""

	def check_posting_date(self, company: str, posting_date: date) -> None:
		"""Raise InvoiceError(field='posting_date') for a missing fiscal year, a closed
		accounting period or frozen accounts on that date."""

	# -- invoices
	def find_invoice_by_bill_no(self, company: str, supplier: str, bill_no: str) -> InvoiceState | None:
		"""A Purchase Invoice (draft or submitted, not cancelled) of that supplier and bill no."""

	def resolve_amended(self, name: str) -> str | None:
		"""The newest live invoice of `name`'s amendment chain, or None when `name` is no invoice."""

	def insert_invoice(self, spec: InvoiceSpec, submit: bool) -> InvoiceState:
		"""Create a Purchase Invoice from a spec (`spec.build_spec`); submit it when asked."""

	def submit_invoice(self, name: str) -> None:
		"""Submit a draft Purchase Invoice (ERPNext's own validations apply)."""

	def update_invoice(self, name: str, spec: InvoiceSpec, groups: set[str]) -> InvoiceState:
		"""Apply the spec's field `groups` (bill_no, bill_date, posting_date, due_date, remarks,
		items, taxes, company) to a draft, keeping what the portal does not map."""

	def get_invoice(self, name: str) -> InvoiceState | None:
		"""Current state of a Purchase Invoice, or None when it no longer exists."""

	def set_status_fields(self, name: str, fields: dict) -> None:
		"""Write allow-on-submit `procureuat_*` / `o2o_sync_status` fields."""

	def cancel_invoice(self, name: str) -> None:
		"""Cancel a submitted Purchase Invoice."""

	def delete_invoice(self, name: str) -> None:
		"""Delete a draft Purchase Invoice (the app's own links do not block it)."""

	def amend_invoice(self, name: str, spec: InvoiceSpec) -> InvoiceState:
		"""A draft amendment of cancelled invoice `name` (`amended_from`, ERPNext's amended
		name) with every field group of the spec applied as `update_invoice` does (what
		the portal does not map is kept from the cancelled invoice)."""


class ERPNextPushPort(Protocol):
	"""What the push asks of ERPNext (see `push.PushEngine`)."""

	def push_invoice(self, name: str) -> PushInvoice | None:
		"""A submitted Purchase Invoice read for the push, or None when it does not exist."""

	def mapping_for_invoice(self, names: list[str]) -> MappingRecord | None:
		"""The Sync Mapping of any invoice in `names` (an amendment chain), newest first."""

	def mappings_outdated(self, version: str, limit: int) -> list[MappingRecord]:
		"""Synced mappings of a draft or submitted Purchase Invoice whose snapshot was saved
		under another column registry than `version` (a field map added, changed or removed)."""

	def save_mapping(self, record: MappingRecord) -> None:
		"""Insert or update by (procureuat_id, procureuat_vendor_id)."""

	def save_push_success(self, name: str, record: MappingRecord, invoice_number: str) -> None:
		"""Save the mapping and set `procureuat_id`, `procureuat_invoice_number`, status Synced on the invoice."""

	def save_push_failure(self, name: str, record: MappingRecord | None, message: str) -> None:
		"""Mark the invoice (and its mapping, if any) Failed with `message`."""

	def set_invoice_status(self, name: str, status: str) -> None:
		"""Set `o2o_sync_status` on the invoice."""

	def payment_states(self, names: list[str] | None) -> list[tuple[MappingRecord, Decimal, Decimal]]:
		"""(mapping, outstanding_amount, grand_total) of mapped submitted invoices (all when None)."""

	def write_logs(self, entries: list[LogEntry]) -> None:
		"""Append Sync Log rows."""
