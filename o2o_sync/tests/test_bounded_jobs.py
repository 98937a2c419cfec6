"""Bounded jobs on a real bench with a real RQ worker (issue 13): a pull given half of a tiny
long-queue timeout (common_site_config.json's `workers`, as Frappe reads it) commits, enqueues
its continuation and ends, until everything is pulled exactly once; a pull killed with its
worker is noticed by the next run (a Failed "Pull Run" row, the settings' last pull), and the
lock and Pull now are free again.
"""

import json
import os
import signal
import time
from contextlib import contextmanager

import frappe
import psutil
from frappe.utils import now_datetime
from frappe.utils.background_jobs import get_job, is_job_enqueued

from o2o_sync.benchmarks.harness import Worker
from o2o_sync.constants import SETTINGS, SYNC_LOG, SYNC_MAPPING
from o2o_sync.setup.portal_rows import insert_invoice
from o2o_sync.sync import desk, desk_status, run_marks
from o2o_sync.sync.jobs import PULL_CONTINUE_JOB_ID, pull_lock_name, run_pull
from o2o_sync.tests.test_pull_integration import PullTestCase

#: seconds of the long queue's timeout in the test: each pull job may use half
LONG_TIMEOUT = 12


@contextmanager
def tiny_long_queue():
	"""The long queue's timeout at `LONG_TIMEOUT` seconds (common_site_config.json's `workers`,
	as Frappe reads it) for the block, then the file as it was."""
	config_path = os.path.join(frappe.utils.get_bench_path(), "sites", "common_site_config.json")
	with open(config_path) as f:
		original = f.read()
	config = json.loads(original)
	config["workers"] = {"long": {"timeout": LONG_TIMEOUT}}
	try:
		with open(config_path, "w") as f:
			json.dump(config, f, indent=1)
		yield
	finally:
		with open(config_path, "w") as f:
			f.write(original)


def wait_for(condition, seconds=300, step=0.5, what="condition"):
	"""Poll `condition()` (after a rollback, so other sessions' commits are seen) until true;
	`what` may be a callable giving the text of the failure."""
	end = time.monotonic() + seconds
	while time.monotonic() < end:
		frappe.db.rollback()
		if condition():
			return
		time.sleep(step)
	logs = frappe.get_all(
		SYNC_LOG, fields=["operation", "status", "message"], order_by="creation desc", limit=20
	)
	raise AssertionError(f"gave up waiting for {what() if callable(what) else what}; Sync Log: {logs}")


