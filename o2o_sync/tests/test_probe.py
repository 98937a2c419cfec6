"""The minute's probe on a real bench (issue 13, "A minute's latency"): after a pull, one
portal statement and nothing queued while nothing changed; one pull queued when a portal
invoice changed; nothing asked while a pull runs or when switched off. A pull that ended in a
second the portal's clock had not closed leaves its cursor before that second
(`run.cursor_for`): the first probe after it queues one more pull, which reads those rows
unchanged and moves the cursor past them (`settle`). The real portal
database behind a real sshd; the portal's own statement counter (`Questions`) counts."""

import time
from datetime import timedelta
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import SETTINGS
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.desk import PULL_JOB, PULL_JOB_ID
from o2o_sync.sync.engine.pull.run import CLOSED_SECONDS
from o2o_sync.sync.engines import portal_client
from o2o_sync.sync.scheduler import probe_portal_changes
from o2o_sync.sync.sync_utils import bulk_sync_from_external
from o2o_sync.tests.portal_edits import touch_invoice
from o2o_sync.tests.test_locks import other_host, take


def questions(client) -> int:
	"""Statements the portal's server has had from this session (it counts itself too)."""
	return int(client._query("SHOW SESSION STATUS LIKE 'Questions'")[0]["Value"])


class TestProbe(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		line = {
			"vendor_id": cls.env.vendors[0],
			"product_id": 0,
			"quantity": 1,
			"cost": "100.00",
			"gst_amt": "18.00",
		}
		cls.ids = [insert_invoice(cls.env.conn, cls.env.entity_id, [line]) for _ in range(3)]
		bulk_sync_from_external()
		cls.settle()

	@classmethod
	def settle(cls) -> dict:
		"""Once the portal's clock has closed the seconds the last pull read, pull again (what
		the probe queues after a burst of edits); returns that pull's counts."""
		start = db_now(cls.env.conn)
		while db_now(cls.env.conn) <= start + timedelta(seconds=CLOSED_SECONDS):
			time.sleep(0.2)
		return bulk_sync_from_external()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(SETTINGS, {"probe_portal_changes": 1, "enabled": 1})
		frappe.db.commit()  # nosemgrep
		cls.env.stop()
		super().tearDownClass()

	def probe(self):
		"""The probe as the scheduler runs it; returns (its answer, the jobs it queued)."""
		with patch("o2o_sync.sync.desk.frappe.enqueue") as enqueue:
			answer = probe_portal_changes()
		return answer, [(c.args[0], c.kwargs["job_id"], c.kwargs["queue"]) for c in enqueue.call_args_list]

	def test_1_nothing_changed_one_statement_nothing_queued(self):
		client = portal_client()
		before = questions(client)
		answer, queued = self.probe()
		self.assertEqual(answer, {"changed": False, "queued": False, "queries": 1})
		self.assertEqual(queued, [])
		self.assertEqual(questions(client) - before, 2)  # the probe's one statement, and this SHOW

	def test_2_a_portal_edit_queues_one_pull(self):
		passed = db_now(self.env.conn)
		while db_now(self.env.conn) <= passed:  # a second later than the cursor's, on the portal's clock
			time.sleep(0.2)
		touch_invoice(self.env.conn, self.ids[1], remark="Corrected by the vendor")
		answer, queued = self.probe()
		self.assertEqual(answer, {"changed": True, "queued": True, "queries": 1})
		self.assertEqual(queued, [(PULL_JOB, PULL_JOB_ID, "long")])
		self.assertEqual(bulk_sync_from_external()["updated"], 1)  # what that pull finds
		counts = self.settle()  # the edit's second closed: read once more, nothing new in it
		self.assertEqual((counts["created"], counts["updated"], counts["failed"]), (0, 0, 0))
		self.assertEqual(self.probe()[0]["changed"], False)

	def test_3_nothing_is_asked_while_a_pull_runs_or_when_switched_off(self):
		touch_invoice(self.env.conn, self.ids[2], remark="Edited again")
		conn = other_host()  # a pull running on another host of the bench
		try:
			self.assertEqual(take(conn), 1)
			self.assertEqual(
				self.probe(), ({"status": "busy", "changed": False, "queued": False, "queries": 0}, [])
			)
		finally:
			conn.close()
		frappe.db.set_single_value(SETTINGS, "probe_portal_changes", 0)
		self.assertEqual(self.probe(), (None, []))
		frappe.db.set_single_value(SETTINGS, {"probe_portal_changes": 1, "enabled": 0})
		self.assertEqual(self.probe(), (None, []))
