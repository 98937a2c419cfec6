"""Parallel backfill (issue 13): `start_backfill` splits the portal's history into parts that
run as separate long-queue jobs (`run_backfill_part`) on any worker of any host of the bench;
`watch` resumes a part whose job died; `backfill_progress` is what the settings form, the
workspace and `bench o2o-status` show. The engine's side, and why parts do not wait on each
other in ERPNext, is `engine.pull.backfill`.

Guarantees:
- every portal invoice in scope ends in exactly one Purchase Invoice: parts are disjoint
  requisition-id ranges, each read once on its own cursor; the Sync Mapping's unique
  (requisition, vendor) key stays the backstop;
- nothing changed during the backfill is missed: the parts read only what changed before
  the boundary (the portal's NOW() - 1 s at the start); the incremental pull's cursor is set
  to the boundary and it runs when the last part is done. While a backfill runs, every other
  user of the pull's lock (pull, reconciliation, rescan, retries) answers busy;
- a killed part resumes where it stopped: its page in flight was rolled back with its
  connection, its cursor is committed with each page, and `watch` (every minute with the
  probe, and with every pull) queues it again once its lock is free and its last page is
  older than `STALE_SECONDS`, with a Failed "Backfill" Sync Log row saying so.
"""

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, getdate, now_datetime
from frappe.utils.background_jobs import get_queue, get_workers
from frappe.utils.file_lock import LockTimeoutError

from o2o_sync.constants import FAILED, SETTINGS, SUCCESS
from o2o_sync.sync.backfill_state import (
	BACKFILL,
	DONE,
	PART,
	RUNNING,
	enqueue_part,
	log,
	part_lock_name,
	part_totals,
	running,
)
from o2o_sync.sync.budget import enqueue_continuation, job_deadline
from o2o_sync.sync.engine.pull.backfill import BackfillPart, PartState, plan_parts, prepare_suppliers
from o2o_sync.sync.engines import pull_engine, pull_settings
from o2o_sync.sync.frappe_port import faults
from o2o_sync.sync.jobs import PULL_CONTINUE_JOB_ID, pull_lock
from o2o_sync.sync.model.errors import ProcureUATConnectionError, TransientError

#: the job a finished backfill hands over to: the incremental pull (`jobs.continue_pull`)
PULL_CONTINUE = "o2o_sync.sync.jobs.continue_pull"


def long_workers() -> int:
	"""RQ workers of this bench listening on the long queue (any host), at least 1."""
	try:
		return max(1, len(get_workers(get_queue("long"))))
	except Exception:  # Redis away: one part, which any worker runs later
		return 1


def part_lock(part: str):
	"""The part's lock (`faults.session_lock`, not waiting): yields False when another job holds it."""
	return faults.session_lock(part_lock_name(part))


def start_backfill(from_date=None, jobs=None) -> dict:
	"""Start a parallel backfill of the portal's history (issue 13): count the invoices in
	scope before the boundary, create the Suppliers of their vendors (a first pass, so parts
	never race to create one), record an O2O Backfill with its parts, move the incremental
	pull's cursor to the boundary, and queue one long-queue job per part.

	Args: `from_date` ("YYYY-MM-DD" or a date, Asia/Kolkata), the cut-over, stored in O2O Sync
	Settings as `run_pull` does (default: the settings' own); `jobs`, how many parts (default:
	the long-queue workers of the bench, at least 1). Returns `{"backfill", "total", "parts",
	"boundary"}` (portal time), or `{"status": "busy"}` when a pull runs, or `{"status":
	"running", "backfill"}` when a backfill already does. Raises ProcureUATConnectionError
	when the portal is unreachable (logged), frappe.ValidationError for a bad date or `jobs`.
	"""
	jobs = long_workers() if jobs in (None, "", 0) else cint(jobs)
	if jobs < 1:
		frappe.throw(_("The number of parts must be at least 1"))
	day = getdate(from_date) if from_date else None
	try:
		with pull_lock(during_backfill=True):
			if active := running():
				return {"status": "running", "backfill": active}
			if day:
				frappe.db.set_single_value(SETTINGS, "pull_from_date", day)
			settings = pull_settings()
			try:
				engine = pull_engine(settings)
				entities = set(settings.entities)
				boundary, ids = engine.client.backfill_scope(entities, settings.from_date)
				suppliers = prepare_suppliers(
					engine, engine.client.vendors_of_scope(entities, settings.from_date)
				)
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				log(FAILED, _("Backfill not started: {0}").format(e))
				raise
			parts = plan_parts(ids, jobs)
			doc = frappe.get_doc(
				{
					"doctype": BACKFILL,
					"status": RUNNING,
					"total": len(ids),
					"jobs": len(parts),
					"from_date": settings.from_date,
					"boundary": str(boundary),
					"started_at": now_datetime(),
					"started_by": frappe.session.user,
					"parts": [
						{"part_no": k + 1, "first_id": first, "last_id": last, "total": n, "status": "Queued"}
						for k, (first, last, n) in enumerate(parts)
					],
				}
			).insert(ignore_permissions=True)
			port = engine.port
			cursor = port.get_cursor()
			if cursor[0] is None or cursor < (boundary, 0):
				port.save_cursor(boundary, 0)  # the incremental pull takes over from the boundary
			port.save_pulled_entities(entities)
			for row in doc.parts:
				enqueue_part(doc.name, row.name, 1)
			log(
				SUCCESS,
				_(
					"Backfill {0} started by {1}: {2} portal invoice(s) changed before {3} (portal time) in {4} part(s);"
					" {5} vendor(s) have a Supplier; the incremental pull takes over from {3} when it ends"
				).format(doc.name, frappe.session.user, len(ids), boundary, len(parts), suppliers),
			)  # commits the backfill, the cursor and the queued jobs
	except LockTimeoutError:
		return {"status": "busy"}
	return {"backfill": doc.name, "total": len(ids), "parts": len(parts), "boundary": str(boundary)}


