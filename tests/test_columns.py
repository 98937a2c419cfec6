"""The column registry (`columns.py`) and the snapshots of the last sync (`merge.py`).

Adding a portal column is one registry entry: the client's SELECT, the records, the portal
view, the Purchase Invoice fields and the ERPNext view pick it up, and snapshots saved
before it was added are upgraded instead of reading as a portal edit.
"""

from datetime import datetime
from decimal import Decimal as D

from o2o_sync.sync import columns as c
from o2o_sync.sync.model import merge

#: A copy of the registry with one more mapped column: the portal's `vehicle_no`, kept in a
#: Purchase Invoice field of its own.
VEHICLE = c.Column(
	"vehicle_no",
	c.REQUISITIONS,
	c.HEADER,
	groups=("procureuat_vehicle_no",),
	erpnext_field="procureuat_vehicle_no",
	read=c._stripped,
)
EXTENDED = (*c.REGISTRY, VEHICLE)

HEADER_ROW = dict(
	id=5,
	entity=" 7",
	order_name=None,
	order_code="REQ-5 ",
	address=None,
	remark=None,
	invoice_number=" AGO2O/26-27/0046 ",
	invoice_generated_at=datetime(2026, 6, 3, 12, 0),
	created_at=datetime(2026, 6, 1),
	updated_at=None,
	delivery_date=datetime(2026, 6, 20),
	is_invoice_cancel=None,
	invoice_cancel_date=None,
	is_delete=0,
	credit_note_number=None,
	freight_cost=" 0",
	currency_id=1,
	order_status=2,
	acknowledgement=1,
	finance_status=0,
	change_ts=datetime(2026, 6, 3, 12, 0),
)
LINE_ROW = dict(
	id=9,
	purchase_order_id=5,
	vendor_id=11,
	product_id=None,
	quantity=7,
	unit_rate=" 14.29 ",
	uom=None,
	gst_id=None,
	cost=100.0,
	gst_amt=18.0,
	total_amt=118.0,
	created_at=None,
	updated_at=None,
)


def invoice(registry=c.REGISTRY, **header):
	inv = c.invoice_from_row({**HEADER_ROW, **header}, registry)
	inv.lines.append(c.line_from_row(LINE_ROW, registry))
	return inv


def erpnext_view(**fields):
	view = {f: "" for f in c.erpnext_header_fields()}
	view.update(company="O2O Test Co", supplier="Vendor", items=[], taxes=[], **fields)
	return view


def test_rows_become_records_and_the_view_the_sync_compares():
	inv = invoice()
	assert (inv.entity, inv.order_code, inv.invoice_number, inv.is_invoice_cancel) == (
		"7",
		"REQ-5",
		"AGO2O/26-27/0046",
		0,
	)
	assert inv.lines[0].cost == D("100.00") and inv.lines[0].gst_amt == D("18.00")
	view = c.portal_view(inv)
	assert view["invoice_date"] == "2026-06-03" and view["delivery_date"] == "2026-06-20"
	assert view["lines"] == [[9, None, 7, "14.29", "", "100.00", "18.00"]]
	assert "order_code" not in view and "updated_at" not in view  # keys, not compared
	assert c.status_columns() == ("order_status", "acknowledgement")
	header, status = c.erpnext_values(inv)
	assert header == {"remarks": "", "bill_no": "AGO2O/26-27/0046"}
	assert status == {"procureuat_order_status": 2, "procureuat_acknowledgement": 1}


def test_a_column_added_to_the_registry_is_read_compared_and_mapped():
	assert "pr.vehicle_no" not in c.header_select()
	assert "pr.vehicle_no" in c.header_select(EXTENDED)
	inv = invoice(EXTENDED, vehicle_no=" MH12AB1234 ")
	assert c.value_of(inv, "vehicle_no") == "MH12AB1234"
	assert c.portal_view(inv, EXTENDED)["vehicle_no"] == "MH12AB1234"
	assert c.erpnext_values(inv, EXTENDED)[0]["procureuat_vehicle_no"] == "MH12AB1234"
	assert c.erpnext_header_fields(EXTENDED)["procureuat_vehicle_no"] == c.TEXT
	assert c.groups_by_column(EXTENDED)["vehicle_no"] == ("procureuat_vehicle_no",)
	assert merge.registry_version(EXTENDED) != merge.registry_version()


def test_a_snapshot_from_before_the_column_is_upgraded_not_read_as_an_edit():
	old_view = c.portal_view(invoice())
	saved = merge.make_snapshot(old_view, erpnext_view(remarks="Stationery"))
	now = invoice(EXTENDED, vehicle_no="MH12AB1234")
	view_now = c.portal_view(now, EXTENDED)
	erp_now = {**erpnext_view(remarks="Stationery"), "procureuat_vehicle_no": "MH12AB1234"}

	base = merge.upgrade_snapshot(saved, view_now, erp_now, EXTENDED)
	assert base["version"] == merge.registry_version(EXTENDED)
	assert (
		base["portal"]["vehicle_no"] == "MH12AB1234"
		and base["erpnext"]["procureuat_vehicle_no"] == "MH12AB1234"
	)
	apply, conflicts, changed = merge.three_way_merge(
		base["portal"], view_now, base["erpnext"], erp_now, EXTENDED
	)
	assert (apply, conflicts, changed) == (set(), set(), [])  # nothing moved: not an edit, not a conflict

	# a real edit of the new column afterwards reaches its Purchase Invoice field
	edited = c.portal_view(invoice(EXTENDED, vehicle_no="KA01XY0001"), EXTENDED)
	apply, conflicts, changed = merge.three_way_merge(
		base["portal"], edited, base["erpnext"], erp_now, EXTENDED
	)
	assert apply == {"procureuat_vehicle_no"} and not conflicts and changed == ["vehicle_no"]


def test_snapshots_saved_before_versions_keep_their_lines_and_compare_equal():
	inv = invoice()
	view = c.portal_view(inv)
	legacy = {"portal": view, "erpnext": erpnext_view()}  # saved before snapshots carried a version
	base = merge.upgrade_snapshot(legacy, view, erpnext_view(), c.REGISTRY)
	assert base["portal"] == view and base["erpnext"] == erpnext_view()
	assert merge.upgrade_snapshot(base, view, erpnext_view()) is base  # current: left as it is
	assert c.view_hash(view) == c.view_hash(c.portal_view(invoice()))


def test_a_column_removed_from_the_registry_is_dropped_from_old_snapshots():
	inv = invoice(EXTENDED, vehicle_no="MH12AB1234")
	saved = merge.make_snapshot(c.portal_view(inv, EXTENDED), None, EXTENDED)
	view = c.portal_view(invoice())
	base = merge.upgrade_snapshot(saved, view, None)
	assert "vehicle_no" not in base["portal"] and merge.changed_columns(base["portal"], view) == []
