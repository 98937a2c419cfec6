"""The push on a real bench: Purchase Invoices made in ERPNext reach the real portal database
through a real sshd, checked by reading the portal's tables (contract, "Push")."""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.setup.erpnext_masters import make_item, make_supplier
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.sync_utils import bulk_sync_from_external, manual_sync_invoice_to_external
from o2o_sync.tests.portal_edits import touch_invoice

POSTING = "2026-11-20"


class TestPushIntegration(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2)
		cls.tea = make_item(f"O2O Tea {token}", product_id=501)
		cls.sugar = make_item(f"O2O Sugar {token}", product_id=502)
		cls.rice = make_item(f"O2O Rice {token}", product_id=503, uom="Kg")
		cls.unmapped_item = make_item(f"O2O Unmapped {token}")
		cls.supplier = cls.make_supplier(f"Push Supplier {token}", cls.env.vendors[0])
		cls.unmapped_supplier = cls.make_supplier(f"Unmapped Supplier {token}", None)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		frappe.db.delete("Amended Document Naming Settings", {"document_type": "Purchase Invoice"})
		frappe.db.commit()  # nosemgrep
		cls.env.stop()
		super().tearDownClass()

	make_supplier = staticmethod(make_supplier)

	def make_invoice(self, qty=7, supplier=None, item=None, submit=True, **extra):
		env = self.env
		doc = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": env.company,
				"currency": "INR",
				"conversion_rate": 1,
				"supplier": supplier or self.supplier,
				"posting_date": POSTING,
				"set_posting_time": 1,
				"bill_no": f"SUP/{secrets.token_hex(3)}",
				"bill_date": POSTING,
				"remarks": "Pantry supplies",
				"items": [
					{
						"item_code": item or self.tea,
						"qty": qty,
						"rate": 100,
						"expense_account": env.accounts["expense"],
						"cost_center": env.accounts["cost_center"],
					},
					{
						"item_code": self.sugar,
						"qty": 2,
						"rate": 25,
						"expense_account": env.accounts["expense"],
						"cost_center": env.accounts["cost_center"],
					},
				],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": env.accounts["cgst"],
						"rate": 9,
						"description": "CGST",
					},
					{
						"charge_type": "On Net Total",
						"account_head": env.accounts["sgst"],
						"rate": 9,
						"description": "SGST",
					},
				],
				**extra,
			}
		)
		doc.insert(ignore_permissions=True)
		if submit:
			doc.submit()
		return doc

	def portal_row(self, order_code):
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT * FROM purchase_requisitions WHERE order_code = %s", (order_code,))
			rows = cur.fetchall()
			self.assertLessEqual(len(rows), 1)
			if not rows:
				return None, []
			cur.execute(
				"SELECT product_id, vendor_id, quantity, unit_rate, cost + 0 AS cost, gst_amt + 0 AS gst_amt, total_amt + 0 AS total_amt"
				" FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id",
				(rows[0]["id"],),
			)
			return rows[0], cur.fetchall()

	def test_submit_writes_header_and_lines_with_a_counter_number(self):
		pi = self.make_invoice()
		header, lines = self.portal_row(pi.name)
		self.assertIsNotNone(header)
		self.assertRegex(header["invoice_number"], r"^O2OT/26-27/\d{4}$")
		self.assertEqual(header["entity"], str(self.env.entity_id))
		self.assertEqual(header["order_name"], pi.supplier_name)
		self.assertEqual(header["remark"], "Pantry supplies")
		self.assertEqual(header["credit_note_number"], pi.bill_no)
		self.assertEqual(
			(header["acknowledgement"], header["order_status"], header["invoice_generated"]), (1, 2, 1)
		)
		self.assertEqual(header["invoice_generated_at"], datetime(2026, 11, 20))
		self.assertEqual(header["gst_percentage"], "18")
		self.assertEqual(
			[
				(
					li["product_id"],
					li["vendor_id"],
					li["quantity"],
					round(li["cost"], 2),
					round(li["gst_amt"], 2),
				)
				for li in lines
			],
			[(501, self.env.vendors[0], 7, 700.0, 126.0), (502, self.env.vendors[0], 2, 50.0, 9.0)],
		)
		pi.reload()
		self.assertEqual(pi.procureuat_id, header["id"])
		self.assertEqual(pi.procureuat_invoice_number, header["invoice_number"])
		self.assertEqual(pi.o2o_sync_status, "Synced")
		log = frappe.get_all(
			"Sync Log", {"reference_name": pi.name, "operation": "Push"}, ["status", "message"]
		)
		self.assertEqual([r.status for r in log], ["Success"])

	def test_drafts_are_not_pushed(self):
		pi = self.make_invoice(submit=False)
		self.assertEqual(self.portal_row(pi.name), (None, []))

	def test_cancel_then_amend_with_both_naming_rules_keeps_the_row_and_number(self):
		for rule in ("Amend Counter", "Default Naming"):
			frappe.db.delete("Amended Document Naming Settings", {"document_type": "Purchase Invoice"})
			dns = frappe.get_single("Document Naming Settings")
			dns.append("amend_naming_override", {"document_type": "Purchase Invoice", "action": rule})
			dns.update_amendment_rule()
			pi = self.make_invoice()
			header, _ = self.portal_row(pi.name)
			pi.cancel()
			cancelled, _ = self.portal_row(pi.name)
			self.assertEqual(cancelled["is_invoice_cancel"], 1)
			self.assertIsNotNone(cancelled["invoice_cancel_date"])
			amended = frappe.copy_doc(pi)
			amended.docstatus = 0
			amended.amended_from = pi.name
			amended.items[0].qty = 3
			amended.insert(ignore_permissions=True)
			amended.submit()
			if rule == "Default Naming":
				self.assertNotIn(pi.name, amended.name)
			after, lines = self.portal_row(amended.name)
			self.assertEqual(after["id"], header["id"], rule)
			self.assertEqual(after["invoice_number"], header["invoice_number"])
			self.assertEqual((after["is_invoice_cancel"], after["invoice_cancel_date"]), (0, None))
			self.assertEqual([li["quantity"] for li in lines], [3, 2])
			self.assertEqual(self.portal_row(pi.name), (None, []))

	def finance_status(self, pi_name):
		header, _ = self.portal_row(pi_name)
		return header["finance_status"]

	def test_payment_entry_paid_part_paid_and_cancelled(self):
		from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

		pi = self.make_invoice()
		self.assertEqual(self.finance_status(pi.name), 0)
		pe = get_payment_entry("Purchase Invoice", pi.name)
		pe.paid_from = self.env.accounts["cash"]
		pe.reference_no, pe.reference_date = "PART", POSTING
		pe.paid_amount = pe.received_amount = 100
		pe.references[0].allocated_amount = 100
		pe.insert(ignore_permissions=True)
		pe.submit()
		self.assertEqual(self.finance_status(pi.name), 1)
		full = get_payment_entry("Purchase Invoice", pi.name)
		full.paid_from = self.env.accounts["cash"]
		full.reference_no, full.reference_date = "REST", POSTING
		full.insert(ignore_permissions=True)
		full.submit()
		self.assertEqual(self.finance_status(pi.name), 2)
		full.cancel()
		self.assertEqual(self.finance_status(pi.name), 1)
		pe.cancel()
		self.assertEqual(self.finance_status(pi.name), 0)

	def test_journal_entry_settling_an_invoice(self):
		pi = self.make_invoice()
		je = frappe.get_doc(
			{
				"doctype": "Journal Entry",
				"company": self.env.company,
				"posting_date": POSTING,
				"accounts": [
					{
						"account": pi.credit_to,
						"party_type": "Supplier",
						"party": pi.supplier,
						"debit_in_account_currency": pi.grand_total,
						"reference_type": "Purchase Invoice",
						"reference_name": pi.name,
						"cost_center": self.env.accounts["cost_center"],
					},
					{
						"account": self.env.accounts["cash"],
						"credit_in_account_currency": pi.grand_total,
						"cost_center": self.env.accounts["cost_center"],
					},
				],
			}
		).insert(ignore_permissions=True)
		je.submit()
		self.assertEqual(self.finance_status(pi.name), 2)

	def test_periodic_job_catches_what_events_missed(self):
		from o2o_sync.sync.sync_utils import reconcile_payment_states

		pi = self.make_invoice()
		# ERPNext moves outstanding_amount without the invoice's events (e.g. reconciliation)
		frappe.db.set_value("Purchase Invoice", pi.name, "outstanding_amount", 0)
		self.assertEqual(self.finance_status(pi.name), 0)
		reconcile_payment_states()
		self.assertEqual(self.finance_status(pi.name), 2)

	def test_unmapped_supplier_or_item_is_not_pushed_and_says_what_to_map(self):
		a = self.make_invoice(supplier=self.unmapped_supplier)
		b = self.make_invoice(item=self.unmapped_item)
		for pi, words in (
			(a, f"Supplier {self.unmapped_supplier} (set its ProcureUAT Vendor ID)"),
			(b, f"Item {self.unmapped_item} (set its ProcureUAT Product ID)"),
		):
			self.assertEqual(self.portal_row(pi.name), (None, []))
			self.assertEqual(frappe.db.get_value("Purchase Invoice", pi.name, "o2o_sync_status"), "Failed")
			[log] = frappe.get_all("Sync Log", {"reference_name": pi.name, "status": "Failed"}, ["message"])
			self.assertIn(words, log.message)

	def test_return_and_fractional_quantity_are_refused(self):
		from erpnext.accounts.doctype.purchase_invoice.purchase_invoice import make_debit_note

		pi = self.make_invoice()
		debit_note = make_debit_note(pi.name)
		debit_note.update_outstanding_for_self = 0  # the debit note settles the original
		debit_note.insert(ignore_permissions=True)
		debit_note.submit()
		self.assertEqual(self.portal_row(debit_note.name), (None, []))
		self.assertIn(
			"return (debit note)",
			frappe.get_all(
				"Sync Log", {"reference_name": debit_note.name, "status": "Failed"}, pluck="message"
			)[0],
		)
		self.assertEqual(self.finance_status(pi.name), 2)  # the debit note settled the original
		fractional = self.make_invoice(qty=1.5, item=self.rice)
		self.assertEqual(self.portal_row(fractional.name), (None, []))
		self.assertIn(
			"fractional",
			frappe.get_all(
				"Sync Log", {"reference_name": fractional.name, "status": "Failed"}, pluck="message"
			)[0],
		)

	def test_portal_edit_to_a_submitted_invoice_takes_only_status_fields(self):
		pi = self.make_invoice()
		header, _ = self.portal_row(pi.name)
		later = db_now(self.env.conn) + timedelta(seconds=3)
		touch_invoice(self.env.conn, header["id"], order_status=4, updated_at=later)
		bulk_sync_from_external()
		self.assertEqual(frappe.db.get_value("Purchase Invoice", pi.name, "procureuat_order_status"), 4)
		touch_invoice(
			self.env.conn,
			header["id"],
			remark="changed on the portal",
			updated_at=later + timedelta(seconds=1),
		)
		counts = bulk_sync_from_external()
		self.assertEqual(counts["conflict"], 1)
		self.assertEqual(frappe.db.get_value("Purchase Invoice", pi.name, "remarks"), "Pantry supplies")
		mapping = frappe.get_doc("Sync Mapping", {"purchase_invoice": pi.name})
		self.assertEqual(mapping.status, "Conflict")
		self.assertIn("remark", mapping.conflict_fields)
		self.assertIn(
			"remark",
			frappe.get_all("Sync Log", {"reference_name": pi.name, "status": "Conflict"}, pluck="message")[0],
		)

	def test_no_loop_with_the_pull(self):
		pi = self.make_invoice()
		counts = bulk_sync_from_external()
		self.assertEqual(counts["created"], 0)
		self.assertEqual(
			frappe.db.count("Purchase Invoice", {"company": self.env.company, "bill_no": pi.bill_no}), 1
		)
		# the portal committed but ERPNext's bookkeeping did not: the pull recognises order_code
		other = self.make_invoice(submit=False)
		other.flags.o2o_from_pull = True  # submit without the app's push
		other.submit()
		insert_invoice(
			self.env.conn,
			self.env.entity_id,
			[
				{
					"vendor_id": self.env.vendors[0],
					"product_id": 501,
					"quantity": 7,
					"cost": "700",
					"gst_amt": "126",
				}
			],
			order_code=other.name,
			updated_at=db_now(self.env.conn) + timedelta(seconds=5),
		)
		counts = bulk_sync_from_external()
		self.assertEqual((counts["created"], counts["linked"]), (0, 1))
		self.assertEqual(
			frappe.db.get_value("Sync Mapping", {"purchase_invoice": other.name}, "origin"), "ERPNext"
		)

	def test_manual_sync_from_the_console_returns_what_it_did(self):
		pi = self.make_invoice()
		result = manual_sync_invoice_to_external(pi.name)
		self.assertEqual(result["status"], "Synced")
		self.assertIn("Updated portal requisition", result["message"])
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions WHERE order_code = %s", (pi.name,))
			self.assertEqual(cur.fetchone()["n"], 1)

	def test_pulled_invoice_paid_in_erpnext_sends_payment_state(self):
		from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

		rid = insert_invoice(
			self.env.conn,
			self.env.entity_id,
			[{"vendor_id": self.env.vendors[1], "quantity": 4, "cost": "400.00", "gst_amt": "72.00"}],
			updated_at=db_now(self.env.conn) + timedelta(seconds=30),
		)
		bulk_sync_from_external()
		name = frappe.db.get_value("Sync Mapping", {"procureuat_id": rid}, "purchase_invoice")
		pi = frappe.get_doc("Purchase Invoice", name)
		pi.submit()
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions")
			before = cur.fetchone()["n"]
		pe = get_payment_entry("Purchase Invoice", name)
		pe.paid_from = self.env.accounts["cash"]
		pe.reference_no, pe.reference_date = "PULLED", POSTING
		pe.insert(ignore_permissions=True)
		pe.submit()
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT finance_status, is_invoice_cancel FROM purchase_requisitions WHERE id = %s", (rid,)
			)
			row = cur.fetchone()
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions")
			self.assertEqual(cur.fetchone()["n"], before)  # nothing pushed back as a new row
		self.assertEqual((row["finance_status"], row["is_invoice_cancel"]), (2, 0))
		self.assertEqual(Decimal(str(pi.grand_total)), Decimal("472.00"))

	def test_pending_push_is_retried_and_finds_its_own_row_after_a_crash(self):
		from o2o_sync.sync.sync_utils import retry_pending_pushes

		lost = self.make_invoice(submit=False)
		lost.flags.o2o_from_pull = True  # as if the job was lost: submitted, nothing pushed
		lost.submit()
		crashed = self.make_invoice()
		header, _ = self.portal_row(crashed.name)
		# the portal committed, then ERPNext's bookkeeping was lost
		frappe.db.set_value(
			"Purchase Invoice", crashed.name, {"o2o_sync_status": "Pending", "procureuat_id": 0}
		)
		frappe.db.delete("Sync Mapping", {"purchase_invoice": crashed.name})
		frappe.db.set_value("Purchase Invoice", lost.name, "o2o_sync_status", "Pending")
		frappe.db.commit()  # nosemgrep
		self.assertEqual(retry_pending_pushes(older_than_seconds=0)["retried"], 2)
		for pi in (lost, crashed):
			self.assertEqual(frappe.db.get_value("Purchase Invoice", pi.name, "o2o_sync_status"), "Synced")
			with self.env.conn.cursor() as cur:
				cur.execute(
					"SELECT COUNT(*) AS n FROM purchase_requisitions WHERE order_code = %s", (pi.name,)
				)
				self.assertEqual(cur.fetchone()["n"], 1)
		self.assertEqual(self.portal_row(crashed.name)[0]["invoice_number"], header["invoice_number"])
