"""The operator's bench commands and desk jobs against a real portal through a real sshd
(issue 8, "The operator's desk"): `o2o-pull` with its progress and exit codes, `o2o-push`,
`o2o-status`, `o2o-conflicts`, `o2o-resolve`; Retry of a failed pull and push; Pull now's
realtime events per batch; the workspace's "portal answered" after a real refusal.

The commands are invoked with click's CliRunner inside this site's context (the command
reuses the test's connection), and once as bench runs them, in a process of their own.
"""

import re
import subprocess
import sys
from unittest.mock import patch

import frappe
import pymysql
from click.testing import CliRunner

from o2o_sync.cli import (
	EXIT_BUSY,
	EXIT_FAILED,
	EXIT_OK,
	o2o_conflicts,
	o2o_pull,
	o2o_push,
	o2o_resolve,
	o2o_status,
)
from o2o_sync.constants import DATABASE_CONNECTION, HELD_DRAFT_EDITED, SETTINGS, SYNC_LOG, SYNC_MAPPING
from o2o_sync.setup.erpnext_masters import make_item
from o2o_sync.sync import desk_retry, desk_status, jobs, pull_progress
from o2o_sync.sync.portal.client import close_clients
from o2o_sync.tests.conflict_world import ConflictTestCase

BATCH_SIZE = 2


def invoke(command, *args):
	"""Run a click command on this site, as `bench --site SITE command args` would."""
	return CliRunner().invoke(command, list(args), obj={"sites": [frappe.local.site], "profile": False})


class Enqueued:
	def __init__(self):
		self.calls = []

	def __call__(self, method, **kwargs):
		self.calls.append((method, kwargs))


