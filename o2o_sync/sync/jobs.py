"""Background jobs: the pull run, and the push jobs the doc events (`events`) enqueue.

Each job reaches the portal over the SSH tunnel all worker processes share (one per
connection, outliving the forked job processes, reopened when it died; see
`tunnel_service`) and commits its own ERPNext bookkeeping. Engines come from `engines`.
"""

import hashlib
import time
from contextlib import contextmanager
from datetime import datetime

import frappe
from frappe.utils import add_days, get_datetime, getdate, now_datetime
from frappe.utils.file_lock import LockTimeoutError

from o2o_sync.constants import F_SYNC_STATUS, FAILED, PENDING, PULL, PURCHASE_INVOICE, PUSH, SETTINGS, SKIPPED
from o2o_sync.sync import run_marks
from o2o_sync.sync.budget import enqueue_continuation, job_deadline
from o2o_sync.sync.engine import reconcile
from o2o_sync.sync.engines import pull_engine, pull_settings, push_engine, reconcile_days
from o2o_sync.sync.frappe_port import FrappePort, faults
from o2o_sync.sync.frappe_port.bookkeeping import write_logs_now
from o2o_sync.sync.model.errors import ProcureUATConnectionError, TransientError
from o2o_sync.sync.model.port import LogEntry
from o2o_sync.sync.notifications import notify_held_quietly
from o2o_sync.sync.scope import invoice_of_mapped_company

#: the lock one pull run holds, `o2o_sync_pull:<site database>` (see `pull_lock`): a second
#: run (scheduler, button, console, on any host of the bench) answers "busy"
PULL_LOCK = "o2o_sync_pull"
#: MariaDB's longest user-level lock name
LOCK_NAME_LENGTH = 64
#: Seconds a webhook job (`pull_requisitions`) goes on taking ids: well inside the short
#: queue's 300 s
WEBHOOK_JOB_SECONDS = 120
#: RQ job id (and "-a"/"-b") of the pull continuing a run that stopped at its time budget
PULL_CONTINUE_JOB_ID = "o2o_sync::pull-continue"
#: RQ job id (and "-a"/"-b") of a reconciliation continuing at its time budget
RECONCILE_CONTINUE_JOB_ID = "o2o_sync::reconcile-continue"
#: seconds a continuation waits for the run that queued it to let go of the pull lock
CONTINUE_LOCK_WAIT = 60


def pull_lock_name() -> str:
	"""`o2o_sync_pull:<the site's database name>` (hashed past MariaDB's 64 characters): one
	pull per site, whichever host or worker runs it."""
	name = f"{PULL_LOCK}:{frappe.conf.db_name}"
	if len(name) <= LOCK_NAME_LENGTH:
		return name
	return f"{PULL_LOCK}:{hashlib.sha1(str(frappe.conf.db_name).encode()).hexdigest()}"


@contextmanager
def pull_lock(timeout: int = 0, during_backfill: bool = False):
	"""Hold the site's pull lock: MariaDB `GET_LOCK(pull_lock_name(), timeout)` on the site's
	own database connection, so it holds across every worker and host of the bench (a file
	lock holds on one machine only). It is a session lock: commits and rollbacks inside keep
	it, RELEASE_LOCK on the way out frees it, and a lost connection (a killed worker) frees
	it at once, so it never outlives its holder.

	While a parallel backfill runs (`backfill.running`), the lock answers busy too (its parts
	own the portal's history until the boundary; the incremental pull runs after them), and
	`backfill.watch` is called to resume a part whose job died; `during_backfill` (the
	backfill's own start) takes it anyway.

	Args: `timeout`, seconds to wait for a running pull (0: answer at once).
	Raises LockTimeoutError (nothing logged: busy is an answer, not an error) when another
	session holds it, or a backfill runs.
	"""
	from o2o_sync.sync import backfill_state as backfill

	name = pull_lock_name()
	with faults.session_lock(name, timeout) as got:
		if not got:
			raise LockTimeoutError(f"another pull holds {name}")
		if not during_backfill and (running := backfill.running()):
			backfill.watch()
			raise LockTimeoutError(f"backfill {running} runs; the incremental pull follows it")
		yield


