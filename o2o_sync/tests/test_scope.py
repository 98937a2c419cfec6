"""The sync touches only the companies mapped in O2O Sync Settings, and never commits inside
someone else's transaction (issue 11, "At home in a real ERPNext"). A real bench, a real portal
database behind a real sshd: an invoice of a company the settings do not map is submitted,
paid, returned, cancelled and amended and gets nothing; a company mapped later is pushed from
then on, and one unmapped later keeps its history and is no longer pushed; under another
app's tests (`frappe.flags.in_test` without the app's own flag) a submit queues its job after
the commit and runs nothing inside the caller's transaction.
"""

import secrets
from unittest.mock import patch

import frappe
from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry
from erpnext.accounts.doctype.purchase_invoice.purchase_invoice import make_debit_note
from frappe.tests.utils import FrappeTestCase
from frappe.utils.background_jobs import get_job

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import SETTINGS, SYNC_LOG, SYNC_MAPPING, SYNCED
from o2o_sync.setup.erpnext_masters import make_company, make_item, make_supplier, random_gstin
from o2o_sync.setup.portal_rows import insert_entity
from o2o_sync.sync import desk_status, scheduler
from o2o_sync.sync.desk import manual_sync_invoice_to_external
from o2o_sync.sync.events import PUSH_INVOICE_JOB
from o2o_sync.sync.scope import mapped_companies
from o2o_sync.tests import inline_jobs

POSTING = "2026-11-20"


