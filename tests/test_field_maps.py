"""Field maps of O2O Sync Settings (issue 12): the registry built from them, their rules as a
table, and mapped fields through the pull, the push, change detection and conflicts, against
the in-memory portal and ERPNext (`decisions_world.World`).
"""

from datetime import datetime

import pytest
from decisions_world import World, counts_of

from o2o_sync.setup.portal_schema import SCHEMA_PATH
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.resolve import ConflictResolver
from o2o_sync.sync.model import columns as c
from o2o_sync.sync.model import field_maps as fm
from o2o_sync.sync.model import merge

PORTAL = fm.columns_from_ddl(SCHEMA_PATH.read_text())
PI, PII = "Purchase Invoice", "Purchase Invoice Item"
ERP = {
	PI: {
		f.fieldname: f
		for f in (
			fm.ErpField("vehicle_no", "Data", "Vehicle No"),
			fm.ErpField("challan_date", "Date", "Challan Date"),
			fm.ErpField("transport_mode", "Select", "Transport Mode", options="\nRoad\nAir"),
			fm.ErpField("dispatch_note", "Data", "Dispatch Note", allow_on_submit=True),
			fm.ErpField("shipment_weight", "Float", "Shipment Weight"),
			fm.ErpField("gru_flag", "Check", "GRU Acknowledged"),
			fm.ErpField("grand_total", "Currency", "Grand Total", read_only=True),
			fm.ErpField("supplier_name", "Data", "Supplier Name", read_only=True),
			fm.ErpField("bill_no", "Data", "Supplier Invoice No"),
			fm.ErpField("name", "Data", "name", read_only=True),
			fm.ErpField("items", "Table", "Items"),
		)
	},
	PII: {f.fieldname: f for f in (fm.ErpField("portal_unit", "Data", "Portal Unit"),)},
}


def fmap(column, field, table=c.REQUISITIONS, direction=fm.BOTH_WAYS, row=1, enabled=True):
	return fm.FieldMap(row, table, column, field, direction, enabled)


VEHICLE = fmap("vehicle_no", "vehicle_no")
CHALLAN = fmap("challan_date", "challan_date", direction=fm.TO_ERPNEXT, row=2)
UNIT = fmap("unit", "portal_unit", table=c.ORDER_ITEMS, row=3)


def registry(*maps):
	return fm.build_registry(list(maps), PORTAL, ERP)


# ---------------------------------------------------------------- the registry built from maps


def test_maps_become_registry_entries_selected_by_name_and_versioned():
	reg = registry(VEHICLE, CHALLAN, UNIT, fmap("awb_number", "bill_no", row=4, enabled=False))
	assert len(reg) == len(c.REGISTRY) + 3  # the disabled map is left out
	assert "pr.`vehicle_no` AS `vehicle_no`" in c.header_select(reg)
	assert (
		"IF(pr.`challan_date` > '1000-01-01', pr.`challan_date`, NULL) AS `challan_date`"
		in c.header_select(reg)
	)
	assert "`unit` AS `unit`" in c.line_select(reg)
	assert "*" not in c.header_select(reg) + c.line_select(reg)
	assert c.erpnext_header_fields(reg)["challan_date"] == c.DATE
	assert c.erpnext_line_fields(reg) == {"items.portal_unit": c.TEXT}
	assert merge.registry_version(reg) != merge.registry_version(c.REGISTRY)
	assert merge.registry_version(registry()) == merge.registry_version(c.REGISTRY)
	assert [(d["portal_column"], d["label"], d["pull"], d["push"]) for d in fm.describe(reg)] == [
		("vehicle_no", "Vehicle No", True, True),
		("challan_date", "Challan Date", True, False),
		("unit", "Portal Unit", True, True),
	]


def test_a_push_only_map_is_written_but_never_read_or_compared():
	reg = registry(fmap("awb_number", "vehicle_no", direction=fm.TO_PORTAL))
	assert "awb_number" not in c.header_select(reg)
	assert merge.registry_version(reg) == merge.registry_version(c.REGISTRY)
	assert [col.key for col in fm.pushed_columns(c.REQUISITIONS, reg)] == ["awb_number"]


def test_a_map_naming_something_invalid_never_reaches_sql():
	reg = registry(fmap("vehicle_no`; DROP TABLE vendors; --", "vehicle_no"), fmap("no_such", "vehicle_no"))
	assert reg == c.REGISTRY


