"""The portal's signed call, through a real HTTP request to a real `bench serve` of this site
(issue 13, "Signed webhook"): a genuine call is answered at once and queues one job that a
real worker runs, pulling the named requisitions; every other call is refused and queues
nothing. The real portal database behind a real sshd, as in the pull's tests."""

import json
import time
import urllib.error
import urllib.request

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils.background_jobs import get_job, is_job_enqueued

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.benchmarks.harness import WebServer, Worker
from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS
from o2o_sync.setup.portal_rows import insert_invoice
from o2o_sync.sync import webhook_queue
from o2o_sync.sync.desk import PULL_JOB_ID
from o2o_sync.sync.portal.webhook_signature import sign

SECRET = "portal-and-erpnext-share-this"
PATH = "/api/method/o2o_sync.api.portal_changed"


class TestWebhook(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		cls.connection = frappe.db.get_single_value(SETTINGS, "database_connection")
		doc = frappe.get_doc(DATABASE_CONNECTION, cls.connection)
		doc.webhook_secret = SECRET
		doc.save(ignore_permissions=True)
		frappe.get_doc(
			{
				"doctype": DATABASE_CONNECTION,
				"connection_name": f"{cls.connection} bis",
				"host": "127.0.0.1",
				"port": 3306,
			}
		).insert(ignore_permissions=True)  # no secret
		frappe.db.commit()  # nosemgrep: the web server and the worker read it
		cls.server = WebServer().start()

	@classmethod
	def tearDownClass(cls):
		cls.server.stop()
		frappe.delete_doc(DATABASE_CONNECTION, f"{cls.connection} bis", force=True, ignore_permissions=True)
		frappe.db.commit()  # nosemgrep
		cls.env.stop()
		super().tearDownClass()

	def tearDown(self):
		for job in (webhook_queue.job_id(self.connection), PULL_JOB_ID):
			if found := get_job(job):
				found.delete()
		webhook_queue.drain(self.connection)
		webhook_queue.drain(self.connection)  # the second one drops the flag

	def call(
		self, body: bytes, timestamp=None, signature=None, secret=SECRET, content_type="application/json"
	):
		"""POST `body` as the portal does; returns (HTTP status, JSON answer)."""
		timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
		headers = {"Host": frappe.local.site, "Content-Type": content_type, "X-O2O-Timestamp": timestamp}
		headers["X-O2O-Signature"] = signature if signature is not None else sign(secret, timestamp, body)
		request = urllib.request.Request(self.server.url + PATH, data=body, headers=headers, method="POST")
		try:
			with urllib.request.urlopen(request, timeout=30) as response:
				return response.status, json.loads(response.read())
		except urllib.error.HTTPError as e:
			return e.code, json.loads(e.read() or b"{}")

	def body(self, **values) -> bytes:
		return json.dumps({"connection": self.connection, **values}).encode()

	def nothing_queued(self):
		self.assertEqual(webhook_queue.waiting(self.connection), [])
		self.assertFalse(is_job_enqueued(webhook_queue.job_id(self.connection)))
		self.assertFalse(is_job_enqueued(PULL_JOB_ID))

	def test_a_signed_call_queues_one_job_for_the_ids_of_every_call_and_a_worker_pulls_them(self):
		lines = [
			{
				"vendor_id": self.env.vendors[0],
				"product_id": 0,
				"quantity": 2,
				"cost": "250.00",
				"gst_amt": "45.00",
			}
		]
		first, second = (insert_invoice(self.env.conn, self.env.entity_id, lines) for _ in range(2))
		self.assertEqual(
			self.call(self.body(requisition_ids=[first])), (200, {"message": {"status": "queued"}})
		)
		self.assertEqual(
			self.call(self.body(requisition_ids=[second, first])), (200, {"message": {"status": "queued"}})
		)
		self.assertEqual(webhook_queue.waiting(self.connection), [first, second])  # merged, one job
		self.assertTrue(is_job_enqueued(webhook_queue.job_id(self.connection)))

		worker = Worker(queues="short").start()
		try:
			deadline = time.monotonic() + 120
			while time.monotonic() < deadline and is_job_enqueued(webhook_queue.job_id(self.connection)):
				time.sleep(0.2)
		finally:
			worker.stop()
		frappe.db.rollback()  # see what the worker committed
		pulled = frappe.get_all(
			"Purchase Invoice",
			{"procureuat_id": ["in", [first, second]], "company": self.env.company},
			["procureuat_id", "grand_total"],
			order_by="procureuat_id",
		)
		self.assertEqual(
			[(p.procureuat_id, p.grand_total) for p in pulled], [(first, 295.0), (second, 295.0)]
		)
		self.assertEqual(webhook_queue.waiting(self.connection), [])

	def test_a_signed_call_without_ids_queues_the_incremental_pull(self):
		self.assertEqual(self.call(self.body()), (200, {"message": {"status": "queued"}}))
		self.assertTrue(is_job_enqueued(PULL_JOB_ID))
		self.assertEqual(get_job(PULL_JOB_ID).kwargs["job_name"], "o2o_sync.sync.jobs.incremental_pull")

	def test_every_call_that_is_not_genuine_gets_403_one_message_and_queues_nothing(self):
		body = self.body(requisition_ids=[1])
		stale = int(time.time()) - 301
		refused = [
			self.call(body, signature=""),  # missing
			self.call(body, secret="a guess"),  # wrong
			self.call(body, signature=sign(SECRET, int(time.time()) + 10, body)),  # for another time
			self.call(body, timestamp=stale, signature=sign(SECRET, stale, body)),  # replayed too late
			self.call(json.dumps({"connection": "Nobody", "requisition_ids": [1]}).encode()),  # unknown
			self.call(json.dumps({"connection": f"{self.connection} bis", "requisition_ids": [1]}).encode()),
		]
		statuses = [status for status, _answer in refused]
		messages = {
			json.loads(message)["message"]
			for _s, answer in refused
			for message in json.loads(answer.get("_server_messages") or "[]")
		}
		self.assertEqual(statuses, [403] * 6)
		self.assertEqual(messages, {"Not a valid signed call"})  # one generic message, nothing else
		self.assertNotIn(SECRET, json.dumps([answer for _s, answer in refused]))
		self.nothing_queued()

	def test_a_malformed_body_gets_400_and_queues_nothing(self):
		for body, content_type in (
			(b"not json at all", "text/plain"),
			(json.dumps([1, 2]).encode(), "application/json"),
			(self.body(requisition_ids=list(range(1, 502))), "application/json"),
			(self.body(requisition_ids=["7"]), "application/json"),
		):
			status, _answer = self.call(body, content_type=content_type)
			self.assertEqual(status, 400, body[:40])
		self.nothing_queued()
