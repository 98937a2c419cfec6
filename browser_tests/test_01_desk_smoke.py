"""The desk serves the app: the workspace and the Sync Log list open for Administrator."""

from o2o_sync.constants import SYNC_LOG


def test_workspace_opens(desk):
	desk.open("/app/o2o-sync")
	title = desk.page.locator(".page-head .title-text:visible").first
	assert title.inner_text().strip() == "O2O Sync"
	desk.shot("workspace")


def test_sync_log_list_renders(desk):
	desk.open("/app/sync-log")
	assert desk.page.locator(".page-head .title-text:visible").first.inner_text().strip() == SYNC_LOG
	rows = desk.page.locator(".frappe-list .list-row-container")
	# the filters the list applies (it remembers a person's last ones), its first page
	filters = desk.page.evaluate("() => cur_list.get_filters_for_args()")
	expected = min(desk.count(SYNC_LOG, filters), desk.page.evaluate("() => cur_list.page_length"))
	desk.wait_for(f"{expected} Sync Log rows in the list", lambda: rows.count() == expected or None)
	desk.shot("sync-log-list")
