"""What the sync holds for a person, and what a person may do with it (contract, "Both
directions"; `resolve.ConflictResolver` does it).

Every state the pull holds has a `held_reason` (`constants.HELD_REASONS`) and the actions
that apply to it (`actions_for`):

| held state | actions |
| --- | --- |
| both sides changed a draft | Keep ERPNext, Keep ProcureUAT, Choose per field |
| portal edit of a submitted invoice | Keep ERPNext; Amend from ProcureUAT (pulled invoices) |
| portal cancellation of an invoice with payments | Cancel in ERPNext, Keep ERPNext |
| portal cancellation of an ERPNext (pushed) invoice | Cancel in ERPNext, Keep ERPNext |
| same supplier and bill no keyed by hand, other totals | Link anyway, Create from ProcureUAT |
| cancelled in ERPNext, changed on the portal | Keep ERPNext; Amend from ProcureUAT (pulled) |
| deleted in ERPNext (pushed invoice) | Keep ERPNext, Create from ProcureUAT |

`fields_in_question` gives the fields a person compares, side by side: the value at the last
sync, the portal's now (as it maps to the Purchase Invoice) and ERPNext's now. Values are
plain text (rupees as ₹ with paisa, dates ISO, lines as "ITEM qty × ₹rate"); whoever shows
them in HTML escapes them. Frappe-free.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from o2o_sync.constants import (
	AMEND_FROM_PROCUREUAT,
	CANCEL_IN_ERPNEXT,
	CHOOSE_PER_FIELD,
	CREATE_FROM_PROCUREUAT,
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_CANCELLED_WITH_PAYMENTS,
	HELD_DELETED_IN_ERPNEXT,
	HELD_DRAFT_EDITED,
	HELD_OTHER_TOTALS,
	HELD_PUSHED_CANCELLED,
	HELD_SUBMITTED_EDITED,
	KEEP_ERPNEXT,
	KEEP_PROCUREUAT,
	LINK_ANYWAY,
	ORIGIN_ERPNEXT,
)
from o2o_sync.sync.model import columns, field_maps, merge
from o2o_sync.sync.model.errors import O2OSyncError
from o2o_sync.sync.model.port import InvoiceState, MappingRecord
from o2o_sync.sync.model.records import InvoiceSpec, PortalInvoice

#: How the form and the console name a field in question.
LABELS = {
	"company": "Company",
	"bill_no": "Bill No",
	"bill_date": "Bill Date",
	"posting_date": "Posting Date",
	"due_date": "Due Date",
	"remarks": "Remarks",
	"items": "Items",
	"taxes": "Taxes",
	"docstatus": "Document Status",
	"cancelled": "Cancelled on the Portal",
	"net_total": "Net Total",
	"gst_total": "GST Total",
	"purchase_invoice": "Purchase Invoice",
}
DOCSTATUS = {0: "Draft", 1: "Submitted", 2: "Cancelled"}
NONE = ""


@dataclass(frozen=True)
class FieldValues:
	"""One field in question: the Purchase Invoice field group (or `docstatus`, `cancelled`,
	`net_total`, `gst_total`, `purchase_invoice`), its label and the three values as text."""

	field: str
	label: str
	base: str
	portal: str
	erpnext: str


#: Actions that keep ERPNext's side, then those that take the portal's, in the order `keep` picks them.
ERPNEXT_SIDE = (KEEP_ERPNEXT, LINK_ANYWAY)
PORTAL_SIDE = (KEEP_PROCUREUAT, AMEND_FROM_PROCUREUAT, CANCEL_IN_ERPNEXT, CREATE_FROM_PROCUREUAT)
#: `keep` values of `resolve_conflict`
KEEP_CHOICES = {"erpnext": ERPNEXT_SIDE, "procureuat": PORTAL_SIDE}


class ResolveError(O2OSyncError):
	"""A resolution that cannot be done: not held, an action that does not apply, unknown
	fields, the portal invoice gone, or a write refused (nothing was applied)."""


def held_reason_of(record: MappingRecord, inv: PortalInvoice, state: InvoiceState | None) -> str:
	"""Why a mapping is held, read from both sides now (the pull's `held_reason` may be older
	than a later edit, and mappings held before it existed have none).

	Args: the mapping, the portal invoice slice now, ERPNext's invoice now (None: gone).
	Returns one of `constants.HELD_REASONS`.
	"""
	if record.held_reason == HELD_OTHER_TOTALS or (record.conflict_fields or "") == "net_total, gst_total":
		if state is not None and state.docstatus < 2:
			return HELD_OTHER_TOTALS
	if state is None:
		return HELD_DELETED_IN_ERPNEXT
	if state.docstatus == 2:
		return HELD_CANCELLED_IN_ERPNEXT
	if inv.is_gone:
		return HELD_PUSHED_CANCELLED if record.origin == ORIGIN_ERPNEXT else HELD_CANCELLED_WITH_PAYMENTS
	if state.docstatus == 1:
		return HELD_SUBMITTED_EDITED
	return HELD_DRAFT_EDITED


def actions_for(reason: str, origin: str) -> list[str]:
	"""The actions a person may take on a mapping held for `reason`, for an invoice of
	`origin` (`ORIGIN_PORTAL`: pulled, `ORIGIN_ERPNEXT`: pushed); see the module's table."""
	pulled = origin != ORIGIN_ERPNEXT
	return {
		HELD_DRAFT_EDITED: [KEEP_ERPNEXT, KEEP_PROCUREUAT, CHOOSE_PER_FIELD],
		HELD_SUBMITTED_EDITED: [KEEP_ERPNEXT] + ([AMEND_FROM_PROCUREUAT] if pulled else []),
		HELD_CANCELLED_WITH_PAYMENTS: [CANCEL_IN_ERPNEXT, KEEP_ERPNEXT],
		HELD_PUSHED_CANCELLED: [CANCEL_IN_ERPNEXT, KEEP_ERPNEXT],
		HELD_OTHER_TOTALS: [LINK_ANYWAY, CREATE_FROM_PROCUREUAT],
		HELD_CANCELLED_IN_ERPNEXT: [KEEP_ERPNEXT] + ([AMEND_FROM_PROCUREUAT] if pulled else []),
		HELD_DELETED_IN_ERPNEXT: [KEEP_ERPNEXT, CREATE_FROM_PROCUREUAT],
	}[reason]


