# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class O2OSyncNotifyUser(Document):
	"""A user O2O Sync Settings names to be told of new conflicts and lasting failures
	(`o2o_sync.sync.notifications`)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		user: DF.Link
	# end: auto-generated types
