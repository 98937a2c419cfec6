"""What the push writes to the portal, and what the pull then does with those rows, fast.

The world is `decisions_world.py` (in-memory portal and ERPNext; no MariaDB, no sshd). The
real-database versions of some of these cases are in `test_push_engine.py`. Assertions read
what a user would check: the portal's rows, invoice numbers, the Sync Mapping, the Sync Log.
"""

import time
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from decisions_world import World, counts_of

from o2o_sync.constants import (
	CONFLICT,
	F_INVOICE_NUMBER,
	F_ORDER_STATUS,
	F_SYNC_STATUS,
	FAILED,
	ORIGIN_ERPNEXT,
	SKIPPED,
	SUCCESS,
	SYNCED,
)
from o2o_sync.sync.model.money import paisa
from o2o_sync.sync.model.records import PushLine, PushTax


@pytest.fixture
def w() -> World:
	return World()


def test_push_writes_one_row_and_its_lines_with_the_contract_values(w):
	name = w.push_invoice()
	result = w.pusher.push(name)
	assert (result["status"], result["invoice_number"]) == (SYNCED, "O2OT/26-27/0001")
	[row] = w.portal_rows()
	expected = {
		"entity": "1",
		"order_name": "Sharma Traders",
		"order_code": name,
		"address": "Plot 12, MIDC, Pune",
		"remark": "Pantry supplies",
		"acknowledgement": 1,
		"order_status": 2,
		"finance_status": 0,
		"invoice_generated": 1,
		"invoice_number": "O2OT/26-27/0001",
		"invoice_generated_at": datetime(2026, 11, 20),
		"is_invoice_cancel": 0,
		"is_delete": 0,
		"credit_note_number": "ST/889",
		"gst_percentage": "18",
		"freight_cost": "0",
		"created_by": 9,
	}
	assert {k: row[k] for k in expected} == expected
	assert [
		(
			li["product_id"],
			li["quantity"],
			li["unit_rate"],
			paisa(li["cost"]),
			paisa(li["gst_amt"]),
			paisa(li["total_amt"]),
		)
		for li in w.portal.lines_of(row["id"])
	] == [
		(501, 7, "14.285714", D("100.00"), D("18.00"), D("118.00")),
		(502, 2, "25", D("50.00"), D("2.50"), D("52.50")),
	]
	rec = w.mapping(row["id"])
	assert (rec.status, rec.origin, rec.purchase_invoice) == (SYNCED, ORIGIN_ERPNEXT, name)
	assert w.port.s.invoices[name][F_INVOICE_NUMBER] == "O2OT/26-27/0001"
	assert w.logs(SUCCESS, "Push") == [
		f"Inserted portal requisition {row['id']} (O2OT/26-27/0001) from {name} with 2 line(s)"
	]


NUMBERS = {
	# case: (invoice numbers already on the portal, counter rows, number taken, counter after)
	"first of the year": ([], {}, "O2OT/26-27/0001", 1),
	"no counter row: after the highest number used": (
		["O2OT/26-27/0041", "O2OT/26-27/0007"],
		{},
		"O2OT/26-27/0042",
		42,
	),
	"the counter row decides when there is one": (
		["O2OT/26-27/0041"],
		{("O2OT", "26-27"): 7},
		"O2OT/26-27/0008",
		8,
	),
	"another year's numbers do not count": (["O2OT/25-26/0099"], {}, "O2OT/26-27/0001", 1),
	"another prefix's numbers do not count": (["AGO2O/26-27/0050"], {}, "O2OT/26-27/0001", 1),
}


@pytest.mark.parametrize("used,counters,number,last", NUMBERS.values(), ids=NUMBERS)
def test_invoice_number_comes_from_the_counter(w, used, counters, number, last):
	for n in used:
		w.invoice(invoice_number=n)
	w.portal.counters.update(counters)
	assert w.pusher.push(w.push_invoice())["invoice_number"] == number
	assert w.portal.counters[("O2OT", "26-27")] == last


