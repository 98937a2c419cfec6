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

	def test_not_created_by_hand(self):
		"""Only the sync creates mappings: no "Add Sync Mapping", and an insert by a System
		Manager (not the engine) is refused; the engine's own write still works."""
		from frappe.utils.user import UserPermissions

		from o2o_sync.sync.frappe_port import FrappePort
		from o2o_sync.sync.model.port import MappingRecord

		self.assertTrue(frappe.get_meta("Sync Mapping").in_create)
		user = "o2o-mapping-manager@example.com"
		if not frappe.db.exists("User", user):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": user,
					"first_name": "Mapping Manager",
					"send_welcome_email": 0,
					"roles": [{"role": "System Manager"}, {"role": "Accounts Manager"}],
				}
			).insert(ignore_permissions=True)
		self.assertFalse(frappe.has_permission("Sync Mapping", "create", user=user))
		# what the desk's boot says: the list shows no "Add Sync Mapping"
		perms = UserPermissions(user)
		perms.build_permissions()
		self.assertNotIn("Sync Mapping", perms.can_create)
		frappe.set_user(user)
		try:
			with self.assertRaises(frappe.PermissionError):
				self.make_mapping(procureuat_id=990777)
			self.assertTrue(frappe.has_permission("Sync Mapping", "write", user=user))
		finally:
			frappe.set_user("Administrator")
		record = MappingRecord(procureuat_id=990778, procureuat_vendor_id=77, origin="ProcureUAT")
		FrappePort().save_mapping(record)
		self.assertTrue(frappe.db.exists("Sync Mapping", record.name))