def pull_running() -> bool:
	"""True while a session holds the site's pull lock (`pull_lock`): a pull, reconciliation
	or rescan runs, on any host of the bench (`IS_FREE_LOCK`, one statement; nothing taken),
	or while a parallel backfill runs (`backfill.running`)."""
	from o2o_sync.sync import backfill_state as backfill

	return frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (pull_lock_name(),))[0][0] != 1 or bool(
		backfill.running()
	)


def run_pull(
	from_date=None,
	limit=None,
	on_batch=None,
	deadline=None,
	lock_timeout: int = 0,
	continuation: tuple[str, dict] = ("o2o_sync.sync.jobs.continue_pull", {}),
) -> dict:
	"""Pull ProcureUAT invoices into Purchase Invoices, one run at a time (contract, "Pull").

	Args: `from_date` ("YYYY-MM-DD" or a date, Asia/Kolkata), the cut-over: invoices dated
	before it are never pulled; it is stored in O2O Sync Settings for the runs that follow.
	`limit`, the most portal invoices to read this run (default: all that changed).
	`on_batch`, called after each committed batch (`PullEngine.on_batch`; see `pull_progress`).
	`deadline`, a `time.monotonic()` value past which no batch is started (default: in an RQ
	job, half of its queue's timeout from now, `budget.job_deadline`; else none): a run that
	stops there enqueues its continuation (`continue_pull`, one at a time) and ends.
	`lock_timeout`, seconds to wait for a pull holding the lock (0: answer busy at once).
	`continuation`, (dotted path, keyword arguments) of the job that goes on (the desk's
	pull names its own, which keeps telling the user who clicked; `pull_progress`).
	Returns the engine's counts `{"created", "updated", "unchanged", "cancelled", "failed",
	"linked", "conflict", "deleted", "skipped", "batches"}` (also stored, with the time, as the
	settings' `last_pull_at` / `last_pull_summary`), or `{"status": "busy"}` when another pull
	holds the lock; with `"continued": 1` when it stopped at its deadline and queued its
	continuation. A run that finds the previous one died first says so (`run_marks`).
	Raises ProcureUATConnectionError when the portal is unreachable, after rolling the run
	back and writing a failed "Pull Run" Sync Log row.
	"""
	if deadline is None:
		deadline = job_deadline()
	try:
		with pull_lock(timeout=lock_timeout):
			if from_date:  # only by the run that holds the lock: a busy answer changes nothing
				frappe.db.set_single_value(SETTINGS, "pull_from_date", getdate(from_date))
			run_marks.start_run()
			settings = pull_settings()
			try:
				engine = pull_engine(settings)
				engine.on_batch = on_batch
				counts = engine.run(limit=int(limit) if limit else None, deadline=deadline)
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				write_logs_now(
					[LogEntry(direction=PULL, operation="Pull Run", status=FAILED, message=str(e))]
				)
				run_marks.end_run_now()
				raise
			except TransientError:  # the engine wrote its row: this run ended, and says so
				run_marks.end_run_now()
				raise
			summary = ", ".join(f"{k} {v}" for k, v in counts.items())
			if not engine.finished:
				summary += "; stopped at its time budget, continued in another job"
			run_marks.end_run()
			frappe.db.set_single_value(
				SETTINGS, {"last_pull_at": now_datetime(), "last_pull_summary": summary}
			)
			if not engine.finished:  # queued as this commits; it waits for this run's lock
				method, kwargs = continuation
				enqueue_continuation(method, PULL_CONTINUE_JOB_ID, **kwargs)
			frappe.db.commit()  # nosemgrep: the run's bookkeeping is committed with its summary
	except LockTimeoutError:
		return {"status": "busy"}
	notify_held_quietly()  # each new conflict (and an invoice failing for a day) reaches a person, once
	if not engine.finished:
		counts["continued"] = 1
	return counts


