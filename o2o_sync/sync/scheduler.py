"""Scheduler entry points (see `scheduler_events` in hooks.py).

Each acts only while O2O Sync Settings is enabled. They run as Administrator in a worker;
the work itself is in `jobs` (engines from `engines`). Old Sync Log rows are cleared by
Frappe's Log Settings (`default_log_clearing_doctypes` in hooks.py, `SyncLog.clear_old_logs`).
"""

import time

import frappe
from frappe.utils import add_to_date, cint, getdate, now_datetime
from frappe.utils.background_jobs import is_job_enqueued

from o2o_sync.constants import F_SYNC_STATUS, PENDING, PURCHASE_INVOICE, SETTINGS
from o2o_sync.sync import backfill_state as backfill
from o2o_sync.sync.budget import job_deadline
from o2o_sync.sync.desk import PULL_JOB_ID, queue_pull
from o2o_sync.sync.engines import portal_client, push_engine, sync_enabled
from o2o_sync.sync.frappe_port import FrappePort
from o2o_sync.sync.jobs import pull_running, run_pull, run_reconcile, sync_payment_states
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.portal.writes import PushBusy

#: O2O Sync Settings' Check field switching the minute's probe on and off
PROBE_FIELD = "probe_portal_changes"
from o2o_sync.sync.notifications import notify_held
from o2o_sync.sync.scope import active_companies


def scheduled_sync_from_external() -> dict | None:
	"""Hourly (long queue): pull what changed since the cursor when O2O Sync Settings is enabled.

	Returns the counts of `jobs.run_pull` (or `{"status": "busy"}` when a pull is running), or
	None when the sync is disabled. Raises ProcureUATConnectionError when the portal is
	unreachable (the run is logged; the next hour tries again).
	"""
	if not sync_enabled():
		return None
	return run_pull()


def probe_enabled() -> bool:
	"""O2O Sync Settings' **Check the Portal Every Minute** (`probe_portal_changes`): on by
	default (a site that never stored it reads on; the `probe_on_by_default` patch stores it)."""
	stored = frappe.db.sql(
		"select value from `tabSingles` where doctype = %s and field = %s", (SETTINGS, PROBE_FIELD)
	)
	return not stored or bool(cint(stored[0][0]))


def probe_portal_changes() -> dict | None:
	"""Every minute (cron `* * * * *`): ask the portal one cheap question, is there an invoice
	past the pull's cursor (`ProcureUATClient.has_changes_after`, one statement), and queue
	the incremental pull only then (`desk.queue_pull`: the desk's pull job, one at a time).

	Asks nothing while a pull is queued or running (its job queued or started, or the site's
	pull lock held by any pull, reconciliation or rescan), or a parallel backfill runs (then it
	resumes a part whose job died, `backfill.watch`: `"resumed"`, the parts queued), or while the sync or the probe is
	switched off in O2O Sync Settings. Returns None when switched off, else `{"changed": bool,
	"queued": bool, "queries": int}` (`queries`, portal statements sent: 1, or 0 when a pull
	was already on its way, then `"status": "busy"` too). Raises ProcureUATConnectionError when
	the portal is unreachable (the next minute asks again; the hourly pull logs it).
	"""
	if not sync_enabled() or not probe_enabled():
		return None
	if backfill.running():  # its parts own the history; the incremental pull follows them
		return {
			"status": "busy",
			"changed": False,
			"queued": False,
			"queries": 0,
			"resumed": backfill.watch(),
		}
	if is_job_enqueued(PULL_JOB_ID) or pull_running():
		return {"status": "busy", "changed": False, "queued": False, "queries": 0}
	connection = frappe.db.get_single_value(SETTINGS, "database_connection")
	cursor = FrappePort(connection=connection).get_cursor()
	from_date = frappe.db.get_single_value(SETTINGS, "pull_from_date")
	client = portal_client(connection)
	before = client.query_count
	changed = client.has_changes_after(cursor, getdate(from_date) if from_date else None)
	queries = client.query_count - before
	queued = queue_pull() if changed else False
	return {"changed": changed, "queued": queued, "queries": queries}


def scheduled_reconcile() -> dict | None:
	"""Daily (long queue): the safety net behind the pull's cursor, when O2O Sync Settings is
	enabled: the portal's invoices changed in the last `reconcile_days` compared with the Sync
	Mappings by hash, what the cursor missed applied (`jobs.run_reconcile`).

	Returns its result (or `{"status": "busy"}` when a pull is running), or None when the sync
	is disabled. Raises ProcureUATConnectionError when the portal is unreachable (logged).
	"""
	if not sync_enabled():
		return None
	return run_reconcile()


