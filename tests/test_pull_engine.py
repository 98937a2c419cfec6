"""The pull engine against a real portal database reached through a real sshd.

ERPNext is the in-memory port (the engine's own interface); everything on the portal
side is real: MariaDB, the tunnel, the SQL.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from inmemory_port import InMemoryPort

from o2o_sync.setup import portal_realistic, portal_rows
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine import reconcile
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.model.money import amount_tolerance
from o2o_sync.sync.model.port import CONFLICT, FAILED, SKIPPED, SUCCESS, SYNCED
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.tests import portal_edits

COMPANY_GSTIN = "27AAACO2020A1Z5"  # Maharashtra


@pytest.fixture
def world(portal_db, portal_config):
	conn = portal_db["conn"]
	entity = portal_rows.insert_entity(conn, "O2O Buyer", COMPANY_GSTIN)
	vendors = [
		portal_rows.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5"),  # same state
		portal_rows.insert_vendor(conn, "Kaveri Supplies", "V002", "29AAAPK1234A1Z5"),  # Karnataka
	]
	port = InMemoryPort()
	port.add_item("SERVICES")
	port.add_item("FREIGHT")
	settings = m.PullSettings(
		default_item="SERVICES",
		freight_item="FREIGHT",
		pull_batch_size=25,
		entities={
			str(entity): m.EntityConfig(
				str(entity), "O2O Test Co", COMPANY_GSTIN, "CGST", "SGST", "IGST", "Purchases", "Main"
			)
		},
	)
	client = ProcureUATClient(portal_config).open()
	yield {
		"conn": conn,
		"entity": entity,
		"vendors": vendors,
		"port": port,
		"settings": settings,
		"client": client,
	}
	client.close()


def run(w, **kw):
	return PullEngine(w["port"], w["client"], w["settings"]).run(**kw)


def portal_sums(conn):
	"""Σ cost and Σ gst_amt per (requisition, vendor), read at full precision and rounded."""
	sums = defaultdict(lambda: [D(0), D(0)])
	with conn.cursor() as cur:
		cur.execute(
			"SELECT purchase_order_id, vendor_id, cost + 0 AS cost, gst_amt + 0 AS gst FROM purchase_order_items"
		)
		for r in cur.fetchall():
			key = (r["purchase_order_id"], r["vendor_id"])
			sums[key][0] += portal_rows.round_paisa(r["cost"])
			sums[key][1] += portal_rows.round_paisa(r["gst"])
	return sums


def test_first_pull_creates_every_invoice_to_the_paisa_and_second_changes_nothing(world):
	ids = portal_realistic.seed_realistic(
		world["conn"], 60, entity_id=world["entity"], vendor_ids=world["vendors"], seed=7
	)
	counts = run(world)
	sums = portal_sums(world["conn"])
	assert counts["failed"] == 0, world["port"].logs_of(FAILED)
	assert counts["created"] == len(sums) >= len(ids)
	port = world["port"]
	for key, (cost, gst_amt) in sums.items():
		rec = port.s.mappings[key]
		state = port.get_invoice(rec.purchase_invoice)
		# to the paisa; within the FLOAT resolution only beyond ₹1,31,072 (issue 16)
		tolerance = amount_tolerance(cost, D(0))
		assert abs(state.net_total - cost) <= tolerance
		assert abs(state.gst_total - gst_amt) <= tolerance
		assert abs(state.grand_total - cost - gst_amt) <= tolerance
		assert rec.status == SYNCED
	assert len(port.s.invoices) == len(sums)
	assert port.logs_of(SUCCESS, "Create")[0].message.startswith("Created ACC-PINV-")

	again = run(world)
	assert again["created"] == again["updated"] == again["failed"] == 0
	assert len(port.s.invoices) == len(sums)


def test_portal_edit_of_one_line_updates_exactly_that_draft(world):
	conn, port = world["conn"], world["port"]
	rid = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[
			{
				"vendor_id": world["vendors"][0],
				"product_id": 5,
				"quantity": 7,
				"cost": "100.00",
				"gst_amt": "18.00",
			},
			{
				"vendor_id": world["vendors"][0],
				"product_id": 6,
				"quantity": 2,
				"cost": "50.00",
				"gst_amt": "2.50",
			},
		],
		updated_at=datetime(2026, 11, 1, 10, 0, 0),
		invoice_generated_at=datetime(2026, 10, 30, 10, 0, 0),
	)
	other = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][1], "quantity": 1, "cost": "10.00", "gst_amt": "1.80"}],
		updated_at=datetime(2026, 11, 1, 10, 0, 0),
	)
	assert run(world)["created"] == 2
	before = {k: dict(v) for k, v in port.s.invoices.items()}
	with conn.cursor() as cur:
		cur.execute("SELECT id FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id", (rid,))
		line_id = cur.fetchall()[1]["id"]
	portal_edits.touch_line(conn, line_id, quantity=4, cost="200.00", gst_amt="24.00")
	counts = run(world)
	assert counts["updated"] == 1 and counts["created"] == 0
	name = port.s.mappings[(rid, world["vendors"][0])].purchase_invoice
	state = port.get_invoice(name)
	assert state.net_total == D("300.00") and state.gst_total == D("42.00")
	untouched = port.s.mappings[(other, world["vendors"][1])].purchase_invoice
	assert port.s.invoices[untouched] == before[untouched]


def test_bad_invoice_fails_alone_is_retried_every_run_and_goes_through_once_fixed(world):
	conn, port = world["conn"], world["port"]
	good = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}],
	)
	bad = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 3, "cost": "100.00", "gst_amt": "17.00"}],
	)
	stock = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[
			{
				"vendor_id": world["vendors"][1],
				"product_id": 77,
				"quantity": 1,
				"cost": "10.00",
				"gst_amt": "1.80",
			}
		],
	)
	port.add_item("BOLTS", is_stock=True, product_id=77)
	counts = run(world)
	assert counts["created"] == 1 and counts["failed"] == 2
	failed = {e.procureuat_id: e.message for e in port.logs_of(FAILED)}
	assert f"Requisition {bad} (" in failed[bad] and ", line " in failed[bad] and "gst_amt" in failed[bad]
	assert "stock item" in failed[stock]
	assert port.s.mappings[(bad, world["vendors"][0])].status == FAILED
	assert (good, world["vendors"][0]) in port.s.mappings

	# fixed on the ERPNext side only: the portal row did not move, the retry still finds it
	port.s.items["BOLTS"]["is_stock"] = False
	counts = run(world)
	assert counts["created"] == 1 and counts["failed"] == 1
	# fixed on the portal
	with conn.cursor() as cur:
		cur.execute("SELECT id FROM purchase_order_items WHERE purchase_order_id = %s", (bad,))
		portal_edits.touch_line(conn, cur.fetchone()["id"], gst_amt="18.00")
	counts = run(world)
	assert counts["created"] == 1 and counts["failed"] == 0
	assert port.s.mappings[(bad, world["vendors"][0])].status == SYNCED


def test_two_vendor_requisition_becomes_two_invoices_with_the_right_gst_rows(world):
	conn, port = world["conn"], world["port"]
	v_same, v_other = world["vendors"]
	rid = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[
			{"vendor_id": v_same, "quantity": 2, "cost": "1000.00", "gst_amt": "180.00"},
			{"vendor_id": v_other, "quantity": 5, "cost": "500.00", "gst_amt": "60.00"},
		],
	)
	assert run(world)["created"] == 2
	intra = port.s.invoices[port.s.mappings[(rid, v_same)].purchase_invoice]
	inter = port.s.invoices[port.s.mappings[(rid, v_other)].purchase_invoice]
	assert set(intra["tax_accounts"]) == {"cgst", "sgst"} and set(inter["tax_accounts"]) == {"igst"}
	assert intra["supplier"] == "Sharma Traders" and inter["supplier"] == "Kaveri Supplies"
	assert port.get_invoice(port.s.mappings[(rid, v_same)].purchase_invoice).gst_total == D("180.00")


def test_existing_invoice_is_linked_and_supplier_with_same_gstin_is_not_duplicated(world):
	conn, port = world["conn"], world["port"]
	port.add_supplier("Sharma Traders Pvt Ltd", tax_id=" 27aaaps1234a1z5 ")
	rid = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}],
	)
	with conn.cursor() as cur:
		cur.execute("SELECT invoice_number FROM purchase_requisitions WHERE id = %s", (rid,))
		number = cur.fetchone()["invoice_number"]
	port.s.invoices["PINV-HAND-1"] = {
		"company": "O2O Test Co",
		"supplier": "Sharma Traders Pvt Ltd",
		"bill_no": number,
		"docstatus": 1,
		"items": [
			{
				"procureuat_item_id": None,
				"item_code": "SERVICES",
				"qty": 1,
				"rate": D("100"),
				"gst_rate": D("18"),
			}
		],
		"tax_accounts": {"cgst": "CGST", "sgst": "SGST"},
	}
	counts = run(world)
	assert counts["linked"] == 1 and counts["created"] == 0
	assert port.s.mappings[(rid, world["vendors"][0])].purchase_invoice == "PINV-HAND-1"
	assert port.s.suppliers["Sharma Traders Pvt Ltd"]["vendor_id"] == world["vendors"][0]
	assert "Sharma Traders" not in port.s.suppliers


def test_ambiguous_gstin_waits_for_a_person(world):
	port = world["port"]
	port.add_supplier("Sharma A", tax_id="27AAAPS1234A1Z5")
	port.add_supplier("Sharma B", tax_id="27AAAPS1234A1Z5")
	rid = portal_rows.insert_invoice(
		world["conn"],
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "1.00", "gst_amt": "0.18"}],
	)
	assert run(world)["failed"] == 1
	assert "matches 2 Suppliers" in port.s.mappings[(rid, world["vendors"][0])].last_error
	assert len(port.s.suppliers) == 2


def test_cancelled_and_deleted_on_portal(world):
	conn, port = world["conn"], world["port"]
	lines = [{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}]
	a = portal_rows.insert_invoice(conn, world["entity"], lines)
	b = portal_rows.insert_invoice(conn, world["entity"], lines)
	c = portal_rows.insert_invoice(conn, world["entity"], lines)
	never = portal_rows.insert_invoice(conn, world["entity"], lines, is_delete=1)
	run(world)
	assert (never, world["vendors"][0]) not in port.s.mappings or not port.s.mappings[
		(never, world["vendors"][0])
	].purchase_invoice
	key = lambda r: (r, world["vendors"][0])  # noqa: E731
	port.submit_invoice(port.s.mappings[key(a)].purchase_invoice)
	port.submit_invoice(port.s.mappings[key(c)].purchase_invoice)
	port.s.invoices[port.s.mappings[key(c)].purchase_invoice]["paid"] = True
	draft_b = port.s.mappings[key(b)].purchase_invoice
	later = datetime.now() + timedelta(seconds=5)
	portal_edits.touch_invoice(conn, a, is_invoice_cancel=1, invoice_cancel_date=later, updated_at=later)
	portal_edits.touch_invoice(conn, b, is_delete=1, updated_at=later)
	portal_edits.touch_invoice(conn, c, is_invoice_cancel=1, updated_at=later)
	counts = run(world)
	assert counts["cancelled"] == 1 and counts["deleted"] == 1 and counts["conflict"] == 1
	assert port.s.invoices[port.s.mappings[key(a)].purchase_invoice]["docstatus"] == 2
	assert draft_b not in port.s.invoices
	assert port.s.mappings[key(c)].status == CONFLICT
	assert "has payments" in port.s.mappings[key(c)].last_error


def test_both_sides_changed_is_a_conflict_and_nothing_is_overwritten(world):
	conn, port = world["conn"], world["port"]
	rid = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}],
		remark="first",
	)
	run(world)
	name = port.s.mappings[(rid, world["vendors"][0])].purchase_invoice
	port.s.invoices[name]["remarks"] = "accountant's note"
	portal_edits.touch_invoice(
		conn, rid, remark="vendor's new remark", updated_at=datetime.now() + timedelta(seconds=5)
	)
	counts = run(world)
	assert counts["conflict"] == 1
	assert port.s.invoices[name]["remarks"] == "accountant's note"
	rec = port.s.mappings[(rid, world["vendors"][0])]
	assert rec.status == CONFLICT and rec.conflict_fields == "remarks"

	# a portal change to a field ERPNext did not touch merges in
	rec.status = SYNCED
	port.s.mappings[rec.key] = rec
	port.s.invoices[name]["remarks"] = "accountant's note"
	world["settings"] = m.PullSettings(**{**world["settings"].__dict__, "conflict_strategy": "ERPNext wins"})
	portal_edits.touch_invoice(
		conn, rid, remark="vendor again", updated_at=datetime.now() + timedelta(seconds=10)
	)
	assert run(world)["conflict"] == 0
	assert port.s.invoices[name]["remarks"] == "accountant's note"


def test_a_row_committed_late_behind_the_cursor_is_the_reconciliations(world):
	"""The cursor passes only seconds the portal has closed (its NOW() is later), so the next
	run reads strictly after it; an edit stamped with a closed second (a transaction that
	committed late) is not the pull's: the daily reconciliation applies it."""
	conn, port = world["conn"], world["port"]
	t = datetime(2026, 11, 20, 9, 0, 0)  # long past on the portal's clock
	lines = [{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}]
	first = portal_rows.insert_invoice(conn, world["entity"], lines, updated_at=t)
	second = portal_rows.insert_invoice(conn, world["entity"], lines, updated_at=t)
	run(world)
	assert port.get_cursor() == (t, second)
	portal_edits.touch_invoice(conn, first, remark="late edit", updated_at=t)
	assert run(world)["batches"] == 0  # strictly after the cursor: nothing read again
	engine = PullEngine(port, world["client"], world["settings"])
	assert reconcile.reconcile(engine, t - timedelta(days=1))["updated"] == 1
	assert (
		port.s.invoices[port.s.mappings[(first, world["vendors"][0])].purchase_invoice]["remarks"]
		== "late edit"
	)


