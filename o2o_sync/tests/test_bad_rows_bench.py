"""Broken and hostile portal rows through the real Frappe port (issue 7, "Hostile and broken
input"; the engine's corpus is `tests/bad_rows.py`, run against the in-memory ERPNext).

Here what only a bench shows: the Sync Log and Sync Mapping rows Frappe stores (one row per
distinct failure over several runs, messages that the desk cannot render as markup), and
the Purchase Invoices and Suppliers ERPNext makes from legal but strange text (Devanagari and
emoji names, SQL-looking and 20,000-character remarks, Indian digit grouping).
"""

from datetime import datetime, timedelta
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import FAILED, SUCCESS, SYNC_LOG, SYNC_MAPPING, SYNCED
from o2o_sync.setup.erpnext_masters import random_gstin
from o2o_sync.setup.portal_rows import db_now, insert_invoice, insert_vendor
from o2o_sync.sync.jobs import run_pull

RUNS = 3
SQL = "'; DROP TABLE vendors; --"
HTML = '<img src=x onerror="alert(1)">'
DEVANAGARI = "शर्मा ट्रेडर्स 🚚"
LONG_REMARK = ("Remark " * 3000)[:20_000]


class TestBadRowsOnTheBench(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		with cls.env.conn.cursor() as cur:
			cur.execute("SET SESSION sql_mode = ''")  # legacy values as the portal has them
		cls.token = cls.env.abbr[2:]

	@classmethod
	def tearDownClass(cls):
		cls.env.stop()
		super().tearDownClass()

	def invoice(self, vendor_id=None, n=0, line=None, **header):
		at = datetime(2026, 10, 15, 11, 0) + timedelta(minutes=n)
		header = {
			"invoice_generated_at": at,
			"updated_at": db_now(self.env.conn) - timedelta(minutes=30) + timedelta(seconds=n),
			**header,
		}
		values = {"vendor_id": vendor_id or self.env.vendors[0], "quantity": 1, "cost": "100.00"}
		values["gst_amt"] = "18.00"
		return insert_invoice(self.env.conn, self.env.entity_id, [{**values, **(line or {})}], **header)

	def rows(self, rid):
		return frappe.get_all(
			SYNC_LOG,
			{"procureuat_id": rid, "operation": ["!=", "Portal Date"]},
			["status", "message", "summary"],
			order_by="creation",
		)

	def mapping(self, rid, vendor_id):
		return frappe.get_doc(SYNC_MAPPING, {"procureuat_id": rid, "procureuat_vendor_id": vendor_id})

	def test_bad_rows_fail_once_each_and_strange_but_legal_text_is_pulled(self):
		env, t = self.env, self.token
		hindi = insert_vendor(env.conn, f"{DEVANAGARI} {t}", f"VH{t}", random_gstin("27"))
		html_vendor = insert_vendor(env.conn, f"{HTML} {t}", f"VX{t}", None)
		good = self.invoice(n=0)
		bad = {
			"cost": self.invoice(n=1, line={"cost": None}),
			"unit_rate": self.invoice(n=2, line={"unit_rate": "1e2"}),
			"freight_cost": self.invoice(n=3, freight_cost="0x1F"),
			"invoice_generated_at": self.invoice(n=4, invoice_generated_at="2026-00-10 10:00:00"),
			"invoice_number": self.invoice(n=5, invoice_number="INV/" + "9" * 200),
			"vendors.name": self.invoice(n=6, vendor_id=html_vendor),
		}
		legal = {
			"freight": self.invoice(n=7, freight_cost="₹ 1,25,000.50"),
			"sql": self.invoice(n=8, remark=SQL),
			"long": self.invoice(n=9, remark=LONG_REMARK),
			"hindi": self.invoice(n=10, vendor_id=hindi),
		}
		counts = [run_pull() for _ in range(RUNS)]
		self.assertEqual([c["failed"] for c in counts], [len(bad)] * RUNS, counts)

		# one Failed row per bad invoice over three runs, naming requisition and column
		for column, rid in bad.items():
			rows = self.rows(rid)
			self.assertEqual([r.status for r in rows], [FAILED], (column, rows))
			self.assertIn(f"Requisition {rid}", rows[0].message)
			self.assertIn(column, rows[0].message)
			vendor_id = html_vendor if column == "vendors.name" else env.vendors[0]
			self.assertEqual(self.mapping(rid, vendor_id).status, FAILED)
		# portal HTML in a message is stored escaped, never as markup (form, list, report view)
		html_row = self.rows(bad["vendors.name"])[0]
		self.assertNotIn("<img", html_row.message + html_row.summary)
		self.assertIn("&lt;img src=x", html_row.message)

		for rid in (good, *legal.values()):
			rows = self.rows(rid)
			self.assertEqual([r.status for r in rows], [SUCCESS], rows)
		pi = {
			k: frappe.get_doc("Purchase Invoice", self.mapping(rid, vid).purchase_invoice)
			for k, rid, vid in (
				("freight", legal["freight"], env.vendors[0]),
				("sql", legal["sql"], env.vendors[0]),
				("long", legal["long"], env.vendors[0]),
				("hindi", legal["hindi"], hindi),
			)
		}
		self.assertEqual(Decimal(str(pi["freight"].net_total)), Decimal("125100.50"))
		self.assertEqual(pi["sql"].remarks, SQL)
		self.assertEqual(pi["long"].remarks, LONG_REMARK)
		supplier = frappe.get_doc("Supplier", pi["hindi"].supplier)
		self.assertEqual(supplier.supplier_name, f"{DEVANAGARI} {t}")
		self.assertEqual(supplier.procureuat_vendor_id, hindi)
		self.assertEqual(self.mapping(legal["hindi"], hindi).status, SYNCED)
		with env.conn.cursor() as cur:  # SQL-looking text was data
			cur.execute("SELECT COUNT(*) AS n FROM vendors")
			self.assertEqual(cur.fetchone()["n"], 5)
