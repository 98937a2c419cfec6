"""What the pull decides for each kind of portal change, table-driven and fast.

ERPNext is the in-memory port, the portal the in-memory portal (`inmemory_portal.py`; the
world is `decisions_world.py`): no MariaDB, no sshd; every case runs in milliseconds. The
real-database versions of some of these are in `test_pull_engine.py`. Every case ends by
running the pull again: the second run changes nothing (contract, "Both directions"). The
push's cases and the rows it wrote are in `test_decisions_push.py`.
"""

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from decisions_world import World, counts_of

from o2o_sync.constants import (
	CONFLICT,
	ERPNEXT_WINS,
	F_ACKNOWLEDGEMENT,
	F_ORDER_STATUS,
	HOLD_FOR_REVIEW,
	ORIGIN_ERPNEXT,
	ORIGIN_PORTAL,
	PROCUREUAT_WINS,
	SUCCESS,
	SYNCED,
)


@pytest.fixture
def w() -> World:
	return World()


# ---------------------------------------------------------------- new invoices

NEW_INVOICES = {
	# case: (lines as (vendor, quantity, cost, gst_amt), header columns, {vendor: (net, gst, GST rows, items)})
	"same state: CGST and SGST, ₹100 over 7 units stays ₹100.00": (
		[("same", 7, "100.00", "18.00")],
		{},
		{"same": ("100.00", "18.00", {"cgst", "sgst"}, ["SERVICES"])},
	),
	"other state: IGST": (
		[("other", 5, "500.00", "60.00")],
		{},
		{"other": ("500.00", "60.00", {"igst"}, ["SERVICES"])},
	),
	"two GST slabs on one invoice": (
		[("same", 1, "100.00", "18.00"), ("same", 2, "50.00", "2.50")],
		{},
		{"same": ("150.00", "20.50", {"cgst", "sgst"}, ["SERVICES", "SERVICES"])},
	),
	"freight becomes a line without GST": (
		[("same", 1, "100.00", "18.00")],
		{"freight_cost": "50"},
		{"same": ("150.00", "18.00", {"cgst", "sgst"}, ["SERVICES", "FREIGHT"])},
	),
	"two vendors: two Purchase Invoices": (
		[("same", 2, "1000.00", "180.00"), ("other", 5, "500.00", "60.00")],
		{},
		{
			"same": ("1000.00", "180.00", {"cgst", "sgst"}, ["SERVICES"]),
			"other": ("500.00", "60.00", {"igst"}, ["SERVICES"]),
		},
	),
	"FLOAT money above ₹1,31,072 read to the paisa it holds": (
		[("same", 1, "815999.69", "146879.94")],
		{},
		{"same": ("815999.69", "146879.94", {"cgst", "sgst"}, ["SERVICES"])},
	),
}


@pytest.mark.parametrize("lines,columns,expected", NEW_INVOICES.values(), ids=NEW_INVOICES)
def test_new_portal_invoice_is_created_to_the_paisa(w, lines, columns, expected):
	rid = w.invoice(*(w.line(v, q, c, g) for v, q, c, g in lines), **columns)
	number = w.portal.row(rid)["invoice_number"]
	assert counts_of(w.pull()) == {"created": len(expected)}
	for vendor, (net, gst, gst_rows, item_codes) in expected.items():
		doc, name = w.doc(rid, vendor), w.name(rid, vendor)
		assert w.totals(rid, vendor) == (D(net), D(gst))
		assert set(doc["tax_accounts"]) == gst_rows
		assert [i["item_code"] for i in doc["items"]] == item_codes
		assert doc["bill_no"] == number and doc["docstatus"] == 0
		assert doc["supplier"] == {"same": "Sharma Traders", "other": "Kaveri Supplies"}[vendor]
		rec = w.mapping(rid, vendor)
		assert (rec.status, rec.origin, rec.procureuat_invoice_number) == (SYNCED, ORIGIN_PORTAL, number)
		message = next(msg for msg in w.logs(SUCCESS, "Create") if msg.startswith(f"Created {name} "))
		assert message.startswith(
			f"Created {name} from Requisition {rid} ({number}): net ₹{net} + GST ₹{gst} = ₹{D(net) + D(gst)}"
		)
		beyond_float = D(net) > D(131072)  # the Sync Log says the amounts reconciled within FLOAT resolution
		assert ("reconciled within the portal FLOAT column's resolution" in message) == beyond_float
	w.rerun_changes_nothing()


