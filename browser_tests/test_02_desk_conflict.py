"""A person settles a conflict from the Sync Mapping form: both sides changed a pulled draft's
remarks; **Keep ProcureUAT** writes the portal's value into the draft and the mapping is Synced."""

from o2o_sync.constants import KEEP_PROCUREUAT, OP_RESOLVE, PURCHASE_INVOICE, SYNC_LOG, SYNC_MAPPING, SYNCED


def test_keep_procureuat_changes_the_draft(site_data, desk, bench):
	held = bench.execute("o2o_sync.setup.browser_scenarios.make_conflict")
	desk.open(f"/app/sync-mapping/{held['mapping']}")
	page = desk.page
	# the form shows both sides' values of the field in question, side by side
	for value in (held["portal_value"], held["erpnext_value"]):
		desk.wait_for(f"{value!r} on the form", lambda v=value: page.get_by_text(v).first.is_visible())
	desk.shot("held-for-a-person")

	keep = desk.button(KEEP_PROCUREUAT)  # in the form's Resolve menu, now open
	desk.shots.take(page, desk.test, "resolve-menu")
	keep.click()
	desk.confirm_if_asked()
	desk.wait_for(
		"the mapping to return to Synced",
		lambda: desk.value(SYNC_MAPPING, held["mapping"], "status") == SYNCED,
	)
	desk.shot("mapping-synced")
	assert desk.value(PURCHASE_INVOICE, held["invoice"], "remarks") == held["portal_value"]
	# who chose what is in the Sync Log
	assert desk.count(SYNC_LOG, {"operation": OP_RESOLVE, "reference_name": held["invoice"]}) >= 1

	desk.open(f"/app/purchase-invoice/{held['invoice']}")
	page.evaluate("() => cur_frm.scroll_to_field('remarks')")
	remarks = page.locator('.frappe-control[data-fieldname="remarks"]:visible textarea').first
	desk.wait_for("the portal's remarks on the draft", lambda: remarks.input_value() == held["portal_value"])
	desk.shot("draft-has-the-portal-value")
