"""**Retry** from the desk: a failed Sync Log row (form button, or the list's bulk action) and
Sync Mappings (form button, or the list's bulk action), each run again as a background job.

What a retry runs depends on what failed:
- a pull of a portal invoice: `jobs.retry_pull` pulls those requisitions again, changed or
  not (`PullEngine.retry`), limited to the vendor slices that failed;
- a push: `jobs.push_invoice` (idempotent: a row already written is found by `order_code`);
  a cancellation: `jobs.cancel_invoice`; a payment state: `jobs.sync_payment_states`;
- a failed "Pull Run" (the portal did not answer): a whole pull, `desk.enqueue_pull`.
Anything else (a Test Connection, a row that did not fail, a conflict, which a person
settles on the Sync Mapping form) is skipped with the reason.

POST only; one of `MANAGER_ROLES` and read permission on each row; a push or cancellation
also needs submit / cancel permission on the Purchase Invoice, as the form's buttons do.
"""

import frappe
from frappe import _

from o2o_sync.constants import (
	CONFLICT,
	FAILED,
	ORIGIN_ERPNEXT,
	PENDING,
	PULL,
	PURCHASE_INVOICE,
	PUSH,
	SYNC_LOG,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.sync.desk import enqueue_pull, require_manager

#: the jobs (see `jobs`), by the dotted path a worker imports them from
RETRY_PULL_JOB = "o2o_sync.sync.jobs.retry_pull"
PUSH_JOB = "o2o_sync.sync.jobs.push_invoice"
CANCEL_JOB = "o2o_sync.sync.jobs.cancel_invoice"
PAYMENT_STATES_JOB = "o2o_sync.sync.jobs.sync_payment_states"
#: mapping statuses a retry applies to (Pending: asked to sync again)
RETRYABLE_MAPPING_STATUSES = (FAILED, PENDING)


class RetryPlan:
	"""What one Retry click queues: requisitions (with the failed slices) to pull again,
	invoices to push / cancel / send the payment state of, a whole pull, and what was skipped."""

	def __init__(self):
		self.pull_ids: set[int] = set()
		self.pull_keys: set[tuple[int, int]] = set()
		self.push: set[str] = set()
		self.cancel: set[str] = set()
		self.payment: set[str] = set()
		self.whole_pull = False
		self.skipped: list[dict] = []

	def skip(self, name: str, reason: str):
		self.skipped.append({"name": name, "reason": reason})

	def add_pull(self, requisition_id: int):
		"""Pull a requisition again: its Failed / Pending vendor slices, or all when none is."""
		self.pull_ids.add(int(requisition_id))
		for key in frappe.get_all(
			SYNC_MAPPING,
			filters={"procureuat_id": requisition_id, "status": ["in", RETRYABLE_MAPPING_STATUSES]},
			fields=["procureuat_id", "procureuat_vendor_id"],
			as_list=True,
		):
			self.pull_keys.add((int(key[0]), int(key[1])))

	def add_invoice(self, name: str, row: str, operation: str | None = None):
		"""Push (or cancel, or send the payment state of) Purchase Invoice `name` again."""
		docstatus = frappe.db.get_value(PURCHASE_INVOICE, name, "docstatus")
		if docstatus is None:
			return self.skip(row, _("Purchase Invoice {0} no longer exists").format(name))
		if operation == "Payment Status":
			frappe.has_permission(PURCHASE_INVOICE, "read", name, throw=True)
			self.payment.add(name)
		elif docstatus == 2 or operation == "Cancel":
			frappe.has_permission(PURCHASE_INVOICE, "cancel", name, throw=True)
			self.cancel.add(name)
		elif docstatus == 1:
			frappe.has_permission(PURCHASE_INVOICE, "submit", name, throw=True)
			self.push.add(name)
		else:
			self.skip(row, _("{0} is a draft; only submitted invoices are pushed").format(name))

	def enqueue(self) -> dict:
		"""Queue the jobs; returns `{"queued": {"pull": [requisition ids], "push", "cancel",
		"payment": [invoice names], "pull_run": bool}, "skipped": [{"name", "reason"}],
		"message"}`."""
		if self.pull_ids:
			frappe.enqueue(
				RETRY_PULL_JOB,
				queue="long",
				requisition_ids=sorted(self.pull_ids),
				keys=[list(k) for k in sorted(self.pull_keys)] or None,
			)
		for name in sorted(self.push):
			frappe.enqueue(
				PUSH_JOB,
				queue="short",
				job_id=f"o2o_sync::push::{name}",
				deduplicate=True,
				invoice_name=name,
			)
		for name in sorted(self.cancel):
			frappe.enqueue(
				CANCEL_JOB,
				queue="short",
				job_id=f"o2o_sync::cancel::{name}",
				deduplicate=True,
				invoice_name=name,
			)
		if self.payment:
			frappe.enqueue(PAYMENT_STATES_JOB, queue="short", invoice_names=sorted(self.payment))
		pull_run = None
		if self.whole_pull:
			pull_run = enqueue_pull()
		queued = {
			"pull": sorted(self.pull_ids),
			"push": sorted(self.push),
			"cancel": sorted(self.cancel),
			"payment": sorted(self.payment),
			"pull_run": bool(pull_run and pull_run.get("status") == "queued"),
		}
		return {"queued": queued, "skipped": self.skipped, "message": _message(queued, self.skipped)}


def _message(queued: dict, skipped: list[dict]) -> str:
	parts = []
	if queued["pull"]:
		parts.append(_("pull of requisition(s) {0}").format(", ".join(map(str, queued["pull"]))))
	for key, label in (("push", _("push")), ("cancel", _("cancellation")), ("payment", _("payment state"))):
		if queued[key]:
			parts.append(f"{label} {', '.join(queued[key])}")
	if queued["pull_run"]:
		parts.append(_("a whole pull"))
	text = _("Queued: {0}.").format("; ".join(parts)) if parts else _("Nothing to retry.")
	if skipped:
		text += " " + _("Skipped: {0}.").format("; ".join(f"{s['name']} ({s['reason']})" for s in skipped))
	return text


def _names(names) -> list[str]:
	parsed = frappe.parse_json(names) if isinstance(names, str) and names.startswith("[") else names
	if isinstance(parsed, str):
		parsed = [parsed]
	return [str(n) for n in (parsed or [])]


@frappe.whitelist(methods=["POST"])
def retry_sync_logs(names) -> dict:
	"""Retry the failed Sync Log rows `names` (a list, or JSON text of one), as background jobs.

	Returns `RetryPlan.enqueue`'s `{"queued", "skipped", "message"}`. Raises
	frappe.PermissionError without Accounts Manager / System Manager, read permission on each
	row, or submit / cancel permission on an invoice to push / cancel.
	"""
	require_manager()
	plan = RetryPlan()
	fields = [
		"name",
		"status",
		"direction",
		"operation",
		"reference_doctype",
		"reference_name",
		"procureuat_id",
	]
	rows = {
		r.name: r for r in frappe.get_all(SYNC_LOG, filters={"name": ["in", _names(names)]}, fields=fields)
	}
	for name in _names(names):
		row = rows.get(name)
		if not row:
			plan.skip(name, _("not found"))
			continue
		frappe.has_permission(SYNC_LOG, "read", row.name, throw=True)
		invoice = row.reference_name if row.reference_doctype == PURCHASE_INVOICE else None
		if row.status != FAILED:
			plan.skip(name, _("it is {0}, not Failed").format(_(row.status)))
		elif row.direction == PULL and row.operation == "Pull Run":
			plan.whole_pull = True
		elif row.direction == PULL and row.procureuat_id:
			plan.add_pull(row.procureuat_id)
		elif row.direction == PUSH and invoice:
			plan.add_invoice(invoice, name, row.operation)
		else:
			plan.skip(name, _("nothing to run again for {0}").format(row.operation or _("this row")))
	return plan.enqueue()


@frappe.whitelist(methods=["POST"])
def retry_mappings(names) -> dict:
	"""Sync the Sync Mappings `names` (Failed or Pending) again, as background jobs: a pulled
	invoice is pulled again, a pushed one pushed (or its cancellation sent) again.

	Returns `RetryPlan.enqueue`'s `{"queued", "skipped", "message"}`; Synced mappings are skipped,
	and so are Conflicts (a person settles those on the form). Raises frappe.PermissionError
	as `retry_sync_logs`.
	"""
	require_manager()
	plan = RetryPlan()
	fields = ["name", "status", "origin", "procureuat_id", "purchase_invoice"]
	rows = {
		r.name: r
		for r in frappe.get_all(SYNC_MAPPING, filters={"name": ["in", _names(names)]}, fields=fields)
	}
	for name in _names(names):
		row = rows.get(name)
		if not row:
			plan.skip(name, _("not found"))
			continue
		frappe.has_permission(SYNC_MAPPING, "read", row.name, throw=True)
		if row.status == SYNCED:
			plan.skip(name, _("already Synced"))
		elif row.status == CONFLICT:
			plan.skip(name, _("a Conflict: settle it on the Sync Mapping form"))
		elif row.origin == ORIGIN_ERPNEXT and row.purchase_invoice:
			plan.add_invoice(row.purchase_invoice, name)
		else:
			plan.add_pull(row.procureuat_id)
	return plan.enqueue()
