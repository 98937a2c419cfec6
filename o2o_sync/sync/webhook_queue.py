"""The requisitions the portal's signed calls ask for (`o2o_sync.api.portal_changed`),
pulled by one job per Database Connection, the ids of calls arriving meanwhile merged.

The ids wait in a Redis set per connection; a flag key says a job is on its way. A call adds
its ids and sets the flag if absent (one pipeline): only the call that set it queues the job
(`jobs.pull_requisitions`, job id `o2o_sync::webhook::<connection>`, short queue). The job
takes every id waiting (`DRAIN`, atomic) and pulls them, again and again; when it finds none,
the same atomic step removes the flag, so a call arriving at any moment either finds the
flag and its ids are taken by the running job, or sets it and queues a new one. A flag whose
job died with its worker expires (`FLAG_SECONDS`), and a call that finds the flag but no job
queued or running queues one.
"""

import hashlib

import frappe
from frappe.utils.background_jobs import is_job_enqueued

#: the job of a connection's webhook pulls, and its RQ job id (Frappe prefixes the site)
JOB = "o2o_sync.sync.jobs.pull_requisitions"
#: seconds the flag of a job on its way lives at most (a job killed with its worker)
FLAG_SECONDS = 3600
#: Lua: take every waiting id; none: remove the flag too (the job ends), in one step
DRAIN = """
local ids = redis.call('SMEMBERS', KEYS[1])
if #ids == 0 then
	redis.call('DEL', KEYS[2])
else
	redis.call('DEL', KEYS[1])
end
return ids
"""


def job_id(connection: str) -> str:
	"""`o2o_sync::webhook::<hash of the connection name>` (the name may hold any character)."""
	return f"o2o_sync::webhook::{hashlib.sha1(connection.encode()).hexdigest()[:16]}"


def _keys(connection: str) -> tuple[bytes, bytes]:
	base = f"o2o_sync:webhook:{hashlib.sha1(connection.encode()).hexdigest()[:16]}"
	return frappe.cache.make_key(f"{base}:ids"), frappe.cache.make_key(f"{base}:job")


def add(connection: str, requisition_ids: list[int]) -> bool:
	"""Merge `requisition_ids` into the connection's waiting ids and queue its job unless one
	is on its way. Returns True when this call queued the job."""
	ids_key, flag_key = _keys(connection)
	pipe = frappe.cache.pipeline()
	pipe.sadd(ids_key, *[int(i) for i in requisition_ids])
	pipe.set(flag_key, 1, nx=True, ex=FLAG_SECONDS)
	flag_set = pipe.execute()[-1]
	if not flag_set and is_job_enqueued(job_id(connection)):
		return False
	frappe.enqueue(JOB, queue="short", job_id=job_id(connection), deduplicate=True, connection=connection)
	return True


def drain(connection: str) -> list[int]:
	"""Take every id waiting for `connection` (sorted); none: the flag goes too (see module)."""
	ids_key, flag_key = _keys(connection)
	return sorted(int(i) for i in frappe.cache.eval(DRAIN, 2, ids_key, flag_key))


def waiting(connection: str) -> list[int]:
	"""The ids waiting for `connection`, sorted, without taking them (tests, status)."""
	ids_key, _flag = _keys(connection)
	pipe = frappe.cache.pipeline()  # a plain redis pipeline: the key is made already
	pipe.smembers(ids_key)
	return sorted(int(i) for i in pipe.execute()[0])