def continue_pull() -> dict:
	"""Job (long queue): go on with a pull that stopped at its time budget (`run_pull`),
	waiting up to `CONTINUE_LOCK_WAIT` seconds for the run that queued it to end."""
	return run_pull(lock_timeout=CONTINUE_LOCK_WAIT)


def retry_pull(requisition_ids: list[int], keys: list[list[int]] | None = None) -> dict:
	"""Job: pull these portal invoices again now, changed or not (a person's **Retry** of a
	failed pull; see `PullEngine.retry` and `desk_retry`).

	Args: `requisition_ids`, portal `purchase_requisitions.id`s; `keys`, [requisition id,
	vendor id] pairs to limit it to (None: every vendor slice). Returns the counts, or
	`{"status": "busy"}` (with a Skipped "Retry" Sync Log row) when a pull held the lock for
	a minute. Raises ProcureUATConnectionError when the portal is unreachable (logged).
	"""
	try:
		with pull_lock(timeout=60):
			try:
				return pull_engine().retry(requisition_ids, [tuple(k) for k in keys] if keys else None)
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				write_logs_now([LogEntry(direction=PULL, operation="Retry", status=FAILED, message=str(e))])
				raise
	except LockTimeoutError:
		ids = ", ".join(str(i) for i in requisition_ids)
		write_logs_now(
			[
				LogEntry(
					direction=PULL,
					operation="Retry",
					status=SKIPPED,
					message=f"Retry of requisition(s) {ids} not run: a pull was running; "
					"retry again when it has finished (failed invoices are also retried every pull)",
				)
			]
		)
		return {"status": "busy"}


def run_reconcile(days=None, after=None, lock_timeout: int = 0) -> dict:
	"""Job (daily, and on demand): compare the portal's invoices changed in the last `days`
	with the Sync Mappings by hash and apply what the pull's cursor missed
	(`reconcile.reconcile`), holding the pull's lock (it writes what a pull writes).

	Args: `days`, the window (default: O2O Sync Settings' `reconcile_days`, 30). The window
	starts `days` + 1 days before today (ERPNext's date: one day more, so neither the time
	zones nor the clocks of the two sides narrow it). `after`, ["YYYY-MM-DD HH:MM:SS",
	requisition id]: where a reconciliation stopped at its time budget goes on from (its
	continuation job passes it). Returns `{"read", "slices", "missed", "batches", "created",
	"updated", ...}` (one "Reconcile" Sync Log row says the same), or `{"status": "busy"}`
	while a pull runs. In a job it stops at half its queue's timeout and enqueues its
	continuation (which waits up to `lock_timeout` seconds for this run's lock).
	Raises ProcureUATConnectionError when the portal is unreachable (logged),
	TransientError when ERPNext's database kept failing (logged).
	"""
	since = datetime.combine(add_days(getdate(), -(reconcile_days(days) + 1)), datetime.min.time())
	start = (since, 0) if not after else (get_datetime(after[0]), int(after[1]))
	try:
		with pull_lock(timeout=lock_timeout):
			try:
				engine = pull_engine()
				result = reconcile.reconcile(engine, since, after=start, deadline=job_deadline())
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				write_logs_now(
					[LogEntry(direction=PULL, operation=reconcile.RECONCILE, status=FAILED, message=str(e))]
				)
				raise
			if result.get("resume"):
				ts, requisition_id = result["resume"]
				enqueue_continuation(
					"o2o_sync.sync.jobs.run_reconcile",
					RECONCILE_CONTINUE_JOB_ID,
					days=days,
					after=[str(ts), requisition_id],
					lock_timeout=CONTINUE_LOCK_WAIT,
				)
				frappe.db.commit()  # nosemgrep: queues the continuation (after commit)
	except LockTimeoutError:
		return {"status": "busy"}
	return result


