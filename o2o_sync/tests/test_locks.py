"""One pull at a time across hosts (issue 7, "One runner, one row").

The pull lock is MariaDB's GET_LOCK on the site's database (`jobs.pull_lock`), so a pull
started on another host of the bench (another connection to the same database) makes this
one answer busy. The other host is played by a second connection with the site's own
database credentials (`frappe.conf`).
"""

import frappe
import pymysql
from frappe.tests.utils import FrappeTestCase
from frappe.utils.file_lock import LockTimeoutError

from o2o_sync.constants import SETTINGS
from o2o_sync.sync.jobs import pull_lock, pull_lock_name
from o2o_sync.sync.sync_utils import bulk_sync_from_external


def other_host():
	"""A connection to the site's database as another host of the bench would open it."""
	conf = frappe.conf
	return pymysql.connect(
		host=conf.db_host or "127.0.0.1",
		port=int(conf.db_port or 3306),
		user=conf.db_user or conf.db_name,
		password=conf.db_password,
		database=conf.db_name,
		autocommit=True,
	)


def take(conn, timeout=0) -> int:
	with conn.cursor() as cur:
		cur.execute("SELECT GET_LOCK(%s, %s)", (pull_lock_name(), timeout))
		return cur.fetchone()[0]


def error_logs() -> int:
	return frappe.db.count("Error Log")


class TestPullLock(FrappeTestCase):
	def test_a_pull_running_on_another_host_makes_this_one_busy_without_an_error_log(self):
		before = frappe.db.get_single_value(SETTINGS, "pull_from_date")
		logs = error_logs()
		conn = other_host()
		try:
			self.assertEqual(take(conn), 1)  # the other host's pull runs
			self.assertEqual(bulk_sync_from_external(), {"status": "busy"})
			self.assertEqual(bulk_sync_from_external(from_date="2026-04-01"), {"status": "busy"})
			self.assertEqual(error_logs(), logs)
			# a busy answer changes nothing, not even the cut-over date
			self.assertEqual(frappe.db.get_single_value(SETTINGS, "pull_from_date"), before)
		finally:
			conn.close()

	def test_the_lock_holds_across_connections_and_goes_with_its_holder(self):
		conn = other_host()
		try:
			with pull_lock():
				self.assertEqual(take(conn), 0)  # held by this site's pull, seen from elsewhere
			self.assertEqual(take(conn), 1)  # released on the way out
			with self.assertRaises(LockTimeoutError):
				with pull_lock():
					pass
		finally:
			conn.close()  # the holder is gone (a killed worker): its lock goes with it
		with pull_lock(timeout=30):  # nothing left behind (once the server has seen it go)
			pass

	def test_the_lock_is_kept_across_the_runs_commits_and_rollbacks(self):
		conn = other_host()
		try:
			with pull_lock():
				frappe.db.commit()  # nosemgrep: the pull commits after every batch
				frappe.db.rollback()
				self.assertEqual(take(conn), 0)
		finally:
			conn.close()
