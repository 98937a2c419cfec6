# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Dashboard Chart Source "Sync Log per Day": Sync Log rows per day by status (the O2O Sync
workspace's chart "O2O Sync Log per Day"); the numbers come from `desk_status.sync_log_per_day`."""

import frappe
from frappe.utils import cint

from o2o_sync.constants import SYNC_LOG
from o2o_sync.sync.desk_status import CHART_DAYS, sync_log_per_day


@frappe.whitelist()
def get(
	chart_name=None,
	chart=None,
	no_cache=None,
	filters=None,
	from_date=None,
	to_date=None,
	timespan=None,
	time_interval=None,
	heatmap_year=None,
	refresh=None,
) -> dict:
	"""The chart's data, as Frappe's chart widget calls a Custom source.

	Args: `filters` (JSON text or dict) with `days`, the days shown, today included (default
	30); the widget's other arguments are accepted and ignored. Returns `{"labels",
	"datasets"}` (see `sync_log_per_day`). Raises frappe.PermissionError without read
	permission on Sync Log.
	"""
	frappe.has_permission(SYNC_LOG, "read", throw=True)
	parsed = frappe.parse_json(filters) if filters else {}
	days = cint((parsed or {}).get("days")) if isinstance(parsed, dict) else 0
	return sync_log_per_day(days or CHART_DAYS)