class TestBoundedJobs(PullTestCase):
	def setUp(self):
		self.batch_size = frappe.db.get_single_value(SETTINGS, "pull_batch_size")
		frappe.db.set_single_value(SETTINGS, {"pull_started_at": None, "pull_batch_size": 5})
		frappe.db.commit()
		self.since = now_datetime()  # this test counts only the rows it made
		self.invoices_before = frappe.db.count("Purchase Invoice", {"company": self.env.company})
		for job_id in (f"{PULL_CONTINUE_JOB_ID}-a", f"{PULL_CONTINUE_JOB_ID}-b", desk.PULL_JOB_ID):
			if job := get_job(job_id):  # left by an earlier run of these tests
				job.delete()
		self.worker = None

	def tearDown(self):
		if self.worker is not None:
			# RQ forks each work horse into a session of its own: stop those too
			horses = psutil.Process(self.worker.proc.pid).children(recursive=True)
			self.worker.stop()
			for horse in horses:
				if horse.is_running():
					horse.kill()
		frappe.db.set_single_value(SETTINGS, {"pull_started_at": None, "pull_batch_size": self.batch_size})
		frappe.db.commit()

	def seed(self, n: int) -> list[int]:
		line = {"vendor_id": self.env.vendors[0], "quantity": 2, "cost": "100.00", "gst_amt": "18.00"}
		return [insert_invoice(self.env.conn, self.env.entity_id, [line]) for _ in range(n)]

	def mine(self, **filters) -> dict:
		return {**filters, "creation": [">=", self.since]}

	def mapped(self) -> int:
		return frappe.db.count(SYNC_MAPPING, self.mine(status="Synced"))

	def assert_each_once(self, ids):
		rows = frappe.get_all(SYNC_MAPPING, filters=self.mine(), fields=["procureuat_id", "purchase_invoice"])
		self.assertEqual(sorted(r.procureuat_id for r in rows), sorted(ids))
		self.assertEqual(len({r.purchase_invoice for r in rows}), len(ids))
		now = frappe.db.count("Purchase Invoice", {"company": self.env.company})
		self.assertEqual(now - self.invoices_before, len(ids))  # no invoice left behind twice

	def test_a_pull_continues_itself_within_a_tiny_queue_timeout(self):
		with tiny_long_queue():
			ids = self.seed(120)
			self.worker = Worker(queues="long").start()
			frappe.enqueue("o2o_sync.sync.jobs.continue_pull", queue="long")
			frappe.db.commit()

			def done():
				last = frappe.get_all(
					SYNC_LOG,
					filters=self.mine(operation="Pull Run"),
					pluck="message",
					order_by="creation desc",
					limit=1,
				)
				return (
					self.mapped() == len(ids)
					and last
					and last[0].startswith("Pull finished: ")  # the run that queued no continuation
					and not run_marks.started_at()
					and not any(is_job_enqueued(f"{PULL_CONTINUE_JOB_ID}-{s}") for s in "ab")
				)

			wait_for(
				done, what=f"120 invoices pulled by continuing jobs; worker log:\n{self.worker.log_tail()}"
			)
		self.assert_each_once(ids)
		runs = frappe.get_all(
			SYNC_LOG, filters=self.mine(operation="Pull Run"), pluck="message", order_by="creation"
		)
		stopped = [m for m in runs if m.startswith("Pull stopped at its time budget")]
		self.assertGreaterEqual(len(stopped), 1, runs)  # more than one job did the work
		self.assertTrue(runs[-1].startswith("Pull finished: "), runs)
		self.assertEqual(frappe.get_all(SYNC_LOG, filters=self.mine(status="Failed"), pluck="message"), [])

	def test_a_reconciliation_continues_itself_within_a_tiny_queue_timeout(self):
		from o2o_sync.setup.portal_rows import db_now
		from o2o_sync.sync.frappe_port import FrappePort
		from o2o_sync.sync.jobs import RECONCILE_CONTINUE_JOB_ID

		for job_id in (f"{RECONCILE_CONTINUE_JOB_ID}-a", f"{RECONCILE_CONTINUE_JOB_ID}-b"):
			if job := get_job(job_id):
				job.delete()
		with tiny_long_queue():
			ids = self.seed(120)
			# the cursor passed them without applying them (a row committed late): the
			# reconciliation's to find
			port = FrappePort()
			port.save_cursor(db_now(self.env.conn), 0)
			frappe.db.commit()
			self.worker = Worker(queues="long").start()
			frappe.enqueue("o2o_sync.sync.jobs.run_reconcile", queue="long")
			frappe.db.commit()

			def done():
				rows = frappe.get_all(SYNC_LOG, filters=self.mine(operation="Reconcile"), pluck="message")
				return self.mapped() == len(ids) and any(m.startswith("Reconcile since") for m in rows)

			wait_for(
				done, what=lambda: f"120 invoices reconciled by continuing jobs; {self.worker.log_tail()}"
			)
		self.assert_each_once(ids)
		rows = frappe.get_all(
			SYNC_LOG, filters=self.mine(operation="Reconcile"), pluck="message", order_by="creation"
		)
		self.assertGreaterEqual(len([m for m in rows if "stopped at its time budget" in m]), 1, rows)
		self.assertEqual(frappe.get_all(SYNC_LOG, filters=self.mine(status="Failed"), pluck="message"), [])

	def test_pull_now_keeps_telling_its_user_across_continuations(self):
		from frappe.utils.background_jobs import get_redis_connection_without_auth

		from o2o_sync.sync.pull_progress import PULL_PROGRESS_EVENT

		events = get_redis_connection_without_auth().pubsub()
		events.subscribe("events")  # what the socket.io server relays to the desk
		stages = []
		with tiny_long_queue():
			ids = self.seed(120)
			self.worker = Worker(queues="long").start()
			frappe.set_user("Administrator")
			self.assertEqual(desk.enqueue_pull()["status"], "queued")
			frappe.db.commit()

			def told_done():
				while message := events.get_message(timeout=0.1):
					if message["type"] != "message":
						continue
					data = json.loads(message["data"])
					if (
						data.get("event") == PULL_PROGRESS_EVENT
						and data.get("namespace") == frappe.local.site
					):
						stages.append((data["message"]["stage"], data["room"]))
				return any(stage == "done" for stage, _room in stages)

			wait_for(
				told_done,
				what=lambda: f"the desk's pull told done; stages {stages}; {self.worker.log_tail()}",
			)
		events.close()
		self.assert_each_once(ids)
		kinds = [stage for stage, _room in stages]
		self.assertIn("continued", kinds)  # a job stopped at its budget and said so
		self.assertEqual(kinds[-1], "done")
		self.assertIn("batch", kinds[kinds.index("continued") + 1 :])  # the continuation told the same user
		self.assertEqual({room for _stage, room in stages}, {f"user:{frappe.session.user}"})

	def test_a_killed_pull_is_noticed_and_pull_now_is_free_again(self):
		ids = self.seed(150)
		self.worker = Worker(queues="long").start()
		frappe.set_user("Administrator")
		self.assertEqual(desk.enqueue_pull()["status"], "queued")
		frappe.db.commit()
		wait_for(lambda: self.mapped() >= 10, what="the pull under way")
		# the worker and its work horse (RQ forks it into a session of its own), as a lost host
		horses = psutil.Process(self.worker.proc.pid).children(recursive=True)
		os.killpg(self.worker.proc.pid, signal.SIGKILL)
		for horse in horses:
			horse.kill()
		self.worker.proc.wait()
		self.worker = None
		# the horse's connection died with it, and its lock with it
		wait_for(
			lambda: frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (pull_lock_name(),))[0][0] == 1,
			what="the lock freed",
		)
		self.assertTrue(run_marks.interrupted(pull_lock_name()))
		self.assertIn("ended without finishing", desk_status.last_pull_status()["interrupted"])
		# RQ still lists the job as started: Pull now sees it is dead and queues a new one
		self.assertTrue(is_job_enqueued(desk.PULL_JOB_ID))
		original = desk.STALE_AFTER_SECONDS
		desk.STALE_AFTER_SECONDS = 0
		try:
			self.assertEqual(desk.enqueue_pull()["status"], "queued")
		finally:
			desk.STALE_AFTER_SECONDS = original
		get_job(desk.PULL_JOB_ID).delete()  # no worker runs it: the test pulls itself
		frappe.db.commit()
		counts = run_pull()
		failed = frappe.get_all(
			SYNC_LOG, filters=self.mine(operation="Pull Run", status="Failed"), pluck="message"
		)
		self.assertEqual(len(failed), 1, failed)
		self.assertIn("ended without finishing", failed[0])
		self.assertEqual(counts["failed"], 0)
		self.assertIsNone(run_marks.interrupted(pull_lock_name()))
		self.assertIsNone(run_marks.started_at())
		self.assert_each_once(ids)
