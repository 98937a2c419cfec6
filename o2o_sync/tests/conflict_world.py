"""A bench test case for what the sync holds for a person: a fresh company, portal database and
sshd bastion per class (`benchmarks.environment`), and helpers that make each held state the
way it happens (portal edits through the portal's own tables, ERPNext edits through documents).
"""

import secrets
from datetime import datetime, timedelta

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import SETTINGS, SYNC_LOG, SYNC_MAPPING
from o2o_sync.setup.erpnext_masters import make_item
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.sync_utils import bulk_sync_from_external, resolve_conflict
from o2o_sync.tests.portal_edits import touch_invoice, touch_line

INVOICE_DAY = datetime(2026, 10, 15, 11, 0)
POSTING = "2026-11-20"


class ConflictTestCase(FrappeTestCase):
	"""One sync environment per class; `self.env` as `setup_environment` made it."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		cls.seconds = 0
		token = secrets.token_hex(2)
		cls.tea = make_item(f"O2O Tea {token}", product_id=501)
		cls.sugar = make_item(f"O2O Sugar {token}", product_id=502)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		frappe.db.delete("Amended Document Naming Settings", {"document_type": "Purchase Invoice"})
		frappe.db.commit()  # nosemgrep
		cls.env.stop()
		super().tearDownClass()

	# ------------------------------------------------------------ the portal

	def later(self) -> datetime:
		"""A portal time after every earlier one of this class (the portal's clock, plus a step)."""
		type(self).seconds += 2
		return db_now(self.env.conn) + timedelta(seconds=self.seconds)

	def invoice(self, vendor=0, cost="100.00", gst_amt="18.00", quantity=1, **header) -> int:
		"""A portal invoice of one line, dated `INVOICE_DAY`; returns its requisition id."""
		header.setdefault("updated_at", self.later())
		header.setdefault("invoice_generated_at", INVOICE_DAY)
		line = {"vendor_id": self.env.vendors[vendor], "quantity": quantity, "cost": cost, "gst_amt": gst_amt}
		return insert_invoice(self.env.conn, self.env.entity_id, [line], **header)

	def edit(self, rid, **columns):
		"""Edit a requisition on the portal (`updated_at` from `later` unless given)."""
		columns.setdefault("updated_at", self.later())
		touch_invoice(self.env.conn, rid, **columns)

	def edit_line(self, rid, **columns):
		"""Edit the requisition's first line on the portal (`updated_at` from `later`)."""
		columns.setdefault("updated_at", self.later())
		touch_line(self.env.conn, self.line_ids(rid)[0], **columns)

	def row(self, rid) -> dict:
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT * FROM purchase_requisitions WHERE id = %s", (rid,))
			return cur.fetchone()

	def row_of(self, order_code) -> dict | None:
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT * FROM purchase_requisitions WHERE order_code = %s", (order_code,))
			return cur.fetchone()

	def line_ids(self, rid) -> list[int]:
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT id FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id", (rid,)
			)
			return [r["id"] for r in cur.fetchall()]

	def portal_state(self, rid) -> tuple:
		"""The requisition and its lines as the portal holds them (to see that nothing moved)."""
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT id, quantity, cost + 0 AS cost, updated_at FROM purchase_order_items"
				" WHERE purchase_order_id = %s ORDER BY id",
				(rid,),
			)
			return self.row(rid), cur.fetchall()

	# ------------------------------------------------------------ ERPNext

	def pull(self) -> dict:
		return bulk_sync_from_external()

	def mapping(self, rid, vendor=0):
		return frappe.get_doc(
			SYNC_MAPPING, {"procureuat_id": rid, "procureuat_vendor_id": self.env.vendors[vendor]}
		)

	def pi(self, rid, vendor=0):
		return frappe.get_doc("Purchase Invoice", self.mapping(rid, vendor).purchase_invoice)

	def resolve(self, rid, vendor=0, **kwargs) -> dict:
		return resolve_conflict(self.mapping(rid, vendor).name, **kwargs)

	def held(self, rid, reason, vendor=0):
		"""Assert the mapping is held for `reason`; returns it."""
		mapping = self.mapping(rid, vendor)
		self.assertEqual((mapping.status, mapping.held_reason), ("Conflict", reason), mapping.last_error)
		return mapping

	def assert_settled(self, rid, vendor=0):
		"""Synced, nothing held, and a second pull changes nothing (the snapshot advanced)."""
		mapping = self.mapping(rid, vendor)
		self.assertEqual(
			(mapping.status, mapping.held_reason, mapping.conflict_fields), ("Synced", None, None)
		)
		counts = self.pull()
		writes = ("created", "updated", "conflict", "failed")
		self.assertEqual({k: counts[k] for k in writes}, dict.fromkeys(writes, 0))

	def resolve_logs(self, rid, status="Success") -> list[str]:
		"""Messages of the "Resolve" Sync Log rows of requisition `rid`, oldest first."""
		return frappe.get_all(
			SYNC_LOG,
			{"operation": "Resolve", "status": status, "procureuat_id": rid},
			pluck="message",
			order_by="creation",
		)

	def make_pushed(self, remarks="Pantry supplies"):
		"""A Purchase Invoice made in ERPNext and submitted: pushed to the portal by its event."""
		env = self.env
		row = {"expense_account": env.accounts["expense"], "cost_center": env.accounts["cost_center"]}
		doc = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": env.company,
				"currency": "INR",
				"conversion_rate": 1,
				"supplier": self.pushed_supplier(),
				"posting_date": POSTING,
				"set_posting_time": 1,
				"bill_no": f"SUP/{secrets.token_hex(3)}",
				"bill_date": POSTING,
				"remarks": remarks,
				"items": [
					{"item_code": self.tea, "qty": 7, "rate": 100, **row},
					{"item_code": self.sugar, "qty": 2, "rate": 25, **row},
				],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": env.accounts[k],
						"rate": 9,
						"description": k,
					}
					for k in ("cgst", "sgst")
				],
			}
		).insert(ignore_permissions=True)
		doc.submit()
		rid = self.row_of(doc.name)["id"]
		return rid, doc.name

	def pushed_supplier(self) -> str:
		"""The Supplier of vendor 0 (the pull's, once it linked one; else one made here)."""
		name = frappe.db.get_value("Supplier", {"procureuat_vendor_id": self.env.vendors[0]})
		if not name:
			name = f"Push Supplier {self.env.abbr}"
			frappe.get_doc(
				{
					"doctype": "Supplier",
					"supplier_name": name,
					"supplier_group": "All Supplier Groups",
					"procureuat_vendor_id": self.env.vendors[0],
				}
			).insert(ignore_permissions=True)
		return name

	def sync_enabled(self, on: bool):
		frappe.db.set_single_value(SETTINGS, "enabled", int(on))
		frappe.db.commit()  # nosemgrep