@dataclass
class HeldConflict:
	"""What a person sees of a held mapping: `fields` (each with the value at the last sync,
	the portal's now as it maps to ERPNext, ERPNext's now), the `actions` that apply, the
	fields a per-field choice may take from the portal (`choosable`, drafts only)."""

	mapping: str | None
	procureuat_id: int
	procureuat_vendor_id: int
	purchase_invoice: str | None
	origin: str
	held_reason: str
	invoice: str
	message: str | None
	fields: list[FieldValues] = field(default_factory=list)
	actions: list[str] = field(default_factory=list)
	choosable: list[str] = field(default_factory=list)

	def as_dict(self) -> dict:
		"""JSON-ready: `fields` as `[{field, label, base, portal, erpnext}]`."""
		data = dict(self.__dict__)
		data["fields"] = [f.__dict__ for f in self.fields]
		return data


def choose_action(reason: str, origin: str, keep: str | None, fields) -> str:
	"""The action `keep` ("ERPNext" or "ProcureUAT", any case) means for this held state;
	`fields` given on a draft is a per-field choice. Raises ResolveError otherwise."""
	actions = actions_for(reason, origin)
	if fields and reason == HELD_DRAFT_EDITED:
		return CHOOSE_PER_FIELD
	side = KEEP_CHOICES.get(str(keep or "").strip().lower())
	if side is None:
		raise ResolveError(f'keep must be "ERPNext" or "ProcureUAT", not {keep!r}')
	for action in side:
		if action in actions:
			return action
	raise ResolveError(
		f"A mapping held for '{reason}' cannot keep {keep}'s side here; it offers {', '.join(actions)}"
	)


def label_of(field: str) -> str:
	"""The label of a field in question ('bill_no' -> 'Bill No')."""
	return LABELS.get(field, field.replace("_", " ").capitalize())


def _number(value) -> str:
	try:
		return format(Decimal(str(value)).normalize(), "f")
	except (InvalidOperation, ValueError):
		return str(value)


def _rupees(value) -> str:
	return f"₹{Decimal(str(value)):.2f}"


def _view_text(group: str, view: dict | None) -> str:
	"""A field group's value in an ERPNext view, as text."""
	if not view:
		return NONE
	value = view.get(group)
	if group == "items":
		return "; ".join(f"{row[1]} {_number(row[2])} × ₹{_number(row[3])}" for row in value or [])
	if group == "taxes":
		return ", ".join(str(t[0]) if isinstance(t, list | tuple) else str(t) for t in value or [])
	if group.startswith(columns.ITEM_GROUP_PREFIX):  # a mapped line field: [[line id, value], ...]
		return _per_line(value)
	return merge.text_of(value)


def _per_line(pairs) -> str:
	"""`[[portal line id, value], ...]` as 'line 7: X; line 8: Y'."""
	return "; ".join(f"line {i}: {merge.text_of(v) or NONE}" for i, v in pairs or []) or NONE


