"""Background jobs: the pull run, and the push jobs the doc events (`events`) enqueue.

Each job reaches the portal over the SSH tunnel all worker processes share (one per
connection, outliving the forked job processes, reopened when it died; see
`tunnel_service`) and commits its own ERPNext bookkeeping. Engines come from `engines`.
"""

import frappe
from frappe.utils import getdate, now_datetime
from frappe.utils.file_lock import LockTimeoutError
from frappe.utils.synchronization import filelock

from o2o_sync.constants import FAILED, PULL, SETTINGS

from .engines import pull_engine, pull_settings, push_engine
from .errors import ProcureUATConnectionError
from .frappe_port import FrappePort
from .port import LogEntry

#: the file lock one pull run holds: a second run (scheduler, button, console) answers "busy"
PULL_LOCK = "o2o_sync_pull"


def write_logs_now(entries: list[LogEntry]) -> None:
	"""Write Sync Log rows and commit at once, so they survive the rollback or error that follows."""
	FrappePort().write_logs(entries)
	frappe.db.commit()  # nosemgrep: a log row must survive the request that wrote it


def run_pull(from_date=None, limit=None) -> dict:
	"""Pull ProcureUAT invoices into Purchase Invoices, one run at a time (contract, "Pull").

	Args: `from_date` ("YYYY-MM-DD" or a date, Asia/Kolkata), the cut-over: invoices dated
	before it are never pulled; it is stored in O2O Sync Settings for the runs that follow.
	`limit`, the most portal invoices to read this run (default: all that changed).
	Returns the engine's counts `{"created", "updated", "unchanged", "cancelled", "failed",
	"linked", "conflict", "deleted", "skipped", "batches"}` (also stored, with the time, as the
	settings' `last_pull_at` / `last_pull_summary`), or `{"status": "busy"}` when another pull
	holds the lock. Raises ProcureUATConnectionError when the portal is unreachable, after
	rolling the run back and writing a failed "Pull Run" Sync Log row.
	"""
	if from_date:
		frappe.db.set_single_value(SETTINGS, "pull_from_date", getdate(from_date))
	settings = pull_settings()
	try:
		with filelock(PULL_LOCK, timeout=1):
			try:
				counts = pull_engine(settings).run(limit=int(limit) if limit else None)
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				write_logs_now(
					[LogEntry(direction=PULL, operation="Pull Run", status=FAILED, message=str(e))]
				)
				raise
	except LockTimeoutError:
		return {"status": "busy"}
	frappe.db.set_single_value(
		SETTINGS,
		{
			"last_pull_at": now_datetime(),
			"last_pull_summary": ", ".join(f"{k} {v}" for k, v in counts.items()),
		},
	)
	frappe.db.commit()  # nosemgrep: the run's bookkeeping is committed with its summary
	return counts


def push_invoice(invoice_name: str) -> dict:
	"""Job: push one submitted Purchase Invoice (see `PushEngine.push`); returns its outcome
	`{"status": "Synced"|"Failed"|"Skipped", "message"}`, with `procureuat_id` and
	`invoice_number` once pushed. Raises ProcureUATConnectionError when the portal is
	unreachable (the invoice stays Pending for `scheduler.retry_pending_pushes`)."""
	result = push_engine().push(invoice_name)
	frappe.db.commit()  # nosemgrep: a job commits its own bookkeeping
	return result


def cancel_invoice(invoice_name: str) -> dict:
	"""Job: mark a cancelled pushed invoice's portal row cancelled (see `PushEngine.cancel`)."""
	result = push_engine().cancel(invoice_name)
	frappe.db.commit()  # nosemgrep
	return result


def sync_payment_states(invoice_names: list[str] | None = None) -> dict:
	"""Job: send `finance_status` of the given (or all) mapped invoices whose state moved
	(see `PushEngine.sync_payment_states`)."""
	result = push_engine().sync_payment_states(invoice_names)
	frappe.db.commit()  # nosemgrep
	return result