def rescan_from_date(from_date, run: bool = True) -> dict:
	"""Read the portal again from `from_date` without duplicating anything: move the pull
	cursor of the settings' Database Connection back to the start of that day (portal time;
	never forward), then pull (`run`), holding the pull's lock. Re-read invoices that did not
	change are skipped by hash; what changed is applied once, by its Sync Mapping.

	Args: `from_date`, "YYYY-MM-DD" or a date; `run`, pull at once (False: leave it to the
	next run). Returns `{"cursor": "YYYY-MM-DD HH:MM:SS" or None, "pull": the pull's counts or
	None}`, or `{"status": "busy"}` while a pull runs. Commits the cursor with a "Rescan" Sync
	Log row naming the user. Raises frappe.ValidationError for a date that is no date.
	"""
	day = getdate(from_date)
	try:
		with pull_lock():
			ts, _requisition = reconcile.rescan_from(pull_engine(), day, frappe.session.user)
	except LockTimeoutError:
		return {"status": "busy"}
	return {"cursor": str(ts) if ts else None, "pull": run_pull() if run else None}


def push_invoice(invoice_name: str) -> dict:
	"""Job: push one submitted Purchase Invoice (see `PushEngine.push`); returns its outcome
	`{"status": "Synced"|"Failed"|"Skipped", "message"}`, with `procureuat_id` and
	`invoice_number` once pushed. Raises ProcureUATConnectionError when the portal is
	unreachable (the invoice stays Pending for `scheduler.retry_pending_pushes`; its Sync Log
	row is committed first, so the job runner's rollback keeps it)."""
	return _portal_job(invoice_name, "Push", lambda engine: engine.push(invoice_name))


def cancel_invoice(invoice_name: str) -> dict:
	"""Job: mark a cancelled pushed invoice's portal row cancelled (see `PushEngine.cancel`).

	When the portal is unreachable the cancellation is queued, never dropped: the invoice
	stays Pending (the doc event set it) with a Sync Log row, committed before
	ProcureUATConnectionError is raised, and `scheduler.retry_pending_pushes` sends it."""
	return _portal_job(invoice_name, "Cancel", lambda engine: engine.cancel(invoice_name))


def _portal_job(invoice_name: str, operation: str, run) -> dict:
	"""Run `run(push_engine())` and commit its bookkeeping; on ProcureUATConnectionError
	commit what the engine recorded (invoice Pending, its Sync Log row), or write that row
	when the portal could not even be opened, then raise it. An invoice whose company is no
	longer mapped in O2O Sync Settings (unmapped after the job was queued) is left as it is:
	`{"status": "Skipped"}`, nothing written."""
	if not invoice_of_mapped_company(invoice_name):
		return {"status": SKIPPED, "message": f"{invoice_name}: its company is not mapped to a portal entity"}
	try:
		engine = push_engine()
	except ProcureUATConnectionError as e:
		write_logs_now(
			[
				LogEntry(
					direction=PUSH,
					operation=operation,
					status=FAILED,
					message=f"{PURCHASE_INVOICE} {invoice_name}: {e}; it stays Pending and is retried",
					reference_doctype=PURCHASE_INVOICE,
					reference_name=invoice_name,
				)
			]
		)
		raise
	try:
		result = run(engine)
	except ProcureUATConnectionError:
		frappe.db.commit()  # nosemgrep: the queued state and its Sync Log row outlive the failed job
		raise
	except Exception as e:
		if not faults.stops_the_job(e):
			raise
		keep_pending(invoice_name, operation, e)
		raise
	frappe.db.commit()  # nosemgrep: a job commits its own bookkeeping
	return result


