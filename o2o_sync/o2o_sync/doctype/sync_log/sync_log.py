# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Sync Log: one row per thing the sync did or refused to do. Rows are written by the engine
(never by hand) and cleared by Frappe's own Log Settings (`default_log_clearing_doctypes` in
hooks.py; the days are O2O Sync Settings' log retention), which keeps Failed and Conflict rows
while their invoice is still unresolved.
"""

import frappe
from frappe.model.document import Document
from frappe.utils import add_days, cint, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	F_SYNC_STATUS,
	FAILED,
	PURCHASE_INVOICE,
	SETTINGS,
	SYNC_LOG,
	SYNC_MAPPING,
)
from o2o_sync.sync.model.port import SUMMARY_LENGTH, summary_of

DEFAULT_RETENTION_DAYS = 30
#: statuses whose rows are kept while their invoice is in one of them
UNRESOLVED = (FAILED, CONFLICT)


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
		summary: DF.Data | None
		traceback: DF.Code | None
	# end: auto-generated types

	def before_insert(self):
		self.summary = summary_of(self.message)

	@staticmethod
	def clear_old_logs(days: int = DEFAULT_RETENTION_DAYS) -> None:
		"""Frappe's Log Settings contract (`frappe.core.doctype.log_settings`): delete rows older
		than `days`, keeping Failed / Conflict rows of invoices still unresolved (see
		`clear_old_logs`)."""
		clear_old_logs(days)


def clear_old_logs(days: int | None = None):
	"""Delete Sync Log rows created more than `days` ago (default: the settings' log retention,
	else 30), except Failed and Conflict rows whose invoice is still unresolved: its Sync
	Mapping (same portal requisition, or same Purchase Invoice) is Failed or Conflict, or, for
	an invoice that never reached the portal, the Purchase Invoice's `o2o_sync_status` is.
	Those go once the invoice is settled, at the next clearing. Parameterised SQL; one statement.
	"""
	if days is None:
		days = cint(frappe.db.get_single_value(SETTINGS, "log_retention_days"))
	days = cint(days) if cint(days) > 0 else DEFAULT_RETENTION_DAYS
	# every test is NULL-safe (coalesce): NOT(... NULL ...) would keep a row that should go
	frappe.db.sql(
		f"""delete from `tab{SYNC_LOG}`
		where creation < %(cutoff)s
		and not (
			coalesce(status, '') in %(unresolved)s and (
				coalesce(procureuat_id, 0) in (
					select procureuat_id from `tab{SYNC_MAPPING}`
					where status in %(unresolved)s and procureuat_id != 0)
				or (coalesce(reference_doctype, '') = %(invoice)s and coalesce(reference_name, '') in (
					select purchase_invoice from `tab{SYNC_MAPPING}`
					where status in %(unresolved)s and purchase_invoice is not null))
				or (coalesce(reference_doctype, '') = %(invoice)s and coalesce(reference_name, '') in (
					select name from `tab{PURCHASE_INVOICE}` where `{F_SYNC_STATUS}` in %(unresolved)s))
			)
		)""",
		{"cutoff": add_days(now_datetime(), -days), "unresolved": UNRESOLVED, "invoice": PURCHASE_INVOICE},
	)


def register_retention(doc=None, method=None) -> None:
	"""Doc event of O2O Sync Settings (`on_update`): make its log retention the days Frappe's Log
	Settings clears Sync Log rows after, so the one setting an administrator sees is the one
	that acts."""
	days = cint(frappe.db.get_single_value(SETTINGS, "log_retention_days")) or DEFAULT_RETENTION_DAYS
	log_settings = frappe.get_single("Log Settings")
	log_settings.register_doctype(SYNC_LOG, days)
	log_settings.save(ignore_permissions=True)
