"""One runner, one row, fast: what the push and the pull do when the portal goes away, and
which direction owns which state (issue 7), on the in-memory portal and ERPNext.

The portal "goes away" through `Unreachable`, which raises the client's
ProcureUATConnectionError from the chosen methods, as the real client does for a lost
connection or a dead tunnel (`test_faults.py` proves that on MariaDB and sshd). Assertions
read what an accountant checks: the portal's rows, the invoice's ProcureUAT status, the
Sync Mapping and the Sync Log.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from decisions_world import PUSH_SETTINGS, World, counts_of

from o2o_sync.constants import (
	CONFLICT,
	F_SYNC_STATUS,
	FAILED,
	NOT_SYNCED,
	PENDING,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.engine.push.engine import PushEngine
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.model.records import PushLine


class Unreachable:
	"""The in-memory portal behind a switch: while `down`, the named methods raise
	ProcureUATConnectionError before touching anything (all of them when `methods` is None)."""

	def __init__(self, portal, methods=None):
		self.portal = portal
		self.methods = methods
		self.down = True

	def __getattr__(self, name):
		attr = getattr(self.portal, name)
		if not callable(attr) or not self.down or (self.methods and name not in self.methods):
			return attr

		def fails(*args, **kwargs):
			raise ProcureUATConnectionError(
				"connection to the ProcureUAT database was lost (MySQL error 2013)"
			)

		return fails


@pytest.fixture
def w() -> World:
	return World()


def pusher(w: World, client) -> PushEngine:
	return PushEngine(w.port, client, PUSH_SETTINGS, clock=w.portal.clock)


def status(w: World, name: str) -> str:
	return w.port.s.invoices[name].get(F_SYNC_STATUS)


# ---------------------------------------------------------------- a lost connection leaves it Pending


def test_connection_lost_in_the_push_leaves_the_invoice_pending_and_the_mapping_alone(w):
	name = w.push_invoice()
	rid = w.pusher.push(name)["procureuat_id"]
	before = w.portal_rows()
	down = Unreachable(w.portal, {"write_invoice"})
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).push(name)  # the button, while the portal is gone
	assert status(w, name) == PENDING
	assert w.mapping(rid).status == SYNCED and w.mapping(rid).last_error is None
	assert w.portal_rows() == before
	assert any("stays Pending and is retried" in m for m in w.logs(FAILED, "Push"))
	down.down = False
	assert pusher(w, down).push(name)["status"] == SYNCED  # the retry
	assert status(w, name) == SYNCED and len(w.portal_rows()) == 1
	assert w.portal.counters[("O2OT", "26-27")] == 1


def test_connection_lost_after_the_portal_committed_leaves_it_pending_and_the_retry_finds_its_row(w):
	name = w.push_invoice()
	w.port.s.invoices[name][F_SYNC_STATUS] = FAILED  # the button on an invoice that failed before
	down = Unreachable(w.portal, {"fetch_invoices"})  # the re-read after the portal's commit
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).push(name)
	[row] = w.portal_rows()
	assert status(w, name) == PENDING and w.port.s.mappings == {}  # the retry picks it up
	down.down = False
	result = pusher(w, down).push(name)
	assert result["message"].startswith(f"Updated portal requisition {row['id']} ")
	assert len(w.portal_rows()) == 1 and w.portal.counters[("O2OT", "26-27")] == 1
	assert status(w, name) == SYNCED and w.mapping(row["id"]).status == SYNCED


# ---------------------------------------------------------------- cancellations are queued, never dropped


def test_cancellation_while_the_portal_is_unreachable_is_queued_then_sent(w):
	name = w.push_invoice("PINV-C")
	rid = w.pusher.push(name)["procureuat_id"]
	w.port.s.invoices[name]["docstatus"] = 2  # cancelled in ERPNext
	down = Unreachable(w.portal)
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).cancel(name)
	assert status(w, name) == PENDING  # the queue `retry_pending_pushes` reads
	assert w.portal.row(rid)["is_invoice_cancel"] == 0
	[queued] = w.logs(FAILED, "Cancel")
	assert queued.startswith(f"Purchase Invoice {name}: ") and "the cancellation is queued" in queued
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).cancel(name)  # the retry while still down: queued again, logged again
	assert len(w.logs(FAILED, "Cancel")) == 2 and status(w, name) == PENDING
	down.down = False
	assert pusher(w, down).cancel(name)["status"] == SYNCED
	assert w.portal.row(rid)["is_invoice_cancel"] == 1 and status(w, name) == SYNCED
	assert w.logs(SUCCESS, "Cancel") == [
		f"Cancelled portal requisition {rid} (O2OT/26-27/0001) after {name} was cancelled"
	]
	assert counts_of(w.pull()) == {}
	w.rerun_changes_nothing()


def test_cancellation_of_an_unconfirmed_push_cancels_the_row_it_left(w):
	name = w.push_invoice("PINV-U")
	rid = w.pusher.push(name)["procureuat_id"]
	w.port.s.mappings.clear()  # the portal committed, ERPNext's bookkeeping was lost
	w.port.s.invoices[name][F_SYNC_STATUS] = PENDING
	w.port.s.invoices[name]["docstatus"] = 2
	result = w.pusher.cancel(name)
	assert result["status"] == SYNCED and w.portal.row(rid)["is_invoice_cancel"] == 1
	assert status(w, name) == SYNCED
	assert "whose push was never confirmed" in w.logs(SUCCESS, "Cancel")[0]


def test_cancellation_of_an_invoice_that_never_reached_the_portal_touches_nothing(w):
	name = w.push_invoice("PINV-N")
	w.port.s.invoices[name].update({F_SYNC_STATUS: PENDING, "docstatus": 2})
	before = w.portal.query_count
	assert w.pusher.cancel(name)["status"] == "Skipped"
	assert w.portal.query_count - before == 1  # one look for a row carrying its name
	assert w.portal_rows() == [] and status(w, name) == NOT_SYNCED  # out of the queue


def test_amendment_made_while_the_portal_is_unreachable_takes_the_row_over(w):
	"""Cancel and amend while the portal is down; the retry pushes first, then cancels:
	the amendment's content is on the row, live, with the original number."""
	first = w.pusher.push(w.push_invoice("PINV-A"))
	rid = first["procureuat_id"]
	down = Unreachable(w.portal)
	w.port.s.invoices["PINV-A"]["docstatus"] = 2
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).cancel("PINV-A")
	amended = [PushLine(1, "TEA", D("3"), D("10"), D("30.00"), D("5.40"), D("18"), 501)]
	w.push_invoice("PINV-A-1", chain=["PINV-A-1", "PINV-A"], lines=amended)
	with pytest.raises(ProcureUATConnectionError):
		pusher(w, down).push("PINV-A-1")
	assert status(w, "PINV-A") == status(w, "PINV-A-1") == PENDING
	down.down = False
	engine = pusher(w, down)
	assert engine.push("PINV-A-1")["status"] == SYNCED  # the retry: pushes first
	assert engine.cancel("PINV-A")["status"] == "Skipped"  # then cancellations
	[row] = w.portal_rows()
	assert (row["order_code"], row["is_invoice_cancel"], row["invoice_number"]) == (
		"PINV-A-1",
		0,
		first["invoice_number"],
	)
	assert [li["quantity"] for li in w.portal.lines_of(rid)] == [3]
	assert w.mapping(rid).purchase_invoice == "PINV-A-1"
	assert status(w, "PINV-A-1") == SYNCED and status(w, "PINV-A") == NOT_SYNCED


