"""Settling what the pull held for an ERPNext-made (pushed) invoice, a resolution the portal
refuses half way (nothing applied on either side), and the "Latest edit wins" strategy
across time zones. Pulled invoices' states are in `test_resolve.py`.
"""

import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from decisions_world import World, counts_of
from test_resolve import assert_settled, resolve, resolver

from o2o_sync.constants import (
	CANCEL_IN_ERPNEXT,
	CONFLICT,
	CREATE_FROM_PROCUREUAT,
	FAILED,
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_DELETED_IN_ERPNEXT,
	HELD_DRAFT_EDITED,
	HELD_PUSHED_CANCELLED,
	HELD_SUBMITTED_EDITED,
	KEEP_ERPNEXT,
	LATEST_EDIT_WINS,
	OP_RESOLVE,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PUSH,
	SUCCESS,
)
from o2o_sync.sync.engine.resolve import ResolveError
from o2o_sync.sync.model import merge
from o2o_sync.sync.model.errors import ProcureUATConnectionError

KOLKATA, UTC = ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")


@pytest.fixture
def w() -> World:
	return World()


def pushed(w) -> tuple[int, str]:
	name = w.push_invoice()
	return w.pusher.push(name)["procureuat_id"], name


# ---------------------------------------------------------------- pushed invoices


def test_keep_erpnext_on_a_pushed_invoice_edited_on_the_portal_re_pushes_it(w):
	rid, name = pushed(w)
	w.portal.edit(rid, remark="vendor's", order_status=3)
	assert counts_of(w.pull()) == {"conflict": 1}
	held = resolver(w).describe(w.mapping(rid))
	assert (held.held_reason, held.actions, held.origin) == (
		HELD_SUBMITTED_EDITED,
		[KEEP_ERPNEXT],
		ORIGIN_ERPNEXT,
	)
	with pytest.raises(ResolveError, match="cannot keep ProcureUAT's side"):
		resolve(w, rid, keep="ProcureUAT")
	result = resolve(w, rid, keep="ERPNext")
	assert result["action"] == KEEP_ERPNEXT
	assert w.portal.row(rid)["remark"] == "Pantry supplies"  # ERPNext's value is back on the portal
	assert w.port.s.invoices[name]["procureuat_order_status"] == 3  # status columns are taken
	[log] = w.port.logs_of(SUCCESS, OP_RESOLVE)
	assert log.direction == PUSH and "re-pushed " + name in log.message
	assert_settled(w, rid)


@pytest.mark.parametrize("action", [KEEP_ERPNEXT, CANCEL_IN_ERPNEXT])
def test_portal_cancellation_of_a_pushed_invoice(w, action):
	rid, name = pushed(w)
	w.portal.cancel(rid)
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.mapping(rid).held_reason == HELD_PUSHED_CANCELLED
	assert resolver(w).describe(w.mapping(rid)).actions == [CANCEL_IN_ERPNEXT, KEEP_ERPNEXT]
	resolve(w, rid, action)
	if action == KEEP_ERPNEXT:
		assert w.portal.row(rid)["is_invoice_cancel"] == 0 and w.port.s.invoices[name]["docstatus"] == 1
	else:
		assert w.portal.row(rid)["is_invoice_cancel"] == 1 and w.port.s.invoices[name]["docstatus"] == 2
	assert_settled(w, rid)


def test_pushed_invoice_cancelled_in_erpnext_while_the_portal_changed_it(w):
	rid, name = pushed(w)
	w.port.s.invoices[name]["docstatus"] = 2  # cancelled while the sync was off: the portal never heard
	w.portal.edit(rid, remark="vendor's")
	assert counts_of(w.pull()) == {"conflict": 1}
	held = resolver(w).describe(w.mapping(rid))
	assert (held.held_reason, held.actions) == (HELD_CANCELLED_IN_ERPNEXT, [KEEP_ERPNEXT])
	resolve(w, rid, keep="ERPNext")
	assert w.portal.row(rid)["is_invoice_cancel"] == 1  # ERPNext's state reaches the portal
	assert_settled(w, rid)


@pytest.mark.parametrize("keep", ["ERPNext", "ProcureUAT"])
def test_pushed_invoice_deleted_in_erpnext(w, keep):
	rid, name = pushed(w)
	del w.port.s.invoices[name]
	w.portal.edit(rid, remark="vendor's")
	assert counts_of(w.pull()) == {"conflict": 1}
	held = resolver(w).describe(w.mapping(rid))
	assert (held.held_reason, held.actions) == (
		HELD_DELETED_IN_ERPNEXT,
		[KEEP_ERPNEXT, CREATE_FROM_PROCUREUAT],
	)
	assert held.fields[-1].field == "purchase_invoice" and held.fields[-1].erpnext == "Deleted"
	resolve(w, rid, keep=keep)
	if keep == "ERPNext":
		assert w.portal.row(rid)["is_invoice_cancel"] == 1 and w.port.s.invoices == {}
	else:
		assert w.portal.row(rid)["is_invoice_cancel"] == 0
		assert w.doc(rid)["remarks"] == "vendor's" and w.mapping(rid).origin == ORIGIN_PORTAL
	assert_settled(w, rid)


# ---------------------------------------------------------------- nothing half-applied