def keep_pending(invoice_name: str, operation: str, error: BaseException) -> None:
	"""A push or cancellation stopped by RQ's job timeout, or by ERPNext's database failing
	(`faults.stops_the_job`): roll back what it did on ERPNext's side, keep the invoice Pending
	(`scheduler.retry_pending_pushes` sends it again; the portal's write is idempotent) and say
	why in a Failed Sync Log row, committed. Never raises for a database that stays away."""
	try:
		frappe.db.rollback()
		frappe.db.set_value(PURCHASE_INVOICE, invoice_name, F_SYNC_STATUS, PENDING, update_modified=False)
		write_logs_now(
			[
				LogEntry(
					direction=PUSH,
					operation=operation,
					status=FAILED,
					message=f"{PURCHASE_INVOICE} {invoice_name}: stopped before it finished"
					f" ({type(error).__name__}: {str(error)[:200]}); it stays Pending and is retried",
					reference_doctype=PURCHASE_INVOICE,
					reference_name=invoice_name,
				)
			]
		)
		frappe.db.commit()  # nosemgrep: the Pending state outlives the stopped job
	except Exception:
		frappe.db.rollback()


#: invoices whose payment state moved, sent and committed together by the periodic job
PAYMENT_STATES_CHUNK = 200
#: RQ job id (and "-a"/"-b") of the payment states' continuation
PAYMENT_STATES_JOB_ID = "o2o_sync::payment-states"


def sync_payment_states(invoice_names: list[str] | None = None) -> dict:
	"""Job: send `finance_status` of the given (or all) mapped invoices whose state moved
	(see `PushEngine.sync_payment_states`), `PAYMENT_STATES_CHUNK` at a time with a commit
	after each; in an RQ job it stops at half its queue's timeout and enqueues its
	continuation (resumable: what was sent is saved on the Sync Mappings).
	Returns `{"updated", "unchanged", "left"}`."""
	result = push_engine().sync_payment_states(
		invoice_names, chunk=PAYMENT_STATES_CHUNK, deadline=job_deadline()
	)
	if result.get("left"):
		enqueue_continuation(
			"o2o_sync.sync.jobs.sync_payment_states",
			PAYMENT_STATES_JOB_ID,
			queue="default",
			invoice_names=invoice_names,
		)
	frappe.db.commit()  # nosemgrep: the last chunk, and the continuation queued with it
	return result


def pull_requisitions(connection: str) -> dict:
	"""Job of the portal's signed calls (`o2o_sync.api.portal_changed`): pull the requisitions
	they named, changed or not (`retry_pull`), taking the ids waiting for `connection`
	(`webhook_queue.drain`) again until none is left, so calls arriving while it runs are
	served by it. Returns `{"requisitions": n, "runs": n}` plus the last run's counts. A run
	that finds a pull holding the lock for a minute leaves its ids to that pull's cursor (the
	minute's probe and the hourly pull read them) with a Skipped "Retry" Sync Log row. Raises
	ProcureUATConnectionError when the portal is unreachable (logged; the ids are read again
	by the next incremental pull, as they changed past its cursor)."""
	from o2o_sync.sync import webhook_queue

	frappe.set_user("Administrator")  # queued by a guest's signed call: the sync's own job
	started = time.monotonic()
	total = runs = 0
	last: dict = {}
	# bounded well inside the short queue's timeout: ids still waiting after it keep the flag,
	# and the next call, finding no job queued or running, queues one (`webhook_queue.add`)
	while time.monotonic() - started < WEBHOOK_JOB_SECONDS and (ids := webhook_queue.drain(connection)):
		total, runs = total + len(ids), runs + 1
		last = retry_pull(ids)
	return {"requisitions": total, "runs": runs, **last}


def incremental_pull() -> dict:
	"""Job of a signed call naming no requisition (`o2o_sync.api.portal_changed`): the
	incremental pull (`run_pull`), run as Administrator like the scheduler's (the call came
	from a guest)."""
	frappe.set_user("Administrator")
	return run_pull()
