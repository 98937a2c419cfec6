"""What the pull holds for a person on an ERPNext-made (pushed) invoice, settled on a real bench;
a resolution the portal fails half way (nothing applied on either side); who may resolve.
Origin authority (contract): keeping ERPNext's values of a pushed invoice re-pushes them.
"""

from unittest.mock import patch

import frappe

from o2o_sync.constants import (
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_DELETED_IN_ERPNEXT,
	HELD_PUSHED_CANCELLED,
	HELD_SUBMITTED_EDITED,
)
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.sync_utils import get_conflict, list_conflicts, resolve_conflict
from o2o_sync.tests.conflict_world import ConflictTestCase


class TestPushedConflicts(ConflictTestCase):
	def pushed_and_edited(self) -> tuple[int, str]:
		rid, name = self.make_pushed()
		self.edit(rid, remark="vendor's remark", order_status=3)
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_SUBMITTED_EDITED)
		return rid, name

	def test_keep_erpnext_re_pushes_a_pushed_invoice_edited_on_the_portal(self):
		rid, name = self.pushed_and_edited()
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual((held["actions"], held["origin"]), (["Keep ERPNext"], "ERPNext"))
		self.assertEqual(
			[(f["field"], f["portal"], f["erpnext"]) for f in held["fields"]],
			[("remarks", "vendor's remark", "Pantry supplies")],
		)
		with self.assertRaises(frappe.ValidationError):
			self.resolve(rid, keep="ProcureUAT")
		self.resolve(rid, keep="ERPNext")
		row = self.row(rid)
		self.assertEqual((row["remark"], row["order_code"]), ("Pantry supplies", name))
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "procureuat_order_status"), 3)
		[log] = self.resolve_logs(rid)
		self.assertIn(f"re-pushed {name}", log)
		self.assert_settled(rid)

	def test_a_resolution_the_portal_fails_half_way_applies_nothing_on_either_side(self):
		rid, name = self.pushed_and_edited()
		mapping = self.mapping(rid)
		portal = self.portal_state(rid)
		pi_before = frappe.db.get_value(
			"Purchase Invoice", name, ["procureuat_order_status", "o2o_sync_status", "modified"], as_dict=True
		)
		down = ProcureUATConnectionError("ProcureUAT did not answer (test)")
		with patch.object(ProcureUATClient, "write_invoice", side_effect=down):
			with self.assertRaises(frappe.ValidationError) as raised:
				self.resolve(rid, keep="ERPNext")
		self.assertIn("did not answer", str(raised.exception))
		# ERPNext took the status column before the portal write failed: undone with it
		self.assertEqual(
			frappe.db.get_value(
				"Purchase Invoice",
				name,
				["procureuat_order_status", "o2o_sync_status", "modified"],
				as_dict=True,
			),
			pi_before,
		)
		after = self.mapping(rid)
		self.assertEqual(
			(after.status, after.held_reason, after.snapshot, after.portal_hash),
			(mapping.status, mapping.held_reason, mapping.snapshot, mapping.portal_hash),
		)
		self.assertEqual(self.portal_state(rid), portal)
		[failed] = self.resolve_logs(rid, "Failed")
		self.assertTrue(failed.startswith("Administrator chose Keep ERPNext; nothing applied"), failed)
		self.assertEqual(self.resolve_logs(rid), [])
		# once the portal answers, the same choice goes through
		self.resolve(rid, keep="ERPNext")
		self.assertEqual(self.row(rid)["remark"], "Pantry supplies")

	def cancelled_on_the_portal(self) -> tuple[int, str]:
		rid, name = self.make_pushed()
		self.edit(rid, is_invoice_cancel=1, invoice_cancel_date=self.later())
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_PUSHED_CANCELLED)
		return rid, name

	def test_portal_cancellation_of_a_pushed_invoice_keep_erpnext(self):
		rid, name = self.cancelled_on_the_portal()
		self.assertEqual(
			get_conflict(self.mapping(rid).name)["actions"], ["Cancel in ERPNext", "Keep ERPNext"]
		)
		self.resolve(rid, keep="ERPNext")
		self.assertEqual(self.row(rid)["is_invoice_cancel"], 0)
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "docstatus"), 1)
		self.assert_settled(rid)

	def test_portal_cancellation_of_a_pushed_invoice_cancel_in_erpnext(self):
		rid, name = self.cancelled_on_the_portal()
		cancelled_at = self.row(rid)["invoice_cancel_date"]
		self.resolve(rid, action="Cancel in ERPNext")
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "docstatus"), 2)
		row = self.row(rid)
		self.assertEqual((row["is_invoice_cancel"], row["invoice_cancel_date"]), (1, cancelled_at))
		self.assert_settled(rid)

	def test_pushed_invoice_cancelled_in_erpnext_while_the_portal_changed_it(self):
		rid, name = self.make_pushed()
		self.sync_enabled(False)  # cancelled while the sync was off: the portal never heard
		frappe.get_doc("Purchase Invoice", name).cancel()
		self.sync_enabled(True)
		self.edit(rid, remark="vendor's remark")
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_CANCELLED_IN_ERPNEXT)
		self.assertEqual(get_conflict(self.mapping(rid).name)["actions"], ["Keep ERPNext"])
		self.resolve(rid, keep="ERPNext")
		self.assertEqual(self.row(rid)["is_invoice_cancel"], 1)  # ERPNext's state reaches the portal
		self.assert_settled(rid)

	def deleted_in_erpnext(self) -> tuple[int, str]:
		rid, name = self.make_pushed()
		self.sync_enabled(False)
		frappe.get_doc("Purchase Invoice", name).cancel()
		frappe.db.set_single_value("Accounts Settings", "delete_linked_ledger_entries", 1)
		try:
			frappe.delete_doc("Purchase Invoice", name, ignore_permissions=True)
		finally:
			frappe.db.set_single_value("Accounts Settings", "delete_linked_ledger_entries", 0)
		self.sync_enabled(True)
		self.edit(rid, remark="vendor's remark")
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_DELETED_IN_ERPNEXT)
		return rid, name

	def test_pushed_invoice_deleted_in_erpnext_keep_erpnext(self):
		rid, _name = self.deleted_in_erpnext()
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(held["actions"], ["Keep ERPNext", "Create from ProcureUAT"])
		self.assertEqual(held["fields"][-1]["erpnext"], "Deleted")
		self.resolve(rid, keep="ERPNext")
		self.assertEqual(self.row(rid)["is_invoice_cancel"], 1)
		live = {"company": self.env.company, "procureuat_id": rid, "docstatus": ["<", 2]}
		self.assertFalse(frappe.db.exists("Purchase Invoice", live))
		self.assert_settled(rid)

	def test_pushed_invoice_deleted_in_erpnext_create_from_procureuat(self):
		rid, _name = self.deleted_in_erpnext()
		self.resolve(rid, action="Create from ProcureUAT")
		pi = self.pi(rid)  # a new draft (it may reuse the deleted one's name: the series steps back)
		self.assertEqual((pi.docstatus, pi.remarks, pi.procureuat_id), (0, "vendor's remark", rid))
		self.assertEqual(self.mapping(rid).origin, "ProcureUAT")
		self.assert_settled(rid)

	# ------------------------------------------------------------ who may resolve

	def user_with(self, role) -> str:
		email = f"o2o-{role.lower().replace(' ', '-')}-{self.env.abbr.lower()}@example.com"
		if not frappe.db.exists("User", email):
			user = frappe.get_doc(
				{"doctype": "User", "email": email, "first_name": role, "send_welcome_email": 0}
			).insert(ignore_permissions=True)
			user.add_roles(role)
		return email

	def test_only_accounts_and_system_managers_may_resolve(self):
		rid, _name = self.pushed_and_edited()
		mapping = self.mapping(rid).name
		clerk = self.user_with("Accounts User")
		manager = self.user_with("Accounts Manager")
		try:
			frappe.set_user(clerk)
			with self.assertRaises(frappe.PermissionError):
				resolve_conflict(mapping, keep="ERPNext")
			with self.assertRaises(frappe.PermissionError):
				get_conflict(mapping)
			with self.assertRaises(frappe.PermissionError):
				list_conflicts()
			frappe.set_user(manager)
			self.assertTrue(get_conflict(mapping)["can_resolve"])
			result = resolve_conflict(mapping, keep="ERPNext")
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(result["status"], "Synced")
		[log] = self.resolve_logs(rid)
		self.assertTrue(log.startswith(f"{manager} chose Keep ERPNext"), log)
