"""Doc events (see hooks.py): ERPNext changes that reach ProcureUAT.

Handlers only decide and enqueue: the portal is written by a background job after
the user's transaction commits, never inside the request (contract, "Push"). They act only
on documents of companies mapped in O2O Sync Settings (`scope`): any other company's
invoice, payment or journal entry is left as ERPNext made it. A handler never commits and
never runs a job inside the caller's transaction, under any app's tests included; only the
app's own tests run the jobs inline (`scope.run_jobs_now`).
"""

import frappe

from o2o_sync.constants import (
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PAYMENT_ENTRY,
	PENDING,
	PURCHASE_INVOICE,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.sync.frappe_port import FrappePort, amendment_chain
from o2o_sync.sync.scope import in_scope, run_jobs_now

# the jobs (see `jobs`), by the dotted path a worker imports them from
PUSH_INVOICE_JOB = "o2o_sync.sync.jobs.push_invoice"
CANCEL_INVOICE_JOB = "o2o_sync.sync.jobs.cancel_invoice"
PAYMENT_STATES_JOB = "o2o_sync.sync.jobs.sync_payment_states"


def _enqueue(method: str, job_key: str, **kwargs):
	"""Queue `method` for a worker once the caller's transaction commits (nothing is queued if
	it rolls back); inline only under the app's own tests (`scope.run_jobs_now`)."""
	now = run_jobs_now()
	frappe.enqueue(
		method,
		queue="short",
		enqueue_after_commit=True,
		now=now,
		job_id=f"o2o_sync::{job_key}",
		deduplicate=not now,
		**kwargs,
	)


def _mapping_of_chain(doc):
	"""The Sync Mapping of the invoice or of one it amends, or None."""
	return FrappePort().mapping_for_invoice(amendment_chain(doc.name))


def _returned_invoice_changed(doc):
	"""A debit note moves its original's outstanding amount: send the original's payment state."""
	if doc.is_return and doc.return_against:
		_enqueue(
			PAYMENT_STATES_JOB,
			f"pay::{doc.return_against}",
			invoice_names=[doc.return_against],
		)


def purchase_invoice_on_submit(doc, method=None):
	"""Push an ERPNext-made invoice; let an amendment of a pulled one take over its mapping."""
	if doc.flags.o2o_from_pull or not in_scope(doc.company):
		return
	rec = _mapping_of_chain(doc) if (doc.amended_from or doc.get(F_PROCUREUAT_ID)) else None
	if rec and rec.origin == ORIGIN_PORTAL:
		# the vendor's document: the amendment takes over the mapping, nothing goes to the portal
		frappe.db.set_value(SYNC_MAPPING, rec.name, "purchase_invoice", doc.name)
		doc.db_set(F_SYNC_STATUS, SYNCED, update_modified=False)
		return
	_returned_invoice_changed(doc)
	doc.db_set(F_SYNC_STATUS, PENDING, update_modified=False)
	_enqueue(PUSH_INVOICE_JOB, f"push::{doc.name}", invoice_name=doc.name)


def purchase_invoice_on_cancel(doc, method=None):
	"""Mark a pushed invoice's portal row cancelled; a pulled one's stays (the vendor's document).

	The invoice goes Pending first, so the cancellation is queued even if its job is lost or
	the portal is unreachable: `scheduler.retry_pending_pushes` sends it. An invoice whose own
	push was never confirmed (still Pending) is sent too: its push may have reached the portal.
	"""
	if doc.flags.o2o_from_pull or not in_scope(doc.company):
		return
	_returned_invoice_changed(doc)
	rec = _mapping_of_chain(doc)
	unconfirmed = not rec and frappe.db.get_value(PURCHASE_INVOICE, doc.name, F_SYNC_STATUS) == PENDING
	if (rec and rec.origin == ORIGIN_ERPNEXT) or unconfirmed:
		doc.db_set(F_SYNC_STATUS, PENDING, update_modified=False)
		_enqueue(CANCEL_INVOICE_JOB, f"cancel::{doc.name}", invoice_name=doc.name)


def settlement_changed(doc, method=None):
	"""A Payment Entry or Journal Entry touched Purchase Invoices: send their payment state
	(only for a mapped company's entry, and only of invoices with a Sync Mapping)."""
	if not in_scope(doc.company):
		return
	if doc.doctype == PAYMENT_ENTRY:
		names = {r.reference_name for r in doc.references if r.reference_doctype == PURCHASE_INVOICE}
	else:
		names = {r.reference_name for r in doc.accounts if r.reference_type == PURCHASE_INVOICE}
	names.discard(None)
	if not names:
		return
	mapped = frappe.get_all(
		SYNC_MAPPING, filters={"purchase_invoice": ["in", list(names)]}, pluck="purchase_invoice"
	)
	if mapped:
		_enqueue(
			PAYMENT_STATES_JOB,
			f"pay::{doc.doctype}::{doc.name}::{method}",
			invoice_names=sorted(mapped),
		)