def test_seven_units_of_100_rupees_keep_six_places_in_the_rate(w):
	rid = w.invoice(w.line(quantity=7, cost="100.00", gst_amt="18.00"))
	w.pull()
	[item] = w.doc(rid)["items"]
	assert (item["qty"], item["rate"], item["amount"], item["gst_rate"]) == (
		7,
		D("14.285714"),
		D("100.00"),
		D("18"),
	)


# ---------------------------------------------------------------- drafts edited on the portal


def _edit_second_line(w, rid):
	w.portal.edit_line(w.portal.line_ids(rid)[1], quantity=4, cost="200.00", gst_amt="24.00")


DRAFT_EDITS = {
	# case: (edit, fields the Sync Log names, (net, gst) after, header fields after)
	"one line's amount": (_edit_second_line, "items, taxes", ("300.00", "42.00"), {}),
	"a line added": (
		lambda w, rid: w.portal.add_line(rid, **w.line(quantity=1, cost="10.00", gst_amt="1.80")),
		"items, taxes",
		("160.00", "22.30"),
		{},
	),
	"remark": (
		lambda w, rid: w.portal.edit(rid, remark="deliver to gate 2"),
		"remarks",
		("150.00", "20.50"),
		{"remarks": "deliver to gate 2"},
	),
	"invoice date": (
		lambda w, rid: w.portal.edit(rid, invoice_generated_at=datetime(2026, 11, 5, 10, 0)),
		"bill_date, posting_date",
		("150.00", "20.50"),
		{"bill_date": date(2026, 11, 5), "posting_date": date(2026, 11, 5)},
	),
	"order status": (
		lambda w, rid: w.portal.edit(rid, order_status=3),
		"order_status",
		("150.00", "20.50"),
		{F_ORDER_STATUS: 3},
	),
}


@pytest.mark.parametrize("edit,fields,totals,header", DRAFT_EDITS.values(), ids=DRAFT_EDITS)
def test_portal_edit_updates_exactly_that_draft(w, edit, fields, totals, header):
	rid = w.invoice(
		w.line(quantity=1, cost="100.00", gst_amt="18.00"), w.line(quantity=2, cost="50.00", gst_amt="2.50")
	)
	other = w.invoice(w.line("other", 1, "10.00", "1.80"))
	w.pull()
	untouched = copy.deepcopy(w.doc(other, "other"))
	edit(w, rid)
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.totals(rid) == (D(totals[0]), D(totals[1]))
	assert {k: w.doc(rid)[k] for k in header} == header
	assert w.doc(other, "other") == untouched
	name = w.name(rid)
	assert w.logs(SUCCESS, "Update") == [
		f"Updated draft {name} from Requisition {rid} ({w.doc(rid)['bill_no']}): {fields}"
	]
	w.rerun_changes_nothing()


# ---------------------------------------------------------------- submitted invoices edited on the portal

