"""A person retries a failed invoice once the vendor fixed it on the portal: from the Sync Log
list (select the row, Actions > Retry) and from the failed row's own form."""

from o2o_sync.constants import F_PROCUREUAT_ID, FAILED, PURCHASE_INVOICE, SYNC_MAPPING, SYNCED


def _wait_until_pulled(desk, portal_id: int, company: str) -> None:
	"""Wait for the worker's pull; Purchase Invoices are counted in the browser company alone
	(another demo portal on the site numbers its requisitions from 900001 too)."""
	desk.wait_for(
		f"the retried portal invoice {portal_id} to be pulled by the worker",
		lambda: desk.count(SYNC_MAPPING, {F_PROCUREUAT_ID: portal_id, "status": SYNCED}) == 1,
		timeout=120,
	)
	assert desk.count(PURCHASE_INVOICE, {F_PROCUREUAT_ID: portal_id, "company": company, "docstatus": 0}) == 1


def test_retry_a_failed_row_from_the_list(site_data, desk, bench):
	failed = bench.execute("o2o_sync.setup.browser_scenarios.make_failed_invoice")
	portal_id = failed["procureuat_id"]
	desk.open(f"/app/sync-log?status={FAILED}")
	page = desk.page
	assert desk.count(PURCHASE_INVOICE, {F_PROCUREUAT_ID: portal_id, "company": failed["company"]}) == 0
	row = page.locator(".list-row-container").filter(
		has=page.locator(f'.list-row-checkbox[data-name="{failed["log"]}"]')
	)
	desk.wait_for("the failed row in the list", lambda: row.count() == 1)
	# the list shows what failed without opening the row
	assert failed["message"].splitlines()[0][:20] in row.inner_text()
	desk.shot("failed-row")

	row.locator(".list-row-checkbox").check()
	retry = desk.button("Retry")  # in the Actions menu, now open
	desk.shots.take(page, desk.test, "actions-retry")
	retry.click()
	dialog = page.locator(".modal.show .modal-title").filter(has_text="Retry")
	desk.wait_for("the Retry message", lambda: dialog.count() == 1)
	desk.shot("retry-queued")
	_wait_until_pulled(desk, portal_id, failed["company"])
	desk.open(f"/app/sync-log?{F_PROCUREUAT_ID}={portal_id}")
	desk.shot("retried")


def test_retry_from_the_failed_rows_form(site_data, desk, bench):
	failed = bench.execute("o2o_sync.setup.browser_scenarios.make_failed_invoice")
	desk.open(f"/app/sync-log/{failed['log']}")
	desk.shot("failed-log")
	desk.click("Retry")
	dialog = desk.page.locator(".modal.show .modal-title").filter(has_text="Retry")
	desk.wait_for("the Retry message", lambda: dialog.count() == 1)
	desk.shot("retry-queued")
	_wait_until_pulled(desk, failed["procureuat_id"], failed["company"])
	desk.open(f"/app/sync-log?{F_PROCUREUAT_ID}={failed['procureuat_id']}")
	desk.shot("retried")
