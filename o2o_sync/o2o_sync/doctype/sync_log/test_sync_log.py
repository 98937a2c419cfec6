# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
from frappe.core.doctype.log_settings.log_settings import _supports_log_clearing
from frappe.model.base_document import get_controller
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime

from o2o_sync.o2o_sync.doctype.sync_log.sync_log import (
	SUMMARY_LENGTH,
	clear_old_logs,
	register_retention,
	summary_of,
)
from o2o_sync.patches.fill_sync_log_summary import execute as fill_sync_log_summary
from o2o_sync.sync.frappe_port import FrappePort
from o2o_sync.sync.model.port import LogEntry

test_ignore = ["DocType"]


class TestSyncLog(FrappeTestCase):
	def make_log(self, days_old: int) -> str:
		log = frappe.get_doc(
			{
				"doctype": "Sync Log",
				"direction": "ProcureUAT to ERPNext",
				"operation": "Pull Run",
				"status": "Success",
				"message": f"{days_old} days old",
			}
		).insert(ignore_permissions=True)
		created = add_days(now_datetime(), -days_old)
		frappe.db.set_value("Sync Log", log.name, "creation", created, update_modified=False)
		return log.name

	def test_clear_old_logs_keeps_recent_rows(self):
		old, recent = self.make_log(45), self.make_log(5)
		clear_old_logs(30)
		self.assertFalse(frappe.db.exists("Sync Log", old))
		self.assertTrue(frappe.db.exists("Sync Log", recent))

	def test_clear_old_logs_uses_the_settings_retention(self):
		frappe.db.set_single_value("O2O Sync Settings", "log_retention_days", 3)
		old, recent = self.make_log(4), self.make_log(2)
		clear_old_logs()
		self.assertFalse(frappe.db.exists("Sync Log", old))
		self.assertTrue(frappe.db.exists("Sync Log", recent))

	def test_not_created_by_hand(self):
		self.assertTrue(frappe.get_meta("Sync Log").in_create)


class TestSyncLogClearing(FrappeTestCase):
	"""Old rows go through Frappe's Log Settings; Failed and Conflict rows of an invoice still
	unresolved stay until it is settled (issue 8)."""

	def tearDown(self):
		frappe.db.rollback()

	def make_log(self, days_old, status, procureuat_id=0, invoice=None):
		log = frappe.get_doc(
			{
				"doctype": "Sync Log",
				"direction": "ProcureUAT to ERPNext",
				"operation": "Create",
				"status": status,
				"procureuat_id": procureuat_id,
				"message": f"{status}, {days_old} days old",
			}
		).insert(ignore_permissions=True)
		values = {"creation": add_days(now_datetime(), -days_old)}
		if invoice:
			values.update(reference_doctype="Purchase Invoice", reference_name=invoice)
		frappe.db.set_value("Sync Log", log.name, values, update_modified=False)
		return log.name

	def make_mapping(self, procureuat_id, status, invoice=None):
		doc = frappe.get_doc(
			{
				"doctype": "Sync Mapping",
				"procureuat_id": procureuat_id,
				"procureuat_vendor_id": 3,
				"origin": "ProcureUAT",
				"status": status,
			}
		).insert(ignore_permissions=True)
		if invoice:
			frappe.db.set_value("Sync Mapping", doc.name, "purchase_invoice", invoice)
		return doc.name

	def test_log_settings_clears_old_rows_but_keeps_unresolved_failures_and_conflicts(self):
		failed = self.make_mapping(980001, "Failed")
		self.make_mapping(980002, "Conflict")
		self.make_mapping(980003, "Synced")
		self.make_mapping(980004, "Failed", invoice="ACC-PINV-O2O-TEST-1")
		rows = {
			"failed, unresolved": self.make_log(45, "Failed", 980001),
			"conflict, unresolved": self.make_log(45, "Conflict", 980002),
			"failed, by invoice": self.make_log(45, "Failed", invoice="ACC-PINV-O2O-TEST-1"),
			"failed, since synced": self.make_log(45, "Failed", 980003),
			"success of a failed one": self.make_log(45, "Success", 980001),
			"failed, no mapping": self.make_log(45, "Failed", 980099),
			"recent failure": self.make_log(5, "Failed", 980003),
		}
		# the Log Settings contract: the controller's static clear_old_logs(days)
		self.assertTrue(_supports_log_clearing("Sync Log"))
		get_controller("Sync Log").clear_old_logs(days=30)
		kept = {k for k, name in rows.items() if frappe.db.exists("Sync Log", name)}
		self.assertEqual(
			kept, {"failed, unresolved", "conflict, unresolved", "failed, by invoice", "recent failure"}
		)

		# settled: its rows go at the next clearing
		frappe.db.set_value("Sync Mapping", failed, "status", "Synced")
		get_controller("Sync Log").clear_old_logs(days=30)
		self.assertFalse(frappe.db.exists("Sync Log", rows["failed, unresolved"]))
		self.assertTrue(frappe.db.exists("Sync Log", rows["conflict, unresolved"]))

	def test_registered_with_log_settings_and_no_weekly_job_of_our_own(self):
		self.assertEqual(frappe.get_hooks("default_log_clearing_doctypes")["Sync Log"], [30])
		scheduled = frappe.get_hooks("scheduler_events", app_name="o2o_sync")
		self.assertNotIn("weekly", scheduled)
		log_settings = frappe.get_doc("Log Settings")
		log_settings.logs_to_clear = [r for r in log_settings.logs_to_clear if r.ref_doctype != "Sync Log"]
		log_settings.add_default_logtypes()
		self.assertEqual([r.days for r in log_settings.logs_to_clear if r.ref_doctype == "Sync Log"], [30])

		# O2O Sync Settings' retention is what Log Settings uses once the settings are saved
		frappe.db.set_single_value("O2O Sync Settings", "log_retention_days", 12)
		register_retention()
		rows = frappe.get_all(
			"Logs To Clear", filters={"parent": "Log Settings", "ref_doctype": "Sync Log"}, pluck="days"
		)
		self.assertEqual(rows, [12])
		self.assertIn(
			"o2o_sync.o2o_sync.doctype.sync_log.sync_log.register_retention",
			frappe.get_hooks("doc_events")["O2O Sync Settings"]["on_update"],
		)