# ---------------------------------------------------------------- the rules, as a table

RULES = [
	(VEHICLE, []),
	(CHALLAN, []),
	(UNIT, []),
	(fmap("weight", "shipment_weight"), []),  # a number stored as text into a Float
	(fmap("gru_ack", "gru_flag"), []),  # INT into a Check
	(
		fmap("no_such", "vehicle_no"),
		["Field map row 1: portal column purchase_requisitions.no_such does not exist"],
	),
	(
		fmap("order_code", "vehicle_no"),
		["purchase_requisitions.order_code is mapped or kept by the sync itself"],
	),
	(
		fmap("updated_at", "challan_date"),
		["purchase_requisitions.updated_at is mapped or kept by the sync itself"],
	),
	(fmap("cost", "portal_unit", table=c.ORDER_ITEMS), ["purchase_order_items.cost is mapped or kept"]),
	(fmap("gstn", "vehicle_no", table="vendors"), ["portal table vendors cannot be mapped"]),
	(
		fmap("vehicle_no", "no_field"),
		["Field map row 1: ERPNext field no_field does not exist on Purchase Invoice"],
	),
	(fmap("vehicle_no", "grand_total"), ["Purchase Invoice.grand_total is computed by ERPNext"]),
	(fmap("vehicle_no", "name"), ["Purchase Invoice.name is filled by the sync itself or by ERPNext"]),
	(fmap("vehicle_no", "bill_no"), ["Purchase Invoice.bill_no is filled by the sync itself or by ERPNext"]),
	(fmap("vehicle_no", "supplier_name"), ["Purchase Invoice.supplier_name is read-only"]),
	(fmap("vehicle_no", "items"), ["Purchase Invoice.items is filled by the sync itself"]),
	(
		fmap("challan_date", "vehicle_no"),
		["Purchase Invoice.vehicle_no is Data; portal column purchase_requisitions.challan_date (DATETIME)"],
	),
	(fmap("gru_ack", "challan_date"), ["needs one of Check, Data, Int"]),
	(fmap("vehicle_no", "portal_unit"), ["ERPNext field portal_unit does not exist on Purchase Invoice"]),
]


@pytest.mark.parametrize(
	("row", "expected"), RULES, ids=[f"{r.portal_column}->{r.erpnext_field}" for r, _ in RULES]
)
def test_the_rules_of_a_map(row, expected):
	problems = fm.validate([row], PORTAL, ERP)
	assert len(problems) == len(expected), problems
	for problem, want in zip(problems, expected, strict=True):
		assert want in problem


def test_every_problem_is_listed_at_once_each_naming_its_row():
	problems = fm.validate(
		[VEHICLE, fmap("vehicle_no", "challan_date", row=2), fmap("no_such", "grand_total", row=3)],
		PORTAL,
		ERP,
	)
	assert problems == [
		"Field map row 2: portal column purchase_requisitions.vehicle_no is already mapped in row 1",
		"Field map row 2: ERPNext field Purchase Invoice.challan_date is Date; portal column"
		" purchase_requisitions.vehicle_no (VARCHAR) needs one of Currency, Data, Float, Long Text, Select,"
		" Small Text, Text",
		"Field map row 3: portal column purchase_requisitions.no_such does not exist",
		"Field map row 3: ERPNext field Purchase Invoice.grand_total is computed by ERPNext (totals, amounts, taxes, rates)",
	]


def test_values_are_converted_both_ways_and_never_truncated():
	reg = registry(VEHICLE, fmap("weight", "shipment_weight", row=2))
	vehicle = next(col for col in reg if col.key == "vehicle_no")
	weight = next(col for col in reg if col.key == "weight")
	assert vehicle.to_erpnext(" MH12AB1234 ") == "MH12AB1234"
	assert weight.to_erpnext("1,250.5") == 1250.5 and weight.to_erpnext("") is None
	with pytest.raises(ValueError, match="'heavy' is not a number"):
		weight.to_erpnext("heavy")
	assert weight.to_portal(12.5) == "12.5"
	with pytest.raises(ValueError, match="is 101 characters; the portal's vehicle_no holds 100"):
		vehicle.to_portal("X" * 101)


# ---------------------------------------------------------------- through the pull, push, merge


