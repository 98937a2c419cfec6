# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Fields and Property Setters o2o_sync adds to ERPNext doctypes.

Everything here is idempotent: `after_install` and `after_migrate` run it on every migrate, and
`before_uninstall` takes it away again (Frappe leaves the columns and their data in place).
"""

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields
from frappe.custom.doctype.property_setter.property_setter import make_property_setter

from o2o_sync.constants import (
	CONFLICT,
	F_ACKNOWLEDGEMENT,
	F_INVOICE_NUMBER,
	F_ITEM_ID,
	F_ORDER_STATUS,
	F_PROCUREUAT_ID,
	F_PRODUCT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	FAILED,
	ITEM,
	NOT_SYNCED,
	PENDING,
	PURCHASE_INVOICE,
	PURCHASE_INVOICE_ITEM,
	SUPPLIER,
	SYNCED,
)

# Fields the sync owns on the Purchase Invoice and its lines: set by the sync, never by hand, not
# copied to a duplicate or an amendment's new row, and writable on a submitted invoice (the portal's
# status columns keep moving after submission).
_SYNC_OWNED = {"read_only": 1, "no_copy": 1, "allow_on_submit": 1}

#: Child doctype of the Purchase Invoice's tax rows.
PURCHASE_TAXES_AND_CHARGES = "Purchase Taxes and Charges"

# (doctype, fieldname, property, value, property_type)
PROPERTY_SETTERS = (
	# a pulled line has `rate = cost / quantity`; two decimals would turn ₹100 over 7 units into
	# ₹100.03, six keep `qty × rate` equal to `cost` to the paisa (contract, "Pull")
	(PURCHASE_INVOICE_ITEM, "rate", "precision", "6", "Select"),
)


def get_custom_fields() -> dict:
	"""The Custom Fields o2o_sync needs, in `create_custom_fields` format."""
	return {
		PURCHASE_INVOICE: [
			{
				"fieldname": "procureuat_section",
				"fieldtype": "Section Break",
				"label": "ProcureUAT",
				"insert_after": "bill_date",
				"collapsible": 1,
				"depends_on": f"eval:doc.{F_PROCUREUAT_ID} || doc.{F_SYNC_STATUS}",
			},
			{
				"fieldname": F_SYNC_STATUS,
				"fieldtype": "Select",
				"label": "O2O Sync Status",
				# a blank first option: an invoice the sync never touched has no status
				"options": "\n".join(("", NOT_SYNCED, PENDING, SYNCED, FAILED, CONFLICT)),
				"insert_after": "procureuat_section",
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": F_PROCUREUAT_ID,
				"fieldtype": "Int",
				"label": "ProcureUAT ID",
				"description": "The portal's purchase_requisitions.id",
				"insert_after": F_SYNC_STATUS,
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": F_VENDOR_ID,
				"fieldtype": "Int",
				"label": "ProcureUAT Vendor ID",
				"insert_after": F_PROCUREUAT_ID,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": "procureuat_column_break",
				"fieldtype": "Column Break",
				"insert_after": F_VENDOR_ID,
			},
			{
				"fieldname": F_INVOICE_NUMBER,
				"fieldtype": "Data",
				"label": "ProcureUAT Invoice Number",
				"insert_after": "procureuat_column_break",
				"in_standard_filter": 1,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": F_ORDER_STATUS,
				"fieldtype": "Int",
				"label": "ProcureUAT Order Status",
				"description": "1 awaiting approval, 2 approved, 3 rejected, 4 requisition approved, "
				"5 requisition rejected",
				"insert_after": F_INVOICE_NUMBER,
				"search_index": 1,
				**_SYNC_OWNED,
			},
			{
				"fieldname": F_ACKNOWLEDGEMENT,
				"fieldtype": "Int",
				"label": "ProcureUAT Acknowledgement",
				"description": "0 none, 1 approved, 2 rejected",
				"insert_after": F_ORDER_STATUS,
				"search_index": 1,
				**_SYNC_OWNED,
			},
		],
		PURCHASE_INVOICE_ITEM: [
			{
				"fieldname": F_ITEM_ID,
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
		SUPPLIER: [
			{
				"fieldname": F_VENDOR_ID,
				"fieldtype": "Int",
				"label": "ProcureUAT Vendor ID",
				"description": "The portal's vendors.id this supplier is",
				"insert_after": "tax_id",
				"no_copy": 1,
				"search_index": 1,
				"in_standard_filter": 1,
			},
		],
		# ERPNext's own flag, as Sales Taxes and Charges has it: `calculate_taxes_and_totals`
		# keeps a row's `item_wise_tax_detail` when it is set (for every doctype). A pulled
		# invoice's GST rows are "Actual" with the portal's amounts and each line's own rate and
		# amount in that detail (contract, "Pull": totals).
		PURCHASE_TAXES_AND_CHARGES: [
			{
				"fieldname": "dont_recompute_tax",
				"fieldtype": "Check",
				"label": "Dont Recompute tax",
				"default": "0",
				"hidden": 1,
				"read_only": 1,
				"print_hide": 1,
				"insert_after": "item_wise_tax_detail",
			},
		],
		ITEM: [
			{
				"fieldname": F_PRODUCT_ID,
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
	fields = {}
	for doctype, dfs in get_custom_fields().items():
		standard = {df.fieldname for df in frappe.get_meta(doctype).fields if not df.get("is_custom_field")}
		fields[doctype] = [df for df in dfs if df["fieldname"] not in standard]  # ERPNext's own wins
	create_custom_fields(fields, update=True)


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
