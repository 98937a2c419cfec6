"""What the pull does with one portal invoice it has read (contract, "Pull" and "Both
directions"): create, link, update a draft by three-way merge, take status columns on a
submitted invoice, cancel or delete, or hold a conflict for a person.

`InvoiceDecisions` is held by the run (`run.PullEngine`, through `slices.SliceSync`) and by
the conflict resolver (`engine.resolve`); it reads Suppliers and Items through the run's
`masters.Masters`. Every decision returns an `Outcome`.
"""

from dataclasses import dataclass

from o2o_sync.constants import (
	ERPNEXT_WINS,
	F_ACKNOWLEDGEMENT,
	F_INVOICE_NUMBER,
	F_ORDER_STATUS,
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_CANCELLED_WITH_PAYMENTS,
	HELD_DELETED_IN_ERPNEXT,
	HELD_DRAFT_EDITED,
	HELD_OTHER_TOTALS,
	HELD_PUSHED_CANCELLED,
	HELD_SUBMITTED_EDITED,
	LATEST_EDIT_WINS,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PROCUREUAT_WINS,
	SYNCED,
)
from o2o_sync.sync.engine.pull.masters import Masters
from o2o_sync.sync.model import columns, field_maps, merge, spec
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.mapping import invoice_label
from o2o_sync.sync.model.port import InvoiceState, MappingRecord
from o2o_sync.sync.model.records import InvoiceSpec, PortalInvoice, Vendor


@dataclass(frozen=True)
class Outcome:
	"""What one invoice's sync did: `count`, the key of the run's counts it adds to (created,
	updated, unchanged, cancelled, linked, conflict, deleted); `operation`, the Sync Log
	operation to write ('' writes no row); `message`, the Sync Log message; `held_reason`,
	why a conflict is held (`constants.HELD_REASONS`; the Sync Mapping's `held_reason`)."""

	count: str
	operation: str = ""
	message: str = ""
	held_reason: str = ""


UNCHANGED = Outcome("unchanged")


def status_fields_of(inv: PortalInvoice) -> dict:
	"""The portal's status columns as the Purchase Invoice's allow-on-submit fields."""
	return {F_ORDER_STATUS: inv.order_status, F_ACKNOWLEDGEMENT: inv.acknowledgement}


def linked_fields(want: InvoiceSpec) -> dict:
	"""Tracking fields and status Synced, for an invoice the pull linked."""
	return {**want.tracking, F_SYNC_STATUS: SYNCED}


