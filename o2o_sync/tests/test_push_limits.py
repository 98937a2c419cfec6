"""A push that meets a busy portal, or is stopped halfway, ends as if nothing had happened
(issue 13, "Time limits at the portal"). A real bench, a real portal database behind a real
sshd; the doc event's job is run by hand, as a worker runs it after the submit commits, and a
kill between the portal's commit and ERPNext's is made by ERPNext's side raising right after
the portal committed (the job runner then rolls ERPNext's transaction back).
"""

import secrets
from contextlib import contextmanager
from unittest.mock import patch

import frappe
import pymysql
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS, SYNC_MAPPING
from o2o_sync.setup.erpnext_masters import make_item, make_supplier
from o2o_sync.setup.portal_schema import connect_portal, db_server
from o2o_sync.sync import jobs
from o2o_sync.sync.frappe_port import FrappePushPort
from o2o_sync.sync.model.port import MappingRecord
from o2o_sync.sync.portal.client import close_clients
from o2o_sync.sync.portal.writes import PushBusy, push_lock_name
from o2o_sync.sync.scheduler import retry_pending_pushes
from o2o_sync.sync.sync_utils import bulk_sync_from_external
from o2o_sync.tests import test_push_queue as queue_tests


class Killed(Exception):
	"""The worker dying right after the portal's commit."""


@contextmanager
def jobs_by_hand():
	"""The doc events queue their job instead of running it inside the submit."""
	with patch("o2o_sync.sync.events.frappe.enqueue"):
		yield


