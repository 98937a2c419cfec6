"""Desk actions: what a person runs from a form button, `frappe.call` or `bench execute`.

Each checks who may run it (one of `MANAGER_ROLES`, plus the document's own permission)
and then does what the background jobs and the engines do (`jobs`, `engines`). The console
names them through `sync_utils` (see README, "Console"). Every action that changes
something accepts POST only (`frappe.call` posts); a pull asked for over the web runs as a
background job (`enqueue_pull`), never inside the request.
"""

from datetime import datetime

import frappe
from frappe import _
from frappe.utils import getdate

from o2o_sync.constants import (
	DATABASE_CONNECTION,
	FAILED,
	MANAGER_ROLES,
	ORIGIN_PORTAL,
	PENDING,
	PULL,
	PURCHASE_INVOICE,
	SETTINGS,
	SUCCESS,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.o2o_sync.doctype.database_connection.database_connection import run_connection_test
from o2o_sync.o2o_sync.permissions import require_manager
from o2o_sync.sync.engines import push_engine
from o2o_sync.sync.jobs import pull_lock_name, run_pull, run_reconcile, write_logs_now
from o2o_sync.sync.jobs import rescan_from_date as rescan_cursor
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.model.port import LogEntry
from o2o_sync.sync.scope import mapped_companies

#: RQ job id of a pull asked for from the desk (Frappe prefixes the site): one queued at a time
PULL_JOB_ID = "o2o_sync::pull"
#: the dotted path the pull job runs: `jobs.run_pull`, telling the user who asked each batch
#: and the end (realtime; see `pull_progress`)
PULL_JOB = "o2o_sync.sync.pull_progress.run_pull_job"


def check_pull_request(from_date=None, limit=None) -> tuple[str | None, int | None]:
	"""Who may pull, and the pull's arguments read as the engine wants them.

	A pull needs one of `MANAGER_ROLES` and read permission on O2O Sync Settings; a
	`from_date` (the cut-over, stored in the settings) also needs write permission on them,
	so a user who may only read the settings cannot move the pull's start date.
	Args: `from_date` ("YYYY-MM-DD" or a date), `limit` (a whole number of invoices, > 0).
	Returns `(from_date as "YYYY-MM-DD" or None, limit as int or None)`. Raises
	frappe.PermissionError, or frappe.ValidationError naming a bad date or limit.
	"""
	require_manager()
	frappe.has_permission(SETTINGS, "read", SETTINGS, throw=True)
	if from_date:
		frappe.has_permission(SETTINGS, "write", SETTINGS, throw=True)
		from_date = str(getdate(from_date))  # throws "... is not a valid date string"
	else:
		from_date = None
	if limit in (None, ""):
		return from_date, None
	text = str(limit).strip()
	if isinstance(limit, bool) or not text.isdigit() or int(text) < 1:
		frappe.throw(_("Limit must be a whole number of invoices above 0, not {0}").format(frappe.bold(text)))
	return from_date, int(text)


def in_web_request() -> bool:
	"""True inside an HTTP request (desk, REST); False in the console, `bench execute` and jobs."""
	return getattr(frappe.local, "request", None) is not None


@frappe.whitelist(methods=["POST"])
def enqueue_pull(from_date=None, limit=None) -> dict:
	"""Start a pull as a background job on the long queue, not inside the web request.

	Args as `bulk_sync_from_external` (same permission checks, `check_pull_request`).
	Returns `{"status": "queued", "job_id"}`, or `{"status": "busy", "job_id", "message"}`
	when a pull asked for this way is still queued or running (nothing is changed then, not
	even the cut-over date). The job runs `jobs.run_pull` as the user who asked; its counts
	go to the settings' `last_pull_at` / `last_pull_summary` and the Sync Log. A pull that
	finds another one running (scheduler, console) answers busy and ends.
	"""
	from_date, limit = check_pull_request(from_date, limit)
	if not queue_pull(from_date=from_date, limit=limit):
		return {
			"status": "busy",
			"job_id": PULL_JOB_ID,
			"message": _("A pull is already queued or running; try again when it has finished."),
		}
	return {"status": "queued", "job_id": PULL_JOB_ID}


def queue_pull(from_date=None, limit=None, method: str = PULL_JOB) -> bool:
	"""Queue the pull job (`method`, default `PULL_JOB`; job id `PULL_JOB_ID`, long queue)
	unless one is queued or running already; no permission check (the caller did it: the desk,
	the minute's probe, the signed webhook, which queues `jobs.incremental_pull`: a guest's
	job must not run as Guest). Returns True when queued, False when one was there (a job RQ
	still lists as started but that died is not: `_stale_pull_job`)."""
	from frappe.utils.background_jobs import is_job_enqueued

	if is_job_enqueued(PULL_JOB_ID) and not _stale_pull_job():
		return False
	frappe.enqueue(
		method,
		queue="long",
		job_id=PULL_JOB_ID,
		deduplicate=True,
		from_date=from_date,
		limit=limit,
	)
	return True


#: seconds a started pull job may run without holding the pull lock before it is taken for dead
STALE_AFTER_SECONDS = 60


def _stale_pull_job() -> bool:
	"""True when RQ still lists the desk's pull job as started but it is dead: started more
	than `STALE_AFTER_SECONDS` ago and nobody holds the pull lock (a killed work-horse's
	connection died and freed it; RQ cleans its registries later). The stuck job is deleted,
	so Pull now never answers busy for a run that is gone."""
	from frappe.utils.background_jobs import get_job
	from rq.job import JobStatus

	job = get_job(PULL_JOB_ID)
	if job is None or job.get_status() != JobStatus.STARTED or job.started_at is None:
		return False
	started = job.started_at.replace(tzinfo=None)
	if (datetime.utcnow() - started).total_seconds() < STALE_AFTER_SECONDS:
		return False
	if frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (pull_lock_name(),))[0][0] != 1:
		return False
	job.delete()
	return True


