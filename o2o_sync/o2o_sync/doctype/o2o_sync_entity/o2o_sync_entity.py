# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class O2OSyncEntity(Document):
	"""A portal entity (`entitys.id`) mapped to an ERPNext Company; validated by O2O Sync Settings."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		cgst_account: DF.Link | None
		company: DF.Link
		company_gstin: DF.Data | None
		cost_center: DF.Link | None
		entity_id: DF.Data
		expense_account: DF.Link | None
		igst_account: DF.Link | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		sgst_account: DF.Link | None
	# end: auto-generated types

	pass
