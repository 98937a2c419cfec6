"""The pull on a real bench when ERPNext's own database fails mid-batch, and the cursor that
belongs to the Database Connection (issue 7: the cursor never passes an invoice that was not
applied).

ERPNext's side fails for real: the test kills the pull's MariaDB connection from a second
connection, or holds a row lock from it until `innodb_lock_wait_timeout` fires. After
recovery both sides must match row for row: one Purchase Invoice per portal (requisition,
vendor), every Sync Mapping pointing at an invoice that exists, one Create row per invoice.
Portal times come from the portal's clock (`db_now`).
"""

import json
import time
from collections import defaultdict
from datetime import timedelta

import frappe
import pymysql

from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS, SYNC_LOG, SYNC_MAPPING
from o2o_sync.patches import move_cursor_to_connection
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.engines import pull_engine
from o2o_sync.sync.jobs import pull_lock, pull_lock_name
from o2o_sync.sync.sync_utils import bulk_sync_from_external, reconcile_now, rescan_from_date
from o2o_sync.tests.portal_edits import touch_invoice, touch_line
from o2o_sync.tests.test_pull_integration import PullTestCase


def site_connection() -> pymysql.Connection:
	"""A second connection to the site's database, as the site's own user."""
	conf = frappe.conf
	return pymysql.connect(
		host=conf.db_host or "127.0.0.1",
		port=int(conf.db_port or 3306),
		user=conf.db_user or conf.db_name,
		password=conf.db_password,
		database=conf.db_name,
		autocommit=False,
	)


