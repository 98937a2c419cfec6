"""Cancellations made while the portal is unreachable are queued, retried by the scheduled
job and logged; nothing is dropped (issue 7, "One runner, one row"). A real bench, a real
portal database behind a real sshd, killed and restarted as a crashed bastion would be.

The doc event's job is run by hand here (the tests' synchronous jobs would otherwise raise
inside the cancel itself), exactly as a worker runs it after the cancel commits.
"""

import secrets
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.setup.erpnext_masters import make_item, make_supplier
from o2o_sync.sync import jobs
from o2o_sync.sync.events import CANCEL_INVOICE_JOB, PUSH_INVOICE_JOB
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.portal.client import close_clients
from o2o_sync.sync.scheduler import retry_pending_pushes

POSTING = "2026-11-20"


class PushQueueWorld(FrappeTestCase):
	"""A company, portal, sshd, an Item linked to a portal product and a Supplier linked to a
	portal vendor, with the helpers the push's queue and limits tests share (no tests here)."""

	#: the Supplier's name before its token
	SUPPLIER = "Queue Supplier"

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2)
		cls.tea = make_item(f"O2O Tea {token}", product_id=501)
		cls.supplier = make_supplier(f"{cls.SUPPLIER} {token}", cls.env.vendors[0])
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		cls.env.stop()
		super().tearDownClass()

	def tearDown(self):
		self.env.sshd.restart()
		close_clients()

	def make_invoice(self):
		env = self.env
		doc = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": env.company,
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
						"rate": 100,
						"expense_account": env.accounts["expense"],
						"cost_center": env.accounts["cost_center"],
					}
				],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": env.accounts[gst],
						"rate": 9,
						"description": gst.upper(),
					}
					for gst in ("cgst", "sgst")
				],
			}
		)
		doc.insert(ignore_permissions=True)
		doc.submit()
		return doc

	def portal_rows(self, order_code):
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT id, is_invoice_cancel FROM purchase_requisitions WHERE order_code = %s", (order_code,)
			)
			return list(cur.fetchall())

	def status(self, name):
		return frappe.db.get_value("Purchase Invoice", name, "o2o_sync_status")

	def logs(self, name, operation, status):
		return frappe.get_all(
			"Sync Log",
			{"reference_name": name, "operation": operation, "status": status},
			pluck="message",
		)


class TestPushQueue(PushQueueWorld):
	def portal_down(self):
		self.env.sshd.kill()
		close_clients()

	def portal_up(self):
		self.env.sshd.restart()
		close_clients()

	def test_cancellation_while_the_portal_is_unreachable_is_queued_retried_and_logged(self):
		pi = self.make_invoice()
		[row] = self.portal_rows(pi.name)
		self.assertEqual(self.status(pi.name), "Synced")
		with patch("o2o_sync.sync.events.frappe.enqueue") as enqueue:
			pi.cancel()
		self.assertEqual(enqueue.call_args.args[0], CANCEL_INVOICE_JOB)
		self.assertEqual(self.status(pi.name), "Pending")  # queued before any job runs
		self.portal_down()
		with self.assertRaises(ProcureUATConnectionError):
			jobs.cancel_invoice(pi.name)  # the worker's job, after the cancel committed
		frappe.db.rollback()  # what the job runner does after a failed job: the queue survives it
		self.assertEqual(self.status(pi.name), "Pending")
		[queued] = self.logs(pi.name, "Cancel", "Failed")
		self.assertIn("stays Pending and is retried", queued)
		self.assertEqual(self.portal_rows(pi.name)[0]["is_invoice_cancel"], 0)

		self.assertGreaterEqual(retry_pending_pushes(older_than_seconds=0)["cancellations"], 1)
		self.assertEqual(self.status(pi.name), "Pending")  # still down: still queued

		self.portal_up()
		self.assertGreaterEqual(retry_pending_pushes(older_than_seconds=0)["cancellations"], 1)
		self.assertEqual(self.portal_rows(pi.name), [{"id": row["id"], "is_invoice_cancel": 1}])
		self.assertEqual(self.status(pi.name), "Synced")
		self.assertEqual(len(self.logs(pi.name, "Cancel", "Success")), 1)
		self.assertEqual(retry_pending_pushes(older_than_seconds=0)["cancellations"], 0)  # out of the queue

	def test_submitted_and_cancelled_while_the_portal_is_unreachable_sends_nothing(self):
		self.portal_down()
		with patch("o2o_sync.sync.events.frappe.enqueue") as enqueue:
			pi = self.make_invoice()
			self.assertEqual(enqueue.call_args.args[0], PUSH_INVOICE_JOB)
			with self.assertRaises(ProcureUATConnectionError):
				jobs.push_invoice(pi.name)
			frappe.db.rollback()
			self.assertEqual(self.status(pi.name), "Pending")
			pi.reload()
			pi.cancel()  # its push never confirmed: its cancellation is queued too
			self.assertEqual(enqueue.call_args.args[0], CANCEL_INVOICE_JOB)
		self.assertEqual(self.status(pi.name), "Pending")
		self.portal_up()
		retry_pending_pushes(older_than_seconds=0)
		self.assertEqual(self.portal_rows(pi.name), [])  # never reached the portal, never written
		self.assertEqual(self.status(pi.name), "Not Synced")
