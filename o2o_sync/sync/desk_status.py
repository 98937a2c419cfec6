"""What the **O2O Sync** workspace shows: its number cards, its chart and the last pull.

Read only. Each function is what a card, the chart or the workspace's "Last pull" block
calls (`number_card/*`, `dashboard_chart_source/sync_log_per_day`, the Custom HTML Block
made by `o2o_sync.setup.desk_blocks`), so a test reads the same numbers a person sees.
Each needs read permission on the DocType it counts (Sync Mapping, Sync Log), which
Accounts Manager and System Manager have. Times are the site's (Asia/Kolkata on an
Indian site), as Frappe stores `creation`.
"""

import frappe
from frappe import _
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	FAILED,
	PENDING,
	PULL,
	PURCHASE_INVOICE,
	PUSH,
	SETTINGS,
	SKIPPED,
	SUCCESS,
	SYNC_LOG,
	SYNC_MAPPING,
)
from o2o_sync.sync import backfill_state, run_marks
from o2o_sync.sync.jobs import pull_lock_name
from o2o_sync.sync.scope import mapped_companies

#: the statuses a card counts: what needs a person's attention
ATTENTION_STATUSES = (PENDING, FAILED, CONFLICT)
#: `o2o_sync_status` of a submitted invoice the push has not got onto the portal yet
UNPUSHED_STATUSES = (PENDING, FAILED)
#: Sync Log operations that count as "pulled": a portal invoice written into ERPNext
PULLED_OPERATIONS = ("Create", "Update")
#: Sync Log operations that count as "pushed": an ERPNext invoice written to the portal
PUSHED_OPERATIONS = ("Push",)
#: the window of the "in the last 24 hours" cards, in hours
ACTIVITY_HOURS = 24
#: Sync Log statuses of the chart, one dataset each, in this order
CHART_STATUSES = (SUCCESS, FAILED, CONFLICT, SKIPPED)
#: days the chart covers by default (today and the 29 before)
CHART_DAYS = 30
#: Sync Log operations that show whether the portal answered
CONTACT_OPERATIONS = ("Pull Run", "Test Connection")


def _filters(filters) -> dict:
	"""A card's `filters` (JSON text from the desk, or a dict) as a dict."""
	parsed = frappe.parse_json(filters) if filters else {}
	return parsed if isinstance(parsed, dict) else {}


@frappe.whitelist()
def status_card(filters=None) -> dict:
	"""Number card "Pending" / "Failed" / "Conflict" (filters `{"status": ...}`): the Sync
	Mappings in that status (only mapped companies' documents get one, see `scope`; a company
	unmapped later keeps its history here), so the number is the one the Sync Mapping list shows when the
	card is clicked (`route`, `route_options`).

	Returns `{"value", "fieldtype": "Int", "route", "route_options"}`. Raises
	frappe.ValidationError for another status, frappe.PermissionError without read
	permission on Sync Mapping.
	"""
	frappe.has_permission(SYNC_MAPPING, "read", throw=True)
	status = _filters(filters).get("status")
	if status not in ATTENTION_STATUSES:
		frappe.throw(_("Status must be one of {0}").format(", ".join(ATTENTION_STATUSES)))
	return {
		"value": frappe.db.count(SYNC_MAPPING, {"status": status}),
		"fieldtype": "Int",
		"route": ["List", SYNC_MAPPING],
		"route_options": {"status": status},
	}


def unpushed_filters() -> dict:
	"""Purchase Invoice filters of the "Not on the portal yet" card: submitted, `o2o_sync_status`
	Pending or Failed, and no portal requisition yet (`procureuat_id` 0): a push that never
	reached the portal, so it has no Sync Mapping either (its first push failed, or it waits
	for the portal to answer); only of the companies mapped in O2O Sync Settings (`scope`)."""
	return {
		"company": ["in", sorted(mapped_companies()) or [""]],
		"docstatus": 1,
		F_SYNC_STATUS: ["in", list(UNPUSHED_STATUSES)],
		F_PROCUREUAT_ID: 0,
	}


@frappe.whitelist()
def unpushed_card(filters=None) -> dict:
	"""Number card "Not on the portal yet": Purchase Invoices matching `unpushed_filters`; a
	click opens the Purchase Invoice list with the same filters.

	Returns `{"value", "fieldtype": "Int", "route", "route_options"}`. Raises
	frappe.PermissionError without read permission on Purchase Invoice.
	"""
	frappe.has_permission(PURCHASE_INVOICE, "read", throw=True)
	invoice_filters = unpushed_filters()
	return {
		"value": frappe.db.count(PURCHASE_INVOICE, invoice_filters),
		"fieldtype": "Int",
		"route": ["List", PURCHASE_INVOICE],
		"route_options": invoice_filters,
	}


def activity_filters(direction: str, now=None) -> dict:
	"""Sync Log filters of the "pulled" / "pushed" in the last `ACTIVITY_HOURS` hours cards.

	Args: `direction` "pull" or "push"; `now`, the site's current time (default: now).
	Returns Frappe filters: that direction, status Success, operation in
	`PULLED_OPERATIONS` / `PUSHED_OPERATIONS`, created after now - 24 hours. Raises
	frappe.ValidationError for another direction.
	"""
	if direction not in ("pull", "push"):
		frappe.throw(_("Direction must be pull or push"))
	since = add_to_date(now or now_datetime(), hours=-ACTIVITY_HOURS)
	return {
		"direction": PULL if direction == "pull" else PUSH,
		"status": SUCCESS,
		"operation": ["in", list(PULLED_OPERATIONS if direction == "pull" else PUSHED_OPERATIONS)],
		"creation": [">", since],
	}