class MappedWorld(World):
	"""A `World` whose registry carries field maps (as `engines.registry` builds it)."""

	def __init__(self, *maps, **kw):
		super().__init__()
		self.use(*maps)
		if kw:
			self.settings = type(self.settings)(**{**self.settings.__dict__, **kw})

	def use(self, *maps):
		self.registry = registry(*maps)
		self.port.registry = self.registry
		self.portal.use_registry(self.registry)
		self.pusher.registry = self.registry

	def pull(self, **settings):
		if settings:
			self.settings = type(self.settings)(**{**self.settings.__dict__, **settings})
		return PullEngine(self.port, self.portal, self.settings, registry=self.registry).run()


def test_mapped_values_come_in_with_the_invoice_and_its_lines():
	w = MappedWorld(VEHICLE, CHALLAN, UNIT)
	rid = w.invoice(w.line(unit="Box"), vehicle_no=" MH12AB1234 ", challan_date=datetime(2026, 11, 1, 10, 30))
	assert counts_of(w.pull()) == {"created": 1}
	doc = w.doc(rid)
	assert (doc["vehicle_no"], str(doc["challan_date"])) == ("MH12AB1234", "2026-11-01")
	assert doc["items"][0]["extra"] == {"portal_unit": "Box"}
	w.rerun_changes_nothing()


def test_a_value_the_field_cannot_hold_fails_that_invoice_by_name():
	w = MappedWorld(fmap("transportation_mode", "transport_mode"))
	bad = w.invoice(transportation_mode="Ship", invoice_number="AG/1")
	good = w.invoice(transportation_mode="Road", invoice_number="AG/2")
	assert counts_of(w.pull()) == {"created": 1, "failed": 1}
	assert w.doc(good)["transport_mode"] == "Road"
	[message] = w.logs("Failed", "Create")
	assert f"Requisition {bad}" in message and "transportation_mode 'Ship' is not an option" in message


def test_a_portal_edit_reaches_a_draft_field_by_field_and_is_logged_by_label():
	w = MappedWorld(VEHICLE, UNIT)
	rid = w.invoice(w.line(unit="Box"), vehicle_no="MH12")
	w.pull()
	w.doc(rid)["remarks"] = "checked"  # ERPNext's own edit elsewhere is kept
	w.portal.edit(rid, vehicle_no="MH14")
	w.portal.edit_line(w.portal.line_ids(rid)[0], unit="Carton")
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.doc(rid)["vehicle_no"] == "MH14" and w.doc(rid)["items"][0]["extra"]["portal_unit"] == "Carton"
	assert w.doc(rid)["remarks"] == "checked"
	assert "Portal Unit (Items), Vehicle No" in w.logs("Success", "Update")[-1]


def test_both_sides_changing_a_mapped_field_is_a_conflict_shown_by_its_label():
	w = MappedWorld(VEHICLE)
	rid = w.invoice(vehicle_no="MH12")
	w.pull()
	w.doc(rid)["vehicle_no"] = "MH13"
	w.portal.edit(rid, vehicle_no="MH14")
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.mapping(rid).conflict_fields == "vehicle_no" and w.doc(rid)["vehicle_no"] == "MH13"
	assert "both changed Vehicle No since the last sync" in w.logs("Conflict")[-1]
	held = ConflictResolver(w.port, w.portal, w.settings, registry=w.registry).describe(w.mapping(rid))
	assert [(f.field, f.label, f.base, f.portal, f.erpnext) for f in held.fields] == [
		("vehicle_no", "Vehicle No", "MH12", "MH14", "MH13")
	]


def test_a_submitted_invoice_takes_a_mapped_edit_only_when_its_field_allows_on_submit():
	w = MappedWorld(VEHICLE, fmap("dispatch_status", "dispatch_note", row=2), submit_pulled_invoices=True)
	rid = w.invoice(vehicle_no="MH12", dispatch_status="packed")
	w.pull()
	w.portal.edit(rid, dispatch_status="shipped")
	assert counts_of(w.pull()) == {"updated": 1}
	assert w.doc(rid)["dispatch_note"] == "shipped"
	assert "Updated Dispatch Note on submitted" in w.logs("Success", "Update")[-1]
	w.portal.edit(rid, vehicle_no="MH14")
	assert counts_of(w.pull()) == {"conflict": 1}
	assert w.doc(rid)["vehicle_no"] == "MH12"