SUBMITTED_EDITS = {
	# case: (edit, count, status fields after, conflict_fields)
	"order status taken": (
		lambda w, rid: w.portal.edit(rid, order_status=3),
		"updated",
		{F_ORDER_STATUS: 3},
		None,
	),
	"acknowledgement taken": (
		lambda w, rid: w.portal.edit(rid, acknowledgement=2),
		"updated",
		{F_ACKNOWLEDGEMENT: 2},
		None,
	),
	"remark held": (
		lambda w, rid: w.portal.edit(rid, remark="new"),
		"conflict",
		{F_ORDER_STATUS: 2},
		"remark",
	),
	"line amount held": (
		lambda w, rid: w.portal.edit_line(w.portal.line_ids(rid)[0], cost="90.00", gst_amt="16.20"),
		"conflict",
		{F_ORDER_STATUS: 2},
		"lines",
	),
	"status taken, remark held": (
		lambda w, rid: w.portal.edit(rid, order_status=3, remark="new"),
		"conflict",
		{F_ORDER_STATUS: 3},
		"remark",
	),
}


@pytest.mark.parametrize("edit,count,status_fields,held", SUBMITTED_EDITS.values(), ids=SUBMITTED_EDITS)
def test_submitted_invoice_takes_only_the_status_columns(w, edit, count, status_fields, held):
	rid = w.invoice(remark="as billed")
	w.pull()
	name = w.name(rid)
	w.port.submit_invoice(name)
	before = copy.deepcopy(w.doc(rid))
	edit(w, rid)
	assert counts_of(w.pull()) == {count: 1}
	doc = w.doc(rid)
	assert {k: doc[k] for k in status_fields} == status_fields
	assert {k: v for k, v in doc.items() if k not in status_fields} == {
		k: v for k, v in before.items() if k not in status_fields
	}
	assert w.totals(rid) == (D("100.00"), D("18.00")) and doc["remarks"] == "as billed"
	rec = w.mapping(rid)
	assert (rec.status, rec.conflict_fields) == ((CONFLICT, held) if held else (SYNCED, None))
	if held:
		assert w.logs(CONFLICT, "Update") == [
			f"Requisition {rid} ({doc['bill_no']}) changed on the portal ({held}) but {name} is submitted; "
			"waiting for a person, who can cancel and amend it"
		]
	w.rerun_changes_nothing()


# ---------------------------------------------------------------- cancelled or deleted on the portal

GONE = {
	# case: (ERPNext side: draft / submitted / paid, portal action, count, invoice after, Sync Log start)
	"submitted, cancelled on the portal": ("submitted", "cancel", "cancelled", 2, "Cancelled {name}: "),
	"submitted, deleted on the portal": ("submitted", "delete", "cancelled", 2, "Cancelled {name}: "),
	"draft, cancelled on the portal": ("draft", "cancel", "deleted", None, "Deleted draft {name}: "),
	"draft, deleted on the portal": ("draft", "delete", "deleted", None, "Deleted draft {name}: "),
	"paid, cancelled on the portal": ("paid", "cancel", "conflict", 1, "Requisition {rid} "),
}


@pytest.mark.parametrize("erpnext,action,count,docstatus,log", GONE.values(), ids=GONE)
def test_cancelled_or_deleted_on_the_portal(w, erpnext, action, count, docstatus, log):
	rid = w.invoice()
	w.pull()
	name = w.name(rid)
	if erpnext in ("submitted", "paid"):
		w.port.submit_invoice(name)
	w.port.s.invoices[name]["paid"] = erpnext == "paid"
	getattr(w.portal, action)(rid)
	assert counts_of(w.pull()) == {count: 1}
	what = "cancelled" if action == "cancel" else "deleted"
	if docstatus is None:
		assert name not in w.port.s.invoices and w.mapping(rid).purchase_invoice is None
	else:
		assert w.port.s.invoices[name]["docstatus"] == docstatus
	[message] = w.logs(None, "Cancel" if count != "deleted" else "Delete")
	assert message.startswith(log.format(name=name, rid=rid))
	if count == "conflict":
		rec = w.mapping(rid)
		assert (rec.status, rec.conflict_fields) == (CONFLICT, "is_invoice_cancel")
		assert f"was {what} on the portal but {name} has payments" in message
	else:
		assert message.endswith(f"was {what} on the portal") and w.mapping(rid).status == SYNCED
	w.rerun_changes_nothing()


