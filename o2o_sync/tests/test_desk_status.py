"""The O2O Sync workspace's numbers: each card, the chart and the "Last pull" block return what
the database holds, counted here independently by SQL (issue 8, "The operator's desk").

The workspace, cards, chart and block are the records `bench migrate` syncs from the app's
files; a test checks they are there and point at these methods.
"""

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	FAILED,
	ORIGIN_PORTAL,
	PENDING,
	PULL,
	PUSH,
	SETTINGS,
	SKIPPED,
	SUCCESS,
	SYNC_LOG,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.o2o_sync.dashboard_chart_source.sync_log_per_day.sync_log_per_day import get as chart_get
from o2o_sync.setup.desk_blocks import LAST_PULL_BLOCK
from o2o_sync.sync import desk_status
from o2o_sync.sync.scope import mapped_companies

test_ignore = ["Purchase Invoice"]

#: portal ids of this module's rows, far from the demo's and the integration tests'
BASE_ID = 970000


def make_mapping(n: int, status: str, **values) -> str:
	doc = frappe.get_doc(
		{
			"doctype": SYNC_MAPPING,
			"procureuat_id": BASE_ID + n,
			"procureuat_vendor_id": 1,
			"origin": ORIGIN_PORTAL,
			"status": status,
			**values,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def make_log(operation: str, status: str, direction=PULL, created=None, message="x", **values) -> str:
	doc = frappe.get_doc(
		{
			"doctype": SYNC_LOG,
			"direction": direction,
			"operation": operation,
			"status": status,
			"message": message,
			**values,
		}
	).insert(ignore_permissions=True)
	if created is not None:
		frappe.db.set_value(SYNC_LOG, doc.name, "creation", created, update_modified=False)
	return doc.name


class TestDeskStatus(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def test_workspace_cards_and_chart_are_synced_from_the_app(self):
		workspace = frappe.get_doc("Workspace", "O2O Sync")
		self.assertEqual(workspace.module, "O2O Sync")
		self.assertTrue(workspace.public)
		cards = {c.number_card_name: c.label for c in workspace.number_cards}
		self.assertEqual(
			list(cards.values()),
			[
				"Pending",
				"Failed",
				"Conflict",
				"Not on the portal yet",
				"Pulled (24 hours)",
				"Pushed (24 hours)",
			],
		)
		for name in cards:
			card = frappe.get_doc("Number Card", name)
			self.assertEqual(card.type, "Custom")
			self.assertTrue(frappe.get_attr(card.method))  # importable and whitelisted
			self.assertIn(frappe.get_attr(card.method), frappe.whitelisted)
		# the desk finds a block's widget by the label of the workspace's row
		blocks = json.loads(workspace.content)
		labels = {
			"number_card": [c.label for c in workspace.number_cards],
			"chart": [c.label for c in workspace.charts],
			"custom_block": [c.label for c in workspace.custom_blocks],
		}
		shown = {t: [b["data"][f"{t}_name"] for b in blocks if b["type"] == t] for t in labels}
		self.assertEqual(shown, labels)
		self.assertEqual([c.custom_block_name for c in workspace.custom_blocks], [LAST_PULL_BLOCK])
		self.assertTrue(frappe.db.exists("Custom HTML Block", LAST_PULL_BLOCK))
		chart = frappe.get_doc("Dashboard Chart", workspace.charts[0].chart_name)
		self.assertEqual((chart.chart_type, chart.source), ("Custom", "Sync Log per Day"))
		shortcuts = {s.label: (s.link_to, s.stats_filter) for s in workspace.shortcuts}
		self.assertEqual(shortcuts["Conflicts"], (SYNC_MAPPING, json.dumps({"status": CONFLICT})))
		self.assertEqual(shortcuts["Failed"], (SYNC_MAPPING, json.dumps({"status": FAILED})))
		self.assertEqual(
			{shortcuts[k][0] for k in ("O2O Sync Settings", "Database Connections", "Sync Log")},
			{SETTINGS, "Database Connection", SYNC_LOG},
		)

	def test_status_cards_count_the_mappings_in_each_status(self):
		before = {
			s: desk_status.status_card(json.dumps({"status": s}))["value"]
			for s in (PENDING, FAILED, CONFLICT)
		}
		for n, status in enumerate([FAILED, FAILED, CONFLICT, PENDING, SYNCED, FAILED]):
			make_mapping(n, status)
		for status, added in ((PENDING, 1), (FAILED, 3), (CONFLICT, 1)):
			card = desk_status.status_card({"status": status})
			self.assertEqual(card["value"], before[status] + added, status)
			sql = frappe.db.sql("select count(*) from `tabSync Mapping` where status = %s", status)[0][0]
			self.assertEqual(card["value"], sql, status)
			# a click opens the list that shows exactly that many
			self.assertEqual(
				(card["route"], card["route_options"]), (["List", SYNC_MAPPING], {"status": status})
			)
			self.assertEqual(frappe.db.count(SYNC_MAPPING, card["route_options"]), card["value"])
		with self.assertRaises(frappe.ValidationError):
			desk_status.status_card({"status": SYNCED})

	def test_not_on_the_portal_card_counts_submitted_invoices_the_push_has_not_placed(self):
		card = desk_status.unpushed_card()
		companies = sorted(mapped_companies()) or [""]
		sql = frappe.db.sql(
			f"""select count(*) from `tabPurchase Invoice` where docstatus = 1
			and o2o_sync_status in ('Pending', 'Failed') and procureuat_id = 0
			and company in ({", ".join(["%s"] * len(companies))})""",
			companies,
		)[0][0]
		self.assertEqual(card["value"], sql)
		self.assertEqual(card["route"], ["List", "Purchase Invoice"])
		self.assertEqual(frappe.db.count("Purchase Invoice", card["route_options"]), card["value"])

	def test_activity_cards_count_what_went_through_in_the_last_24_hours(self):
		before = {d: desk_status.activity_card({"direction": d})["value"] for d in ("pull", "push")}
		now = now_datetime()
		make_log("Create", SUCCESS)
		make_log("Update", SUCCESS, created=add_to_date(now, hours=-23))
		make_log("Update", SUCCESS, created=add_to_date(now, hours=-25))  # too old
		make_log("Create", FAILED)  # did not go through
		make_log("Link", SUCCESS)  # nothing written
		make_log("Pull Run", SUCCESS)
		make_log("Push", SUCCESS, direction=PUSH)
		make_log("Push", FAILED, direction=PUSH)
		make_log("Payment Status", SUCCESS, direction=PUSH)
		pulled = desk_status.activity_card(json.dumps({"direction": "pull"}))
		pushed = desk_status.activity_card({"direction": "push"})
		self.assertEqual(pulled["value"], before["pull"] + 2)
		self.assertEqual(pushed["value"], before["push"] + 1)
		since = add_to_date(now, hours=-24)
		for card, direction, operations in ((pulled, PULL, ("Create", "Update")), (pushed, PUSH, ("Push",))):
			sql = frappe.db.sql(
				"""select count(*) from `tabSync Log` where direction = %s and status = 'Success'
				and operation in %s and creation > %s""",
				(direction, operations, since),
			)[0][0]
			self.assertEqual(card["value"], sql)
			# a click opens the Sync Log list with the same filters
			self.assertEqual(card["route"], ["List", SYNC_LOG])
			self.assertEqual(card["route_options"]["direction"], direction)
			self.assertEqual(card["route_options"]["operation"], ["in", list(operations)])

	def test_chart_counts_sync_log_rows_per_day_by_status(self):
		today = getdate()
		before = desk_status.sync_log_per_day(30)
		make_log("Create", SUCCESS)
		make_log("Update", SUCCESS)
		make_log("Create", FAILED)
		three_days_ago = get_datetime(f"{add_days(today, -3)} 10:00:00")
		make_log("Update", CONFLICT, created=three_days_ago)
		make_log("Skip", SKIPPED, created=get_datetime(f"{add_days(today, -40)} 10:00:00"))
		after = desk_status.sync_log_per_day(30)

		self.assertEqual(len(after["labels"]), 30)
		self.assertEqual(after["labels"][-1], today.strftime("%d %b"))
		self.assertEqual(after["labels"][-4], add_days(today, -3).strftime("%d %b"))
		self.assertEqual([d["name"] for d in after["datasets"]], [SUCCESS, FAILED, CONFLICT, SKIPPED])
		added = {
			(a["name"], i): a["values"][i] - b["values"][i]
			for a, b in zip(after["datasets"], before["datasets"], strict=True)
			for i in range(30)
			if a["values"][i] != b["values"][i]
		}
		self.assertEqual(added, {(SUCCESS, 29): 2, (FAILED, 29): 1, (CONFLICT, 26): 1})
		# every value is the database's count of that day and status
		for dataset in after["datasets"]:
			for i, value in enumerate(dataset["values"]):
				day = add_days(today, i - 29)
				sql = frappe.db.sql(
					"select count(*) from `tabSync Log` where date(creation) = %s and status = %s",
					(day, dataset["name"]),
				)[0][0]
				self.assertEqual(value, sql, (day, dataset["name"]))
		# what the chart widget calls, with its filters as JSON text
		data = chart_get(chart_name="O2O Sync Log per Day", filters=json.dumps({"days": 7}))
		self.assertEqual(len(data["labels"]), 7)
		self.assertEqual(data["datasets"][0]["values"][-1], after["datasets"][0]["values"][-1])

	def test_last_pull_says_when_what_and_whether_the_portal_answered(self):
		frappe.db.delete(SYNC_LOG, {"operation": ["in", ["Pull Run", "Test Connection"]]})
		frappe.db.set_single_value(SETTINGS, {"last_pull_at": None, "last_pull_summary": None})
		status = desk_status.last_pull_status()
		self.assertIsNone(status["last_pull_at"])
		self.assertIsNone(status["portal_answered"])

		now = now_datetime()
		make_log("Test Connection", SUCCESS, message="Connected in 12 ms", created=add_to_date(now, hours=-3))
		make_log("Pull Run", SUCCESS, message="Pull finished: created 4", created=add_to_date(now, hours=-2))
		frappe.db.set_single_value(
			SETTINGS,
			{
				"last_pull_at": add_to_date(now, hours=-2, seconds=1),
				"last_pull_summary": "created 4, failed 0",
			},
		)
		status = desk_status.last_pull_status()
		self.assertEqual(status["last_pull_summary"], "created 4, failed 0")
		self.assertEqual(status["last_run"]["message"], "Pull finished: created 4")
		self.assertEqual(status["last_test"]["status"], SUCCESS)
		self.assertIs(status["portal_answered"], True)

		# a run that could not reach the portal: a failed Pull Run after the last finished pull
		make_log("Pull Run", FAILED, message="SSH bastion unreachable", created=add_to_date(now, hours=-1))
		status = desk_status.last_pull_status()
		self.assertIs(status["portal_answered"], False)
		self.assertEqual(status["portal_message"], "SSH bastion unreachable")

		make_log("Test Connection", SUCCESS, message="Connected in 9 ms")
		status = desk_status.last_pull_status()
		self.assertIs(status["portal_answered"], True)
		self.assertEqual(status["portal_message"], "Connected in 9 ms")

	def test_cards_need_read_permission(self):
		frappe.set_user("Guest")
		try:
			for call in (
				lambda: desk_status.status_card({"status": FAILED}),
				lambda: desk_status.activity_card({"direction": "pull"}),
				desk_status.last_pull_status,
				lambda: chart_get(filters="{}"),
			):
				with self.assertRaises(frappe.PermissionError):
					call()
		finally:
			frappe.set_user("Administrator")