def reconcile_payment_states() -> dict | None:
	"""Every 15 minutes: catch payment states the doc events missed (payment reconciliation,
	unreconcile, ...): ERPNext moves `outstanding_amount` without firing the invoice's events.

	Returns `{"updated", "unchanged"}` of `PushEngine.sync_payment_states`, or None when the
	sync is disabled.
	"""
	if not sync_enabled():
		return None
	return sync_payment_states(None)


def retry_pending_pushes(older_than_seconds: int = 120, limit: int = 200) -> dict:
	"""Every 15 minutes: send again what the portal has not confirmed. First the submitted
	invoices still Pending (a lost job, a portal that did not answer, a connection lost inside
	the portal's transaction, a push that waited past the portal's time limits or hit RQ's
	job timeout, a crash between the portal's commit and ERPNext's), then the cancelled ones
	still Pending: cancellations queued while the portal was unreachable
	(`PushEngine.cancel`). Pushes go first, so an amendment made meanwhile takes over its
	row (un-cancelling it) before the cancellation of the invoice it amends is looked at,
	which then finds no mapping of its own and leaves the row to the amendment. Idempotent:
	a row already written is found by `order_code` and updated; each attempt writes its
	Sync Log row (queued again, or sent).

	Each invoice is its own transaction, begun after the one before committed, so it sees
	what a push job committed meanwhile (its Sync Mapping is updated, never inserted twice:
	`bookkeeping.save_mapping`). An invoice whose own push or cancel job is queued or running
	at that moment is left to that job; one the portal holds busy (`PushBusy`: another push of
	it, a row lock or a statement past the session's limits) stays Pending and the run goes on
	to the next; a portal that cannot be reached at all ends the run.

	Args: `older_than_seconds`, how long an invoice must have been unmodified (its own job
	may still be queued); `limit`, the most invoices of each kind per run, oldest first.
	Only invoices of companies mapped in O2O Sync Settings while it is enabled (`scope`): one
	unmapped later keeps its status and is not sent.
	Returns `{"retried": n, "cancellations": n, "busy": n, "in_flight": n}`: the Pending
	invoices found of each kind, those left Pending because the portal was busy, and those
	left to their own job.
	Stops at half its queue's timeout (in a job; the next run, 15 minutes later, goes on
	with what is still Pending).
	"""
	found = {"retried": 0, "cancellations": 0, "busy": 0, "in_flight": 0}
	companies = active_companies()
	if not companies:
		return found
	deadline = job_deadline()
	engine = None
	for key, docstatus, job in (("retried", 1, "push"), ("cancellations", 2, "cancel")):
		names = frappe.get_all(
			PURCHASE_INVOICE,
			filters={
				"company": ["in", sorted(companies)],
				"docstatus": docstatus,
				F_SYNC_STATUS: PENDING,
				"modified": ["<", add_to_date(now_datetime(), seconds=-older_than_seconds)],
			},
			pluck="name",
			limit=limit,
			order_by="modified asc",
		)
		found[key] = len(names)
		for name in names:
			if deadline is not None and time.monotonic() >= deadline:
				return found
			frappe.db.commit()  # nosemgrep: a fresh transaction (and snapshot) for each invoice
			if is_job_enqueued(f"o2o_sync::{job}::{name}"):
				found["in_flight"] += 1
				continue
			try:
				engine = engine or push_engine()
				if docstatus == 1:
					engine.push(name)
				else:
					engine.cancel(name)
			except PushBusy:
				found["busy"] += 1  # Pending, with its Sync Log row: the next run sends it
			except ProcureUATConnectionError:
				return found  # the portal is down: the next run tries again
			finally:
				frappe.db.commit()  # nosemgrep: each invoice's bookkeeping (and Sync Log row) is its own
	return found


def notify_held_mappings() -> dict | None:
	"""Daily: tell the users O2O Sync Settings names of invoices failing for more than a day and
	of conflicts not told yet, once each (see `notifications.notify_held`; each pull does it
	too). Returns its `{"conflicts", "failing", "users"}`, or None when the sync is disabled."""
	if not sync_enabled():
		return None
	return notify_held()
