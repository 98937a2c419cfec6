# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Fields and Property Setters o2o_sync adds to ERPNext doctypes.

Everything here is idempotent: `after_install` and `after_migrate` run it on every migrate, and
`before_uninstall` takes it away again (Frappe leaves the columns and their data in place).
"""

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields
from frappe.custom.doctype.property_setter.property_setter import make_property_setter

# Fields the sync owns on the Purchase Invoice and its lines: set by the sync, never by hand, not
# copied to a duplicate or an amendment's new row, and writable on a submitted invoice (the portal's
# status columns keep moving after submission).
_SYNC_OWNED = {"read_only": 1, "no_copy": 1, "allow_on_submit": 1}

# (doctype, fieldname, property, value, property_type)
PROPERTY_SETTERS = (
	# a pulled line has `rate = cost / quantity`; two decimals would turn ₹100 over 7 units into
	# ₹100.03, six keep `qty × rate` equal to `cost` to the paisa (contract, "Pull")
	("Purchase Invoice Item", "rate", "precision", "6", "Select"),
)


def get_custom_fields() -> dict:
	"""The Custom Fields o2o_sync needs, in `create_custom_fields` format."""
	return {
		"Purchase Invoice": [
			{
				"fieldname": "procureuat_section",
				"fieldtype": "Section Break",
				"label": "ProcureUAT",
				"insert_after": "bill_date",
				"collapsible": 1,
				"depends_on": "eval:doc.procureuat_id || doc.o2o_sync_status",
			},
			{
				"fieldname": "o2o_sync_status",
				"fieldtype": "Select",
				"label": "O2O Sync Status",
				"options": "\nNot Synced\nPending\nSynced\nFailed\nConflict",
				"insert_after": "procureuat_section",
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_id",
				"fieldtype": "Int",
				"label": "ProcureUAT ID",
				"description": "The portal's purchase_requisitions.id",
				"insert_after": "o2o_sync_status",
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_vendor_id",
				"fieldtype": "Int",
				"label": "ProcureUAT Vendor ID",
				"insert_after": "procureuat_id",
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_column_break",
				"fieldtype": "Column Break",
				"insert_after": "procureuat_vendor_id",
			},
			{
				"fieldname": "procureuat_invoice_number",
				"fieldtype": "Data",
				"label": "ProcureUAT Invoice Number",
				"insert_after": "procureuat_column_break",
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_order_status",
				"fieldtype": "Int",
				"label": "ProcureUAT Order Status",
				"description": "1 awaiting approval, 2 approved, 3 rejected, 4 requisition approved, "
				"5 requisition rejected",
				"insert_after": "procureuat_invoice_number",
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_acknowledgement",
				"fieldtype": "Int",
				"label": "ProcureUAT Acknowledgement",
				"description": "0 none, 1 approved, 2 rejected",
				"insert_after": "procureuat_order_status",
				"search_index": 1,
				**_SYNC_OWNED,
			},
		],
		"Purchase Invoice Item": [
			{
				"fieldname": "procureuat_item_id",
				"fieldtype": "Int",
				"label": "ProcureUAT Item ID",
				"description": "The portal's purchase_order_items.id",
				"insert_after": "pr_detail",
				"search_index": 1,
				**_SYNC_OWNED,
			},
		],
		# the links below are made by the sync or by a person resolving an ambiguous match, so
		# they stay editable
		"Supplier": [
			{
				"fieldname": "procureuat_vendor_id",
				"fieldtype": "Int",
				"label": "ProcureUAT Vendor ID",
				"description": "The portal's vendors.id this supplier is",
				"insert_after": "tax_id",
				"no_copy": 1,
				"search_index": 1,
				"in_standard_filter": 1,
			},
		],
		"Item": [
			{
				"fieldname": "procureuat_product_id",
				"fieldtype": "Int",
				"label": "ProcureUAT Product ID",
				"description": "The portal's product id this item is",
				"insert_after": "supplier_items",
				"no_copy": 1,
				"search_index": 1,
				"in_standard_filter": 1,
			},
		],
	}


def install_custom_fields():
	"""Create the custom fields, or bring existing ones up to date."""
	create_custom_fields(get_custom_fields(), update=True)


def remove_custom_fields():
	"""Delete o2o_sync's custom fields (their columns and data stay, as Frappe always leaves them)."""
	for doctype, fields in get_custom_fields().items():
		for df in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": df["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
		frappe.clear_cache(doctype=doctype)


def install_property_setters():
	"""Create the property setters, or correct their value when it differs."""
	for doctype, fieldname, prop, value, property_type in PROPERTY_SETTERS:
		existing = frappe.db.get_value(
			"Property Setter",
			{"doc_type": doctype, "field_name": fieldname, "property": prop},
			["name", "value"],
			as_dict=True,
		)
		if existing and existing.value == value:
			continue
		if existing:
			frappe.db.set_value("Property Setter", existing.name, "value", value)
			frappe.clear_cache(doctype=doctype)
			continue
		make_property_setter(
			doctype,
			fieldname,
			prop,
			value,
			property_type,
			for_doctype=False,
			validate_fields_for_doctype=False,
		)


def remove_property_setters():
	"""Delete o2o_sync's property setters; the fields fall back to ERPNext's own definition."""
	for doctype, fieldname, prop, _value, _property_type in PROPERTY_SETTERS:
		for name in frappe.get_all(
			"Property Setter",
			filters={"doc_type": doctype, "field_name": fieldname, "property": prop},
			pluck="name",
		):
			frappe.delete_doc("Property Setter", name, ignore_permissions=True, force=True)
		frappe.clear_cache(doctype=doctype)
