"""Scheduler entry points (see `scheduler_events` in hooks.py).

Each acts only while O2O Sync Settings is enabled, except the weekly log clean-up. They run
as Administrator in a worker; the work itself is in `jobs` (engines from `engines`).
"""

import frappe
from frappe.utils import add_to_date, now_datetime

from o2o_sync.constants import F_SYNC_STATUS, PENDING, PURCHASE_INVOICE
from o2o_sync.o2o_sync.doctype.sync_log import sync_log

from .engines import push_engine, sync_enabled
from .errors import ProcureUATConnectionError
from .jobs import run_pull, sync_payment_states


def scheduled_sync_from_external() -> dict | None:
	"""Hourly (long queue): pull what changed since the cursor when O2O Sync Settings is enabled.

	Returns the counts of `jobs.run_pull` (or `{"status": "busy"}` when a pull is running), or
	None when the sync is disabled. Raises ProcureUATConnectionError when the portal is
	unreachable (the run is logged; the next hour tries again).
	"""
	if not sync_enabled():
		return None
	return run_pull()


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
	"""Every 15 minutes: push again submitted invoices still Pending (a lost job, a portal that
	did not answer, a crash between the portal's commit and ERPNext's). Idempotent: a row
	already written is found by `order_code` and updated.

	Args: `older_than_seconds`, how long an invoice must have been unmodified (its own push job
	may still be queued); `limit`, the most invoices per run, oldest first.
	Returns `{"retried": n}`, the Pending invoices found; stops at the first unreachable portal.
	"""
	if not sync_enabled():
		return {"retried": 0}
	names = frappe.get_all(
		PURCHASE_INVOICE,
		filters={
			"docstatus": 1,
			F_SYNC_STATUS: PENDING,
			"modified": ["<", add_to_date(now_datetime(), seconds=-older_than_seconds)],
		},
		pluck="name",
		limit=limit,
		order_by="modified asc",
	)
	if names:
		engine = push_engine()
		for name in names:
			try:
				engine.push(name)
			except ProcureUATConnectionError:
				break  # the portal is down: the next run tries again
			finally:
				frappe.db.commit()  # nosemgrep: each invoice's bookkeeping is its own
	return {"retried": len(names)}


def clear_old_logs() -> None:
	"""Weekly: delete Sync Log rows older than O2O Sync Settings' log retention (see
	`sync_log.clear_old_logs`); runs whether or not the sync is enabled."""
	sync_log.clear_old_logs()
