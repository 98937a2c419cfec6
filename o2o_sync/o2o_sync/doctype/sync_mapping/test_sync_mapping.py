# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
import pymysql
from frappe.tests.utils import FrappeTestCase

test_ignore = ["Purchase Invoice"]


class TestSyncMapping(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def make_mapping(self, procureuat_id=990001, vendor_id=77, **values):
		return frappe.get_doc(
			{
				"doctype": "Sync Mapping",
				"procureuat_id": procureuat_id,
				"procureuat_vendor_id": vendor_id,
				"origin": "ProcureUAT",
				**values,
			}
		).insert()

	def test_defaults(self):
		mapping = self.make_mapping()
		self.assertEqual(mapping.status, "Pending")
		self.assertEqual(mapping.finance_status, -1)

	def test_one_mapping_per_portal_invoice_and_vendor(self):
		self.make_mapping()
		# the same requisition with another vendor is another invoice
		self.make_mapping(vendor_id=78)

		with self.assertRaises((frappe.UniqueValidationError, pymysql.err.IntegrityError)):
			self.make_mapping()

	def test_unique_constraint_is_in_the_database(self):
		indexes = frappe.db.sql(
			"show index from `tabSync Mapping` where Key_name = 'unique_portal_invoice'", as_dict=True
		)
		self.assertEqual(
			[(i.Column_name, i.Non_unique) for i in indexes],
			[
				("procureuat_id", 0),
				("procureuat_vendor_id", 0),
			],
		)

	def test_snapshot_must_be_json(self):
		with self.assertRaises(frappe.ValidationError):
			self.make_mapping(snapshot="{not json")
		self.make_mapping(snapshot='{"bill_no": "AGO2O/25-26/0046"}')
