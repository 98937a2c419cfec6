"""The pull on a real bench: ProcureUAT through a real sshd into real Purchase Invoices.

Checked the way an accountant would: every portal invoice against its Purchase Invoice,
field by field and total by total, then a second run that changes nothing, then one
portal edit that changes exactly one invoice.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.sync import money
from o2o_sync.sync.sync_utils import bulk_sync_from_external, test_database_connection
from o2o_sync.tests import portal_fixtures as pf
from o2o_sync.tests.erpnext_fixtures import setup_environment

N_INVOICES = 220


def d(value) -> Decimal:
	return Decimal(str(value)).quantize(Decimal("0.01"))


class TestPullIntegration(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()

	@classmethod
	def tearDownClass(cls):
		cls.env.stop()
		super().tearDownClass()

	def portal_slices(self):
		"""{(requisition id, vendor id): {"header": row, "lines": [rows]}} straight from the portal."""
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT id, invoice_number, invoice_generated_at, created_at, remark FROM purchase_requisitions"
				" WHERE invoice_generated = 1 AND is_delete = 0 AND is_invoice_cancel = 0"
			)
			headers = {r["id"]: r for r in cur.fetchall()}
			cur.execute(
				"SELECT id, purchase_order_id, vendor_id, quantity, cost + 0 AS cost, gst_amt + 0 AS gst_amt"
				" FROM purchase_order_items ORDER BY id"
			)
			slices = defaultdict(lambda: {"lines": []})
			for line in cur.fetchall():
				if line["purchase_order_id"] in headers:
					key = (line["purchase_order_id"], line["vendor_id"])
					slices[key]["header"] = headers[line["purchase_order_id"]]
					slices[key]["lines"].append(line)
		return slices

	def pi_of(self, key):
		name = frappe.db.get_value(
			"Sync Mapping", {"procureuat_id": key[0], "procureuat_vendor_id": key[1]}, "purchase_invoice"
		)
		self.assertTrue(name, f"no Purchase Invoice for requisition {key[0]} vendor {key[1]}")
		return frappe.get_doc("Purchase Invoice", name)

	def test_connection_test_reports_server_and_tables(self):
		result = test_database_connection()
		self.assertTrue(result["ok"], result)
		self.assertEqual(result["missing_tables"], [])
		self.assertIn("MariaDB", result["server_version"])
		self.assertNotIn(self.env.sshd.client_private_key.splitlines()[1], str(result))

	def test_pull_of_200_invoices_field_by_field_then_idempotent_then_one_edit(self):
		env = self.env
		# the unregistered vendor (no GSTIN) only takes GST-free lines: give it none here
		pf.seed_realistic(
			env.conn, N_INVOICES, entity_id=env.entity_id, vendor_ids=env.vendors[:2], seed=20261121
		)
		counts = bulk_sync_from_external()
		slices = self.portal_slices()
		failed = frappe.get_all("Sync Log", filters={"status": "Failed"}, pluck="message")
		self.assertEqual(failed, [])
		self.assertEqual(counts["failed"], 0)
		self.assertEqual(counts["created"], len(slices))
		self.assertGreaterEqual(len(slices), N_INVOICES)
		self.assertEqual(frappe.db.count("Purchase Invoice", {"company": env.company}), len(slices))

		for key, portal in slices.items():
			header, lines = portal["header"], portal["lines"]
			pi = self.pi_of(key)
			invoice_day = (header["invoice_generated_at"] or header["created_at"]).date()
			self.assertEqual(pi.company, env.company)
			self.assertEqual(pi.docstatus, 0)
			self.assertEqual(pi.bill_no, header["invoice_number"])
			self.assertEqual(str(pi.bill_date), str(invoice_day))
			self.assertEqual(str(pi.posting_date), str(invoice_day))
			self.assertEqual(pi.set_posting_time, 1)
			self.assertEqual(pi.procureuat_id, key[0])
			self.assertEqual(pi.procureuat_invoice_number, header["invoice_number"])
			self.assertEqual(frappe.db.get_value("Supplier", pi.supplier, "procureuat_vendor_id"), key[1])
			self.assertEqual(len(pi.items), len(lines))
			for row, line in zip(pi.items, lines, strict=True):
				self.assertEqual(row.procureuat_item_id, line["id"])
				self.assertEqual(row.qty, line["quantity"])
				self.assertEqual(d(row.amount), money.paisa(line["cost"]), f"{pi.name} row {row.idx}")
			cost = sum(money.paisa(li["cost"]) for li in lines)
			gst_amt = sum(money.paisa(li["gst_amt"]) for li in lines)
			tolerance = max(
				money.amount_tolerance(cost, Decimal("0.01") * len(lines)), Decimal("0.01") * len(lines)
			)
			self.assertEqual(d(pi.net_total), cost, pi.name)
			tax = {t.account_head: d(t.tax_amount) for t in pi.taxes}
			self.assertLessEqual(
				abs(sum(tax.values()) - gst_amt), tolerance, f"{pi.name}: {tax} vs {gst_amt}"
			)
			if key[1] == env.vendors[0]:
				self.assertEqual(set(tax), {env.accounts["cgst"], env.accounts["sgst"]})
				self.assertLessEqual(
					abs(tax[env.accounts["cgst"]] - tax[env.accounts["sgst"]]), Decimal("0.01")
				)
			else:
				self.assertEqual(set(tax), {env.accounts["igst"]})
			self.assertEqual(d(pi.grand_total), d(pi.net_total) + sum(tax.values()))

		modified = dict(
			frappe.get_all("Purchase Invoice", {"company": env.company}, ["name", "modified"], as_list=True)
		)
		again = bulk_sync_from_external()
		self.assertEqual((again["created"], again["updated"], again["failed"]), (0, 0, 0))
		self.assertEqual(
			dict(
				frappe.get_all(
					"Purchase Invoice", {"company": env.company}, ["name", "modified"], as_list=True
				)
			),
			modified,
		)

		# one line edited on the portal: exactly that draft changes
		key = sorted(slices)[len(slices) // 2]
		line = slices[key]["lines"][0]
		later = datetime.now() + timedelta(seconds=2)
		pf.touch_line(env.conn, line["id"], quantity=3, cost="300.00", gst_amt="54.00", updated_at=later)
		third = bulk_sync_from_external()
		self.assertEqual((third["created"], third["updated"], third["failed"]), (0, 1, 0))
		changed = {
			name
			for name, ts in frappe.get_all(
				"Purchase Invoice", {"company": env.company}, ["name", "modified"], as_list=True
			)
			if ts != modified[name]
		}
		pi = self.pi_of(key)
		self.assertEqual(changed, {pi.name})
		self.assertEqual(d(pi.items[0].amount), Decimal("300.00"))
		self.assertEqual(pi.items[0].qty, 3)
		log = frappe.get_all(
			"Sync Log", {"operation": "Update", "status": "Success"}, ["reference_name", "message"]
		)
		self.assertEqual([r.reference_name for r in log], [pi.name])