class TestPushLimits(queue_tests.PushQueueWorld):
	"""The push queue tests' company, portal and helpers (a fresh set), not their tests."""

	SUPPLIER = "Limits Supplier"

	def connection(self):
		return frappe.db.get_single_value(SETTINGS, "database_connection")

	def submitted(self):
		with jobs_by_hand():
			pi = self.make_invoice()
		frappe.db.commit()  # nosemgrep: as the submit's request commits before its job runs
		return pi

	def push_killed_after_the_portal_commit(self, name):
		with patch.object(FrappePushPort, "save_push_success", side_effect=Killed("worker killed")):
			with self.assertRaises(Killed):
				jobs.push_invoice(name)
		frappe.db.rollback()  # what the job runner does with a failed job

	def invoice(self, name):
		return frappe.db.get_value(
			"Purchase Invoice",
			name,
			["o2o_sync_status", "procureuat_id", "procureuat_invoice_number"],
			as_dict=True,
		)

	def portal_row(self, order_code):
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT id, invoice_number FROM purchase_requisitions WHERE order_code = %s", (order_code,)
			)
			return cur.fetchall()

	def test_new_invoice_push_killed_after_the_portal_commit_is_linked_and_shows_its_number(self):
		pi = self.submitted()
		self.push_killed_after_the_portal_commit(pi.name)
		[row] = self.portal_row(pi.name)
		self.assertEqual(self.invoice(pi.name).o2o_sync_status, "Pending")  # ERPNext never recorded it

		counts = bulk_sync_from_external()
		self.assertEqual((counts["linked"], counts["created"], counts["conflict"]), (1, 0, 0))
		shown = self.invoice(pi.name)
		self.assertEqual(
			(shown.o2o_sync_status, shown.procureuat_id, shown.procureuat_invoice_number),
			("Synced", row["id"], row["invoice_number"]),
		)
		mapping = frappe.get_all(
			SYNC_MAPPING, {"procureuat_id": row["id"]}, ["purchase_invoice", "origin", "status"]
		)
		self.assertEqual(
			[(m.purchase_invoice, m.origin, m.status) for m in mapping], [(pi.name, "ERPNext", "Synced")]
		)
		self.assertEqual(bulk_sync_from_external()["unchanged"] >= 1, True)
		self.assertEqual(self.invoice(pi.name).o2o_sync_status, "Synced")

	def test_amendment_push_killed_after_the_portal_commit_holds_no_false_conflict(self):
		pi = self.make_invoice()  # pushed (the tests run the job in the submit)
		[row] = self.portal_row(pi.name)
		bulk_sync_from_external()
		pi.cancel()  # the portal row is marked cancelled
		amended = frappe.copy_doc(pi)
		amended.docstatus = 0
		amended.amended_from = pi.name
		amended.items[0].qty = 3
		with jobs_by_hand():
			amended.insert(ignore_permissions=True)
			amended.submit()
		frappe.db.commit()  # nosemgrep
		self.push_killed_after_the_portal_commit(amended.name)
		self.assertEqual(self.portal_row(amended.name), [row])  # the portal took the amendment

		counts = bulk_sync_from_external()
		self.assertEqual(counts["conflict"], 0)
		mapping = frappe.get_all(
			SYNC_MAPPING,
			{"procureuat_id": row["id"]},
			["purchase_invoice", "status", "held_reason", "conflict_fields"],
		)
		self.assertEqual(
			[(m.purchase_invoice, m.status, m.held_reason) for m in mapping], [(amended.name, "Synced", None)]
		)
		shown = self.invoice(amended.name)
		self.assertEqual(
			(shown.o2o_sync_status, shown.procureuat_id, shown.procureuat_invoice_number),
			("Synced", row["id"], row["invoice_number"]),
		)
		self.assertEqual(
			frappe.get_all("Sync Log", {"status": "Conflict", "procureuat_id": row["id"]}, pluck="message"),
			[],
		)
		self.assertEqual(bulk_sync_from_external()["conflict"], 0)  # and none later

	def test_a_push_blocked_on_the_counter_row_past_the_lock_wait_stays_pending_then_goes_through(self):
		self.make_invoice()  # the counter row of the year exists
		frappe.db.set_value(DATABASE_CONNECTION, self.connection(), "lock_wait_timeout", 1)
		frappe.db.commit()  # nosemgrep
		close_clients()
		pi = self.submitted()
		holder = connect_portal(self.env.portal_db, **db_server())
		try:
			holder.begin()  # a session of another push left holding the counter row
			with holder.cursor() as cur:
				cur.execute("SELECT last_number FROM invoice_counter FOR UPDATE")
			with self.assertRaises(PushBusy):
				jobs.push_invoice(pi.name)
			frappe.db.rollback()
		finally:
			holder.rollback()
			holder.close()
			frappe.db.set_value(DATABASE_CONNECTION, self.connection(), "lock_wait_timeout", 10)
			frappe.db.commit()  # nosemgrep
			close_clients()
		self.assertEqual(self.status(pi.name), "Pending")  # not Failed
		[why] = self.logs(pi.name, "Push", "Failed")
		self.assertIn(
			"the portal kept a lock past the session's limits (MySQL error 1205: lock wait 1 s", why
		)
		self.assertIn("it stays Pending and is retried", why)
		self.assertEqual(self.portal_rows(pi.name), [])
		retry_pending_pushes(older_than_seconds=0)
		self.assertEqual(self.status(pi.name), "Synced")
		self.assertEqual(len(self.portal_rows(pi.name)), 1)

	def test_retry_goes_on_past_an_invoice_another_push_is_writing(self):
		busy, free = self.submitted(), self.submitted()
		for pi in (busy, free):
			frappe.db.set_value("Purchase Invoice", pi.name, "modified", "2026-01-01 00:00:00")
		frappe.db.set_value(DATABASE_CONNECTION, self.connection(), "lock_wait_timeout", 1)
		frappe.db.commit()  # nosemgrep
		close_clients()
		pusher = connect_portal(self.env.portal_db, **db_server())  # another push of `busy`, in flight
		try:
			with pusher.cursor() as cur:
				cur.execute("SELECT GET_LOCK(%s, 0)", (push_lock_name(self.env.portal_db, busy.name),))
			found = retry_pending_pushes(older_than_seconds=0)
		finally:
			pusher.close()
			frappe.db.set_value(DATABASE_CONNECTION, self.connection(), "lock_wait_timeout", 10)
			frappe.db.commit()  # nosemgrep
			close_clients()
		self.assertGreaterEqual(found["retried"], 2)
		self.assertEqual(found["busy"], 1)
		self.assertEqual((self.status(busy.name), self.status(free.name)), ("Pending", "Synced"))
		self.assertEqual((len(self.portal_rows(busy.name)), len(self.portal_rows(free.name))), (0, 1))
		retry_pending_pushes(older_than_seconds=0)
		self.assertEqual(self.status(busy.name), "Synced")

	def test_a_mapping_committed_by_another_job_after_this_transaction_began_is_updated_not_inserted(self):
		key = {"procureuat_id": 987654, "procureuat_vendor_id": self.env.vendors[0]}
		frappe.db.commit()  # nosemgrep
		frappe.db.sql("select count(*) from `tabSync Mapping`")  # this transaction's snapshot begins
		other = pymysql.connect(
			host=frappe.conf.db_host or "127.0.0.1",
			port=int(frappe.conf.db_port or 3306),
			user=frappe.conf.db_user or frappe.conf.db_name,
			password=frappe.conf.db_password,
			database=frappe.conf.db_name,
			autocommit=True,
		)
		try:
			with other.cursor() as cur:  # the push job's mapping, committed meanwhile
				cur.execute(
					"INSERT INTO `tabSync Mapping` (name, procureuat_id, procureuat_vendor_id, origin, status,"
					" creation, modified, owner, modified_by) VALUES ('job-mapping', %s, %s, 'ERPNext',"
					" 'Synced', NOW(), NOW(), 'Administrator', 'Administrator')",
					(key["procureuat_id"], key["procureuat_vendor_id"]),
				)
			self.assertIsNone(frappe.db.get_value(SYNC_MAPPING, key, "name"))  # not in this snapshot
			record = MappingRecord(**key, origin="ERPNext", status="Synced")
			FrappePushPort(set(), {}).save_mapping(record)  # the retry's own save
			frappe.db.commit()  # nosemgrep
			self.assertEqual(record.name, "job-mapping")
			self.assertEqual(frappe.get_all(SYNC_MAPPING, key, pluck="name"), ["job-mapping"])
		finally:
			with other.cursor() as cur:
				cur.execute("DELETE FROM `tabSync Mapping` WHERE name = 'job-mapping'")
			other.close()

	def test_a_push_stopped_by_rqs_job_timeout_stays_pending_and_is_sent_again(self):
		from rq.timeouts import JobTimeoutException

		from o2o_sync.sync.portal.client import ProcureUATClient

		pi = self.submitted()
		stop = JobTimeoutException("Task exceeded maximum timeout value (300 seconds)")
		with patch.object(ProcureUATClient, "write_invoice", side_effect=stop):
			with self.assertRaises(JobTimeoutException):
				jobs.push_invoice(pi.name)
		frappe.db.rollback()  # what the job runner does with a failed job
		self.assertEqual(self.status(pi.name), "Pending")  # not Failed
		[why] = self.logs(pi.name, "Push", "Failed")
		self.assertIn("stopped before it finished (JobTimeoutException", why)
		self.assertIn("it stays Pending and is retried", why)
		retry_pending_pushes(older_than_seconds=0)
		self.assertEqual(self.status(pi.name), "Synced")
		self.assertEqual(len(self.portal_rows(pi.name)), 1)

	def test_retry_leaves_an_invoice_whose_own_push_job_is_queued_to_that_job(self):
		pi = self.submitted()
		job_id = f"o2o_sync::push::{pi.name}"
		frappe.enqueue(  # queued on a queue no worker of this test listens to
			"o2o_sync.sync.jobs.push_invoice", queue="short", job_id=job_id, invoice_name=pi.name
		)
		try:
			found = retry_pending_pushes(older_than_seconds=0)
		finally:
			from frappe.utils.background_jobs import get_job

			if job := get_job(job_id):
				job.delete()
		self.assertGreaterEqual(found["in_flight"], 1)
		self.assertEqual(self.status(pi.name), "Pending")
		self.assertEqual(self.portal_rows(pi.name), [])
		# its job gone, the retry sends it: no Pending invoice is left behind for other tests
		retry_pending_pushes(older_than_seconds=0)
		self.assertEqual(self.status(pi.name), "Synced")
