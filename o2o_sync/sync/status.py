"""The sync's state at a glance, for the console and `bench o2o-status`: how many invoices
are Synced, Pending, Failed or held, the last pull and push runs with their counts, and the
pull cursor. Read only; times are the site's (the cursor's is the portal's, Asia/Kolkata).
"""

import frappe
from frappe.utils import add_to_date, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	FAILED,
	PENDING,
	PULL,
	PUSH,
	SETTINGS,
	SUCCESS,
	SYNC_LOG,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.sync import backfill_state, run_marks
from o2o_sync.sync.frappe_port import FrappePort
from o2o_sync.sync.jobs import pull_lock_name

#: the statuses `sync_status` counts, in this order
STATUSES = (SYNCED, PENDING, FAILED, CONFLICT)
#: Sync Log operation of a pull run's summary row, and of a push
PULL_RUN = "Pull Run"
PUSH_OPERATIONS = ("Push", "Cancel", "Payment Status")
#: the window of the push counts, in hours
PUSH_WINDOW_HOURS = 24


def _last_log(filters: dict) -> dict | None:
	rows = frappe.get_all(
		SYNC_LOG,
		filters=filters,
		fields=["name", "creation", "operation", "status", "message", "reference_name", "procureuat_id"],
		order_by="creation desc",
		limit=1,
	)
	return dict(rows[0]) if rows else None


def _cursor() -> dict:
	try:
		ts, requisition_id = FrappePort().get_cursor()
	except Exception as e:  # no Database Connection configured yet
		return {"updated_at": None, "requisition_id": 0, "error": str(e)}
	return {"updated_at": ts, "requisition_id": requisition_id}


@frappe.whitelist(methods=["GET", "POST"])
def sync_status() -> dict:
	"""What the sync is doing, at a glance.

	Returns `{"counts": {"Synced", "Pending", "Failed", "Conflict"}` (Sync Mappings per status),
	`"enabled"`, `"last_pull"`: `{"at", "summary", "status", "message"}` (O2O Sync Settings'
	`last_pull_at` / `last_pull_summary` and the latest "Pull Run" Sync Log row: its status
	says whether the portal answered; `interrupted`, what `run_marks.interrupted` says of a
	run that died, else None), `"last_push"`: the latest push Sync Log row
	(`{"at", "operation", "status", "message", "invoice", "procureuat_id"}`) or None,
	`"pushes_24h"`: `{"Success": n, "Failed": n}` push rows of the last 24 hours,
	`"backfill"`: the running (else the latest) parallel backfill's progress
	(`backfill.progress`) or None,
	`"cursor"`: `{"updated_at", "requisition_id"}` (the pull's watermark)}`. Raises
	frappe.PermissionError without read permission on Sync Mapping.
	"""
	frappe.has_permission(SYNC_MAPPING, "read", throw=True)
	counts = dict.fromkeys(STATUSES, 0)
	for row in frappe.get_all(SYNC_MAPPING, fields=["status", "count(name) as n"], group_by="status"):
		if row.status in counts:
			counts[row.status] = int(row.n)
	settings = frappe.db.get_singles_dict(SETTINGS)
	run = _last_log({"direction": PULL, "operation": PULL_RUN})
	push = _last_log({"direction": PUSH, "operation": ["in", PUSH_OPERATIONS]})
	since = add_to_date(now_datetime(), hours=-PUSH_WINDOW_HOURS)
	pushes = {SUCCESS: 0, FAILED: 0}
	for row in frappe.get_all(
		SYNC_LOG,
		filters={"direction": PUSH, "operation": ["in", PUSH_OPERATIONS], "creation": [">=", since]},
		fields=["status", "count(name) as n"],
		group_by="status",
	):
		if row.status in pushes:
			pushes[row.status] = int(row.n)
	return {
		"counts": counts,
		"enabled": bool(int(settings.get("enabled") or 0)),
		"last_pull": {
			"at": settings.get("last_pull_at") or (run or {}).get("creation"),
			"summary": settings.get("last_pull_summary"),
			"status": (run or {}).get("status"),
			"message": (run or {}).get("message"),
			"interrupted": run_marks.interrupted(pull_lock_name()),
		},
		"last_push": None
		if push is None
		else {
			"at": push["creation"],
			"operation": push["operation"],
			"status": push["status"],
			"message": push["message"],
			"invoice": push["reference_name"],
			"procureuat_id": push["procureuat_id"],
		},
		"pushes_24h": pushes,
		"backfill": backfill_state.progress(),
		"cursor": _cursor(),
	}