def test_resolution_the_portal_refuses_half_way_applies_nothing_on_either_side(w):
	rid, _name = pushed(w)
	w.portal.edit(rid, remark="vendor's", order_status=3)
	w.pull()
	before = copy.deepcopy((w.port.s.invoices, w.port.s.mappings, w.portal.requisitions, w.portal.lines))

	def unreachable(*args, **kwargs):
		raise ProcureUATConnectionError("ProcureUAT did not answer")

	w.portal.write_invoice = unreachable
	with pytest.raises(ProcureUATConnectionError):
		resolve(w, rid, keep="ERPNext")
	# ERPNext took the status column inside the savepoint, then the portal failed: all undone
	assert (w.port.s.invoices, w.port.s.mappings, w.portal.requisitions, w.portal.lines) == before
	assert w.mapping(rid).status == CONFLICT and w.mapping(rid).held_reason == HELD_SUBMITTED_EDITED
	[log] = w.port.logs_of(FAILED, OP_RESOLVE)
	assert log.message.startswith("accounts@o2o.test chose Keep ERPNext; nothing applied: ")
	assert w.port.logs_of(SUCCESS, OP_RESOLVE) == []


def test_a_refused_re_push_applies_nothing(w):
	rid, name = pushed(w)
	w.portal.edit(rid, remark="vendor's")
	w.pull()
	w.port.s.invoices[name]["push"].currency = "USD"  # the push refuses it now
	before = copy.deepcopy((w.port.s.mappings, w.portal.requisitions))
	with pytest.raises(ResolveError, match=r"re-pushing .* failed: .*USD"):
		resolve(w, rid, keep="ERPNext")
	assert (w.port.s.mappings, w.portal.requisitions) == before


# ---------------------------------------------------------------- Latest edit wins, across time zones


def test_erpnext_edited_later_compares_in_one_time_zone():
	portal = datetime(2026, 11, 2, 9, 10)  # Asia/Kolkata, as the portal writes it
	# 03:45 UTC is 09:15 in Kolkata: later than the portal, though its wall clock reads earlier
	assert merge.erpnext_edited_later(portal, datetime(2026, 11, 2, 3, 45, tzinfo=UTC))
	assert not merge.erpnext_edited_later(portal, datetime(2026, 11, 2, 3, 35, tzinfo=UTC))
	assert merge.erpnext_edited_later(portal, datetime(2026, 11, 2, 9, 15, tzinfo=KOLKATA))
	assert not merge.erpnext_edited_later(portal, datetime(2026, 11, 2, 9, 5, tzinfo=KOLKATA))
	assert merge.erpnext_edited_later(portal, portal.replace(tzinfo=KOLKATA))  # a tie keeps ERPNext's
	assert not merge.erpnext_edited_later(portal, None)


LATEST = {
	# ERPNext's `modified`, minutes after the portal's edit, in the site's zone: who wins
	"site in UTC, ERPNext later": (UTC, 5, "accountant's note"),
	"site in UTC, portal later": (UTC, -5, "vendor's new remark"),
	"site in Kolkata, ERPNext later": (KOLKATA, 5, "accountant's note"),
	"site in Kolkata, portal later": (KOLKATA, -5, "vendor's new remark"),
}


@pytest.mark.parametrize("zone,minutes,remarks", LATEST.values(), ids=LATEST)
def test_latest_edit_wins_across_time_zones(w, zone, minutes, remarks):
	rid = w.invoice(remark="first")
	w.pull()
	w.portal.edit(rid, remark="vendor's new remark")
	portal_at = w.portal.row(rid)["updated_at"].replace(tzinfo=KOLKATA)
	doc = w.doc(rid)
	doc["remarks"] = "accountant's note"
	doc["modified"] = (portal_at + timedelta(minutes=minutes)).astimezone(zone)
	counts = counts_of(w.pull(conflict_strategy=LATEST_EDIT_WINS))
	assert counts == ({} if minutes > 0 else {"updated": 1})
	assert w.doc(rid)["remarks"] == remarks
	assert w.mapping(rid).status != CONFLICT
	[message] = w.logs(SUCCESS, "Update") or ["kept"]
	assert message == "kept" or message.endswith("; ProcureUAT's remarks taken (its edit is the latest)")
	w.rerun_changes_nothing()


def test_latest_edit_wins_leaves_a_submitted_invoice_to_a_person(w):
	rid = w.invoice(remark="first")
	w.pull()
	w.port.submit_invoice(w.name(rid))
	w.portal.edit(rid, remark="vendor's new remark")
	assert counts_of(w.pull(conflict_strategy=LATEST_EDIT_WINS)) == {"conflict": 1}
	assert w.mapping(rid).held_reason == HELD_SUBMITTED_EDITED


def test_held_reason_of_a_draft(w):
	rid = w.invoice(remark="first")
	w.pull()
	w.doc(rid)["remarks"] = "accountant's note"
	w.portal.edit(rid, remark="vendor's")
	w.pull()
	assert w.mapping(rid).held_reason == HELD_DRAFT_EDITED
	w.doc(rid)["remarks"] = "first"  # the accountant undid it: the portal's edit now merges
	w.portal.edit(rid, remark="vendor's, again")
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.mapping(rid).held_reason is None
