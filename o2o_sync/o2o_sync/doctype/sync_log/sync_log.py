# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Sync Log: one row per thing the sync did or refused to do. Rows are written by the engine
(never by hand) and deleted weekly after O2O Sync Settings' log retention.
"""

import frappe
from frappe.model.document import Document
from frappe.utils import add_days, cint, now_datetime

from o2o_sync.constants import SETTINGS, SYNC_LOG

DEFAULT_RETENTION_DAYS = 30


class SyncLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		direction: DF.Literal["ProcureUAT to ERPNext", "ERPNext to ProcureUAT"]
		duration_ms: DF.Int
		message: DF.Text | None
		operation: DF.Data | None
		procureuat_id: DF.Int
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		status: DF.Literal["Success", "Failed", "Skipped", "Conflict"]
		traceback: DF.Code | None
	# end: auto-generated types

	pass


def clear_old_logs(days: int | None = None):
	"""Delete Sync Log rows created more than `days` ago (default: the settings' log retention, else 30)."""
	if days is None:
		days = cint(frappe.db.get_single_value(SETTINGS, "log_retention_days"))
	days = cint(days) if cint(days) > 0 else DEFAULT_RETENTION_DAYS
	frappe.db.delete(SYNC_LOG, {"creation": ("<", add_days(now_datetime(), -days))})
