"""Someone is told of what the sync holds (desk notifications, once each), the console's view of
it (`sync_status`), and the "Latest edit wins" strategy with the site in another time zone
than the portal's Asia/Kolkata, on a real bench.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import add_to_date, now_datetime

from o2o_sync.constants import HELD_DRAFT_EDITED, LATEST_EDIT_WINS, SETTINGS
from o2o_sync.sync.notifications import notify_held
from o2o_sync.sync.sync_utils import sync_status
from o2o_sync.tests.conflict_world import ConflictTestCase

KOLKATA = ZoneInfo("Asia/Kolkata")


class TestConflictNotices(ConflictTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.named = cls.make_user("Accounts User", "named")
		cls.manager = cls.make_user("Accounts Manager", "manager")
		cls.retired = cls.make_user("Accounts Manager", "retired", enabled=0)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def make_user(cls, role, who, enabled=1) -> str:
		email = f"o2o-{who}-{cls.env.abbr.lower()}@example.com"
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": who,
				"send_welcome_email": 0,
				"enabled": enabled,
			}
		).insert(ignore_permissions=True)
		user.add_roles(role)
		return email

	def set_notify_users(self, users):
		settings = frappe.get_doc(SETTINGS)
		settings.set("notify_users", [{"user": u} for u in users])
		settings.save(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep

	def told(self, user, mapping) -> list[str]:
		return frappe.get_all(
			"Notification Log",
			{"for_user": user, "document_type": "Sync Mapping", "document_name": mapping},
			pluck="subject",
		)

	def both_changed(self, rid=None) -> int:
		rid = rid or self.invoice(remark="as billed")
		self.pull()
		pi = self.pi(rid)
		pi.remarks = f"accountant's note {self.seconds}"
		pi.save(ignore_permissions=True)
		self.edit(rid, remark=f"vendor's <b>remark</b> {self.seconds}")
		self.assertEqual(self.pull()["conflict"], 1)  # the pull tells at once
		self.held(rid, HELD_DRAFT_EDITED)
		return rid

	def test_each_new_conflict_is_told_once_to_the_users_the_settings_name(self):
		self.set_notify_users([self.named])
		try:
			rid = self.both_changed()
			mapping = self.mapping(rid).name
			[subject] = self.told(self.named, mapping)
			self.assertIn(f"Requisition {rid}", subject)
			self.assertIn("held for a person: Both sides changed the draft", subject)
			self.assertEqual(self.told(self.manager, mapping), [])  # named users only
			# not every hour: later pulls and passes tell nobody again
			self.pull()
			self.assertEqual(notify_held()["conflicts"], 0)
			self.assertEqual(len(self.told(self.named, mapping)), 1)
			# settled, then held again: a new conflict, told again
			self.resolve(rid, keep="ERPNext")
			self.assertIsNone(self.mapping(rid).notified_at)
			self.both_changed(rid)
			self.assertEqual(len(self.told(self.named, mapping)), 2)
		finally:
			self.set_notify_users([])

	def test_by_default_every_enabled_accounts_manager_is_told(self):
		rid = self.both_changed()
		mapping = self.mapping(rid).name
		self.assertEqual(len(self.told(self.manager, mapping)), 1)
		self.assertEqual(self.told(self.retired, mapping), [])
		self.assertEqual(self.told(self.named, mapping), [])
		self.assertTrue(self.mapping(rid).notified_at)

	def test_an_invoice_failing_for_more_than_a_day_is_told_once(self):
		rid = self.invoice(gst_amt="17.00")  # matches no GST slab: fails every run
		self.assertEqual(self.pull()["failed"], 1)
		mapping = self.mapping(rid)
		self.assertEqual(mapping.status, "Failed")
		self.assertTrue(mapping.failing_since)
		self.assertEqual(self.told(self.manager, mapping.name), [])  # not a day yet
		next_day = add_to_date(now_datetime(), hours=25)
		self.assertGreaterEqual(notify_held(now=next_day)["failing"], 1)
		[subject] = self.told(self.manager, mapping.name)
		self.assertIn(f"Requisition {rid}", subject)
		self.assertIn("failing since", subject)
		self.assertIn("matches no GST slab", subject)
		notify_held(now=add_to_date(next_day, hours=1))
		self.assertEqual(len(self.told(self.manager, mapping.name)), 1)

	def test_sync_status_counts_and_runs(self):
		self.both_changed()
		status = sync_status()
		counts = frappe.get_all("Sync Mapping", fields=["status", "count(name) as n"], group_by="status")
		expected = {"Synced": 0, "Pending": 0, "Failed": 0, "Conflict": 0} | {r.status: r.n for r in counts}
		self.assertEqual(status["counts"], expected)
		self.assertGreaterEqual(status["counts"]["Conflict"], 1)
		[run] = frappe.get_all(
			"Sync Log", {"operation": "Pull Run"}, ["status", "message"], order_by="creation desc", limit=1
		)
		self.assertEqual(
			(status["last_pull"]["status"], status["last_pull"]["message"]), (run.status, run.message)
		)
		self.assertIn("conflict 1", status["last_pull"]["summary"])
		self.assertTrue(status["cursor"]["updated_at"])


class TestLatestEditWinsAcrossTimeZones(ConflictTestCase):
	"""The site's clock in UTC or in Asia/Kolkata, the portal's always in Asia/Kolkata."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.db.set_single_value(SETTINGS, "conflict_strategy", LATEST_EDIT_WINS)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		cls.set_site_zone("Asia/Kolkata")
		super().tearDownClass()

	@staticmethod
	def set_site_zone(zone):
		frappe.db.set_single_value("System Settings", "time_zone", zone)
		frappe.clear_document_cache("System Settings", "System Settings")
		frappe.local.system_settings = None
		frappe.db.commit()  # nosemgrep

	def case(self, zone: str, erpnext_minutes_later: int) -> str:
		"""Both sides change the remark of a draft; ERPNext's `modified` (in the site's `zone`)
		is `erpnext_minutes_later` minutes after the portal's `updated_at`. Returns the remark kept."""
		self.set_site_zone(zone)
		rid = self.invoice(remark="first")
		self.pull()
		pi = self.pi(rid)
		pi.remarks = "accountant's note"
		pi.save(ignore_permissions=True)
		portal_at = self.later()  # the portal's clock, Asia/Kolkata
		erpnext_at = portal_at + timedelta(minutes=erpnext_minutes_later)
		in_site_zone = erpnext_at.replace(tzinfo=KOLKATA).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
		frappe.db.set_value("Purchase Invoice", pi.name, "modified", in_site_zone, update_modified=False)
		frappe.db.commit()  # nosemgrep
		self.edit(rid, remark="vendor's new remark", updated_at=portal_at)
		counts = self.pull()
		self.assertEqual(counts["conflict"], 0)
		self.assertEqual(self.mapping(rid).status, "Synced")
		return self.pi(rid).remarks

	def test_site_in_utc_erpnext_edited_later(self):
		# ERPNext's wall clock reads 5½ hours earlier than the portal's, yet its edit is the later one
		self.assertEqual(self.case("UTC", 10), "accountant's note")

	def test_site_in_utc_portal_edited_later(self):
		self.assertEqual(self.case("UTC", -10), "vendor's new remark")

	def test_site_in_kolkata_erpnext_edited_later(self):
		self.assertEqual(self.case("Asia/Kolkata", 10), "accountant's note")

	def test_site_in_kolkata_portal_edited_later(self):
		self.assertEqual(self.case("Asia/Kolkata", -10), "vendor's new remark")
