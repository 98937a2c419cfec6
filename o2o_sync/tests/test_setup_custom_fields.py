# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.setup.custom_fields import (
	get_custom_fields,
	install_custom_fields,
	install_property_setters,
)


class TestSetupCustomFields(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_cache(doctype="Purchase Invoice Item")

	def test_fields_are_installed(self):
		for doctype, fields in get_custom_fields().items():
			meta = frappe.get_meta(doctype)
			for df in fields:
				self.assertTrue(meta.get_field(df["fieldname"]), f"{doctype}.{df['fieldname']}")

		field = frappe.get_meta("Purchase Invoice").get_field("procureuat_id")
		self.assertEqual(field.fieldtype, "Int")
		self.assertEqual((field.read_only, field.no_copy, field.allow_on_submit), (1, 1, 1))
		self.assertEqual(frappe.get_meta("Supplier").get_field("procureuat_vendor_id").search_index, 1)
		self.assertEqual(frappe.get_meta("Item").get_field("procureuat_product_id").search_index, 1)

	def test_rate_has_six_decimals(self):
		self.assertEqual(frappe.get_meta("Purchase Invoice Item").get_field("rate").precision, "6")
		row = frappe.new_doc("Purchase Invoice Item")
		self.assertEqual(row.precision("rate"), 6)

	def test_install_is_idempotent_and_repairs_the_precision(self):
		setter = {"doc_type": "Purchase Invoice Item", "field_name": "rate", "property": "precision"}
		frappe.db.set_value("Property Setter", setter, "value", "2")

		for _ in range(2):
			install_custom_fields()
			install_property_setters()

		self.assertEqual(frappe.get_all("Property Setter", filters=setter, pluck="value"), ["6"])
		for doctype, fields in get_custom_fields().items():
			for df in fields:
				self.assertEqual(
					frappe.db.count("Custom Field", {"dt": doctype, "fieldname": df["fieldname"]}), 1
				)
