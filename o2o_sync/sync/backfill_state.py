"""A parallel backfill's state, as the pull's lock, the probe, the desk and `bench o2o-status`
read it (issue 13): whether one runs, its progress, and `watch`, which queues again a part
whose job died. Starting one and running its parts is `backfill`.
"""

import hashlib

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, get_datetime, now_datetime
from frappe.utils.background_jobs import get_job_status

from o2o_sync.constants import FAILED, PULL
from o2o_sync.sync.frappe_port.bookkeeping import write_logs_now
from o2o_sync.sync.model.port import LogEntry

BACKFILL = "O2O Backfill"
PART = "O2O Backfill Part"
RUNNING, DONE = "Running", "Done"
#: Sync Log operation of the backfill's rows
OPERATION = "Backfill"
#: seconds after its last page a part with no live job is taken for dead and queued again
STALE_SECONDS = 120
#: user-level lock a part's job holds while it runs (`o2o_sync_bf:<hash>`)
PART_LOCK = "o2o_sync_bf"
#: a resumed part's first attempt number is this times its resumptions (job ids never repeat)
RESUMED_ATTEMPTS = 1000


def log(status: str, message: str) -> None:
	write_logs_now([LogEntry(direction=PULL, operation=OPERATION, status=status, message=message)])


def running() -> str | None:
	"""The name of the backfill that is running, None when none is (one indexed read)."""
	rows = frappe.db.sql(f"select name from `tab{BACKFILL}` where status = %s limit 1", (RUNNING,))
	return rows[0][0] if rows else None


def part_lock_name(part: str) -> str:
	"""The lock a part's job holds: unique per site database and part, within 64 characters."""
	digest = hashlib.sha1(f"{frappe.conf.db_name}:{part}".encode()).hexdigest()[:40]
	return f"{PART_LOCK}:{digest}"


def enqueue_part(backfill: str, part: str, attempt: int) -> str:
	"""Queue part `part`'s job (after the caller's commit); its id names the attempt, so a
	part resumed or continued never collides with its dead or finished job."""
	job_id = f"o2o_sync::backfill::{part}::{attempt}"
	frappe.db.set_value(PART, part, "job_id", job_id, update_modified=False)
	frappe.enqueue(
		"o2o_sync.sync.backfill.run_backfill_part",
		queue="long",
		job_id=job_id,
		deduplicate=True,
		enqueue_after_commit=True,
		backfill=backfill,
		part=part,
		attempt=attempt,
	)
	return job_id


def part_totals(backfill: str) -> dict:
	row = frappe.db.sql(
		f"""select count(*), sum(status = %s), coalesce(sum(read_count), 0), coalesce(sum(created_count), 0),
			coalesce(sum(failed_count), 0), coalesce(sum(total), 0)
		from `tab{PART}` where parent = %s and parenttype = %s""",
		(DONE, backfill, BACKFILL),
	)[0]
	parts, parts_done, read, created, failed, total = (cint(v) for v in row)
	return {
		"parts": parts,
		"parts_done": parts_done,
		"read": read,
		"created": created,
		"failed": failed,
		"total": total,
	}


def watch() -> list[str]:
	"""Queue again each part of the running backfill whose job died (RQ's timeout, a lost host,
	`kill -9`): not done, its lock free, no job of it waiting in the queue, and no page for
	`STALE_SECONDS`. Each gets a Failed "Backfill" Sync Log row. When every part is done but
	the backfill is not (its end was never written), queues that end (`backfill.finish_backfill`). Called every minute by the
	probe and by every pull that finds the backfill running. Returns the parts queued."""
	backfill = running()
	if not backfill:
		return []
	if not frappe.db.exists(PART, {"parent": backfill, "parenttype": BACKFILL, "status": ["!=", DONE]}):
		# every part done, the end not written (the last part's job died in `_finish`): end it
		frappe.enqueue(
			"o2o_sync.sync.backfill.finish_backfill",
			queue="long",
			job_id=f"o2o_sync::backfill-finish::{backfill}",
			deduplicate=True,
			backfill=backfill,
		)
		return []
	stale = add_to_date(now_datetime(), seconds=-STALE_SECONDS)
	started = get_datetime(frappe.db.get_value(BACKFILL, backfill, "started_at"))
	resumed = []
	for row in frappe.get_all(
		PART,
		filters={"parent": backfill, "parenttype": BACKFILL, "status": ["!=", DONE]},
		fields=["name", "part_no", "job_id", "heartbeat", "resumed"],
		order_by="part_no",
	):
		if get_datetime(row.heartbeat or started) > stale:
			continue
		if frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (part_lock_name(row.name),))[0][0] != 1:
			continue
		if row.job_id and str(get_job_status(row.job_id) or "") in ("queued", "deferred", "scheduled"):
			continue  # waiting for a worker, not dead
		resumed_count = cint(row.resumed) + 1
		frappe.db.set_value(PART, row.name, {"resumed": resumed_count}, update_modified=False)
		# job ids apart from the dead job's continuations (1, 2, ...): 1000, 2000, ...
		enqueue_part(backfill, row.name, RESUMED_ATTEMPTS * resumed_count)
		log(
			FAILED,
			_(
				"Backfill {0} part {1}: its job ({2}) ended without finishing; queued again from its cursor"
			).format(backfill, row.part_no, row.job_id),
		)
		resumed.append(row.name)
	return resumed


@frappe.whitelist(methods=["GET", "POST"])
def backfill_progress(backfill: str | None = None) -> dict | None:
	"""`progress(backfill)` for the desk (the settings form asks it with `frappe.xcall`, a
	POST that changes nothing); None for a user without read permission on O2O Backfill, so
	the form shows nothing rather than an error."""
	if not frappe.has_permission(BACKFILL, "read"):
		return None
	return progress(backfill)


def progress(backfill: str | None = None) -> dict | None:
	"""The running backfill's progress, else the latest one's (or `backfill`'s): `{"name",
	"status", "parts", "parts_done", "read", "total", "created", "failed", "started_at",
	"finished_at", "boundary"}` (invoices are portal invoices; times the site's, the
	boundary the portal's), None when there never was one."""
	name = backfill or running()
	if not name:
		latest = frappe.get_all(BACKFILL, order_by="creation desc", limit=1, pluck="name")
		name = latest[0] if latest else None
	if not name:
		return None
	header = frappe.db.get_value(
		BACKFILL, name, ["status", "started_at", "finished_at", "boundary", "total"], as_dict=True
	)
	progress = part_totals(name)
	progress["total"] = cint(header.total)
	return {"name": name, **header, **progress}