class TestScope(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2).upper()
		cls.other_abbr = f"OX{token}"
		cls.other = make_company(f"O2O Other Co {token}", cls.other_abbr)
		cls.other_entity = insert_entity(cls.env.conn, f"Other Buyer {token}", None)
		cls.tea = make_item(f"O2O Scope Tea {token}", product_id=601)
		cls.supplier = make_supplier(f"Scope Supplier {token}", cls.env.vendors[0])
		frappe.db.commit()  # nosemgrep: the push jobs (their own commits) must see these

	@classmethod
	def tearDownClass(cls):
		inline_jobs()
		cls.map_other(False)
		cls.env.stop()
		super().tearDownClass()

	def tearDown(self):
		inline_jobs()
		frappe.db.rollback()

	@classmethod
	def map_other(cls, on: bool):
		"""Map the second company to a portal entity of its own (`on`) or remove that row; commits."""
		settings = frappe.get_doc(SETTINGS)
		settings.set("entities", [r for r in settings.entities if r.company != cls.other])
		if on:
			settings.append(
				"entities",
				{
					"entity_id": str(cls.other_entity),
					"company": cls.other,
					"company_gstin": random_gstin("27"),
					"cgst_account": f"CGST - {cls.other_abbr}",
					"sgst_account": f"SGST - {cls.other_abbr}",
					"igst_account": f"IGST - {cls.other_abbr}",
				},
			)
		settings.save(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep: the push job reads the settings in its own transaction

	def make_invoice(self, company, submit=True):
		abbr = frappe.db.get_value("Company", company, "abbr")
		doc = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": company,
				"currency": "INR",
				"conversion_rate": 1,
				"supplier": self.supplier,
				"posting_date": POSTING,
				"set_posting_time": 1,
				"bill_no": f"SUP/{secrets.token_hex(3)}",
				"bill_date": POSTING,
				"items": [
					{
						"item_code": self.tea,
						"qty": 4,
						"rate": 250,
						"expense_account": frappe.db.get_value("Company", company, "default_expense_account"),
						"cost_center": frappe.db.get_value("Company", company, "cost_center"),
					}
				],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": f"{h} - {abbr}",
						"rate": 9,
						"description": h,
					}
					for h in ("CGST", "SGST")
				],
			}
		).insert(ignore_permissions=True)
		if submit:
			doc.submit()
		return doc

	def counts(self) -> dict:
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions")
			portal = cur.fetchone()["n"]
		return {
			"sync_log": frappe.db.count(SYNC_LOG),
			"sync_mapping": frappe.db.count(SYNC_MAPPING),
			"portal": portal,
		}

	def status(self, name):
		return frappe.db.get_value("Purchase Invoice", name, "o2o_sync_status")

	def logs_of(self, name):
		return frappe.db.count(SYNC_LOG, {"reference_name": name})

	def journal_entry_against(self, pi):
		abbr = self.other_abbr
		je = frappe.get_doc(
			{
				"doctype": "Journal Entry",
				"company": pi.company,
				"posting_date": POSTING,
				"accounts": [
					{
						"account": pi.credit_to,
						"party_type": "Supplier",
						"party": pi.supplier,
						"debit_in_account_currency": 100,
						"reference_type": "Purchase Invoice",
						"reference_name": pi.name,
						"cost_center": f"Main - {abbr}",
					},
					{
						"account": frappe.db.get_value(
							"Account", {"company": pi.company, "account_type": "Cash", "is_group": 0}
						),
						"credit_in_account_currency": 100,
						"cost_center": f"Main - {abbr}",
					},
				],
			}
		).insert(ignore_permissions=True)
		je.submit()
		return je

	def test_an_unmapped_companys_invoice_gets_nothing(self):
		self.assertNotIn(self.other, mapped_companies())
		self.assertIn(self.env.company, mapped_companies())
		before = self.counts()
		with patch("o2o_sync.sync.events.frappe.enqueue", wraps=frappe.enqueue) as enqueue:
			pi = self.make_invoice(self.other)
			self.assertFalse(self.status(pi.name))
			# paid by a Payment Entry and a Journal Entry, returned by a debit note
			pe = get_payment_entry("Purchase Invoice", pi.name, party_amount=300)
			pe.update({"reference_no": "UTR-1", "reference_date": POSTING})
			pe.insert(ignore_permissions=True).submit()
			je = self.journal_entry_against(pi)
			debit_note = make_debit_note(pi.name)
			debit_note.bill_no = f"DN/{secrets.token_hex(3)}"
			debit_note.items[0].qty = -1
			debit_note.insert(ignore_permissions=True).submit()
			# the 15-minute retries, the notifications and the card pass it by
			self.assertEqual(scheduler.retry_pending_pushes(older_than_seconds=0)["retried"], 0)
			unpushed = desk_status.unpushed_card()["route_options"]
			self.assertEqual(frappe.db.count("Purchase Invoice", {**unpushed, "name": pi.name}), 0)
			# cancelled and amended
			for doc in (je, pe, debit_note):
				doc.reload()
				doc.cancel()
			pi.reload()
			pi.cancel()
			amended = frappe.copy_doc(pi)
			amended.amended_from = pi.name
			amended.docstatus = 0
			amended.insert(ignore_permissions=True).submit()
			self.assertEqual(enqueue.call_count, 0)
		for name in (pi.name, debit_note.name, amended.name):
			self.assertFalse(self.status(name), name)
			self.assertEqual(self.logs_of(name), 0, name)
			self.assertFalse(frappe.db.exists(SYNC_MAPPING, {"purchase_invoice": name}), name)
		self.assertEqual(self.counts(), before)
		# a person's "Sync to ProcureUAT" is refused with a clear message, nothing written
		with self.assertRaisesRegex(frappe.ValidationError, "not mapped to a portal entity"):
			manual_sync_invoice_to_external(amended.name)
		self.assertEqual(self.counts(), before)

	def test_a_company_mapped_later_is_pushed_from_then_on_and_keeps_its_history_when_unmapped(self):
		earlier = self.make_invoice(self.other)
		frappe.db.commit()  # nosemgrep: submitted before the company was mapped
		self.map_other(True)
		try:
			pushed = self.make_invoice(self.other)  # the app's tests run the push job inline
			self.assertEqual(self.status(pushed.name), SYNCED)
			mapping = frappe.db.get_value(
				SYNC_MAPPING, {"purchase_invoice": pushed.name}, ["status", "entity_id"], as_dict=True
			)
			self.assertEqual((mapping.status, mapping.entity_id), (SYNCED, str(self.other_entity)))
			requisition = frappe.db.get_value("Purchase Invoice", pushed.name, "procureuat_id")
			with self.env.conn.cursor() as cur:
				cur.execute("SELECT entity FROM purchase_requisitions WHERE id = %s", (requisition,))
				row = cur.fetchone()
				cur.execute(
					"SELECT SUM(total_amt) AS total FROM purchase_order_items WHERE purchase_order_id = %s",
					(requisition,),
				)
				total = cur.fetchone()["total"]
			self.assertEqual(round(float(total), 2), 1180.00)  # 4 x 250 + 18 % GST
			self.assertEqual(str(row["entity"]), str(self.other_entity))
			# the invoice submitted before the mapping is not sent by the mapping itself
			self.assertFalse(self.status(earlier.name))
			self.assertEqual(self.logs_of(earlier.name), 0)
		finally:
			self.map_other(False)
		logs = self.logs_of(pushed.name)
		before = self.counts()
		later = self.make_invoice(self.other)
		pushed.reload()
		pushed.cancel()
		# history kept: the pushed invoice's mapping and Sync Log rows; nothing new sent
		self.assertEqual(self.status(pushed.name), SYNCED)
		self.assertEqual(
			frappe.db.get_value(SYNC_MAPPING, {"purchase_invoice": pushed.name}, "status"), SYNCED
		)
		self.assertEqual(self.logs_of(pushed.name), logs)
		self.assertFalse(self.status(later.name))
		self.assertEqual(self.counts(), before)

	def test_under_another_apps_tests_a_submit_queues_after_commit_and_commits_nothing(self):
		inline_jobs(False)  # `frappe.flags.in_test` alone, as under ERPNext's own test runner
		self.assertTrue(frappe.flags.in_test)
		before = self.counts()
		marker = frappe.get_doc({"doctype": "ToDo", "description": f"o2o marker {secrets.token_hex(4)}"})
		marker.insert(ignore_permissions=True)
		pi = self.make_invoice(self.env.company)
		job_id = f"o2o_sync::push::{pi.name}"
		# decided and queued for after the commit: nothing ran, nothing reached the portal
		self.assertEqual(self.status(pi.name), "Pending")
		self.assertEqual(self.logs_of(pi.name), 0)
		self.assertEqual(self.counts(), before)
		self.assertIsNone(get_job(job_id))
		frappe.db.rollback()
		# nothing was committed: the row inserted before the submit is gone with the invoice,
		# and the job that waited for a commit was never queued
		self.assertFalse(frappe.db.exists("ToDo", marker.name))
		self.assertFalse(frappe.db.exists("Purchase Invoice", pi.name))
		self.assertIsNone(get_job(job_id))
		self.assertEqual(self.counts(), before)

		pi = self.make_invoice(self.env.company)
		job_id = f"o2o_sync::push::{pi.name}"
		self.assertIsNone(get_job(job_id))
		frappe.db.commit()  # nosemgrep: the caller's commit queues the job, as in production
		job = get_job(job_id)
		try:
			self.assertIsNotNone(job)
			self.assertEqual(job.kwargs["method"], PUSH_INVOICE_JOB)
			self.assertEqual(job.kwargs["kwargs"], {"invoice_name": pi.name})
		finally:
			if job:
				job.delete()
