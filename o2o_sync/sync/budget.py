"""Bounded jobs (issue 13): no job of the app runs longer than half of its queue's timeout as
Frappe reads it (`frappe.utils.background_jobs.get_queues_timeout()`: 300 s for short and
default, 1,500 s for long, or a `workers` setting in common_site_config.json). A job with
more to do commits, enqueues its continuation (one at a time) and ends.

The engines take a `time.monotonic()` deadline and stop between units; this module says what
the deadline is and enqueues the continuation.
"""

import time

import frappe
from frappe.utils.background_jobs import create_job_id, get_queues_timeout, is_job_enqueued

#: Share of the queue's timeout a job may use.
SHARE = 0.5


def queue_budget(queue: str) -> float:
	"""Seconds a job of `queue` may run: half of the queue's timeout (Frappe's reading of it)."""
	timeout = get_queues_timeout().get(queue) or 300
	return max(1.0, float(timeout) * SHARE)


def _current_job():
	try:
		from rq import get_current_job

		return get_current_job()
	except Exception:
		return None


def current_job_id() -> str | None:
	"""The RQ id of the job this code runs in ("<site>::<id>"), None outside a job."""
	job = _current_job()
	return job.id if job is not None else None


def job_deadline(queue: str | None = None) -> float | None:
	"""`time.monotonic()` past which the running job starts no new unit: half of its queue's
	timeout from now (`queue`, default the queue the job was taken from); None outside an RQ
	job (the console and `bench execute` are not bounded)."""
	job = _current_job()
	if job is None:
		return None
	queue = queue or str(job.origin or "long").rsplit(":", 1)[-1]
	return time.monotonic() + queue_budget(queue)


def enqueue_continuation(method: str, job_id: str, queue: str = "long", **kwargs) -> bool:
	"""Enqueue `method(**kwargs)` to continue the work of this job, once: under `job_id` + "-a"
	or "-b" (the one this job is not: a running job keeps its id busy), unless either is
	already queued or running besides this job. Queued when the caller's transaction commits
	(nothing is queued for work that is rolled back).

	Returns True when queued, False when a continuation is already there (nothing queued).
	"""
	mine = current_job_id()
	ids = [f"{job_id}-a", f"{job_id}-b"]
	others = [i for i in ids if create_job_id(i) != mine]
	if any(is_job_enqueued(i) for i in others):
		return False
	frappe.enqueue(
		method, queue=queue, job_id=others[0], deduplicate=True, enqueue_after_commit=True, **kwargs
	)
	return True