def test_retry_after_a_crash_between_the_two_commits_finds_its_own_row(w):
	name = w.push_invoice()
	first = w.pusher.push(name)
	w.port.s.mappings.clear()  # ERPNext's side never committed
	second = w.pusher.push(name)
	assert (second["procureuat_id"], second["invoice_number"]) == (
		first["procureuat_id"],
		first["invoice_number"],
	)
	assert len(w.portal_rows()) == 1 and len(w.portal.lines_of(first["procureuat_id"])) == 2
	assert second["message"].startswith(f"Updated portal requisition {first['procureuat_id']} ")


def test_cancel_then_amend_keeps_the_row_and_its_number(w):
	first = w.pusher.push(w.push_invoice("PINV-A"))
	w.pusher.cancel("PINV-A")
	[row] = w.portal_rows()
	assert row["is_invoice_cancel"] == 1 and row["invoice_cancel_date"] is not None
	amended = [PushLine(1, "TEA", D("3"), D("10"), D("30.00"), D("5.40"), D("18"), 501)]
	second = w.pusher.push(w.push_invoice("PINV-A-1", chain=["PINV-A-1", "PINV-A"], lines=amended))
	assert (second["procureuat_id"], second["invoice_number"]) == (
		first["procureuat_id"],
		first["invoice_number"],
	)
	[row] = w.portal_rows()
	assert (row["order_code"], row["is_invoice_cancel"], row["invoice_cancel_date"]) == ("PINV-A-1", 0, None)
	assert [li["quantity"] for li in w.portal.lines_of(row["id"])] == [3]


def test_amendment_may_not_move_the_invoice_into_another_financial_year(w):
	w.pusher.push(w.push_invoice("PINV-B"))
	result = w.pusher.push(w.push_invoice("PINV-B-1", chain=["PINV-B-1", "PINV-B"], posting=date(2027, 4, 2)))
	assert result["status"] == FAILED and "financial year" in result["message"]
	assert [r["order_code"] for r in w.portal_rows()] == ["PINV-B"]


REFUSED = {
	"a return": ({"is_return": True}, "return (debit note)"),
	"not INR": ({"currency": "USD"}, "INR only"),
	"a fractional quantity": (
		{"lines": [PushLine(1, "TEA", D("1.5"), D("10"), D("15.00"), D("2.70"), D("18"), 501)]},
		"fractional",
	),
	"a GST row not on net total": ({"taxes": [PushTax(1, "CGST - O2O", "Actual", "gst")]}, "On Net Total"),
	"an unmapped Supplier": ({"vendor_id": None}, "Supplier Sharma Traders (set its ProcureUAT Vendor ID)"),
}


@pytest.mark.parametrize("fields,words", REFUSED.values(), ids=REFUSED)
def test_what_the_portal_cannot_hold_is_refused_and_nothing_written(w, fields, words):
	name = w.push_invoice(**fields)
	result = w.pusher.push(name)
	assert result["status"] == FAILED and words in result["message"]
	assert w.port.s.invoices[name][F_SYNC_STATUS] == FAILED
	assert w.portal_rows() == [] and w.portal.counters == {}
	assert w.logs(FAILED, "Push") == [result["message"]]


def test_an_invoice_pulled_from_the_portal_is_not_pushed_back(w):
	rid = w.invoice()
	w.pull()
	name = w.name(rid)
	before = w.portal_rows()
	w.push_invoice(name)  # submitted in ERPNext
	result = w.pusher.push(name)
	assert result["status"] == SKIPPED and "came from ProcureUAT" in result["message"]
	assert w.portal_rows() == before


def test_payment_state_follows_outstanding_one_statement_per_state(w):
	r1 = w.pusher.push(w.push_invoice("P1"))["procureuat_id"]
	r2 = w.pusher.push(w.push_invoice("P2"))["procureuat_id"]
	assert w.pusher.sync_payment_states() == {"updated": 0, "unchanged": 2, "left": 0}
	w.port.s.invoices["P1"]["push"].outstanding_amount = D("70.50")
	w.port.s.invoices["P2"]["push"].outstanding_amount = D("0")
	before = w.portal.query_count
	assert w.pusher.sync_payment_states() == {"updated": 2, "unchanged": 0, "left": 0}
	assert w.portal.query_count - before == 2
	assert {r["id"]: r["finance_status"] for r in w.portal_rows()} == {r1: 1, r2: 2}
	assert w.pusher.sync_payment_states(["P1"]) == {"updated": 0, "unchanged": 1, "left": 0}


