"""Scheduler entry points (see `scheduler_events` in hooks.py).

Each acts only while O2O Sync Settings is enabled. They run as Administrator in a worker;
the work itself is in `jobs` (engines from `engines`). Old Sync Log rows are cleared by
Frappe's Log Settings (`default_log_clearing_doctypes` in hooks.py, `SyncLog.clear_old_logs`).
"""

import frappe
from frappe.utils import add_to_date, now_datetime

from o2o_sync.constants import F_SYNC_STATUS, PENDING, PURCHASE_INVOICE
from o2o_sync.sync.engines import push_engine, sync_enabled
from o2o_sync.sync.jobs import run_pull, run_reconcile, sync_payment_states
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.notifications import notify_held


def scheduled_sync_from_external() -> dict | None:
	"""Hourly (long queue): pull what changed since the cursor when O2O Sync Settings is enabled.

	Returns the counts of `jobs.run_pull` (or `{"status": "busy"}` when a pull is running), or
	None when the sync is disabled. Raises ProcureUATConnectionError when the portal is
	unreachable (the run is logged; the next hour tries again).
	"""
	if not sync_enabled():
		return None
	return run_pull()


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
	the portal's transaction, a crash between the portal's commit and ERPNext's), then the
	cancelled ones still Pending: cancellations queued while the portal was unreachable
	(`PushEngine.cancel`). Pushes go first, so an amendment made meanwhile takes over its
	row (un-cancelling it) before the cancellation of the invoice it amends is looked at,
	which then finds no mapping of its own and leaves the row to the amendment. Idempotent:
	a row already written is found by `order_code` and updated; each attempt writes its
	Sync Log row (queued again, or sent).

	Args: `older_than_seconds`, how long an invoice must have been unmodified (its own job
	may still be queued); `limit`, the most invoices of each kind per run, oldest first.
	Returns `{"retried": n, "cancellations": n}`, the Pending invoices found of each kind;
	stops at the first unreachable portal.
	"""
	found = {"retried": 0, "cancellations": 0}
	if not sync_enabled():
		return found
	engine = None
	for key, docstatus in (("retried", 1), ("cancellations", 2)):
		names = frappe.get_all(
			PURCHASE_INVOICE,
			filters={
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
			try:
				engine = engine or push_engine()
				if docstatus == 1:
					engine.push(name)
				else:
					engine.cancel(name)
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