def run_backfill_part(backfill: str, part: str, attempt: int = 1) -> dict:
	"""Job (long queue): read one part of a backfill from its cursor, a page at a time, until
	it is done or half the queue's timeout has passed (`budget.job_deadline`), then queue its
	continuation; the last part to finish ends the backfill (`_finish`).

	Args: the O2O Backfill's name, the part's row name, the attempt (in the job id). Returns
	`{"part", "read", "done"}`, or `{"status": "busy"}` when another job runs this part.
	Raises ProcureUATConnectionError / TransientError (one Failed Sync Log row; `watch`
	queues the part again)."""
	with part_lock(part) as got:
		if not got:
			return {"status": "busy"}
		row = frappe.db.get_value(
			PART,
			part,
			[
				"part_no",
				"first_id",
				"last_id",
				"cursor_ts",
				"cursor_id",
				"read_count",
				"status",
				"created_count",
				"failed_count",
				"other_count",
			],
			as_dict=True,
		)
		header = frappe.db.get_value(BACKFILL, backfill, ["status", "boundary"], as_dict=True)
		if not row or not header or header.status != RUNNING or row.status == DONE:
			return {"part": part, "done": bool(row and row.status == DONE)}
		frappe.db.set_value(
			PART, part, {"status": RUNNING, "heartbeat": now_datetime()}, update_modified=False
		)
		frappe.db.commit()  # nosemgrep: the part is seen running (and alive) at once
		state = PartState(
			name=part,
			first_id=cint(row.first_id),
			last_id=cint(row.last_id),
			cursor=(get_datetime(row.cursor_ts) if row.cursor_ts else None, cint(row.cursor_id)),
			read=cint(row.read_count),
			# what `save_backfill_part` saved: created, failed and the rest (read back as unchanged)
			counts={
				"created": cint(row.created_count),
				"failed": cint(row.failed_count),
				"unchanged": cint(row.other_count),
			},
		)
		engine = pull_engine()
		engine.port.parallel = True
		runner = BackfillPart(engine, state, get_datetime(header.boundary))
		try:
			done = runner.run(deadline=job_deadline())
		except (ProcureUATConnectionError, TransientError) as e:
			frappe.db.rollback()
			log(
				FAILED,
				_("Backfill {0} part {1} stopped: {2}; it resumes from its cursor").format(
					backfill, row.part_no, e
				),
			)
			raise
		if not done:
			enqueue_part(backfill, part, cint(attempt) + 1)
			frappe.db.commit()  # nosemgrep: the continuation is queued as this commits
		else:
			_finish(backfill)
	return {"part": part, "read": state.read, "done": done}


def finish_backfill(backfill: str) -> None:
	"""Job: end a backfill whose parts are all done (`_finish`), queued by `backfill_state.
	watch` when the last part's job died before writing the end."""
	_finish(backfill)


def _finish(backfill: str) -> None:
	"""When every part is done: mark the backfill Done with its totals, say so in the Sync
	Log and hand over to the incremental pull (queued, deduplicated). The backfill's row is
	locked first, so two parts finishing at once end it once. Commits."""
	frappe.db.sql(f"select name from `tab{BACKFILL}` where name = %s for update", (backfill,))
	progress = part_totals(backfill)
	header = frappe.db.get_value(BACKFILL, backfill, ["status", "boundary"], as_dict=True)
	fields = {"read_count": progress["read"], "parts_done": progress["parts_done"]}
	if header.status == RUNNING and progress["parts_done"] == progress["parts"]:
		fields.update(status=DONE, finished_at=now_datetime())
		frappe.db.set_value(BACKFILL, backfill, fields, update_modified=False)
		enqueue_continuation(PULL_CONTINUE, PULL_CONTINUE_JOB_ID)
		log(
			FAILED if progress["failed"] else SUCCESS,
			_(
				"Backfill {0} finished: read {1} of {2} portal invoice(s) in {3} part(s); created {4}, failed {5};"
				" the incremental pull goes on from {6} (portal time)"
			).format(
				backfill,
				progress["read"],
				progress["total"],
				progress["parts"],
				progress["created"],
				progress["failed"],
				header.boundary,
			),
		)  # commits the end, the hand-over and the lock on the backfill's row let go
		return
	frappe.db.set_value(BACKFILL, backfill, fields, update_modified=False)
	frappe.db.commit()  # nosemgrep: the part's end, and the lock on the backfill let go