class TestOperatorCli(ConflictTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.db.set_single_value(SETTINGS, "pull_batch_size", BATCH_SIZE)
		frappe.db.commit()  # nosemgrep: the commands and jobs read the settings
		cls.connection = frappe.db.get_single_value(SETTINGS, "database_connection")

	def mapping_status(self, rid, vendor=0):
		return frappe.db.get_value(
			SYNC_MAPPING, {"procureuat_id": rid, "procureuat_vendor_id": self.env.vendors[vendor]}, "status"
		)

	def test_pull_prints_each_batch_and_exits_0(self):
		rids = [self.invoice() for _ in range(3)]
		result = invoke(o2o_pull, "--limit", "4")
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		self.assertRegex(result.output, r"\[#+\.*\] 2/4 read, batch 1; created \d+")
		self.assertRegex(result.output, r"\] [34]/4 read, batch 2;")
		self.assertRegex(result.output, r"Pull finished: created \d+")

		result = invoke(o2o_pull)
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		self.assertRegex(result.output, r"batch 1: read \d+; created \d+, updated \d+, failed 0")
		self.assertEqual([self.mapping_status(r) for r in rids], ["Synced"] * 3)

	def test_pull_busy_failed_and_unreachable_exit_codes(self):
		# another session holds the pull lock (a scheduler's pull, another host)
		other = pymysql.connect(
			host=frappe.conf.db_host or "127.0.0.1",
			port=int(frappe.conf.db_port or 3306),
			user=frappe.conf.db_user or frappe.conf.db_name,
			password=frappe.conf.db_password,
			database=frappe.conf.db_name,
		)
		try:
			with other.cursor() as cur:
				cur.execute("SELECT GET_LOCK(%s, 0)", (jobs.pull_lock_name(),))
			result = invoke(o2o_pull)
		finally:
			other.close()
		self.assertEqual(result.exit_code, EXIT_BUSY, result.output)
		self.assertIn("Another pull is running", result.output)

		# one invoice the sync refuses (GST off every slab): exit 1, the rest goes through
		bad = self.invoice(gst_amt="17.00")
		good = self.invoice()
		result = invoke(o2o_pull)
		self.assertEqual(result.exit_code, EXIT_FAILED, result.output)
		self.assertRegex(result.output, r"Pull finished: .*failed 1")
		self.assertIn("1 invoice(s) failed: see the Sync Log.", result.output)
		self.assertEqual((self.mapping_status(bad), self.mapping_status(good)), ("Failed", "Synced"))

		# fixed on the portal; Retry of its failed Sync Log row pulls exactly it again
		self.fix_gst(bad)
		[row] = frappe.get_all(SYNC_LOG, {"procureuat_id": bad, "status": "Failed"}, pluck="name")
		enqueued = Enqueued()
		with patch("frappe.enqueue", enqueued):
			answer = desk_retry.retry_sync_logs([row])
		[(method, kwargs)] = enqueued.calls
		self.assertEqual(method, desk_retry.RETRY_PULL_JOB)
		self.assertEqual((answer["queued"]["pull"], kwargs["keys"]), ([bad], [[bad, self.env.vendors[0]]]))
		kwargs.pop("queue")
		counts = frappe.get_attr(method)(**kwargs)  # what the worker runs
		self.assertEqual(counts["failed"], 0)
		self.assertEqual(self.mapping_status(bad), "Synced")
		self.assertEqual(self.pi(bad).grand_total, 118.0)

		# the portal does not answer: exit 1, and the workspace says so
		broken = self.unreachable_connection()
		frappe.db.set_single_value(SETTINGS, "database_connection", broken)
		frappe.db.commit()  # nosemgrep
		close_clients()
		try:
			result = invoke(o2o_pull)
			self.assertEqual(result.exit_code, EXIT_FAILED, result.output)
			self.assertIn("Pull failed:", result.output)
			self.assertIs(desk_status.last_pull_status()["portal_answered"], False)
		finally:
			frappe.db.set_single_value(SETTINGS, "database_connection", self.connection)
			frappe.db.commit()  # nosemgrep
			close_clients()
		self.assertEqual(invoke(o2o_pull).exit_code, EXIT_OK)
		self.assertIs(desk_status.last_pull_status()["portal_answered"], True)

	def test_push_exit_codes_and_retry_of_a_failed_push(self):
		_rid, name = self.make_pushed()
		result = invoke(o2o_push, name)
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		self.assertRegex(result.output, rf"{re.escape(name)}: Synced\. Updated portal requisition \d+")

		result = invoke(o2o_push, "ACC-PINV-NO-SUCH-1")
		self.assertEqual(
			(result.exit_code, result.output.strip()),
			(EXIT_FAILED, "Purchase Invoice ACC-PINV-NO-SUCH-1 not found."),
		)

		# an item the portal does not know: the push fails, the invoice has no mapping yet
		unmapped = make_item(f"O2O Unmapped {self.env.abbr}")
		waiting_before = desk_status.unpushed_card()["value"]
		doc = frappe.copy_doc(
			frappe.get_doc("Purchase Invoice", name), ignore_no_copy=False
		)  # as Duplicate does
		doc.bill_no = f"{doc.bill_no}-U"
		doc.items = doc.items[:1]
		doc.items[0].item_code = unmapped
		doc.insert(ignore_permissions=True)
		doc.reload()
		doc.submit()
		self.assertEqual(frappe.db.get_value("Purchase Invoice", doc.name, "o2o_sync_status"), "Failed")
		self.assertEqual(desk_status.unpushed_card()["value"], waiting_before + 1)  # "Not on the portal yet"
		result = invoke(o2o_push, doc.name)
		self.assertEqual(result.exit_code, EXIT_FAILED, result.output)
		self.assertIn(f"{doc.name}: Failed.", result.output)

		[row] = frappe.get_all(
			SYNC_LOG, {"reference_name": doc.name, "status": "Failed"}, pluck="name", limit=1
		)
		enqueued = Enqueued()
		with patch("frappe.enqueue", enqueued):
			answer = desk_retry.retry_sync_logs([row])
		self.assertEqual(answer["queued"]["push"], [doc.name])
		self.assertEqual(
			enqueued.calls,
			[
				(
					desk_retry.PUSH_JOB,
					{
						"queue": "short",
						"job_id": f"o2o_sync::push::{doc.name}",
						"deduplicate": True,
						"invoice_name": doc.name,
					},
				)
			],
		)

	def test_status_conflicts_and_resolve(self):
		rid = self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.remarks = "accountant's note"
		pi.save(ignore_permissions=True)
		self.edit(rid, remark="vendor's new remark")
		self.assertEqual(self.pull()["conflict"], 1)
		mapping = self.held(rid, HELD_DRAFT_EDITED).name

		result = invoke(o2o_status)
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		conflicts = frappe.db.count(SYNC_MAPPING, {"status": "Conflict"})
		self.assertRegex(
			result.output, rf"Sync Mappings: Synced \d+, Pending \d+, Failed \d+, Conflict {conflicts}\n"
		)
		self.assertIn("Last pull: ", result.output)
		self.assertIn("Cursor: ", result.output)

		result = invoke(o2o_conflicts)
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		self.assertIn(f"{mapping}  {pi.name}  portal requisition {rid}", result.output)
		self.assertIn(
			"Remarks: last sync as billed | ProcureUAT vendor's new remark | ERPNext accountant's note",
			result.output,
		)
		self.assertIn("actions: Keep ERPNext, Keep ProcureUAT, Choose per field", result.output)

		self.assertEqual(invoke(o2o_resolve, mapping, "--keep", "both").exit_code, 2)  # usage
		result = invoke(o2o_resolve, mapping, "--keep", "procureuat")
		self.assertEqual(result.exit_code, EXIT_OK, result.output)
		self.assertIn(f"Resolved {mapping}: Keep ProcureUAT", result.output)
		self.assertEqual(frappe.db.get_value("Purchase Invoice", pi.name, "remarks"), "vendor's new remark")
		self.assertEqual(self.mapping_status(rid), "Synced")

		result = invoke(o2o_resolve, mapping, "--keep", "erpnext")
		self.assertEqual(result.exit_code, EXIT_FAILED, result.output)
		self.assertIn("Not resolved:", result.output)

	def test_pull_now_tells_the_user_each_batch_and_the_summary(self):
		rids = [self.invoice() for _ in range(3)]
		sent = []

		def publish(event, message, user=None, **kw):
			if event == pull_progress.PULL_PROGRESS_EVENT:  # not the desk's list updates
				sent.append((event, message, user))

		with patch("frappe.publish_realtime", publish):
			counts = pull_progress.run_pull_job()
		self.assertEqual([self.mapping_status(r) for r in rids], ["Synced"] * 3)
		stages = [m["stage"] for _e, m, _u in sent]
		self.assertEqual(stages[-1], "done")
		self.assertGreaterEqual(stages.count("batch"), 2)  # 3 new invoices, 2 per batch
		self.assertEqual({u for _e, _m, u in sent}, {frappe.session.user})
		batches = [m for _e, m, _u in sent if m["stage"] == "batch"]
		self.assertEqual([m["batches"] for m in batches], list(range(1, len(batches) + 1)))
		self.assertEqual([m["read"] for m in batches], sorted(m["read"] for m in batches))
		self.assertEqual(sent[-1][1]["counts"], counts)
		self.assertEqual(batches[-1]["created"], counts["created"])

	def test_bench_runs_the_commands_with_their_exit_codes(self):
		"""As `bench --site SITE ...` runs them: a process of their own, their own connection."""
		frappe.db.commit()  # nosemgrep: the other process sees committed data only
		command = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", frappe.local.site]
		done = subprocess.run(
			[*command, "o2o-status"], cwd=frappe.local.sites_path, capture_output=True, text=True, timeout=300
		)
		self.assertEqual(done.returncode, EXIT_OK, done.stderr)
		self.assertIn("Sync Mappings: Synced", done.stdout)
		done = subprocess.run(
			[*command, "o2o-push", "ACC-PINV-NO-SUCH-2"],
			cwd=frappe.local.sites_path,
			capture_output=True,
			text=True,
			timeout=300,
		)
		self.assertEqual(done.returncode, EXIT_FAILED, done.stderr)
		self.assertIn("not found", done.stderr)

	# ------------------------------------------------------------ helpers

	def fix_gst(self, rid):
		with self.env.conn.cursor() as cur:
			cur.execute(
				"UPDATE purchase_order_items SET gst_amt = '18.00' WHERE purchase_order_id = %s", (rid,)
			)
		self.env.conn.commit()

	def unreachable_connection(self) -> str:
		"""A copy of the portal's Database Connection whose bastion port nothing listens on."""
		name = f"Unreachable {self.env.abbr}"
		if not frappe.db.exists(DATABASE_CONNECTION, name):
			good = frappe.get_doc(DATABASE_CONNECTION, self.connection)
			frappe.get_doc(
				{
					"doctype": DATABASE_CONNECTION,
					"connection_name": name,
					"host": good.host,
					"port": good.port,
					"database_name": good.database_name,
					"username": good.username,
					"use_ssh_tunnel": 1,
					"ssh_host": good.ssh_host,
					"ssh_port": 9,  # discard: nothing listens on loopback
					"ssh_username": good.ssh_username,
					"ssh_private_key": self.env.sshd.client_private_key,
					"ssh_host_key": good.ssh_host_key,
					"connect_timeout": 3,
				}
			).insert(ignore_permissions=True)
		return name
