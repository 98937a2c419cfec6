"""A pull run killed from outside (RQ's timeout, a lost host, `kill -9`) is noticed by the
next one (issue 13): the run marks O2O Sync Settings' `pull_started_at` when it starts and
clears it when it ends in any way it knows of (finished, stopped at its budget, the portal
unreachable, ERPNext's database failing). A run that finds the mark set while it holds the
pull lock knows the previous holder died: it writes a Failed "Pull Run" Sync Log row and says
so in the settings' last pull, then carries on from the cursor (every batch before the kill
was committed with its cursor; the batch in flight was rolled back with the connection).
"""

import frappe
from frappe.utils import now_datetime

from o2o_sync.constants import FAILED, PULL, SETTINGS
from o2o_sync.sync.frappe_port.bookkeeping import write_logs_now
from o2o_sync.sync.model.port import LogEntry

#: the settings field holding the running pull's start (site time), None between runs
MARK = "pull_started_at"


def started_at() -> str | None:
	"""The mark as stored ("YYYY-MM-DD HH:MM:SS", site time), None when unset. Read raw: Frappe
	casts a cleared Datetime of a Single to a date of year 1."""
	rows = frappe.db.sql("select value from `tabSingles` where doctype = %s and field = %s", (SETTINGS, MARK))
	value = rows[0][0] if rows else None
	return value if value and not str(value).startswith("0001-01-01") else None


def ended_without_finishing(started) -> str:
	"""What the Sync Log and the settings say of a run that started at `started` and died."""
	return f"The previous pull run (started {started}) ended without finishing; the next run went on from its cursor"


def start_run() -> str | None:
	"""Call holding the pull lock: note a previous run that died (one Failed "Pull Run" row,
	`last_pull_summary` saying so), then mark this run started. Commits.

	Returns the message about the previous run, or None when it ended properly."""
	started = started_at()
	message = None
	if started:
		message = ended_without_finishing(started)
		write_logs_now([LogEntry(direction=PULL, operation="Pull Run", status=FAILED, message=message)])
		frappe.db.set_single_value(SETTINGS, {"last_pull_at": now_datetime(), "last_pull_summary": message})
	frappe.db.set_single_value(SETTINGS, MARK, now_datetime())
	frappe.db.commit()  # nosemgrep: the mark must outlive this run's own rollbacks
	return message


def end_run() -> None:
	"""Clear the mark (the caller commits, with its summary)."""
	frappe.db.set_single_value(SETTINGS, MARK, None)


def end_run_now() -> None:
	"""Clear the mark and commit it alone (a run that stops on an error it reports itself)."""
	frappe.db.rollback()
	end_run()
	frappe.db.commit()  # nosemgrep: the run is over; its own rows were written already


def interrupted(lock_name: str) -> str | None:
	"""The message of a run that died, when the mark is set and no session holds the pull
	lock `lock_name` (`jobs.pull_lock_name()`: so nothing runs); None otherwise. Read-only
	(for the desk and `o2o-status`)."""
	started = started_at()
	if not started:
		return None
	if frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (lock_name,))[0][0] != 1:
		return None
	return ended_without_finishing(started)