@frappe.whitelist()
def activity_card(filters=None) -> dict:
	"""Number card "Pulled (24 hours)" / "Pushed (24 hours)" (filters `{"direction": "pull"|"push"}`).

	Returns `{"value", "fieldtype": "Int", "route", "route_options"}`: the count of Sync Log
	rows matching `activity_filters` (one row per invoice written, so an invoice updated twice
	counts twice); a click opens the Sync Log list with the same filters. Raises
	frappe.PermissionError without read permission on Sync Log.
	"""
	frappe.has_permission(SYNC_LOG, "read", throw=True)
	log_filters = activity_filters(_filters(filters).get("direction"))
	options = {**log_filters, "creation": [">", str(log_filters["creation"][1])]}
	return {
		"value": frappe.db.count(SYNC_LOG, log_filters),
		"fieldtype": "Int",
		"route": ["List", SYNC_LOG],
		"route_options": options,
	}


def sync_log_per_day(days: int = CHART_DAYS, today=None) -> dict:
	"""The chart: Sync Log rows per day by status over the last `days` days.

	Args: `days` (today included); `today`, the site's date (default: today).
	Returns Frappe Charts data `{"labels": ["01 Jan", ...], "datasets": [{"name": status,
	"values": [rows of that day]}, ...]}`, one dataset per `CHART_STATUSES`, days without rows
	as 0, oldest day first; days are the site's calendar days.
	"""
	days = max(1, int(days or CHART_DAYS))
	last = getdate(today) if today else getdate()
	first = add_days(last, -(days - 1))
	rows = frappe.db.sql(
		f"""select date(creation) as day, status, count(*) as n from `tab{SYNC_LOG}`
		where creation >= %s and creation < %s group by date(creation), status""",
		(first, add_days(last, 1)),
		as_dict=True,
	)
	by_day = {(getdate(r.day), r.status): int(r.n) for r in rows}
	dates = [add_days(first, i) for i in range(days)]
	return {
		"labels": [d.strftime("%d %b") for d in dates],
		"datasets": [
			{"name": _(status), "values": [by_day.get((d, status), 0) for d in dates]}
			for status in CHART_STATUSES
		],
	}


def _latest_log(operation: str, status: str | None = None):
	filters = {"operation": operation}
	if status:
		filters["status"] = status
	rows = frappe.get_all(
		SYNC_LOG,
		filters=filters,
		fields=["status", "message", "creation", "duration_ms"],
		order_by="creation desc",
		limit=1,
	)
	return rows[0] if rows else None


@frappe.whitelist()
def last_pull_status() -> dict:
	"""The workspace's "Last pull" block: when the last pull ran, what it did, and whether the
	portal answered the last time it was asked.

	Returns `{"last_pull_at" (site time or None), "last_pull_summary", "last_run": {"status",
	"message", "creation"} of the newest "Pull Run" Sync Log row or None, "last_test": the same
	of the newest "Test Connection" row or None, "portal_answered": True | False | None,
	"portal_checked_at", "portal_message", "interrupted": what `run_marks.interrupted` says of
	a pull run that died (None when none did), "backfill": the running (else the latest)
	parallel backfill's progress (`backfill_state.progress`) or None}`. The portal answered when its newest answer (a
	pull that finished, i.e. `last_pull_at`, or a successful Test Connection) is not older than
	its newest refusal (a failed Test Connection, or a failed "Pull Run" row after the last
	finished pull: a run that could not reach the portal never sets `last_pull_at`); None
	when it was never asked. Raises frappe.PermissionError without read permission on Sync Log.
	"""
	frappe.has_permission(SYNC_LOG, "read", throw=True)
	settings = frappe.db.get_singles_dict(SETTINGS)
	last_pull_at = get_datetime(settings.get("last_pull_at")) if settings.get("last_pull_at") else None
	last_run = _latest_log("Pull Run")
	last_test = _latest_log("Test Connection")

	answers, refusals = [], []
	if last_pull_at:
		answers.append((last_pull_at, _("the last pull finished")))
	if last_test:
		(answers if last_test.status == SUCCESS else refusals).append(
			(get_datetime(last_test.creation), last_test.message)
		)
	failed_run = _latest_log("Pull Run", FAILED)
	if failed_run and (not last_pull_at or get_datetime(failed_run.creation) > last_pull_at):
		refusals.append((get_datetime(failed_run.creation), failed_run.message))
	answer, refusal = max(answers, default=None), max(refusals, default=None)
	if not answer and not refusal:
		answered, checked_at, message = None, None, _("The portal has not been asked yet")
	elif refusal and (not answer or refusal[0] > answer[0]):
		answered, (checked_at, message) = False, refusal
	else:
		answered, (checked_at, message) = True, answer

	def row(r):
		return {"status": r.status, "message": r.message, "creation": r.creation} if r else None

	return {
		"last_pull_at": last_pull_at,
		"last_pull_summary": settings.get("last_pull_summary"),
		"interrupted": run_marks.interrupted(pull_lock_name()),
		"backfill": backfill_state.progress(),
		"last_run": row(last_run),
		"last_test": row(last_test),
		"portal_answered": answered,
		"portal_checked_at": checked_at,
		"portal_message": message,
	}