def _spec_text(group: str, want: InvoiceSpec) -> str:
	"""What the portal's values make of a field group (the spec of the portal invoice now)."""
	if group == "company":
		return want.company or NONE
	if group == "items":
		return "; ".join(f"{li.item_code} {_number(li.qty)} × ₹{_number(li.rate)}" for li in want.items)
	if group == "taxes":
		return ", ".join(want.tax_accounts.values())
	if group.startswith(columns.ITEM_GROUP_PREFIX):
		field = group[len(columns.ITEM_GROUP_PREFIX) :]
		return _per_line(
			[[li.procureuat_item_id, li.extra.get(field)] for li in want.items if li.procureuat_item_id]
		)
	value = want.header.get(group)
	return "(payment terms decide)" if group == "due_date" and value is None else merge.text_of(value)


def _portal_text(group: str, view: dict, registry) -> str:
	"""The portal's own value of a field group, when its spec cannot be built."""
	if group in ("items", "taxes"):
		return f"{len(view.get('lines') or [])} line(s) on the portal"
	for column, groups in columns.groups_by_column(registry).items():
		if group in groups and column in view:
			if group.startswith(columns.ITEM_GROUP_PREFIX):
				return _per_line(view[column])
			return merge.text_of(view[column])
	return NONE


def _group_order(registry) -> list[str]:
	return [
		"company",
		*columns.erpnext_header_fields(registry),
		"items",
		"taxes",
		*columns.erpnext_line_fields(registry),
	]


def portal_changed_groups(base_portal: dict | None, view: dict, registry=columns.REGISTRY) -> set[str]:
	"""The Purchase Invoice field groups the portal's changes since the last sync touch
	(status columns, which every invoice takes, left out)."""
	by_column = columns.groups_by_column(registry)
	return {g for c in merge.changed_columns(base_portal, view) for g in by_column.get(c, ())}


def fields_in_question(
	reason: str,
	record: MappingRecord,
	inv: PortalInvoice,
	state: InvoiceState | None,
	view: dict,
	base_portal: dict | None,
	base_erpnext: dict | None,
	want: InvoiceSpec | None,
	conflicts: set[str],
	registry=columns.REGISTRY,
) -> list[FieldValues]:
	"""The fields a person compares for a mapping held for `reason` (`constants.HELD_REASONS`).

	Args: the mapping; the portal slice and its view now; ERPNext's invoice now (None: gone);
	the base snapshot's portal and ERPNext views; the spec of the portal invoice now (None when
	it cannot be built: the portal's own values are shown); `conflicts`, the groups both sides
	changed (drafts). Returns `FieldValues` in form order: the field groups in question, then
	what the held state is about (document status, the portal's cancellation, the totals).
	"""
	if reason == HELD_DRAFT_EDITED:
		groups = set(conflicts)
	elif reason in (HELD_SUBMITTED_EDITED, HELD_CANCELLED_IN_ERPNEXT, HELD_DELETED_IN_ERPNEXT):
		groups = portal_changed_groups(base_portal, view, registry)
	else:
		groups = set()
	labels = field_maps.field_labels(registry)  # a mapped field by its label
	out = [
		FieldValues(
			group,
			labels.get(group) or label_of(group),
			_view_text(group, base_erpnext),
			_spec_text(group, want) if want is not None else _portal_text(group, view, registry),
			_view_text(group, state.view if state else None),
		)
		for group in _group_order(registry)
		if group in groups
	]
	gone = "Deleted" if inv.is_delete else "Cancelled" if inv.is_invoice_cancel else "Live"
	if inv.is_invoice_cancel and inv.invoice_cancel_date:
		gone += f" on {inv.invoice_cancel_date:%Y-%m-%d}"
	if reason == HELD_CANCELLED_IN_ERPNEXT:
		out.append(FieldValues("docstatus", label_of("docstatus"), DOCSTATUS[1], gone, DOCSTATUS[2]))
	elif reason == HELD_DELETED_IN_ERPNEXT:
		out.append(
			FieldValues(
				"purchase_invoice",
				label_of("purchase_invoice"),
				record.purchase_invoice or NONE,
				gone,
				"Deleted",
			)
		)
	elif reason in (HELD_CANCELLED_WITH_PAYMENTS, HELD_PUSHED_CANCELLED) and state is not None:
		paid = state.grand_total - state.outstanding_amount
		erpnext = f"{DOCSTATUS[state.docstatus]}; paid {_rupees(paid)} of {_rupees(state.grand_total)}"
		out.append(FieldValues("cancelled", label_of("cancelled"), "Live", gone, erpnext))
	elif reason == HELD_OTHER_TOTALS and state is not None:
		portal_net = want.expected.net_total if want else sum((li.cost or 0 for li in inv.lines), Decimal(0))
		portal_gst = (
			want.expected.gst_total if want else sum((li.gst_amt or 0 for li in inv.lines), Decimal(0))
		)
		out.append(
			FieldValues(
				"net_total", label_of("net_total"), NONE, _rupees(portal_net), _rupees(state.net_total)
			)
		)
		out.append(
			FieldValues(
				"gst_total", label_of("gst_total"), NONE, _rupees(portal_gst), _rupees(state.gst_total)
			)
		)
	return out
