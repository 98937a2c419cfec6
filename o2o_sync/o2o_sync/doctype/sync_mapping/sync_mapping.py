# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Sync Mapping: the sync state of one portal invoice (a requisition and the vendor of its lines)
and the Purchase Invoice it corresponds to. Written by the sync engine; a held one (status
Conflict, `held_reason` saying why) is settled with the actions on its form
(`o2o_sync.sync.resolution`), never by editing its status.
"""

import json

import frappe
from frappe import _
from frappe.model.document import Document

from o2o_sync.constants import SYNC_MAPPING


class SyncMapping(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		conflict_fields: DF.SmallText | None
		conflict_html: DF.HTML | None
		entity_id: DF.Data | None
		erpnext_hash: DF.Data | None
		failing_since: DF.Datetime | None
		finance_status: DF.Int
		held_reason: DF.Literal[
			"",
			"Both sides changed the draft",
			"Portal edit of a submitted invoice",
			"Portal cancellation of an invoice with payments",
			"Portal cancellation of an ERPNext invoice",
			"Same bill no, other totals",
			"Cancelled in ERPNext, changed on the portal",
			"Deleted in ERPNext",
		]
		last_error: DF.Code | None
		last_synced_at: DF.Datetime | None
		notified_at: DF.Datetime | None
		origin: DF.Literal["ProcureUAT", "ERPNext"]
		portal_hash: DF.Data | None
		portal_updated_at: DF.Datetime | None
		procureuat_id: DF.Int
		procureuat_invoice_number: DF.Data | None
		procureuat_vendor_id: DF.Int
		purchase_invoice: DF.Link | None
		snapshot: DF.LongText | None
		status: DF.Literal["Synced", "Pending", "Failed", "Conflict"]
	# end: auto-generated types

	def validate(self):
		"""The snapshot must stay readable by the engine."""
		if self.snapshot:
			try:
				json.loads(self.snapshot)
			except ValueError:
				frappe.throw(_("Snapshot must be valid JSON"), title=_("Invalid Snapshot"))


def on_doctype_update():
	"""One mapping per portal invoice, enforced by the database so two workers cannot both insert one."""
	frappe.db.add_unique(
		SYNC_MAPPING, ["procureuat_id", "procureuat_vendor_id"], constraint_name="unique_portal_invoice"
	)
