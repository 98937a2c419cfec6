"""A person settles what the sync held for them: a Sync Mapping in Conflict (contract, "Both
directions" and "Entities, companies and origin").

What a person may do depends on the held state (`held_states`: `held_reason_of`,
`actions_for`, the table there).

Origin decides authority: keeping ERPNext's values of a pulled invoice writes nothing to the
portal; keeping ERPNext's values of a pushed invoice re-pushes them (`PushEngine.push`), or
marks the portal row cancelled again when ERPNext's invoice is cancelled or gone.

`ConflictResolver.resolve` applies a choice to both sides in one go: the ERPNext side inside
one savepoint (`port.atomic`), the portal write last, so a portal that refuses or cannot be
reached rolls the ERPNext side back and nothing is half-applied. It advances the snapshot of
the last sync to both sides' views now (the same difference never comes back), returns the
mapping to Synced and writes a "Resolve" Sync Log row naming who chose what, for which
fields. `describe` gives the fields in question with their three values. Frappe-free: the
Frappe side (`resolution.py`) checks who may resolve and commits.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

from o2o_sync.constants import (
	AMEND_FROM_PROCUREUAT,
	CANCEL_IN_ERPNEXT,
	CHOOSE_PER_FIELD,
	CONFLICT,
	CREATE_FROM_PROCUREUAT,
	FAILED,
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
	OP_RESOLVE,
	ORIGIN_ERPNEXT,
	PULL,
	PURCHASE_INVOICE,
	PUSH,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.engine.held_states import (
	FieldValues,
	HeldConflict,
	ResolveError,
	actions_for,
	choose_action,
	fields_in_question,
	held_reason_of,
)
from o2o_sync.sync.engine.pull.decisions import InvoiceDecisions, linked_fields, status_fields_of
from o2o_sync.sync.engine.pull.masters import Masters
from o2o_sync.sync.model import columns, merge, spec
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import O2OSyncError
from o2o_sync.sync.model.port import InvoiceState, LogEntry, MappingRecord
from o2o_sync.sync.model.records import PortalInvoice, Vendor

__all__ = ["ConflictResolver", "FieldValues", "HeldConflict", "ResolveError", "actions_for", "held_reason_of"]


@dataclass
class _Held:
	"""Both sides of a held mapping, read once per resolution."""

	inv: PortalInvoice
	vendor: Vendor | None
	state: InvoiceState | None
	view: dict
	base_portal: dict | None
	base_erpnext: dict | None
	reason: str


class ConflictResolver:
	"""Describes and resolves held mappings (see the module's docstring), with the pull's own
	decisions (`InvoiceDecisions`) and master lookups (`Masters`).

	Args: `port`, the `ERPNextPort`; `client`, the portal client; `settings`, the
	`mapping.PullSettings`; `pusher`, the `PushEngine` that re-pushes an ERPNext invoice
	(needed for pushed invoices only); `clock`, the time written as `last_synced_at`;
	`registry`, the column registry.
	"""

	def __init__(self, port, client, settings, pusher=None, clock=datetime.now, registry=columns.REGISTRY):
		self.port = port
		self.client = client
		self.settings = settings
		self.pusher = pusher
		self.clock = clock
		self.registry = tuple(registry)
		self.masters = Masters(port, settings, self.registry)
		self.decisions = InvoiceDecisions(port, settings, self.registry, self.masters)

	# ------------------------------------------------------------ reading both sides

	def _load(self, record: MappingRecord) -> _Held:
		"""The portal slice, its vendor and Items, ERPNext's invoice and the base snapshot."""
		invoices = self.client.fetch_invoices([record.procureuat_id])
		inv = next(
			(
				part
				for whole in invoices
				for part in m.split_by_vendor(whole)
				if m.slice_vendor_id(part) == record.procureuat_vendor_id
			),
			None,
		)
		if inv is None:
			raise ResolveError(
				f"Requisition {record.procureuat_id} has no lines of vendor {record.procureuat_vendor_id} on the portal any more"
			)
		vendor = None
		if record.procureuat_vendor_id:
			vendor = self.client.fetch_vendors([record.procureuat_vendor_id]).get(record.procureuat_vendor_id)
		products = sorted({li.product_id for li in inv.lines if li.product_id})
		self.masters.load_items(products)
		state = self.decisions.live_state(record) if record.purchase_invoice else None
		view = columns.portal_view(inv, self.registry)
		base = merge.upgrade_snapshot(record.snapshot, view, state.view if state else None, self.registry)
		reason = held_reason_of(record, inv, state)
		return _Held(inv, vendor, state, view, base.get("portal"), base.get("erpnext"), reason)

	def _spec_or_none(self, held: _Held):
		try:
			return self.masters.spec(held.inv, held.vendor)
		except O2OSyncError:
			return None

	def _conflict_groups(self, held: _Held) -> set[str]:
		"""The field groups both sides changed to different values (drafts)."""
		_apply, conflicts, _cols = merge.three_way_merge(
			held.base_portal,
			held.view,
			held.base_erpnext,
			held.state.view,
			self.registry,
			same=lambda groups: self.decisions.same_values(held.inv, held.vendor, held.state, groups),
		)
		return conflicts

	def describe(self, record: MappingRecord) -> HeldConflict:
		"""The held mapping as a person sees it (`HeldConflict`). Reads the portal; raises
		ResolveError when the portal invoice is gone, ProcureUATConnectionError when the
		portal cannot be reached."""
		held = self._load(record)
		conflicts = self._conflict_groups(held) if held.reason == HELD_DRAFT_EDITED and held.state else set()
		values = fields_in_question(
			held.reason,
			record,
			held.inv,
			held.state,
			held.view,
			held.base_portal,
			held.base_erpnext,
			self._spec_or_none(held),
			conflicts,
			self.registry,
		)
		return HeldConflict(
			mapping=record.name,
			procureuat_id=record.procureuat_id,
			procureuat_vendor_id=record.procureuat_vendor_id,
			purchase_invoice=record.purchase_invoice,
			origin=record.origin,
			held_reason=held.reason,
			invoice=m.invoice_label(held.inv),
			message=record.last_error,
			fields=values,
			actions=actions_for(held.reason, record.origin),
			choosable=sorted(conflicts),
		)

	# ------------------------------------------------------------ resolving

	def resolve(
		self, record: MappingRecord, action: str | None = None, keep: str | None = None, fields=None, user=""
	) -> dict:
		"""Apply a person's choice to a held mapping, on both sides in one go.

		Args: the mapping (status Conflict); `action`, one of `actions_for` its state, or
		`keep` ("ERPNext" / "ProcureUAT") to pick it; `fields`, on a draft, the field groups
		to take from the portal (the rest kept from ERPNext; `items` and `taxes` go together,
		as do `bill_date` and `posting_date`); `user`, who chose (for the Sync Log).
		Returns `{"status": "Synced", "action", "fields", "purchase_invoice", "message"}`.
		Raises ResolveError (nothing applied; a Failed "Resolve" Sync Log row is written),
		ProcureUATConnectionError when the portal cannot be reached (nothing applied).
		"""
		started = time.monotonic()
		if record.status != CONFLICT:
			raise ResolveError(
				f"Sync Mapping {record.name or record.key} is {record.status}, not held; nothing to resolve"
			)
		held = self._load(record)
		action = action or choose_action(held.reason, record.origin, keep, fields)
		offered = actions_for(held.reason, record.origin)
		if action not in offered:
			raise ResolveError(f"{action} does not apply to '{held.reason}'; choose {' or '.join(offered)}")
		if fields and held.reason != HELD_DRAFT_EDITED:
			raise ResolveError(
				f"A per-field choice applies to drafts both sides changed, not to '{held.reason}'"
			)
		wrote_portal = False
		try:
			with self.port.atomic():
				what, named, wrote_portal = self._apply_choice(record, held, action, fields)
		except Exception as e:
			self._write_resolve_log(
				record, held, FAILED, f"{user or 'A person'} chose {action}; nothing applied: {e}", started
			)
			raise
		who = user or "A person"
		named_text = f" for {', '.join(named)}" if named else ""
		message = f"{who} chose {action}{named_text} on {m.invoice_label(held.inv)}: {what}"
		self._write_resolve_log(record, held, SUCCESS, message, started, push=wrote_portal)
		return {
			"status": SYNCED,
			"action": action,
			"fields": named,
			"purchase_invoice": record.purchase_invoice,
			"message": message,
		}

	def _write_resolve_log(self, record, held: _Held, status, message, started, push=False):
		self.port.write_logs(
			[
				LogEntry(
					direction=PUSH if push else PULL,
					operation=OP_RESOLVE,
					status=status,
					message=message,
					reference_doctype=PURCHASE_INVOICE if record.purchase_invoice else None,
					reference_name=record.purchase_invoice,
					procureuat_id=record.procureuat_id,
					duration_ms=int((time.monotonic() - started) * 1000),
				)
			]
		)

	def _take(self, held: _Held, fields) -> tuple[set[str], set[str]]:
		"""(conflicting groups, those to take from the portal) of a per-field choice; a
		chosen group brings the groups one portal column moves with it."""
		conflicts = self._conflict_groups(held)
		chosen = {f.strip() for f in ([fields] if isinstance(fields, str) else fields or []) if f.strip()}
		unknown = chosen - conflicts
		if unknown:
			raise ResolveError(
				f"{', '.join(sorted(unknown))} not in question; the fields both sides changed are "
				f"{', '.join(sorted(conflicts)) or 'none'}"
			)
		for groups in columns.groups_by_column(self.registry).values():
			if chosen & set(groups):
				chosen |= set(groups) & conflicts
		return conflicts, chosen

	def _apply_choice(
		self, record: MappingRecord, held: _Held, action: str, fields
	) -> tuple[str, list[str], bool]:
		"""Do `action`; returns (what was done, the fields it named, whether the portal was written)."""
		state, inv = held.state, held.inv
		if held.reason == HELD_DRAFT_EDITED:
			conflicts, take = self._take(held, fields)
			if action == KEEP_PROCUREUAT and not fields:
				take = set(conflicts)
			elif action == KEEP_ERPNEXT:
				take = set()
			elif action == CHOOSE_PER_FIELD and not fields:
				raise ResolveError("Choose per field needs the fields to take from ProcureUAT")
			outcome = self.decisions.edit_draft(
				inv, held.vendor, record, state, held.view, held.base_portal, held.base_erpnext, take=take
			)
			what = outcome.message or f"{state.name} already held what both sides agree on"
			self._settle(record, held.view, self.port.get_invoice(state.name))
			return what, sorted(conflicts), False

		named = [
			f.field
			for f in fields_in_question(
				held.reason, record, inv, state, held.view, held.base_portal, held.base_erpnext, None, set()
			)
		]
		if action == KEEP_ERPNEXT:
			what, wrote_portal = self._keep_erpnext(record, held)
			return what, named, wrote_portal
		if action == AMEND_FROM_PROCUREUAT:
			return self._amend(record, held), named, False
		if action == CANCEL_IN_ERPNEXT:
			self.port.cancel_invoice(state.name)
			self._settle(record, held.view, self.port.get_invoice(state.name))
			return f"cancelled {state.name} in ERPNext, as on the portal", named, False
		if action == LINK_ANYWAY:
			want = self.masters.spec(inv, held.vendor)
			self.port.set_status_fields(state.name, linked_fields(want))
			self._settle(record, held.view, self.port.get_invoice(state.name))
			return (
				f"linked {state.name} as it is in ERPNext (net ₹{state.net_total:.2f} + GST ₹{state.gst_total:.2f};"
				f" the portal's net ₹{want.expected.net_total:.2f} + GST ₹{want.expected.gst_total:.2f})",
				named,
				False,
			)
		# CREATE_FROM_PROCUREUAT
		if inv.is_gone:
			raise ResolveError(f"{m.invoice_label(inv)} is cancelled on the portal; nothing to create")
		outcome = self.decisions.create(inv, held.vendor, record, held.view, link_existing=False)
		self._settle(record, held.view, self.port.get_invoice(record.purchase_invoice))
		return outcome.message[:1].lower() + outcome.message[1:], named, False

	def _keep_erpnext(self, record: MappingRecord, held: _Held) -> tuple[str, bool]:
		"""Keep ERPNext's side of a non-draft held state; returns (what was done, portal written).
		A pulled invoice writes nothing to the portal; a pushed one is re-pushed, or its
		portal row marked cancelled again when ERPNext's invoice is cancelled or gone."""
		state, inv, pushed = held.state, held.inv, record.origin == ORIGIN_ERPNEXT
		if held.reason == HELD_SUBMITTED_EDITED:
			changed = merge.changed_columns(held.base_portal, held.view)
			if set(changed) & set(columns.status_columns(self.registry)):
				self.port.set_status_fields(state.name, status_fields_of(inv))
				state = self.port.get_invoice(state.name)
		self._settle(record, held.view, state)
		if pushed and held.reason in (HELD_SUBMITTED_EDITED, HELD_PUSHED_CANCELLED):
			self._repush(record, state.name)
			return f"re-pushed {state.name}: the portal row holds ERPNext's values again", True
		if pushed and not inv.is_invoice_cancel:
			# ERPNext's invoice is cancelled or gone: so is the portal row (contract, "Push": cancellation)
			self.client.cancel_invoice(record.procureuat_id)
			self._settle(record, self._portal_view_now(record), state)
			gone = "is cancelled" if state is not None else "no longer exists"
			return f"marked the portal row cancelled: {record.purchase_invoice} {gone} in ERPNext", True
		if state is None:
			where = "the portal row is already cancelled" if pushed else "nothing written to the portal"
			return f"{record.purchase_invoice} stays deleted; {where}", False
		if held.reason == HELD_CANCELLED_IN_ERPNEXT:
			return f"{state.name} stays cancelled; nothing written to the portal", False
		if held.reason == HELD_CANCELLED_WITH_PAYMENTS:
			return f"{state.name} stays as it is with its payments; nothing written to the portal", False
		return f"{state.name} keeps ERPNext's values; nothing written to the portal", False

	def _amend(self, record: MappingRecord, held: _Held) -> str:
		"""Cancel (if submitted) and amend a pulled invoice with the portal's values, submit the
		amendment; the mapping follows it (ERPNext's own cancel-and-amend)."""
		state, inv = held.state, held.inv
		want = self.masters.spec(inv, held.vendor)
		self.masters.check_posting_date(want.company, want.posting_date)
		if state.docstatus == 1:
			self.port.cancel_invoice(state.name)
		new = self.port.amend_invoice(state.name, want)
		note = spec.check_totals(inv, want, new.net_total, new.gst_total, **spec.totals_of(new))
		self.port.submit_invoice(new.name)
		self.port.set_status_fields(new.name, linked_fields(want))
		record.purchase_invoice = new.name
		new = self.port.get_invoice(new.name)
		self._settle(record, held.view, new)
		verb = "cancelled and amended" if state.docstatus == 1 else "amended"
		return (
			f"{verb} {state.name} as {new.name} with the portal's values and submitted it: "
			f"net ₹{new.net_total:.2f} + GST ₹{new.gst_total:.2f}" + (f"; {note}" if note else "")
		)

	def _repush(self, record: MappingRecord, name: str) -> None:
		"""Push ERPNext's invoice again (the portal write, last); a refusal raises ResolveError."""
		if self.pusher is None:
			raise ResolveError(f"{name} is ERPNext's document and no push engine was given to re-push it")
		result = self.pusher.push(name)
		if result["status"] != SYNCED:
			raise ResolveError(f"re-pushing {name} failed: {result['message']}")
		fresh = self.port.get_mappings([record.key]).get(record.key)
		if fresh is not None:
			record.__dict__.update(fresh.__dict__)

	def _portal_view_now(self, record: MappingRecord) -> dict:
		"""The portal view of the mapping's slice as the portal holds it now."""
		for whole in self.client.fetch_invoices([record.procureuat_id]):
			for part in m.split_by_vendor(whole):
				if m.slice_vendor_id(part) == record.procureuat_vendor_id:
					record.portal_updated_at = part.change_ts
					return columns.portal_view(part, self.registry)
		raise ResolveError(f"Requisition {record.procureuat_id} is no longer on the portal")

	def _settle(self, record: MappingRecord, portal_view: dict, state: InvoiceState | None) -> None:
		"""Advance the snapshot to both sides now and return the mapping to Synced."""
		record.snapshot = merge.make_snapshot(portal_view, state.view if state else None, self.registry)
		record.portal_hash = columns.view_hash(portal_view)
		record.erpnext_hash = columns.view_hash(state.view) if state else None
		record.status, record.conflict_fields, record.held_reason, record.last_error = (
			SYNCED,
			None,
			None,
			None,
		)
		record.last_synced_at = self.clock()
		self.port.save_mapping(record)
