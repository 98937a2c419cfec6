"""**Cursor > Backfill in parallel** on O2O Sync Settings: the dialog starts a backfill as a
background job; its progress (parts done, invoices read of those counted at the start) shows
at the top of the form until it is Done, and the workspace's **Last pull** block says so too.
New portal invoices of the demo portal end in exactly one Purchase Invoice each."""

from o2o_sync.constants import F_PROCUREUAT_ID, FAILED, SYNC_MAPPING

BACKFILL = "O2O Backfill"


def test_backfill_from_the_settings_shows_its_progress_until_done(site_data, desk, bench):
	added = bench.execute("o2o_sync.setup.browser_scenarios.add_portal_invoices", count=8)
	ids = added["requisition_ids"]
	desk.open("/app/o2o-sync-settings")
	before = desk.count(BACKFILL)
	failing = desk.count(SYNC_MAPPING, {"status": FAILED})  # an earlier test's: read again, failing again
	page = desk.page
	desk.click("Backfill in parallel")
	dialog = page.locator(".modal.show")
	dialog.locator("input[data-fieldname='jobs']").fill("2")
	desk.shot("dialog")
	dialog.locator(".modal-footer .btn-primary").click()

	name = desk.wait_for(
		"the backfill started",
		lambda: (
			desk.count(BACKFILL) > before
			and desk.call("o2o_sync.sync.backfill_state.backfill_progress")["name"]
		),
		timeout=120,
	)
	bar = page.locator("[data-o2o-backfill]").filter(has_text=name)
	desk.wait_for("its progress at the top of the form", lambda: bar.count() > 0, timeout=60)
	desk.shot("progress")
	done = page.locator("[data-o2o-backfill='Done']").filter(has_text=name)
	desk.wait_for("the backfill done on the form", lambda: done.count() > 0, timeout=300)
	text = done.first.inner_text()
	latest = desk.call("o2o_sync.sync.backfill_state.backfill_progress")
	assert latest["status"] == "Done" and latest["parts_done"] == latest["parts"], latest
	assert f"invoices {latest['read']} of {latest['total']} read" in text, text
	assert latest["failed"] <= failing, latest
	desk.shot("done")
	# each new portal invoice once (the incremental pull after it finds nothing twice)
	desk.wait_for(
		"each new invoice mapped",
		lambda: desk.count(SYNC_MAPPING, {F_PROCUREUAT_ID: ["in", ids]}) == len(ids),
		timeout=120,
	)
	desk.open("/app/o2o-sync")
	block = desk.wait_for(
		"the workspace's backfill line",
		lambda: page.evaluate(
			"""() => { for (const host of document.querySelectorAll('*')) {
				const el = host.shadowRoot && host.shadowRoot.querySelector('[data-o2o="backfill"]');
				if (el && el.textContent.trim()) return el.textContent.trim(); } return null; }"""
		),
		timeout=60,
	)
	assert latest["name"] in block and "Done" in block, block
	desk.shot("workspace")
	desk.check_no_errors()