class InvoiceDecisions:
	"""The pull's decisions for one vendor slice; they mutate the `MappingRecord` given.

	Args: `port`, the `ERPNextPort`; `settings`, the `mapping.PullSettings` (strategy, submit);
	`registry`, the column registry; `masters`, the run's `Masters` (Suppliers, Items, dates).
	"""

	def __init__(self, port, settings, registry, masters: Masters):
		self.port = port
		self.settings = settings
		self.registry = registry
		self.masters = masters

	def _snapshot(self, portal: dict | None, erpnext: dict | None) -> dict:
		return merge.make_snapshot(portal, erpnext, self.registry)

	def apply(self, inv: PortalInvoice, vendor: Vendor | None, record: MappingRecord, view: dict) -> Outcome:
		"""Decide and apply what the portal's `view` of `inv` means for its Purchase Invoice;
		the mapping's `held_reason` follows the outcome (None unless it is a conflict)."""
		outcome = self._decide(inv, vendor, record, view)
		record.held_reason = outcome.held_reason or None
		return outcome

	def live_state(self, record: MappingRecord) -> InvoiceState | None:
		"""The mapping's Purchase Invoice now; a cancelled one's live amendment takes over."""
		state = self.port.get_invoice(record.purchase_invoice) if record.purchase_invoice else None
		if state is not None and state.docstatus == 2:
			live = self.port.resolve_amended(state.name)
			if live and live != state.name:
				record.purchase_invoice = live
				state = self.port.get_invoice(live)
		return state

	def _decide(
		self, inv: PortalInvoice, vendor: Vendor | None, record: MappingRecord, view: dict
	) -> Outcome:
		mapped_to = record.purchase_invoice
		state = self.live_state(record)
		if state is None:
			return self._not_in_erpnext(inv, vendor, record, view)
		if (
			record.origin == ORIGIN_ERPNEXT
			and state.docstatus == 1
			and mapped_to != state.name == inv.order_code
		):
			return self._confirm_push(inv, record, state, view)

		if state.docstatus == 2:
			if inv.is_gone:
				return UNCHANGED
			return Outcome(
				"conflict",
				"Update",
				f"{invoice_label(inv)} changed on the portal but {state.name} is cancelled in ERPNext; waiting for a person",
				HELD_CANCELLED_IN_ERPNEXT,
			)

		base = merge.upgrade_snapshot(record.snapshot, view, state.view, self.registry, state.docstatus)
		base_portal, base_erpnext = base.get("portal"), base.get("erpnext")
		changed = merge.changed_columns(base_portal, view)
		# cancelled or deleted on the portal since the last sync (not already when last seen)
		newly_gone = inv.is_gone and not (
			base_portal and (base_portal.get("is_invoice_cancel") or base_portal.get("is_delete"))
		)

		if record.origin == ORIGIN_ERPNEXT:
			return self._portal_edit_of_pushed(inv, record, state, view, changed, newly_gone, base_erpnext)
		if newly_gone:
			return self._gone(inv, record, state, view)
		if state.docstatus == 1:
			return self._edit_submitted(inv, record, state, view, changed, base_erpnext)
		return self.edit_draft(inv, vendor, record, state, view, base_portal, base_erpnext)

	def _not_in_erpnext(self, inv, vendor, record: MappingRecord, view: dict) -> Outcome:
		"""No live Purchase Invoice for the slice: link a row the push wrote, or create one."""
		if record.origin == ORIGIN_ERPNEXT and record.purchase_invoice:
			return Outcome(
				"conflict",
				"Update",
				f"{invoice_label(inv)}: Purchase Invoice {record.purchase_invoice} no longer exists in ERPNext",
				HELD_DELETED_IN_ERPNEXT,
			)
		linked = self.port.resolve_amended(inv.order_code) if inv.order_code else None
		if linked:
			# A row the push wrote (order_code = invoice name): link it, never create from it;
			# the invoice shows the row's id and number, as after a push ERPNext recorded
			record.origin, record.purchase_invoice = ORIGIN_ERPNEXT, linked
			record.snapshot = self._snapshot(view, None)
			self.port.set_status_fields(linked, self._tracking_of(inv, record))
			return Outcome(
				"linked", "Link", f"{invoice_label(inv)} came from ERPNext ({linked}); linked, not created"
			)
		if inv.is_gone:
			record.purchase_invoice = None
			record.snapshot = self._snapshot(view, None)
			return UNCHANGED
		return self.create(inv, vendor, record, view)

	@staticmethod
	def _tracking_of(inv: PortalInvoice, record: MappingRecord) -> dict:
		"""The Purchase Invoice's portal id, vendor id and invoice number of a row it pushed."""
		return {
			F_PROCUREUAT_ID: inv.id,
			F_VENDOR_ID: record.procureuat_vendor_id,
			F_INVOICE_NUMBER: inv.invoice_number,
		}

	def _confirm_push(self, inv: PortalInvoice, record: MappingRecord, state, view: dict) -> Outcome:
		"""The row carries the name of the mapping's live amendment, which the mapping did not
		know: the amendment's push reached the portal, and ERPNext was stopped before it
		recorded it (between the two commits). Not a portal edit: record it as the push would
		have (snapshot of the row as written, the invoice's portal id and number)."""
		record.snapshot = self._snapshot(view, state.view)
		record.conflict_fields = None
		self.port.set_status_fields(state.name, self._tracking_of(inv, record))
		return Outcome(
			"linked",
			"Link",
			f"{invoice_label(inv)} holds {state.name} as its push wrote it; ERPNext had not recorded"
			" that push (stopped after the portal's commit): recorded now",
		)

	def create(
		self, inv: PortalInvoice, vendor, record: MappingRecord, view: dict, link_existing=True
	) -> Outcome:
		"""Create the Purchase Invoice, or link the one already keyed by hand (same supplier
		and bill no) when its totals match (contract, "Pull": already in ERPNext);
		`link_existing=False` creates it whatever was keyed by hand (a person's choice)."""
		want = self.masters.spec(inv, vendor)
		self.masters.check_posting_date(want.company, want.posting_date)
		existing = link_existing and self.port.find_invoice_by_bill_no(
			want.company, want.supplier, want.bill_no
		)
		record.origin = ORIGIN_PORTAL
		if existing:
			record.purchase_invoice = existing.name
			record.snapshot = self._snapshot(view, existing.view)
			record.erpnext_hash = columns.view_hash(existing.view)
			try:
				spec.check_totals(
					inv, want, existing.net_total, existing.gst_total, grand_total=existing.grand_total
				)
			except InvoiceError as e:
				record.conflict_fields = "net_total, gst_total"
				return Outcome(
					"conflict",
					"Link",
					f"{existing.name} has the same supplier and bill no {want.bill_no} but other totals; held for a person. {e}",
					HELD_OTHER_TOTALS,
				)
			self.port.set_status_fields(existing.name, linked_fields(want))
			return Outcome(
				"linked",
				"Link",
				f"{invoice_label(inv)} is already in ERPNext as {existing.name}; linked, not duplicated",
			)
		state = self.port.insert_invoice(want, submit=False)
		note = spec.check_totals(inv, want, state.net_total, state.gst_total, **spec.totals_of(state))
		if self.settings.submit_pulled_invoices:
			self.port.submit_invoice(state.name)
			state = self.port.get_invoice(state.name)
		record.purchase_invoice = state.name
		record.snapshot = self._snapshot(view, state.view)
		record.erpnext_hash = columns.view_hash(state.view)
		message = (
			f"Created {state.name} from {invoice_label(inv)}: net ₹{state.net_total:.2f} + GST ₹{state.gst_total:.2f}"
			f" = ₹{state.grand_total:.2f}" + (f"; {note}" if note else "")
		)
		return Outcome("created", "Create", message)

	def _gone(self, inv: PortalInvoice, record: MappingRecord, state: InvoiceState, view: dict) -> Outcome:
		"""Cancelled or deleted on the portal: cancel a submitted invoice, delete a draft; one
		with payments waits for a person (contract, "Pull")."""
		what = "cancelled" if inv.is_invoice_cancel else "deleted"
		if state.docstatus == 1:
			if state.has_payments:
				record.conflict_fields = "is_invoice_cancel" if inv.is_invoice_cancel else "is_delete"
				return Outcome(
					"conflict",
					"Cancel",
					f"{invoice_label(inv)} was {what} on the portal but {state.name} has payments; not touched, waiting for a person",
					HELD_CANCELLED_WITH_PAYMENTS,
				)
			self.port.cancel_invoice(state.name)
			record.snapshot = self._snapshot(view, (self.port.get_invoice(state.name) or state).view)
			return Outcome(
				"cancelled",
				"Cancel",
				f"Cancelled {state.name}: {invoice_label(inv)} was {what} on the portal",
			)
		self.port.delete_invoice(state.name)
		record.purchase_invoice = None
		record.snapshot = self._snapshot(view, None)
		return Outcome(
			"deleted", "Delete", f"Deleted draft {state.name}: {invoice_label(inv)} was {what} on the portal"
		)

	def _edit_submitted(self, inv, record, state, view, changed, base_erpnext) -> Outcome:
		"""A submitted invoice takes only the status columns; any other change waits for a
		person, who can cancel and amend (contract, "Pull": later edits)."""
		status_changed = [c for c in changed if c in columns.status_columns(self.registry)]
		on_submit = [c for c in changed if c in field_maps.on_submit_columns(self.registry)]  # field maps
		groups = columns.groups_by_column(self.registry)
		other = [c for c in changed if groups.get(c) and c not in on_submit]
		if status_changed:
			self.port.set_status_fields(state.name, status_fields_of(inv))
		if on_submit and not other:
			self.port.set_status_fields(
				state.name, field_maps.on_submit_values(inv, on_submit, self.registry)
			)
			status_changed += on_submit
		if other:
			record.conflict_fields = ", ".join(other)
			return Outcome(
				"conflict",
				"Update",
				(
					f"{invoice_label(inv)} changed on the portal ({field_maps.named(other, self.registry)}) but {state.name} is submitted; "
					"waiting for a person, who can cancel and amend it"
				),
				HELD_SUBMITTED_EDITED,
			)
		record.snapshot = self._snapshot(view, base_erpnext)
		if status_changed:
			return Outcome(
				"updated",
				"Update",
				f"Updated {field_maps.named(status_changed, self.registry)} on submitted {state.name}",
			)
		return UNCHANGED

	def same_values(self, inv, vendor, state: InvoiceState, groups: set[str]) -> set[str]:
		"""Of the field `groups` the portal changed, those ERPNext already holds as the portal's
		new values map to (`merge.same_as_portal`); none when the portal invoice cannot be mapped."""
		try:
			want = self.masters.spec(inv, vendor)
		except InvoiceError:
			return set()
		return merge.same_as_portal(groups, want, state.view, state.net_total, state.gst_total)

	def edit_draft(self, inv, vendor, record, state, view, base_portal, base_erpnext, take=None) -> Outcome:
		"""A portal edit to a draft: three-way merge against the last sync; the configured
		strategy settles a conflict or holds it (contract, "Both directions"). `take`, a
		person's choice (`resolve`): the conflicting groups to take from the portal, the rest
		kept from ERPNext (None: the strategy decides)."""
		apply, conflicts, changed = merge.three_way_merge(
			base_portal,
			view,
			base_erpnext,
			state.view,
			self.registry,
			same=lambda groups: self.same_values(inv, vendor, state, groups),
		)
		strategy = self.settings.conflict_strategy
		note = ""
		if conflicts:
			fields = ", ".join(sorted(conflicts))
			if take is not None:
				won, kept = conflicts & set(take), conflicts - set(take)
				apply |= won
				note = "".join(
					(
						f"; ProcureUAT's {', '.join(sorted(won))} taken" if won else "",
						f"; ERPNext's {', '.join(sorted(kept))} kept" if kept else "",
					)
				)
			elif strategy == LATEST_EDIT_WINS:
				if merge.erpnext_edited_later(inv.change_ts or inv.updated_at, state.modified):
					note = f"; ERPNext's {fields} kept (its edit is the latest)"
				else:
					apply |= conflicts
					note = f"; ProcureUAT's {fields} taken (its edit is the latest)"
			elif strategy == PROCUREUAT_WINS:
				apply |= conflicts
				note = f"; ProcureUAT won the conflict on {fields}"
			elif strategy == ERPNEXT_WINS:
				note = f"; ERPNext's {fields} kept (ERPNext wins)"
			else:
				record.conflict_fields = fields
				return Outcome(
					"conflict",
					"Update",
					(
						f"{invoice_label(inv)} and {state.name} both changed {field_maps.named(sorted(conflicts), self.registry)}"
						" since the last sync; "
						"nothing overwritten, waiting for a person"
					),
					HELD_DRAFT_EDITED,
				)
		status_changed = [c for c in changed if c in columns.status_columns(self.registry)]
		if not apply and not status_changed:
			record.snapshot = self._snapshot(view, state.view)
			return UNCHANGED
		if apply:
			want = self.masters.spec(inv, vendor)
			self.masters.check_posting_date(want.company, want.posting_date)
			state = self.port.update_invoice(state.name, want, apply)
			if "items" in apply:
				totals_note = spec.check_totals(
					inv, want, state.net_total, state.gst_total, **spec.totals_of(state)
				)
				note = (f"; {totals_note}" if totals_note else "") + note
		if status_changed:
			self.port.set_status_fields(state.name, status_fields_of(inv))
			state = self.port.get_invoice(state.name)
		record.snapshot = self._snapshot(view, state.view)
		record.erpnext_hash = columns.view_hash(state.view)
		changed_fields = field_maps.named(sorted(set(apply) | set(status_changed)), self.registry)
		return Outcome(
			"updated",
			"Update",
			f"Updated draft {state.name} from {invoice_label(inv)}: {changed_fields}{note}",
		)

	def _portal_edit_of_pushed(self, inv, record, state, view, changed, newly_gone, base_erpnext) -> Outcome:
		"""A portal edit of an invoice ERPNext pushed: ERPNext's document, so a portal
		cancellation is held for a person; status columns are taken."""
		if newly_gone:
			record.conflict_fields = "is_invoice_cancel" if inv.is_invoice_cancel else "is_delete"
			return Outcome(
				"conflict",
				"Cancel",
				(
					f"{invoice_label(inv)} was cancelled on the portal, but {state.name} is ERPNext's document; "
					"held for a person"
				),
				HELD_PUSHED_CANCELLED,
			)
		return self._edit_submitted(inv, record, state, view, changed, base_erpnext)