@frappe.whitelist(methods=["POST"])
def test_database_connection(connection: str | None = None) -> dict:
	"""Test a Database Connection the way its "Test Connection" button does.

	Args: the Database Connection name (default: the one O2O Sync Settings names).
	Returns `{"ok", "latency_ms", "server_version", "missing_tables", "tables_ok", "message"}` or
	`{"ok": False, "reason", "message"}`; never a secret. Writes a Sync Log row. Raises
	frappe.PermissionError without Accounts Manager / System Manager and read permission
	on that Database Connection.
	"""
	require_manager()
	name = connection or frappe.db.get_single_value(SETTINGS, "database_connection")
	if name:
		frappe.has_permission(DATABASE_CONNECTION, "read", name, throw=True)
	return run_connection_test(name)


@frappe.whitelist(methods=["POST"])
def bulk_sync_from_external(from_date=None, limit=None) -> dict:
	"""Pull ProcureUAT invoices into Purchase Invoices now (contract, "Pull").

	Args: `from_date` ("YYYY-MM-DD", Asia/Kolkata), the cut-over: invoices dated before
	it are never pulled, and it is kept in the settings for the scheduled runs;
	`limit`, the most portal invoices to read this call.
	Returns counts `{"created", "updated", "unchanged", "cancelled", "failed", "linked",
	"conflict", "deleted", "skipped", "batches"}`, or `{"status": "busy"}` when another
	pull holds the lock. Raises ProcureUATConnectionError when the portal is unreachable
	(also written to the Sync Log), frappe.PermissionError without Accounts Manager /
	System Manager (and write permission on O2O Sync Settings for `from_date`, see
	`check_pull_request`). See `jobs.run_pull`.

	Called over the web (desk, REST) it does not pull in the request: it queues the pull
	and returns `enqueue_pull`'s `{"status": "queued" | "busy", "job_id"}`.
	"""
	from_date, limit = check_pull_request(from_date, limit)
	if in_web_request():
		return enqueue_pull(from_date=from_date, limit=limit)
	return run_pull(from_date=from_date, limit=limit)


@frappe.whitelist(methods=["POST"])
def manual_sync_invoice_to_external(invoice_name: str) -> dict:
	"""Push one Purchase Invoice to ProcureUAT now, from the console or the form's button.

	Args: the Purchase Invoice name. Returns `{"status": "Synced"|"Failed"|"Skipped"|
	"Pending" (the portal did not answer; retried every 15 minutes), "message",
	"procureuat_id", "invoice_number"}`; a pulled invoice only has its
	payment state sent. Raises frappe.PermissionError without submit rights on the
	invoice and one of the roles Accounts Manager / System Manager, frappe.ValidationError
	when the invoice's company is not mapped in O2O Sync Settings (nothing written).
	"""
	require_manager()
	frappe.has_permission(PURCHASE_INVOICE, "submit", invoice_name, throw=True)
	company = frappe.db.get_value(PURCHASE_INVOICE, invoice_name, "company")
	if company not in mapped_companies():
		frappe.throw(
			_(
				"{0}: company {1} is not mapped to a portal entity in O2O Sync Settings; nothing was sent"
			).format(invoice_name, company)
		)
	engine = push_engine()
	origin = frappe.db.get_value(SYNC_MAPPING, {"purchase_invoice": invoice_name}, "origin")
	if origin == ORIGIN_PORTAL:
		result = engine.sync_payment_states([invoice_name])
		outcome = {
			"status": SYNCED,
			"message": f"{invoice_name} came from ProcureUAT; payment state sent ({result})",
		}
	else:
		try:
			outcome = engine.push(invoice_name)
		except ProcureUATConnectionError as e:
			# the invoice stays Pending with its Sync Log row (the 15-minute job retries it):
			# keep them, and answer instead of letting the request roll them back
			frappe.db.commit()  # nosemgrep
			return {"status": PENDING, "message": f"{invoice_name}: {e}; it stays Pending and is retried"}
	frappe.db.commit()  # nosemgrep: the push's bookkeeping is committed before the answer
	return outcome


#: RQ job id of a reconciliation asked for from the desk: one queued at a time
RECONCILE_JOB_ID = "o2o_sync::reconcile"


