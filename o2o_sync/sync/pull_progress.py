"""The desk's **Pull now**: the pull job that tells the user who started it how it goes.

`desk.enqueue_pull` queues `run_pull_job`; the job runs as the user who clicked (Frappe's
`enqueue` keeps the session user), and sends that user, and only that user, one realtime
event `PULL_PROGRESS_EVENT` per committed batch and one when the run ends. The O2O Sync
Settings form (`o2o_sync_settings.js`) turns them into a progress bar and the summary.
The scheduler's pull (`scheduler`) and the console's tell nobody; the bench CLI prints
its own progress (`commands.py`) through the same `PullEngine.on_batch` hook.
"""

import frappe
from frappe import _

from o2o_sync.sync.jobs import CONTINUE_LOCK_WAIT, run_pull

#: the realtime event of a desk pull (`frappe.realtime.on` in o2o_sync_settings.js)
PULL_PROGRESS_EVENT = "o2o_sync_pull_progress"
#: the counts a batch event carries, as the progress bar shows them
BATCH_COUNTS = ("created", "updated", "unchanged", "failed", "conflict")


def summary_text(counts: dict) -> str:
	"""`counts` of a pull as one line, e.g. "created 3, updated 1, failed 0, ..." (the words
	`jobs.run_pull` stores in O2O Sync Settings' `last_pull_summary`)."""
	return ", ".join(f"{k} {v}" for k, v in counts.items())


def batch_message(counts: dict, read: int, batches: int, limit: int | None = None) -> dict:
	"""The event of one committed batch: `{"stage": "batch", "read", "batches", "limit",
	"created", "updated", "unchanged", "failed", "conflict"}` (counts of Purchase Invoices so
	far; `read`, portal invoices read so far; `limit`, the run's limit or None)."""
	return {
		"stage": "batch",
		"read": read,
		"batches": batches,
		"limit": limit,
		**{k: int(counts.get(k) or 0) for k in BATCH_COUNTS},
	}


def publish(user: str, message: dict) -> None:
	"""Send `message` as `PULL_PROGRESS_EVENT` to `user`'s desk sessions only, at once (not
	after commit: the pull commits per batch itself)."""
	frappe.publish_realtime(PULL_PROGRESS_EVENT, message, user=user)


def run_pull_job(from_date=None, limit=None, user=None, lock_timeout: int = 0) -> dict:
	"""Background job of the desk's **Pull now** (`desk.enqueue_pull`): `jobs.run_pull`,
	telling the session user (who clicked; `user` in a continuation) each batch and the end.

	Events: `batch_message` after each batch; then `{"stage": "done", "counts", "summary"}`,
	`{"stage": "continued", ...}` (a batch event) when the run stopped at its time budget and
	this job's continuation goes on telling the same user, `{"stage": "busy", "message"}` when
	another pull held the lock, or `{"stage": "failed", "message"}` when the run raised (the
	portal unreachable; the error is re-raised, so the job is marked failed and the Sync Log
	has its row). Returns what `run_pull` returns.
	"""
	user = user or frappe.session.user
	limit = int(limit) if limit else None
	last = [{}, 0, 0]

	def on_batch(counts, read, batches):
		last[:] = [counts, read, batches]
		publish(user, batch_message(counts, read, batches, limit))

	try:
		counts = run_pull(
			from_date=from_date,
			limit=limit,
			on_batch=on_batch,
			lock_timeout=lock_timeout,
			continuation=(
				"o2o_sync.sync.pull_progress.run_pull_job",
				{"user": user, "lock_timeout": CONTINUE_LOCK_WAIT},
			),
		)
	except Exception as e:
		publish(user, {"stage": "failed", "message": str(e)})
		raise
	if counts.get("continued"):
		publish(user, {**batch_message(*last, limit), "stage": "continued"})
	elif counts.get("status") == "busy":
		publish(
			user,
			{
				"stage": "busy",
				"message": _("Another pull is running; try again when it has finished."),
			},
		)
	else:
		publish(user, {"stage": "done", "counts": counts, "summary": summary_text(counts)})
	return counts
