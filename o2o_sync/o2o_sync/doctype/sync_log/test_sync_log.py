# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime

from o2o_sync.o2o_sync.doctype.sync_log.sync_log import clear_old_logs

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
