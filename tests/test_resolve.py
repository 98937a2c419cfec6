"""A person settles what the pull held for a pulled (ProcureUAT) invoice: every held state,
every action it offers, and what each leaves on both sides (`resolve.ConflictResolver`).

The world is `decisions_world.py` (in-memory portal and ERPNext). Each case ends by running
the pull again: the settled difference does not come back (the snapshot advanced). The
ERPNext-made (pushed) invoices and the failures are in `test_resolve_push.py`.
"""

import copy
from decimal import Decimal as D

import pytest
from decisions_world import World, counts_of

from o2o_sync.constants import (
	AMEND_FROM_PROCUREUAT,
	CANCEL_IN_ERPNEXT,
	CHOOSE_PER_FIELD,
	CONFLICT,
	CREATE_FROM_PROCUREUAT,
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_CANCELLED_WITH_PAYMENTS,
	HELD_DRAFT_EDITED,
	HELD_OTHER_TOTALS,
	HELD_SUBMITTED_EDITED,
	KEEP_ERPNEXT,
	KEEP_PROCUREUAT,
	LINK_ANYWAY,
	OP_RESOLVE,
	ORIGIN_PORTAL,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.engine.resolve import ConflictResolver, ResolveError


@pytest.fixture
def w() -> World:
	return World()


def resolver(w: World) -> ConflictResolver:
	return ConflictResolver(w.port, w.portal, w.settings, pusher=w.pusher)


def resolve(w, rid, action=None, vendor="same", **kwargs) -> dict:
	return resolver(w).resolve(w.mapping(rid, vendor), action, user="accounts@o2o.test", **kwargs)


def assert_settled(w, rid, vendor="same"):
	rec = w.mapping(rid, vendor)
	assert (rec.status, rec.held_reason, rec.conflict_fields, rec.last_error) == (SYNCED, None, None, None)
	w.rerun_changes_nothing()


def both_changed_draft(w, remark=True, lines=False) -> int:
	"""A pulled draft whose remark (and first line) both sides changed since the last sync."""
	rid = w.invoice(w.line(quantity=1, cost="100.00", gst_amt="18.00"), remark="first")
	w.pull()
	doc = w.doc(rid)
	if remark:
		doc["remarks"] = "accountant's note"
		w.portal.edit(rid, remark="vendor's new remark")
	if lines:
		doc["items"][0]["qty"] = 3  # the accountant re-counted
		w.portal.edit_line(w.portal.line_ids(rid)[0], quantity=2, cost="200.00", gst_amt="36.00")
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.mapping(rid).held_reason == HELD_DRAFT_EDITED
	return rid


# ---------------------------------------------------------------- drafts both sides changed


def test_draft_held_shows_the_three_values_and_its_actions(w):
	rid = both_changed_draft(w, lines=True)
	held = resolver(w).describe(w.mapping(rid))
	assert held.held_reason == HELD_DRAFT_EDITED and held.origin == ORIGIN_PORTAL
	assert held.actions == [KEEP_ERPNEXT, KEEP_PROCUREUAT, CHOOSE_PER_FIELD]
	assert held.choosable == ["items", "remarks"]
	values = {f.field: (f.base, f.portal, f.erpnext) for f in held.fields}
	assert values == {
		"remarks": ("first", "vendor's new remark", "accountant's note"),
		"items": ("SERVICES 1 × ₹100", "SERVICES 2 × ₹100", "SERVICES 3 × ₹100"),
	}


def test_keep_procureuat_takes_the_portal_values_and_writes_nothing_to_the_portal(w):
	rid = both_changed_draft(w)
	portal = copy.deepcopy(w.portal_rows())
	result = resolve(w, rid, keep="ProcureUAT")
	assert (result["status"], result["action"], result["fields"]) == (SYNCED, KEEP_PROCUREUAT, ["remarks"])
	assert w.doc(rid)["remarks"] == "vendor's new remark"
	assert w.portal_rows() == portal
	[log] = w.port.logs_of(SUCCESS, OP_RESOLVE)
	assert log.message.startswith(
		f"accounts@o2o.test chose Keep ProcureUAT for remarks on Requisition {rid} ("
	)
	assert log.reference_name == w.name(rid) and log.procureuat_id == rid
	assert_settled(w, rid)


def test_keep_erpnext_keeps_the_draft_and_a_later_portal_edit_merges_without_conflict(w):
	rid = both_changed_draft(w)
	portal = copy.deepcopy(w.portal_rows())
	assert resolve(w, rid, keep="ERPNext")["action"] == KEEP_ERPNEXT
	assert w.doc(rid)["remarks"] == "accountant's note"
	assert w.portal_rows() == portal  # a pulled invoice: ERPNext's values never go to the portal
	assert_settled(w, rid)
	# the same difference does not come back; a new edit elsewhere merges
	w.portal.edit_line(w.portal.line_ids(rid)[0], cost="200.00", gst_amt="36.00")
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.doc(rid)["remarks"] == "accountant's note" and w.totals(rid) == (D("200.00"), D("36.00"))


def test_per_field_choice_takes_the_chosen_fields_and_keeps_the_rest(w):
	rid = both_changed_draft(w, lines=True)
	result = resolve(w, rid, CHOOSE_PER_FIELD, fields=["items"])
	assert result["fields"] == ["items", "remarks"]
	doc = w.doc(rid)
	assert doc["remarks"] == "accountant's note"  # kept from ERPNext
	assert [i["qty"] for i in doc["items"]] == [2] and w.totals(rid) == (D("200.00"), D("36.00"))
	[log] = w.port.logs_of(SUCCESS, OP_RESOLVE)
	assert "ProcureUAT's items taken; ERPNext's remarks kept" in log.message
	assert_settled(w, rid)


def test_console_keep_with_fields_is_a_per_field_choice(w):
	rid = both_changed_draft(w, lines=True)
	assert resolve(w, rid, keep="ProcureUAT", fields=["remarks"])["action"] == CHOOSE_PER_FIELD
	assert w.doc(rid)["remarks"] == "vendor's new remark" and w.doc(rid)["items"][0]["qty"] == 3
	assert_settled(w, rid)


def test_refusals_change_nothing(w):
	rid = both_changed_draft(w)
	before = copy.deepcopy((w.port.s.invoices, w.port.s.mappings))
	with pytest.raises(ResolveError, match="remarks"):
		resolve(w, rid, CHOOSE_PER_FIELD, fields=["bill_no"])
	with pytest.raises(ResolveError, match="does not apply"):
		resolve(w, rid, AMEND_FROM_PROCUREUAT)
	with pytest.raises(ResolveError, match='keep must be "ERPNext" or "ProcureUAT"'):
		resolve(w, rid, keep="both")
	assert (w.port.s.invoices, w.port.s.mappings) == before
	other = w.invoice()
	w.pull()
	with pytest.raises(ResolveError, match="is Synced, not held"):
		resolve(w, other, keep="ERPNext")


# ---------------------------------------------------------------- both sides made the same change


def test_both_sides_making_the_same_change_is_no_conflict(w):
	rid = w.invoice(w.line(quantity=1, cost="100.00", gst_amt="18.00"), remark="first")
	w.pull()
	w.doc(rid)["remarks"] = "deliver to gate 2"
	w.portal.edit(rid, remark="deliver to gate 2")
	assert counts_of(w.pull()) == {}
	assert w.mapping(rid).status == SYNCED and w.doc(rid)["remarks"] == "deliver to gate 2"
	# the same line change on both sides: in ERPNext the line and its GST (a pulled invoice's
	# GST rows are "Actual", the portal's amounts: a person edits them along with the line)
	doc = w.doc(rid)
	doc["items"][0].update(qty=2, rate=D("100.000000"), gst_amt=D("36.00"))
	w.portal.edit_line(w.portal.line_ids(rid)[0], quantity=2, cost="200.00", gst_amt="36.00")
	assert counts_of(w.pull()) == {}
	assert w.mapping(rid).status == SYNCED
	w.rerun_changes_nothing()


def test_same_field_changed_to_different_values_is_still_a_conflict(w):
	rid = both_changed_draft(w)
	assert w.mapping(rid).status == CONFLICT and w.mapping(rid).conflict_fields == "remarks"


# ---------------------------------------------------------------- submitted pulled invoice edited on the portal


def submitted_and_edited(w, **edit) -> tuple[int, str]:
	rid = w.invoice(remark="as billed")
	w.pull()
	name = w.name(rid)
	w.port.submit_invoice(name)
	w.portal.edit(rid, **(edit or {"remark": "corrected by the vendor"}))
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.mapping(rid).held_reason == HELD_SUBMITTED_EDITED
	return rid, name


def test_amend_from_procureuat_cancels_amends_submits_and_the_mapping_follows(w):
	rid, name = submitted_and_edited(w)
	held = resolver(w).describe(w.mapping(rid))
	assert held.actions == [KEEP_ERPNEXT, AMEND_FROM_PROCUREUAT]
	assert [(f.field, f.base, f.portal, f.erpnext) for f in held.fields] == [
		("remarks", "as billed", "corrected by the vendor", "as billed")
	]
	result = resolve(w, rid, keep="ProcureUAT")
	assert result["action"] == AMEND_FROM_PROCUREUAT and result["purchase_invoice"] == f"{name}-1"
	old, new = w.port.s.invoices[name], w.port.s.invoices[f"{name}-1"]
	assert (old["docstatus"], new["docstatus"], new["amended_from"]) == (2, 1, name)
	assert new["remarks"] == "corrected by the vendor" and w.name(rid) == f"{name}-1"
	assert w.totals(rid) == (D("100.00"), D("18.00"))
	assert_settled(w, rid)


def test_keep_erpnext_on_a_submitted_pulled_invoice_takes_status_columns_only(w):
	rid, _name = submitted_and_edited(w, remark="corrected by the vendor", order_status=3)
	portal = copy.deepcopy(w.portal_rows())
	resolve(w, rid, KEEP_ERPNEXT)
	doc = w.doc(rid)
	assert (doc["docstatus"], doc["remarks"], doc["procureuat_order_status"]) == (1, "as billed", 3)
	assert w.portal_rows() == portal
	assert_settled(w, rid)


# ---------------------------------------------------------------- cancelled on the portal, paid in ERPNext


@pytest.mark.parametrize("action,docstatus", [(CANCEL_IN_ERPNEXT, 2), (KEEP_ERPNEXT, 1)])
def test_portal_cancellation_of_a_paid_invoice(w, action, docstatus):
	rid = w.invoice()
	w.pull()
	name = w.name(rid)
	w.port.submit_invoice(name)
	w.port.s.invoices[name]["paid"] = True
	w.portal.cancel(rid)
	assert counts_of(w.pull()) == {"conflict": 1}
	held = resolver(w).describe(w.mapping(rid))
	assert held.held_reason == HELD_CANCELLED_WITH_PAYMENTS
	assert held.actions == [CANCEL_IN_ERPNEXT, KEEP_ERPNEXT]
	[cancelled] = held.fields
	assert (cancelled.field, cancelled.base, cancelled.portal[:9]) == ("cancelled", "Live", "Cancelled")
	portal = copy.deepcopy(w.portal_rows())
	resolve(w, rid, action)
	assert w.port.s.invoices[name]["docstatus"] == docstatus and w.portal_rows() == portal
	assert_settled(w, rid)


# ---------------------------------------------------------------- keyed by hand with other totals


def hand_keyed_with_other_totals(w) -> tuple[int, str]:
	rid = w.invoice(w.line(quantity=1, cost="100.00", gst_amt="18.00"))
	number = w.portal.row(rid)["invoice_number"]
	w.port.add_supplier("Sharma Traders", tax_id="27AAAPS1234A1Z5")
	w.port.s.invoices["HAND-1"] = {
		"company": "O2O Test Co",
		"supplier": "Sharma Traders",
		"bill_no": number,
		"items": [
			{
				"procureuat_item_id": None,
				"item_code": "SERVICES",
				"qty": 1,
				"rate": D("90"),
				"gst_rate": D("18"),
			}
		],
		"tax_accounts": {"cgst": "CGST", "sgst": "SGST"},
		"docstatus": 0,
	}
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.mapping(rid).held_reason == HELD_OTHER_TOTALS
	return rid, "HAND-1"


def test_link_anyway_keeps_the_hand_keyed_invoice(w):
	rid, hand = hand_keyed_with_other_totals(w)
	held = resolver(w).describe(w.mapping(rid))
	assert held.actions == [LINK_ANYWAY, CREATE_FROM_PROCUREUAT]
	assert {f.field: (f.portal, f.erpnext) for f in held.fields} == {
		"net_total": ("₹100.00", "₹90.00"),
		"gst_total": ("₹18.00", "₹16.20"),
	}
	resolve(w, rid, keep="ERPNext")
	assert w.name(rid) == hand and len(w.port.s.invoices) == 1
	assert w.port.s.invoices[hand]["procureuat_id"] == rid
	assert_settled(w, rid)


def test_create_from_procureuat_leaves_the_hand_keyed_one_alone(w):
	rid, hand = hand_keyed_with_other_totals(w)
	resolve(w, rid, CREATE_FROM_PROCUREUAT)
	assert w.name(rid) != hand and w.totals(rid) == (D("100.00"), D("18.00"))
	assert w.port.s.invoices[hand]["items"][0]["rate"] == D("90")
	assert w.mapping(rid).origin == ORIGIN_PORTAL
	assert_settled(w, rid)


# ---------------------------------------------------------------- cancelled in ERPNext, changed on the portal


@pytest.mark.parametrize("keep", ["ERPNext", "ProcureUAT"])
def test_cancelled_in_erpnext_and_changed_on_the_portal(w, keep):
	rid = w.invoice(remark="as billed")
	w.pull()
	name = w.name(rid)
	w.port.submit_invoice(name)
	w.port.cancel_invoice(name)
	w.portal.edit(rid, remark="re-issued")
	assert counts_of(w.pull()) == {"conflict": 1}
	held = resolver(w).describe(w.mapping(rid))
	assert held.held_reason == HELD_CANCELLED_IN_ERPNEXT
	assert held.actions == [KEEP_ERPNEXT, AMEND_FROM_PROCUREUAT]
	assert [(f.field, f.erpnext) for f in held.fields] == [
		("remarks", "as billed"),
		("docstatus", "Cancelled"),
	]
	portal = copy.deepcopy(w.portal_rows())
	resolve(w, rid, keep=keep)
	assert w.portal_rows() == portal
	if keep == "ERPNext":
		assert w.name(rid) == name and w.doc(rid)["docstatus"] == 2
	else:
		assert w.name(rid) == f"{name}-1"
		assert (w.doc(rid)["docstatus"], w.doc(rid)["remarks"]) == (1, "re-issued")
	assert_settled(w, rid)