def test_invoice_deleted_before_it_was_ever_pulled_creates_nothing(w):
	w.invoice(is_delete=1)
	w.invoice(is_invoice_cancel=1)
	assert counts_of(w.pull()) == {}
	assert w.port.s.invoices == {}
	w.rerun_changes_nothing()


# ---------------------------------------------------------------- both sides changed: the strategy decides

STRATEGIES = {
	HOLD_FOR_REVIEW: ("conflict", "accountant's note", CONFLICT),
	PROCUREUAT_WINS: ("updated", "vendor's new remark", SYNCED),
	ERPNEXT_WINS: (None, "accountant's note", SYNCED),
}


@pytest.mark.parametrize("strategy,expected", STRATEGIES.items(), ids=STRATEGIES)
def test_both_sides_changed_the_same_field(w, strategy, expected):
	count, remarks, status = expected
	rid = w.invoice(remark="first")
	w.pull()
	name = w.name(rid)
	w.doc(rid)["remarks"] = "accountant's note"
	w.portal.edit(rid, remark="vendor's new remark")
	assert counts_of(w.pull(conflict_strategy=strategy)) == ({count: 1} if count else {})
	assert w.doc(rid)["remarks"] == remarks
	assert w.mapping(rid).status == status
	if strategy == HOLD_FOR_REVIEW:
		assert w.mapping(rid).conflict_fields == "remarks"
		assert w.logs(CONFLICT, "Update") == [
			f"Requisition {rid} ({w.doc(rid)['bill_no']}) and {name} both changed remarks since the last sync; "
			"nothing overwritten, waiting for a person"
		]
	if strategy == PROCUREUAT_WINS:
		assert w.logs(SUCCESS, "Update")[0].endswith("; ProcureUAT won the conflict on remarks")
	w.rerun_changes_nothing()


def test_changes_to_different_fields_on_both_sides_merge(w):
	rid = w.invoice(remark="first")
	w.pull()
	w.doc(rid)["remarks"] = "accountant's note"
	w.portal.edit_line(w.portal.line_ids(rid)[0], cost="200.00", gst_amt="36.00")
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.doc(rid)["remarks"] == "accountant's note"
	assert w.totals(rid) == (D("200.00"), D("36.00"))
	w.rerun_changes_nothing()


# ---------------------------------------------------------------- the run


def test_edit_in_the_same_second_as_the_cursor_is_not_missed(w):
	first, second = w.invoice(), w.invoice()
	t = w.portal.now
	for rid in (first, second):
		w.portal.edit(rid, updated_at=t)
	w.portal.now = t  # the pull reads while the portal's clock is still in that second
	w.pull()
	assert w.port.get_cursor() == (t - timedelta(seconds=1), 0)  # an open second is not passed
	w.portal.edit(first, remark="late edit", updated_at=t)  # the lower id, in the very second of the cursor
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.doc(first)["remarks"] == "late edit"
	w.portal.clock()  # the second closes: the cursor passes it, and nothing is read again
	w.rerun_changes_nothing()
	assert w.port.get_cursor() == (t, second)


def test_unmapped_entity_is_skipped_with_one_log_row(w):
	for _ in range(3):
		w.portal.add_invoice("7", [w.line()])
	counts = w.pull()
	assert counts["skipped"] == 3 and counts_of(counts) == {}
	assert [msg for msg in w.logs("Skipped")] == [
		"3 invoice(s) of portal entity 7 skipped: the entity is not mapped to a Company in O2O Sync Settings"
	]


def test_a_batch_costs_three_portal_statements_whatever_the_line_count(w):
	for n in (1, 6):
		before = w.portal.query_count
		for _ in range(10):
			w.invoice(*[w.line(cost="10.00", gst_amt="1.80") for _ in range(n)])
		assert w.pull()["created"] == 10
		assert w.portal.query_count - before == 3  # headers, lines, vendors