def test_row_pushed_from_erpnext_is_linked_not_pulled_back(world):
	conn, port = world["conn"], world["port"]
	port.s.invoices["ACC-PINV-2026-00042"] = {
		"supplier": "X",
		"bill_no": "",
		"docstatus": 1,
		"items": [],
		"tax_accounts": {},
	}
	rid = portal_rows.insert_invoice(
		conn,
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}],
		order_code="ACC-PINV-2026-00042",
	)
	counts = run(world)
	assert counts["linked"] == 1 and counts["created"] == 0
	assert port.s.mappings[(rid, world["vendors"][0])].origin == "ERPNext"


def test_unmapped_entity_gets_one_skipped_row_per_run(world):
	conn = world["conn"]
	other = portal_rows.insert_entity(conn, "Not ours", "07AAACN1234A1Z5")
	for _ in range(3):
		portal_rows.insert_invoice(
			conn,
			other,
			[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "1.00", "gst_amt": "0.18"}],
		)
	counts = run(world)
	assert counts["skipped"] == 3
	skipped = world["port"].logs_of(SKIPPED)
	assert len(skipped) == 1 and f"entity {other}" in skipped[0].message


def test_portal_queries_per_batch_do_not_grow_with_lines(world):
	conn, client = world["conn"], world["client"]
	world["settings"] = m.PullSettings(**{**world["settings"].__dict__, "pull_batch_size": 100})
	portal_realistic.seed_realistic(
		conn, 25, entity_id=world["entity"], vendor_ids=world["vendors"][:1], min_lines=1, max_lines=1, seed=1
	)
	before = client.query_count
	run(world)
	one_line = client.query_count - before
	portal_realistic.seed_realistic(
		conn,
		25,
		entity_id=world["entity"],
		vendor_ids=world["vendors"][:1],
		min_lines=6,
		max_lines=6,
		seed=2,
		start_date=datetime(2026, 11, 20, 19),
		end_date=datetime(2026, 11, 20, 20),
	)
	before = client.query_count
	counts = run(world)
	assert counts["created"] == 25 and counts["batches"] == 1
	assert client.query_count - before == one_line == 3  # headers, lines, vendors


