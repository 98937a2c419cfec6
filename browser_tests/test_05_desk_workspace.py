"""The **O2O Sync** workspace: its number cards say what the database says, a card opens the
list behind its number, and the workspace shows the last pull. Runs after the other desk
tests, so the cards count their pulls, plus a conflict and a failed invoice of its own."""

from o2o_sync.constants import (
	CONFLICT,
	F_PROCUREUAT_ID,
	F_SYNC_STATUS,
	FAILED,
	PENDING,
	PULL,
	PURCHASE_INVOICE,
	PUSH,
	SETTINGS,
	SUCCESS,
	SYNC_LOG,
	SYNC_MAPPING,
)

#: Sync Log operations a "Pulled" / "Pushed" card counts: an invoice written on the other side
PULLED_OPERATIONS = ["Create", "Update"]
PUSHED_OPERATIONS = ["Push"]


def _written_since_yesterday(desk, direction: str, operations: list[str]) -> int:
	since = desk.page.evaluate("() => frappe.datetime.add_days(frappe.datetime.now_datetime(), -1)")
	return desk.count(
		SYNC_LOG,
		{
			"direction": direction,
			"status": SUCCESS,
			"operation": ["in", operations],
			"creation": [">", since],
		},
	)


def _mapped_companies(desk) -> list[str]:
	"""The companies O2O Sync Settings maps to portal entities, as the page's user reads them."""
	settings = desk.call("frappe.client.get", doctype=SETTINGS, name=SETTINGS)
	return sorted({row["company"] for row in settings.get("entities") or []})


def _expected(desk) -> dict:
	"""Each card's number, counted in the database (`frappe.client.get_count`)."""
	return {
		"Pending": desk.count(SYNC_MAPPING, {"status": PENDING}),
		"Failed": desk.count(SYNC_MAPPING, {"status": FAILED}),
		"Conflict": desk.count(SYNC_MAPPING, {"status": CONFLICT}),
		# submitted invoices of the mapped companies whose push never reached the portal (so no
		# portal id, no mapping); other companies' invoices are not the sync's (issue 11)
		"Not on the portal yet": desk.count(
			PURCHASE_INVOICE,
			{
				"company": ["in", _mapped_companies(desk) or [""]],
				"docstatus": 1,
				F_SYNC_STATUS: ["in", [PENDING, FAILED]],
				F_PROCUREUAT_ID: 0,
			},
		),
		"Pulled (24 hours)": _written_since_yesterday(desk, PULL, PULLED_OPERATIONS),
		"Pushed (24 hours)": _written_since_yesterday(desk, PUSH, PUSHED_OPERATIONS),
	}


def test_cards_match_the_database(site_data, desk, bench):
	bench.execute("o2o_sync.setup.browser_scenarios.make_conflict")
	bench.execute("o2o_sync.setup.browser_scenarios.make_failed_invoice", repair=0)
	desk.open("/app/o2o-sync")
	page = desk.page
	expected = _expected(desk)
	cards = page.locator(".number-widget-box")

	def shown() -> dict:
		return {
			# text_content: the label as written (the card shows it in capitals)
			c.locator(".widget-title").text_content().strip(): c.locator(".number").inner_text().strip()
			for c in cards.all()
			if c.locator(".number").count()
		}

	desk.wait_for(f"{len(expected)} number cards with their numbers", lambda: len(shown()) == len(expected))
	# the chart of Sync Log rows per day has today's bar (it draws itself with an animation)
	bars = page.locator(".dashboard-widget-box rect.bar")
	desk.wait_for(
		"the Sync Log chart's bars",
		lambda: any(float(b.get_attribute("height") or 0) > 0 for b in bars.all()),
	)
	page.wait_for_timeout(1500)
	desk.shot("workspace")
	assert {label: int(number.replace(",", "")) for label, number in shown().items()} == expected
	assert expected["Conflict"] >= 1 and expected["Failed"] >= 1 and expected["Pulled (24 hours)"] >= 1

	# the last pull: its summary, as O2O Sync Settings keeps it
	summary = desk.call("frappe.client.get_single_value", doctype=SETTINGS, field="last_pull_summary")
	desk.wait_for("the last pull's summary on the workspace", lambda: page.get_by_text(summary).count() > 0)
	for label in ("O2O Sync Settings", "Database Connections", "Conflicts", "Failed", "Sync Log"):
		assert page.locator(".shortcut-widget-box").filter(has_text=label).count() >= 1, label

	# a card opens the list behind its number
	cards.filter(has_text="Conflict").first.locator(".number").click()
	page.wait_for_url("**/app/sync-mapping**")
	desk.settle()
	rows = page.locator(".frappe-list .list-row-container")
	desk.wait_for("the conflicted mappings in the list", lambda: rows.count() == expected["Conflict"])
	desk.shot("conflicts-list")