def test_adding_a_map_is_no_edit_drafts_are_filled_once():
	w = MappedWorld()
	filled = w.invoice(vehicle_no="MH12", invoice_number="AG/1")
	same = w.invoice(vehicle_no="MH13", invoice_number="AG/2")
	empty = w.invoice(vehicle_no="", invoice_number="AG/3")
	w.pull()
	w.doc(same)["vehicle_no"] = "MH13"  # already holds the portal's value (keyed by hand)
	w.doc(empty)["vehicle_no"] = "typed"  # the portal has nothing: left as it is
	w.use(VEHICLE)
	assert counts_of(w.pull()) == {"updated": 1}
	assert [w.doc(r)["vehicle_no"] for r in (filled, same, empty)] == ["MH12", "MH13", "typed"]
	[log] = w.logs("Success", "Update")
	assert f"Requisition {filled}" in log and "Vehicle No" in log
	version = merge.registry_version(w.registry)
	assert {w.mapping(r).snapshot["version"] for r in (filled, same, empty)} == {version}
	w.rerun_changes_nothing()


def test_adding_a_map_leaves_submitted_invoices_whose_field_does_not_allow_on_submit():
	w = MappedWorld(submit_pulled_invoices=True)
	rid = w.invoice(vehicle_no="MH12", dispatch_status="packed")
	w.pull()
	w.use(VEHICLE, fmap("dispatch_status", "dispatch_note", row=2))
	assert counts_of(w.pull()) == {"updated": 1}  # the allow-on-submit one, no conflict
	assert w.doc(rid).get("vehicle_no") is None and w.doc(rid)["dispatch_note"] == "packed"
	w.rerun_changes_nothing()


def test_removing_a_map_stops_reading_it_and_leaves_the_field():
	w = MappedWorld(VEHICLE)
	rid = w.invoice(vehicle_no="MH12")
	w.pull()
	w.use()
	w.portal.edit(rid, vehicle_no="MH99")
	assert counts_of(w.pull()) == {}
	assert w.doc(rid)["vehicle_no"] == "MH12"
	assert w.mapping(rid).snapshot["version"] == merge.registry_version(c.REGISTRY)


def test_an_old_snapshot_upgrades_without_reading_as_an_edit():
	w = MappedWorld(VEHICLE)
	rid = w.invoice(vehicle_no="MH12")
	w.pull()
	record = w.mapping(rid)
	view = c.portal_view(w.portal.fetch_invoices([rid])[0], w.registry)
	legacy = {
		**record.snapshot,
		"version": "old",
		"portal": {k: v for k, v in view.items() if k != "vehicle_no"},
	}
	state = w.port.get_invoice(record.purchase_invoice)
	base = merge.upgrade_snapshot(legacy, view, state.view, w.registry, docstatus=0)
	assert base["portal"]["vehicle_no"] == "MH12"  # ERPNext holds it already: no fill
	assert merge.changed_columns(base["portal"], view) == []


def test_the_push_writes_mapped_fields_in_the_columns_type_and_refuses_what_does_not_fit():
	w = MappedWorld(
		VEHICLE,
		fmap("challan_date", "challan_date", direction=fm.TO_PORTAL, row=2),
		fmap("transportation_mode", "transport_mode", direction=fm.TO_ERPNEXT, row=3),
		UNIT,
	)
	name = w.push_invoice(extra={"vehicle_no": "MH12", "challan_date": datetime(2026, 11, 19).date()})
	for line in w.port.s.invoices[name]["push"].lines:
		line.extra = {"portal_unit": "Box"}
	assert w.pusher.push(name)["status"] == "Synced"
	[row] = w.portal_rows()
	assert (row["vehicle_no"], row["challan_date"], row["transportation_mode"]) == (
		"MH12",
		datetime(2026, 11, 19),
		"",
	)
	assert {li["unit"] for li in w.portal.lines_of(row["id"])} == {"Box"}
	long = w.push_invoice("ACC-PINV-2026-00002", extra={"vehicle_no": "X" * 101})
	result = w.pusher.push(long)
	assert result["status"] == "Failed"
	assert (
		"Purchase Invoice ACC-PINV-2026-00002: Vehicle No (vehicle_no) is 101 characters" in result["message"]
	)
	assert len(w.portal_rows()) == 1