# ---------------------------------------------------------------- each direction owns its state


def test_a_failed_push_is_never_marked_synced_by_the_pull(w):
	w.pusher.push(w.push_invoice("PINV-B"))
	rid = w.portal_rows()[0]["id"]
	w.pull()
	w.push_invoice("PINV-B-1", chain=["PINV-B-1", "PINV-B"], posting=date(2027, 4, 2))
	w.port.s.invoices["PINV-B-1"]["amended_from"] = "PINV-B"
	w.port.s.invoices["PINV-B"]["docstatus"] = 2
	result = w.pusher.push("PINV-B-1")
	assert result["status"] == FAILED and "financial year" in result["message"]
	assert w.mapping(rid).status == FAILED
	for edit in (None, {"order_status": 3}):  # unchanged (re-read in the overlap), then a status edit
		if edit:
			w.portal.edit(rid, **edit)
		w.pull()  # every run retries the pull's own failures; this one is the push's
		assert w.mapping(rid).status == FAILED and "financial year" in w.mapping(rid).last_error
		assert status(w, "PINV-B-1") == FAILED
	assert w.port.s.invoices["PINV-B-1"]["procureuat_order_status"] == 3  # the pull took its column


def test_a_repush_does_not_overwrite_a_portal_edit_held_as_a_conflict(w):
	name = w.push_invoice()
	rid = w.pusher.push(name)["procureuat_id"]
	w.portal.edit(rid, remark="vendor's own remark")
	assert counts_of(w.pull()) == {"conflict": 1}
	before = w.portal_rows()
	result = w.pusher.push(name)  # the button, or the retry
	assert result["status"] == CONFLICT
	assert result["message"] == (
		f"Purchase Invoice {name}: held: the portal's edit (remark) of requisition {rid} is in Conflict;"
		" resolve it first, then set its Sync Mapping to Pending"
	)
	assert w.portal_rows() == before and w.portal.row(rid)["remark"] == "vendor's own remark"
	assert w.mapping(rid).status == CONFLICT and status(w, name) == CONFLICT
	assert w.logs(CONFLICT, "Push") == [result["message"]]
	w.mapping(rid).status = PENDING  # a person resolved it (README: set the mapping to Pending)
	assert w.pusher.push(name)["status"] == SYNCED
	assert w.portal.row(rid)["remark"] == "Pantry supplies"


def test_an_amendment_of_an_invoice_in_conflict_is_pushed(w):
	"""The conflict message tells a person to cancel and amend: that amendment goes through."""
	w.pusher.push(w.push_invoice("PINV-K"))
	rid = w.portal_rows()[0]["id"]
	w.portal.edit(rid, remark="vendor's")
	w.pull()
	w.port.s.invoices["PINV-K"]["docstatus"] = 2
	w.push_invoice("PINV-K-1", chain=["PINV-K-1", "PINV-K"], remarks="agreed with the vendor")
	assert w.pusher.push("PINV-K-1")["status"] == SYNCED
	assert w.portal.row(rid)["remark"] == "agreed with the vendor"
	assert w.mapping(rid).status == SYNCED and len(w.portal_rows()) == 1
