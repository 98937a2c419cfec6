"""Parallel backfill on a real bench (issue 13): parts run as separate long-queue jobs on real
RQ workers, every portal invoice ends in exactly one Purchase Invoice (totals to the paisa),
what changes on the portal during the backfill arrives through the incremental pull that
takes over from the boundary, progress shows in `o2o-status` and the workspace, and a part
killed with its worker is queued again by the watch and finishes where it stopped.
"""

import os
import signal
import time

import frappe
import psutil
from frappe.utils import now_datetime

from o2o_sync.benchmarks.harness import Worker
from o2o_sync.cli import backfill_line
from o2o_sync.constants import SYNC_LOG, SYNC_MAPPING
from o2o_sync.setup.portal_rows import insert_invoice
from o2o_sync.sync import backfill, backfill_state, desk, desk_status, jobs, status
from o2o_sync.tests.test_bounded_jobs import wait_for
from o2o_sync.tests.test_pull_integration import PullTestCase


class TestBackfill(PullTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		self.since = now_datetime()
		self.invoices_before = frappe.db.count("Purchase Invoice", {"company": self.env.company})
		self.workers = []

	def tearDown(self):
		for worker in self.workers:
			horses = psutil.Process(worker.proc.pid).children(recursive=True) if worker.alive() else []
			worker.stop()
			for horse in horses:
				if horse.is_running():
					horse.kill()
		# a backfill left running would keep every later pull of the site busy
		frappe.db.sql("update `tabO2O Backfill` set status = 'Stopped' where status = 'Running'")
		frappe.db.commit()

	def workers_on_long(self, n: int):
		self.workers += [Worker(queues="long").start() for _ in range(n)]

	def seed(self, n: int, history: bool = True) -> tuple[list[int], set]:
		"""`n` portal invoices, every fifth with a second vendor's line; with `history`, the
		portal's clock then passes the second they were made in. Returns (ids, slices)."""
		v = self.env.vendors
		ids, slices = [], set()
		for k in range(n):
			lines = [{"vendor_id": v[0], "quantity": 2, "cost": "100.10", "gst_amt": "18.02"}]
			if k % 5 == 0:
				lines.append({"vendor_id": v[1], "quantity": 1, "cost": "55.55", "gst_amt": "10.00"})
			rid = insert_invoice(self.env.conn, self.env.entity_id, lines)
			ids.append(rid)
			slices |= {(rid, line["vendor_id"]) for line in lines}
		if history:  # a backfill reads what changed before its boundary, NOW() - 1 s
			time.sleep(2.1)
		return ids, slices

	def portal_invoices(self) -> int:
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions WHERE invoice_generated = 1")
			return cur.fetchone()["n"]

	def mine(self, **filters) -> dict:
		return {**filters, "creation": [">=", self.since]}

	def assert_each_once(self, slices: set):
		rows = frappe.get_all(
			SYNC_MAPPING,
			filters=self.mine(),
			fields=["procureuat_id", "procureuat_vendor_id", "purchase_invoice", "status"],
		)
		self.assertEqual(sorted((r.procureuat_id, r.procureuat_vendor_id) for r in rows), sorted(slices))
		self.assertEqual(len({r.purchase_invoice for r in rows}), len(slices))
		self.assertEqual({r.status for r in rows}, {"Synced"})
		now = frappe.db.count("Purchase Invoice", {"company": self.env.company})
		self.assertEqual(now - self.invoices_before, len(slices))

	def finished(self, name: str):
		def check():
			p = backfill_state.progress(name)
			return p["status"] == "Done" and not jobs.pull_running()

		return check

	def test_two_workers_read_each_invoice_once_and_the_pull_takes_over(self):
		ids, slices = self.seed(60)
		total = self.portal_invoices()  # with those the other test of the class made
		self.workers_on_long(2)
		started = backfill.start_backfill(jobs=2)
		self.assertEqual((started["total"], started["parts"]), (total, 2), started)
		# the portal changes during the backfill: an edit of an invoice and a new one
		with self.env.conn.cursor() as cur:
			cur.execute(
				"UPDATE purchase_order_items SET cost = 200.20, gst_amt = 36.04, updated_at = NOW()"
				" WHERE purchase_order_id = %s AND vendor_id = %s",
				(ids[-1], self.env.vendors[0]),
			)
			cur.execute("UPDATE purchase_requisitions SET updated_at = NOW() WHERE id = %s", (ids[-1],))
		self.env.conn.commit()
		_new_ids, new_slices = self.seed(1, history=False)
		# while it runs, the pull answers busy and Pull now says so
		self.assertEqual(jobs.run_pull(), {"status": "busy"})
		self.assertTrue(jobs.pull_running())
		wait_for(
			self.finished(started["backfill"]),
			what=lambda: (
				f"the backfill done; worker logs:\n{self.workers[0].log_tail()}\n{self.workers[1].log_tail()}"
			),
		)
		wait_for(
			lambda: (
				frappe.db.count(SYNC_MAPPING, self.mine()) == len(slices | new_slices)
				and frappe.db.get_value(
					"Purchase Invoice",
					frappe.db.get_value(
						SYNC_MAPPING,
						{"procureuat_id": ids[-1], "procureuat_vendor_id": self.env.vendors[0]},
						"purchase_invoice",
					),
					"net_total",
				)
				== 200.20
			),
			what="the incremental pull after the backfill",
		)
		self.assert_each_once(slices | new_slices)
		name = frappe.db.get_value(
			SYNC_MAPPING,
			{"procureuat_id": ids[1], "procureuat_vendor_id": self.env.vendors[0]},
			"purchase_invoice",
		)
		pi = frappe.get_doc("Purchase Invoice", name)
		self.assertEqual((pi.net_total, pi.total_taxes_and_charges, pi.grand_total), (100.10, 18.02, 118.12))
		progress = backfill_state.progress(started["backfill"])
		self.assertEqual((progress["parts_done"], progress["parts"]), (2, 2))
		self.assertEqual(progress["failed"], 0)
		# the edited invoice changed after the boundary: the part did not read it, the pull did
		self.assertEqual((progress["read"], progress["total"]), (total - 1, total))
		logs = frappe.get_all(
			SYNC_LOG, filters=self.mine(operation="Backfill"), pluck="message", order_by="creation"
		)
		self.assertIn("started", logs[0])
		done = f"finished: read {total - 1} of {total} portal invoice(s) in 2 part(s)"
		self.assertTrue(any(done in m for m in logs), logs)
		self.assertEqual(frappe.get_all(SYNC_LOG, filters=self.mine(status="Failed"), pluck="message"), [])
		# what o2o-status and the workspace show
		line = backfill_line(status.sync_status()["backfill"])
		self.assertIn(f"Done, parts 2 of 2 done, invoices {total - 1} of {total} read", line)
		self.assertEqual(desk_status.last_pull_status()["backfill"]["name"], started["backfill"])

	def test_a_part_killed_with_its_worker_is_resumed_by_the_watch(self):
		_ids, slices = self.seed(90)
		total = self.portal_invoices()
		self.workers_on_long(1)
		started = backfill.start_backfill(jobs=2)
		wait_for(
			lambda: backfill_state.progress(started["backfill"])["read"] >= 10,
			what="the first part under way",
		)
		worker = self.workers.pop()
		horses = psutil.Process(worker.proc.pid).children(recursive=True)
		os.killpg(worker.proc.pid, signal.SIGKILL)
		for horse in horses:
			horse.kill()
		worker.proc.wait()
		worker.stop()
		wait_for(
			lambda: all(
				frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (backfill_state.part_lock_name(p.name),))[0][0] == 1
				for p in frappe.get_all(backfill_state.PART, filters={"parent": started["backfill"]})
			),
			what="the killed part's lock freed with its connection",
		)
		read_before = backfill_state.progress(started["backfill"])["read"]
		self.workers_on_long(1)
		original = backfill_state.STALE_SECONDS
		backfill_state.STALE_SECONDS = 0
		try:
			resumed = backfill_state.watch()
		finally:
			backfill_state.STALE_SECONDS = original
		frappe.db.commit()
		self.assertTrue(resumed)
		wait_for(
			self.finished(started["backfill"]),
			what=lambda: f"the backfill done; {self.workers[0].log_tail()}",
		)
		self.assert_each_once(slices)
		progress = backfill_state.progress(started["backfill"])
		self.assertEqual((progress["read"], progress["total"]), (total, total))
		self.assertGreaterEqual(read_before, 10)
		failed = frappe.get_all(
			SYNC_LOG, filters=self.mine(operation="Backfill", status="Failed"), pluck="message"
		)
		self.assertTrue(failed and all("ended without finishing" in m for m in failed), failed)

	def test_a_backfill_whose_parts_are_done_but_not_its_end_is_ended_by_the_watch(self):
		from frappe.utils.background_jobs import get_job, is_job_enqueued

		doc = frappe.get_doc(
			{
				"doctype": backfill_state.BACKFILL,
				"status": "Running",
				"total": 3,
				"jobs": 1,
				"boundary": "2026-12-01 10:00:00",
				"started_at": now_datetime(),
				"parts": [
					{"part_no": 1, "first_id": 0, "last_id": 9, "total": 3, "read_count": 3, "status": "Done"}
				],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		job_id = f"o2o_sync::backfill-finish::{doc.name}"
		try:
			self.assertEqual(backfill_state.watch(), [])
			frappe.db.commit()
			self.assertTrue(is_job_enqueued(job_id))
			backfill.finish_backfill(doc.name)  # what the queued job runs
		finally:  # no worker here: nothing of it may wait for a later test's worker
			for leftover in (job_id, f"{jobs.PULL_CONTINUE_JOB_ID}-a", f"{jobs.PULL_CONTINUE_JOB_ID}-b"):
				if job := get_job(leftover):
					job.delete()
		progress = backfill_state.progress(doc.name)
		self.assertEqual((progress["status"], progress["read"], progress["parts_done"]), ("Done", 3, 1))
		self.assertIsNone(backfill_state.running())

	def test_the_bench_command_starts_one_waits_for_it_and_refuses_a_second(self):
		from o2o_sync.cli import EXIT_BUSY, EXIT_OK, o2o_backfill
		from o2o_sync.tests.test_operator_cli import invoke

		_ids, slices = self.seed(6)
		self.workers_on_long(1)
		result = invoke(o2o_backfill, "--jobs", "1", "--wait")
		self.assertEqual(result.exit_code, EXIT_OK, (result.output, result.exception))
		self.assertRegex(result.output, r"Backfill BF-\d+ started: \d+ portal invoice\(s\) changed before")
		self.assertRegex(result.output, r"Done, parts 1 of 1 done, invoices (\d+) of \1 read")
		wait_for(lambda: frappe.db.count(SYNC_MAPPING, self.mine()) == len(slices), what="the new invoices")
		self.assert_each_once(slices)
		# while one runs, a second is refused (exit 2) and the pull says busy
		running = frappe.get_doc(
			{
				"doctype": backfill_state.BACKFILL,
				"status": "Running",
				"boundary": "2026-12-01 10:00:00",
				"started_at": now_datetime(),
				"parts": [{"part_no": 1, "first_id": 0, "last_id": 9, "status": "Queued"}],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		result = invoke(o2o_backfill)
		self.assertEqual(result.exit_code, EXIT_BUSY, result.output)
		self.assertIn(f"backfill {running.name} is running", result.output)

	def test_only_a_manager_may_start_one_and_bad_parts_are_refused(self):
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				desk.backfill()
		finally:
			frappe.set_user("Administrator")
		with self.assertRaises(frappe.ValidationError):
			desk.backfill(jobs="0")
		with self.assertRaises(frappe.ValidationError):
			desk.backfill(jobs="two")