class TestSyncLogSummary(FrappeTestCase):
	"""The list shows the message's first line (`summary`), however the row was written."""

	def tearDown(self):
		frappe.db.rollback()

	def test_summary_is_the_first_line_of_the_message(self):
		long_line = "Requisition 42 (INV/1): " + "x" * 300
		FrappePort().write_logs(
			[
				LogEntry(
					direction="ProcureUAT to ERPNext",
					operation="Create",
					status="Failed",
					message="\nRequisition 41 (INV/0): gst_amt matches no GST slab\nline 2: ...",
					procureuat_id=990041,
				),
				LogEntry(
					direction="ProcureUAT to ERPNext",
					operation="Create",
					status="Failed",
					message=long_line,
					procureuat_id=990042,
				),
			]
		)
		summaries = dict(
			frappe.get_all(
				"Sync Log",
				filters={"procureuat_id": ["in", [990041, 990042]]},
				fields=["procureuat_id", "summary"],
				as_list=True,
			)
		)
		self.assertEqual(summaries[990041], "Requisition 41 (INV/0): gst_amt matches no GST slab")
		self.assertEqual(len(summaries[990042]), SUMMARY_LENGTH)
		self.assertTrue(summaries[990042].startswith("Requisition 42 (INV/1): xxx"))
		self.assertTrue(summaries[990042].endswith("\u2026"))
		self.assertEqual(summary_of(None), "")
		self.assertEqual(frappe.get_meta("Sync Log").title_field, "summary")
		in_list = [df.fieldname for df in frappe.get_meta("Sync Log").fields if df.in_list_view]
		self.assertEqual(in_list, ["reference_name", "procureuat_id", "operation", "status"])

	def test_patch_fills_the_rows_written_before(self):
		log = frappe.get_doc(
			{
				"doctype": "Sync Log",
				"direction": "ERPNext to ProcureUAT",
				"operation": "Push",
				"status": "Failed",
				"message": "ACC-PINV-1: no ProcureUAT Product ID\nTraceback...",
			}
		).insert(ignore_permissions=True)
		self.assertEqual(log.summary, "ACC-PINV-1: no ProcureUAT Product ID")
		frappe.db.set_value("Sync Log", log.name, "summary", None)
		fill_sync_log_summary()
		self.assertEqual(
			frappe.db.get_value("Sync Log", log.name, "summary"), "ACC-PINV-1: no ProcureUAT Product ID"
		)
