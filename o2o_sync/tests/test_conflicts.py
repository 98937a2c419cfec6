"""What the pull holds for a person on a pulled (ProcureUAT) invoice, settled on a real bench:
every held state and each of its actions, read back the way an accountant would (the
Purchase Invoice, the portal's tables, the Sync Mapping, the Sync Log), then a second pull
that changes nothing. Pushed invoices, failures half way and permissions are in
`test_conflicts_push.py`; notifications and "Latest edit wins" in `test_conflict_notices.py`.
"""

from decimal import Decimal

import frappe

from o2o_sync.constants import (
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_CANCELLED_WITH_PAYMENTS,
	HELD_DRAFT_EDITED,
	HELD_OTHER_TOTALS,
	HELD_SUBMITTED_EDITED,
)
from o2o_sync.sync.sync_utils import get_conflict, list_conflicts
from o2o_sync.tests.conflict_world import POSTING, ConflictTestCase


class TestPulledConflicts(ConflictTestCase):
	def both_changed(self, remark="vendor's new remark", line=False) -> int:
		"""A pulled draft whose remark (and line) the accountant and the vendor both changed."""
		rid = self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.remarks = "accountant's note"
		if line:
			pi.items[0].qty = 3
		pi.save(ignore_permissions=True)
		self.edit(rid, remark=remark)
		if line:
			self.edit_line(rid, quantity=2, cost="200.00", gst_amt="36.00")
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_DRAFT_EDITED)
		return rid

	def test_draft_keep_procureuat_shows_both_sides_escaped_and_settles(self):
		hostile = "<img src=x onerror=alert(1)> vendor's remark"
		rid = self.both_changed(remark=hostile)
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(held["actions"], ["Keep ERPNext", "Keep ProcureUAT", "Choose per field"])
		self.assertEqual(
			[(f["field"], f["base"], f["portal"], f["erpnext"]) for f in held["fields"]],
			[("remarks", "as billed", hostile, "accountant's note")],
		)
		self.assertTrue(held["can_resolve"])
		self.assertNotIn("<img", held["html"])
		self.assertIn("&lt;img src=x onerror=alert(1)&gt;", held["html"])
		[listed] = [c for c in list_conflicts() if c["portal_id"] == rid]
		self.assertEqual((listed["invoice"], listed["held_reason"]), (self.pi(rid).name, HELD_DRAFT_EDITED))

		result = self.resolve(rid, keep="ProcureUAT")
		self.assertEqual((result["status"], result["action"]), ("Synced", "Keep ProcureUAT"))
		# the portal's remark, as Frappe stores Text (it drops the event handler on save)
		self.assertTrue(self.pi(rid).remarks.endswith("vendor's remark"), self.pi(rid).remarks)
		[log] = self.resolve_logs(rid)
		self.assertTrue(log.startswith("Administrator chose Keep ProcureUAT for remarks on Requisition"), log)
		self.assertEqual(
			frappe.db.get_value("Purchase Invoice", self.pi(rid).name, "o2o_sync_status"), "Synced"
		)
		self.assert_settled(rid)

	def test_draft_keep_erpnext_writes_nothing_to_the_portal(self):
		rid = self.both_changed()
		portal = self.portal_state(rid)
		self.resolve(rid, keep="ERPNext")
		self.assertEqual(self.pi(rid).remarks, "accountant's note")
		self.assertEqual(self.portal_state(rid), portal)
		self.assert_settled(rid)
		# a later portal edit of another field merges; the kept remark stays
		self.edit_line(rid, cost="300.00", gst_amt="54.00")
		self.assertEqual(self.pull()["updated"], 1)
		pi = self.pi(rid)
		self.assertEqual((pi.remarks, Decimal(str(pi.net_total))), ("accountant's note", Decimal("300")))

	def test_draft_per_field_choice(self):
		rid = self.both_changed(line=True)
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(held["choosable"], ["items", "remarks"])
		self.assertIn('data-field="items"', held["html"])
		result = self.resolve(rid, action="Choose per field", fields='["items"]')
		self.assertEqual(result["action"], "Choose per field")
		pi = self.pi(rid)
		self.assertEqual((pi.remarks, pi.items[0].qty), ("accountant's note", 2))
		self.assertEqual(Decimal(str(pi.net_total)), Decimal("200.00"))
		self.assertIn("ProcureUAT's items taken; ERPNext's remarks kept", self.resolve_logs(rid)[-1])
		self.assert_settled(rid)

	def test_same_change_on_both_sides_is_no_conflict(self):
		rid = self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.remarks = "deliver to gate 2"
		pi.save(ignore_permissions=True)
		self.edit(rid, remark="deliver to gate 2")
		counts = self.pull()
		self.assertEqual((counts["conflict"], counts["updated"]), (0, 0))
		self.assertEqual(self.mapping(rid).status, "Synced")

	def submitted_and_edited(self) -> tuple[int, str]:
		rid = self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.submit()
		self.edit(rid, remark="corrected by the vendor")
		self.edit_line(rid, quantity=2, cost="200.00", gst_amt="36.00")
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_SUBMITTED_EDITED)
		return rid, pi.name

	def test_amend_from_procureuat_cancels_amends_and_the_mapping_follows(self):
		rid, name = self.submitted_and_edited()
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(held["actions"], ["Keep ERPNext", "Amend from ProcureUAT"])
		self.assertEqual([f["field"] for f in held["fields"]], ["remarks", "items", "taxes"])
		portal = self.portal_state(rid)
		result = self.resolve(rid, action="Amend from ProcureUAT")
		amended = self.pi(rid)
		self.assertEqual(result["purchase_invoice"], amended.name)
		self.assertEqual((amended.amended_from, amended.docstatus), (name, 1))
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "docstatus"), 2)
		self.assertEqual(amended.remarks, "corrected by the vendor")
		self.assertEqual(
			(Decimal(str(amended.net_total)), Decimal(str(amended.grand_total))),
			(Decimal("200.00"), Decimal("236.00")),
		)
		self.assertEqual((amended.procureuat_id, amended.o2o_sync_status), (rid, "Synced"))
		self.assertEqual(self.portal_state(rid), portal)  # the vendor's document: nothing goes back
		self.assertIsNone(self.row_of(amended.name))
		self.assert_settled(rid)

	def test_keep_erpnext_on_a_submitted_pulled_invoice(self):
		rid, name = self.submitted_and_edited()
		portal = self.portal_state(rid)
		self.resolve(rid, keep="ERPNext")
		pi = self.pi(rid)
		self.assertEqual((pi.name, pi.docstatus, pi.remarks), (name, 1, "as billed"))
		self.assertEqual(self.portal_state(rid), portal)
		self.assert_settled(rid)

	def paid_and_cancelled_on_the_portal(self) -> tuple[int, str]:
		from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

		rid = self.invoice(remark="paid")
		self.pull()
		pi = self.pi(rid)
		pi.submit()
		pe = get_payment_entry("Purchase Invoice", pi.name)
		pe.paid_from = self.env.accounts["cash"]
		pe.reference_no, pe.reference_date = "PAID", POSTING
		pe.insert(ignore_permissions=True)
		pe.submit()
		self.edit(rid, is_invoice_cancel=1, invoice_cancel_date=self.later())
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_CANCELLED_WITH_PAYMENTS)
		return rid, pi.name

	def test_portal_cancellation_with_payments_cancel_in_erpnext(self):
		rid, name = self.paid_and_cancelled_on_the_portal()
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(held["actions"], ["Cancel in ERPNext", "Keep ERPNext"])
		[cancelled] = held["fields"]
		self.assertEqual(cancelled["erpnext"], "Submitted; paid ₹118.00 of ₹118.00")
		self.resolve(rid, keep="ProcureUAT")
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "docstatus"), 2)
		self.assert_settled(rid)

	def test_portal_cancellation_with_payments_keep_erpnext(self):
		rid, name = self.paid_and_cancelled_on_the_portal()
		self.resolve(rid, action="Keep ERPNext")
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "docstatus"), 1)
		self.assertEqual(self.row(rid)["is_invoice_cancel"], 1)  # the portal's own state stays
		self.assert_settled(rid)

	def hand_keyed(self) -> tuple[int, str]:
		rid = self.invoice(vendor=1, cost="250.00", gst_amt="45.00")
		supplier = frappe.get_doc(
			{
				"doctype": "Supplier",
				"supplier_name": f"Kaveri by hand {self.env.abbr} {rid}",
				"supplier_group": "All Supplier Groups",
				"tax_id": self.env.gstins[1],
				"procureuat_vendor_id": self.env.vendors[1],
			}
		).insert(ignore_permissions=True)
		hand = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": self.env.company,
				"currency": "INR",
				"conversion_rate": 1,
				"supplier": supplier.name,
				"bill_no": self.row(rid)["invoice_number"],
				"posting_date": "2026-10-15",
				"set_posting_time": 1,
				"items": [
					{
						"item_code": "O2O Services",
						"qty": 1,
						"rate": 240,
						"expense_account": self.env.accounts["expense"],
					}
				],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": self.env.accounts["igst"],
						"rate": 18,
						"description": "IGST",
					}
				],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_OTHER_TOTALS, vendor=1)
		frappe.db.set_value("Supplier", supplier.name, "procureuat_vendor_id", 0)  # one per test
		return rid, hand.name

	def test_hand_keyed_with_other_totals_link_anyway(self):
		rid, hand = self.hand_keyed()
		held = get_conflict(self.mapping(rid, vendor=1).name)
		self.assertEqual(held["actions"], ["Link anyway", "Create from ProcureUAT"])
		self.assertEqual(
			{f["field"]: (f["portal"], f["erpnext"]) for f in held["fields"]},
			{"net_total": ("₹250.00", "₹240.00"), "gst_total": ("₹45.00", "₹43.20")},
		)
		self.resolve(rid, vendor=1, action="Link anyway")
		self.assertEqual(self.pi(rid, vendor=1).name, hand)
		self.assertEqual(frappe.db.get_value("Purchase Invoice", hand, "procureuat_id"), rid)
		self.assert_settled(rid, vendor=1)

	def test_hand_keyed_with_other_totals_create_from_procureuat(self):
		rid, hand = self.hand_keyed()
		self.resolve(rid, vendor=1, keep="ProcureUAT")
		pi = self.pi(rid, vendor=1)
		self.assertNotEqual(pi.name, hand)
		self.assertEqual(Decimal(str(pi.net_total)), Decimal("250.00"))
		self.assertEqual(frappe.db.get_value("Purchase Invoice", hand, "net_total"), 240)
		self.assert_settled(rid, vendor=1)

	def cancelled_in_erpnext(self) -> tuple[int, str]:
		rid = self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.submit()
		pi.cancel()
		self.edit(rid, remark="re-issued")
		self.assertEqual(self.pull()["conflict"], 1)
		self.held(rid, HELD_CANCELLED_IN_ERPNEXT)
		return rid, pi.name

	def test_cancelled_in_erpnext_amend_from_procureuat(self):
		rid, name = self.cancelled_in_erpnext()
		self.assertEqual(
			get_conflict(self.mapping(rid).name)["actions"], ["Keep ERPNext", "Amend from ProcureUAT"]
		)
		self.resolve(rid, keep="ProcureUAT")
		pi = self.pi(rid)
		self.assertEqual((pi.amended_from, pi.docstatus, pi.remarks), (name, 1, "re-issued"))
		self.assert_settled(rid)

	def test_cancelled_in_erpnext_keep_erpnext(self):
		rid, name = self.cancelled_in_erpnext()
		portal = self.portal_state(rid)
		self.resolve(rid, keep="ERPNext")
		self.assertEqual((self.pi(rid).name, self.pi(rid).docstatus), (name, 2))
		self.assertEqual(self.portal_state(rid), portal)
		self.assert_settled(rid)
