"""**Pull now** from O2O Sync Settings on the demo portal: a progress bar while the background
job pulls batch after batch, then the summary; the new invoices are in ERPNext."""

from o2o_sync.constants import F_PROCUREUAT_ID, FAILED, SYNC_MAPPING

#: records what the desk shows and receives while the job runs: whether a progress bar was
#: drawn (it may come and go between two polls) and the realtime events of the pull
WATCH = """() => {
	window.__o2o = {bars: [], events: []};
	new MutationObserver(() => {
		for (const bar of document.querySelectorAll('.progress-bar')) {
			const box = bar.closest('.modal, .form-dashboard, .layout-main-section') || bar.parentElement;
			window.__o2o.bars.push((box && box.innerText || '').trim().slice(0, 300));
		}
	}).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
	frappe.realtime.on('o2o_sync_pull_progress', (m) => window.__o2o.events.push(m));
}"""


def test_pull_now_shows_progress_and_summary(site_data, desk, bench):
	added = bench.execute("o2o_sync.setup.browser_scenarios.add_portal_invoices", count=30)
	ids = added["requisition_ids"]
	desk.open("/app/o2o-sync-settings")
	page = desk.page
	page.evaluate(WATCH)
	retried = desk.count(SYNC_MAPPING, {"status": FAILED})  # a pull retries failed invoices too
	desk.shot("settings")

	desk.click("Pull now")
	desk.confirm_if_asked()
	bar = page.locator(".progress-bar:visible").first
	bar.wait_for(state="visible", timeout=120_000)
	desk.shots.take(page, desk.test, "progress")  # at once: the bar is gone when the job ends

	done = desk.wait_for(
		"the pull's last event",
		lambda: page.evaluate("() => window.__o2o.events.find((m) => m.stage !== 'batch')"),
		timeout=180,
	)
	assert done["stage"] == "done", done
	assert len(ids) <= done["counts"]["created"] <= len(ids) + retried, done
	batches = page.evaluate("() => window.__o2o.events.filter((m) => m.stage === 'batch')")
	assert len(batches) >= added["batches"], batches
	assert batches[-1]["read"] >= len(ids)
	assert page.evaluate("() => window.__o2o.bars.length") > 0
	summary = page.get_by_text(done["summary"]).first
	desk.wait_for("the summary on the page", summary.is_visible)
	desk.shot("summary")
	assert desk.count(SYNC_MAPPING, {F_PROCUREUAT_ID: ["in", ids]}) == len(ids)