@frappe.whitelist(methods=["POST"])
def rescan_from_date(from_date=None) -> dict:
	"""Read the portal again from a date without duplicating anything: O2O Sync Settings'
	**Rescan from date**, and `sync_utils.rescan_from_date` in the console.

	Moves the pull cursor of the settings' Database Connection back to the start of
	`from_date` (portal time; never forward), with a "Rescan" Sync Log row naming the user,
	then pulls: over the web as a background job (`enqueue_pull`), in the console at once.
	Unchanged invoices are skipped by hash; nothing is created twice (Sync Mappings).
	Args: `from_date`, "YYYY-MM-DD". Returns `{"cursor", "pull"}`: the cursor now saved and
	the pull's counts (console) or `enqueue_pull`'s answer (web); `{"status": "busy"}` while a
	pull runs. Raises frappe.PermissionError without Accounts Manager / System Manager and
	write permission on O2O Sync Settings, frappe.ValidationError without a valid date.
	"""
	require_manager()
	frappe.has_permission(SETTINGS, "write", SETTINGS, throw=True)
	if not from_date:
		frappe.throw(_("Give the date to read the portal again from"))
	day = getdate(from_date)  # throws "... is not a valid date string"
	if not in_web_request():
		return rescan_cursor(day)
	moved = rescan_cursor(day, run=False)
	if moved.get("status") == "busy":
		return moved
	return {**moved, "pull": enqueue_pull()}


@frappe.whitelist(methods=["POST"])
def reconcile_now(days=None) -> dict:
	"""Compare the portal's invoices changed in the last `days` with the Sync Mappings and
	apply what the pull's cursor missed, now (`jobs.run_reconcile`; it also runs daily).

	Args: `days`, a whole number 1 to 3650 (default: O2O Sync Settings' `reconcile_days`).
	Returns the result of `jobs.run_reconcile` in the console; over the web the job is queued
	on the long queue: `{"status": "queued" | "busy", "job_id"}`. Raises
	frappe.PermissionError without Accounts Manager / System Manager and read permission on
	O2O Sync Settings, frappe.ValidationError for other days.
	"""
	require_manager()
	frappe.has_permission(SETTINGS, "read", SETTINGS, throw=True)
	if days not in (None, ""):
		text = str(days).strip()
		if isinstance(days, bool) or not text.isdigit() or not 1 <= int(text) <= 3650:
			frappe.throw(_("Days must be a whole number from 1 to 3650, not {0}").format(frappe.bold(text)))
		days = int(text)
	else:
		days = None
	if not in_web_request():
		return run_reconcile(days)
	from frappe.utils.background_jobs import is_job_enqueued

	if is_job_enqueued(RECONCILE_JOB_ID):
		return {"status": "busy", "job_id": RECONCILE_JOB_ID}
	frappe.enqueue(
		"o2o_sync.sync.jobs.run_reconcile", queue="long", job_id=RECONCILE_JOB_ID, deduplicate=True, days=days
	)
	return {"status": "queued", "job_id": RECONCILE_JOB_ID}


#: RQ job id of a backfill's start asked for over the web (one queued at a time)
BACKFILL_JOB_ID = "o2o_sync::backfill-start"


@frappe.whitelist(methods=["POST"])
def backfill(from_date=None, jobs=None) -> dict:
	"""Read the portal's history in parallel parts (issue 13; `backfill.start_backfill`).

	Args: `from_date` ("YYYY-MM-DD", Asia/Kolkata), the cut-over (stored in the settings);
	`jobs`, how many parts, run as separate long-queue jobs (default: the long-queue workers
	of the bench, at least 1). Returns `start_backfill`'s `{"backfill", "total", "parts",
	"boundary"}` or `{"status": "busy" | "running"}`; over the web (desk, REST) the start runs
	as a job: `{"status": "queued", "job_id"}`. Raises frappe.PermissionError as
	`check_pull_request`, frappe.ValidationError for a bad date or number of parts,
	ProcureUATConnectionError when the portal is unreachable (logged).
	"""
	from frappe.utils.background_jobs import is_job_enqueued

	from o2o_sync.sync.backfill import start_backfill

	from_date, _limit = check_pull_request(from_date, None)
	if jobs not in (None, ""):
		text = str(jobs).strip()
		if isinstance(jobs, bool) or not text.isdigit() or not 1 <= int(text) <= 64:
			frappe.throw(_("Parts must be a whole number from 1 to 64, not {0}").format(frappe.bold(text)))
		jobs = int(text)
	else:
		jobs = None
	if not in_web_request():
		return start_backfill(from_date=from_date, jobs=jobs)
	if is_job_enqueued(BACKFILL_JOB_ID):
		return {"status": "busy", "job_id": BACKFILL_JOB_ID}
	frappe.enqueue(
		"o2o_sync.sync.backfill.start_backfill",
		queue="long",
		job_id=BACKFILL_JOB_ID,
		deduplicate=True,
		from_date=from_date,
		jobs=jobs,
	)
	return {"status": "queued", "job_id": BACKFILL_JOB_ID}