class TestPullRecovery(PullTestCase):
	def setUp(self):
		self.connection = frappe.db.get_single_value(SETTINGS, "database_connection")

	def seed(self, n: int, vendor: int = 0) -> list[int]:
		line = {"vendor_id": self.env.vendors[vendor], "quantity": 2, "cost": "100.00", "gst_amt": "18.00"}
		return [insert_invoice(self.env.conn, self.env.entity_id, [line]) for _ in range(n)]

	def run_with(self, on_insert=None, sleep=None) -> dict:
		"""A pull like the scheduler's (holding the pull lock), `on_insert(n)` called before the
		n-th Purchase Invoice insert, `sleep(seconds)` between retries."""
		engine = pull_engine()
		if sleep is not None:
			engine.sleep = sleep
		if on_insert is not None:
			real, calls = engine.port.insert_invoice, [0]

			def insert(spec, submit):
				calls[0] += 1
				on_insert(calls[0])
				return real(spec, submit)

			engine.port.insert_invoice = insert
		with pull_lock():
			counts = engine.run()
			holder = frappe.db.sql("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (pull_lock_name(),))[0][0]
			self.assertEqual(holder, 1, "the pull still holds its lock after reconnecting")
		return counts

	def assert_sides_match(self):
		"""One Synced mapping per portal slice, pointing at an existing Purchase Invoice with the
		portal's number and net amount; one Create row per invoice; nothing else."""
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT pr.id, pr.invoice_number, li.vendor_id, SUM(li.cost + 0) AS cost"
				" FROM purchase_requisitions pr JOIN purchase_order_items li ON li.purchase_order_id = pr.id"
				" WHERE pr.invoice_generated = 1 GROUP BY pr.id, pr.invoice_number, li.vendor_id"
			)
			slices = {(r["id"], r["vendor_id"]): r for r in cur.fetchall()}
		mappings = frappe.get_all(
			SYNC_MAPPING,
			filters=self.env.mine(),
			fields=["procureuat_id", "procureuat_vendor_id", "purchase_invoice", "status"],
		)
		by_key = defaultdict(list)
		for row in mappings:
			by_key[(row.procureuat_id, row.procureuat_vendor_id)].append(row)
		self.assertEqual(set(by_key), set(slices))
		for key, rows in by_key.items():
			self.assertEqual(len(rows), 1, key)
			self.assertEqual(rows[0].status, "Synced", key)
			pi = frappe.db.get_value(
				"Purchase Invoice",
				rows[0].purchase_invoice,
				["bill_no", "net_total", "docstatus"],
				as_dict=True,
			)
			self.assertIsNotNone(pi, f"{key} points at {rows[0].purchase_invoice}, which does not exist")
			self.assertEqual(pi.bill_no, slices[key]["invoice_number"])
			self.assertAlmostEqual(float(pi.net_total), float(slices[key]["cost"]), places=2)
		self.assertEqual(frappe.db.count("Purchase Invoice", {"company": self.env.company}), len(slices))
		created = frappe.get_all(
			SYNC_LOG, filters=self.env.mine(operation="Create", status="Success"), pluck="procureuat_id"
		)
		self.assertEqual(sorted(created), sorted(k[0] for k in slices))
		failed = frappe.get_all(
			SYNC_LOG,
			filters=self.env.mine(status="Failed", operation=["in", ["Create", "Update"]]),
			pluck="message",
		)
		self.assertEqual(failed, [])

	def cursor(self):
		return frappe.db.get_value(
			DATABASE_CONNECTION, self.connection, ["pull_cursor_updated_at", "pull_cursor_id"]
		)

	# ------------------------------------------------------------ the failures

	def test_1_connection_killed_mid_batch_then_a_lock_wait_timeout(self):
		self.seed(5)
		killer = site_connection()
		try:
			# the pull's own MariaDB connection is killed before its 3rd Purchase Invoice
			def kill_on_third(n):
				if n != 3:
					return
				victim = frappe.db.sql("SELECT CONNECTION_ID()")[0][0]
				with killer.cursor() as cur:
					cur.execute("KILL %s", (victim,))
					for _ in range(50):  # until the server has dropped it
						cur.execute(
							"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (victim,)
						)
						if not cur.fetchone()[0]:
							break
						time.sleep(0.1)

			sleeps = []
			counts = self.run_with(kill_on_third, sleeps.append)
			self.assertEqual((counts["created"], counts["failed"]), (5, 0))
			self.assertEqual(sleeps, [1])
			self.assert_sides_match()
			ts, requisition_id = self.cursor()
			last = max(k for k in frappe.get_all(SYNC_MAPPING, pluck="procureuat_id"))
			# at the last row, or at the start of its second while the portal's clock was still in it
			self.assertIn(requisition_id, (last, 0))

			# a second connection holds the Purchase Invoice naming series; the pull's lock wait
			# times out on its 3rd insert, the batch goes back whole and is retried once released
			self.seed(4, vendor=1)
			frappe.db.sql("SET SESSION innodb_lock_wait_timeout = 1")

			def hold_series_on_third(n):
				if n == 3:
					with killer.cursor() as cur:
						cur.execute(
							"SELECT name FROM `tabSeries` WHERE name LIKE %s FOR UPDATE", ("ACC-PINV-%",)
						)

			def release(seconds):
				sleeps.append(seconds)
				killer.commit()

			sleeps.clear()
			counts = self.run_with(hold_series_on_third, release)
			self.assertEqual((counts["created"], counts["failed"]), (4, 0))
			self.assertEqual(sleeps, [1])
			self.assert_sides_match()
			self.assertGreater(self.cursor(), (ts, requisition_id))
		finally:
			killer.rollback()
			killer.close()

	def test_2_a_failure_that_persists_stops_the_run_with_one_row_and_the_cursor_unmoved(self):
		bulk_sync_from_external()
		before = self.cursor()
		self.seed(3)
		n_logs = frappe.db.count(SYNC_LOG)
		holder = site_connection()
		try:
			frappe.db.sql("SET SESSION innodb_lock_wait_timeout = 1")
			with holder.cursor() as cur:  # held for the whole run
				cur.execute("SELECT name FROM `tabSeries` WHERE name LIKE %s FOR UPDATE", ("ACC-PINV-%",))
			from o2o_sync.sync.model.errors import TransientError

			engine = pull_engine()
			engine.sleep = lambda seconds: None
			with self.assertRaises(TransientError):
				with pull_lock():
					engine.run()
		finally:
			holder.rollback()
			holder.close()
		self.assertEqual(self.cursor(), before)
		logs = frappe.get_all(
			SYNC_LOG, fields=["operation", "status", "message"], order_by="creation desc", limit=10
		)[: frappe.db.count(SYNC_LOG) - n_logs]
		self.assertEqual([(r.operation, r.status) for r in logs], [("Pull Run", "Failed")])
		self.assertIn("Lock wait timeout", logs[0].message)
		self.assertIn("the next run retries", logs[0].message)
		frappe.db.sql("SET SESSION innodb_lock_wait_timeout = 50")
		self.assertEqual(bulk_sync_from_external()["created"], 3)
		self.assert_sides_match()

	# ------------------------------------------------------------ the cursor of the connection

	def test_3_the_cursor_is_the_connections_and_the_form_cannot_move_it(self):
		bulk_sync_from_external()
		cursor = self.cursor()
		self.assertIsNotNone(cursor[0])
		doc = frappe.get_doc(DATABASE_CONNECTION, self.connection)
		doc.pull_cursor_updated_at, doc.pull_cursor_id = "2020-01-01 00:00:00", 1  # a stale form
		doc.read_timeout = 61
		doc.save(ignore_permissions=True)
		self.assertEqual(self.cursor(), cursor)
		self.assertEqual(
			json.loads(frappe.db.get_value(DATABASE_CONNECTION, self.connection, "pulled_entities")),
			[str(self.env.entity_id)],
		)

	def test_4_rescan_and_reconcile_read_again_without_duplicating(self):
		ids = self.seed(3)
		bulk_sync_from_external()
		frappe.db.commit()  # nosemgrep
		# an edit the portal stamped behind the cursor (header and line): the pull cannot see it
		late = db_now(self.env.conn) - timedelta(hours=5)
		touch_invoice(self.env.conn, ids[0], remark="stamped late", updated_at=late)
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT id FROM purchase_order_items WHERE purchase_order_id = %s", (ids[0],))
			touch_line(self.env.conn, cur.fetchone()["id"], updated_at=late)
		self.assertEqual(bulk_sync_from_external()["updated"], 0)
		result = reconcile_now(days=2)
		self.assertEqual((result["missed"], result["updated"]), (1, 1))
		name = frappe.db.get_value(SYNC_MAPPING, {"procureuat_id": ids[0]}, "purchase_invoice")
		self.assertEqual(frappe.db.get_value("Purchase Invoice", name, "remarks"), "stamped late")

		result = rescan_from_date(str((db_now(self.env.conn) - timedelta(days=1)).date()))
		self.assertEqual(result["pull"]["created"], 0)
		self.assertGreaterEqual(result["pull"]["unchanged"], 3)
		self.assert_sides_match_after_reconcile()

	def assert_sides_match_after_reconcile(self):
		self.assertEqual(
			len(frappe.get_all(SYNC_MAPPING, self.env.mine(), pluck="name")),
			frappe.db.count("Purchase Invoice", {"company": self.env.company}),
		)

	def test_5_the_patch_moves_the_old_cursor_to_the_connection(self):
		frappe.db.set_value(
			DATABASE_CONNECTION,
			self.connection,
			{"pull_cursor_updated_at": None, "pull_cursor_id": 0, "pulled_entities": None},
			update_modified=False,
		)
		for field, value in (("pull_cursor_updated_at", "2026-11-01 10:00:00"), ("pull_cursor_id", "42")):
			frappe.db.sql(
				"insert into `tabSingles` (doctype, field, value) values (%s, %s, %s)",
				(SETTINGS, field, value),
			)
		move_cursor_to_connection.execute()
		move_cursor_to_connection.execute()  # idempotent
		self.assertEqual(str(self.cursor()[0]), "2026-11-01 10:00:00")
		self.assertEqual(self.cursor()[1], 42)
		self.assertEqual(
			json.loads(frappe.db.get_value(DATABASE_CONNECTION, self.connection, "pulled_entities")),
			[str(self.env.entity_id)],
		)
		self.assertFalse(
			frappe.db.sql(
				"select 1 from `tabSingles` where doctype = %s and field like 'pull_cursor%%'", (SETTINGS,)
			)
		)

	def test_6_rescan_needs_write_on_the_settings_and_reconcile_a_manager(self):
		users = {}
		for role in ("Accounts User", "Accounts Manager"):
			email = f"h8-{role.lower().replace(' ', '-')}@example.com"
			if not frappe.db.exists("User", email):
				frappe.get_doc(
					{"doctype": "User", "email": email, "first_name": role, "roles": [{"role": role}]}
				).insert(ignore_permissions=True)
			users[role] = email
		before = self.cursor()
		try:
			frappe.set_user(users["Accounts User"])
			with self.assertRaises(frappe.PermissionError):
				rescan_from_date("2026-01-01")
			with self.assertRaises(frappe.PermissionError):
				reconcile_now(days=1)
			frappe.set_user(users["Accounts Manager"])  # may read the settings, not write them
			with self.assertRaises(frappe.PermissionError):
				rescan_from_date("2026-01-01")
			self.assertIn("missed", reconcile_now(days=1))
			with self.assertRaises(frappe.ValidationError):
				reconcile_now(days="ten")
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(self.cursor(), before)