def test_one_persistent_client_per_process_reopened_when_it_died(portal_config):
	from o2o_sync.sync.portal.client import close_clients, get_client

	try:
		first = get_client(portal_config)
		assert get_client(portal_config) is first  # no new SSH handshake per job
		first.tunnel.close()  # the bastion dropped us
		second = get_client(portal_config)
		assert second is not first and second.is_alive()
		assert second.fetch_vendors([1]) == {}
	finally:
		close_clients()


def test_a_failure_after_the_invoice_was_written_leaves_no_trace_in_the_mapping(world):
	port = world["port"]
	rid = portal_rows.insert_invoice(
		world["conn"],
		world["entity"],
		[{"vendor_id": world["vendors"][0], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}],
	)
	real_save = port.save_mapping
	calls = []

	def save_mapping_failing_once(record):
		calls.append(record.status)
		if len(calls) == 1:
			raise RuntimeError("database went away")
		real_save(record)

	port.save_mapping = save_mapping_failing_once
	assert run(world)["failed"] == 1
	rec = port.s.mappings[(rid, world["vendors"][0])]
	assert rec.status == FAILED and rec.purchase_invoice is None  # the rolled-back invoice is not named
	assert port.s.invoices == {}
	port.save_mapping = real_save
	assert run(world)["created"] == 1