# ---------------------------------------------------------------- the pull seeing the rows the push wrote


def test_pushed_row_seen_by_the_pull_is_not_pulled_back(w):
	rid = w.pusher.push(w.push_invoice())["procureuat_id"]
	assert counts_of(w.pull()) == {}
	assert len(w.port.s.invoices) == 1
	assert w.mapping(rid).status == SYNCED and w.mapping(rid).origin == ORIGIN_ERPNEXT
	w.rerun_changes_nothing()


def test_pushed_row_whose_bookkeeping_never_committed_is_linked_not_created(w):
	name = w.push_invoice()
	rid = w.pusher.push(name)["procureuat_id"]
	w.port.s.mappings.clear()
	assert counts_of(w.pull()) == {"linked": 1}
	rec = w.mapping(rid)
	assert (rec.origin, rec.purchase_invoice, rec.status) == (ORIGIN_ERPNEXT, name, SYNCED)
	assert len(w.port.s.invoices) == 1
	assert w.logs(SUCCESS, "Link") == [
		f"Requisition {rid} (O2OT/26-27/0001) came from ERPNext ({name}); linked, not created"
	]
	w.rerun_changes_nothing()


PORTAL_EDITS_OF_PUSHED = {
	# case: (portal edit, count, status fields on the invoice after, mapping status, Sync Log words)
	"status column taken": (
		lambda p, rid: p.edit(rid, order_status=3),
		"updated",
		{F_ORDER_STATUS: 3},
		SYNCED,
		None,
	),
	"remark held": (lambda p, rid: p.edit(rid, remark="vendor's"), "conflict", {}, CONFLICT, "(remark) but"),
	"cancellation held": (lambda p, rid: p.cancel(rid), "conflict", {}, CONFLICT, "is ERPNext's document"),
}


@pytest.mark.parametrize(
	"edit,count,fields,status,words", PORTAL_EDITS_OF_PUSHED.values(), ids=PORTAL_EDITS_OF_PUSHED
)
def test_portal_edit_of_a_pushed_invoice(w, edit, count, fields, status, words):
	name = w.push_invoice()
	rid = w.pusher.push(name)["procureuat_id"]
	edit(w.portal, rid)
	assert counts_of(w.pull()) == {count: 1}
	doc = w.port.s.invoices[name]
	assert {k: doc.get(k) for k in fields} == fields and doc["docstatus"] == 1
	assert w.mapping(rid).status == status
	if words:
		assert words in w.mapping(rid).last_error
	w.rerun_changes_nothing()


def test_cancelled_in_erpnext_is_sent_to_the_portal_and_not_pulled_back(w):
	name = w.push_invoice()
	rid = w.pusher.push(name)["procureuat_id"]
	w.port.s.invoices[name]["docstatus"] = 2
	assert w.pusher.cancel(name)["status"] == SYNCED
	row = w.portal.row(rid)
	assert row["is_invoice_cancel"] == 1 and row["invoice_cancel_date"] == row["updated_at"]
	assert counts_of(w.pull()) == {}
	w.rerun_changes_nothing()


def test_payment_states_go_in_chunks_each_committed_and_resume_after_the_deadline(w):
	names = [w.push_invoice(f"P{i}") for i in range(5)]
	for name in names:
		w.pusher.push(name)
		w.port.s.invoices[name]["push"].outstanding_amount = D("0")
	commits = w.port.commits
	first = w.pusher.sync_payment_states(
		chunk=2, deadline=time.monotonic() - 1
	)  # one chunk, then out of time
	assert first == {"updated": 2, "unchanged": 0, "left": 3} and w.port.commits == commits + 1
	rest = w.pusher.sync_payment_states(chunk=2)
	assert rest == {"updated": 3, "unchanged": 2, "left": 0}  # what was sent is not sent again
	assert {r["finance_status"] for r in w.portal_rows()} == {2}
