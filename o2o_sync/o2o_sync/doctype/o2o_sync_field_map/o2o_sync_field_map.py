# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class O2OSyncFieldMap(Document):
	"""A portal column mapped to a Purchase Invoice (Item) field (issue 12); validated by O2O
	Sync Settings (`field_map_rules.validate`)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		direction: DF.Literal["Both", "ProcureUAT to ERPNext", "ERPNext to ProcureUAT"]
		enabled: DF.Check
		erpnext_field: DF.Data
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		portal_column: DF.Data
		portal_table: DF.Literal["purchase_requisitions", "purchase_order_items"]
	# end: auto-generated types

	pass
