"""Time on a real portal database: the pull's cursor stays behind the portal's own clock.

Contract: the portal's clock is Asia/Kolkata local time and `updated_at` carries no zone;
this test MariaDB's clock is whatever the machine's is. Every portal time here comes from
the portal's NOW() (`db_now`), never from this machine's clock; ERPNext is the in-memory
port, its clock skewed on purpose. The client connects directly (the tunnel is not what is
tested here).
"""

from datetime import timedelta

import pytest
from inmemory_port import InMemoryPort
from inmemory_portal import InMemoryPortal

from o2o_sync.setup import portal_rows
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.dates import PORTAL_DATE
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.reconcile import reconcile
from o2o_sync.sync.model.port import SKIPPED, SUCCESS
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.config import ConnectionConfig
from o2o_sync.tests import portal_edits

COMPANY_GSTIN = "27AAACO2020A1Z5"


@pytest.fixture
def world(portal_db, portal_server):
	conn = portal_db["conn"]
	entity = portal_rows.insert_entity(conn, "O2O Buyer", COMPANY_GSTIN)
	vendor = portal_rows.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5")
	port = InMemoryPort()
	port.add_item("SERVICES")
	port.add_item("FREIGHT")
	settings = m.PullSettings(
		default_item="SERVICES",
		freight_item="FREIGHT",
		pull_batch_size=10,
		entities={
			str(entity): m.EntityConfig(
				str(entity), "O2O Test Co", COMPANY_GSTIN, "CGST", "SGST", "IGST", "Purchases", "Main"
			)
		},
	)
	config = ConnectionConfig(
		host=portal_server["host"],
		port=portal_server["port"],
		database=portal_db["name"],
		username=portal_server["user"],
		password=portal_server["password"],
		name=f"time-{portal_db['name']}",
	)
	client = ProcureUATClient(config).open()
	world = {"conn": conn, "entity": entity, "vendor": vendor, "port": port, "settings": settings}
	world["client"] = client
	yield world
	client.close()


def invoice(w, **header) -> int:
	line = {"vendor_id": w["vendor"], "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}
	return portal_rows.insert_invoice(w["conn"], w["entity"], [line], **header)


def run(w, skew=timedelta(0)) -> dict:
	"""A pull whose ERPNext clock (`last_synced_at`) runs `skew` off the portal's."""
	now = portal_rows.db_now(w["conn"])
	return PullEngine(w["port"], w["client"], w["settings"], clock=lambda: now + skew).run()


def named(w, rid) -> str | None:
	rec = w["port"].s.mappings.get((rid, w["vendor"]))
	return rec.purchase_invoice if rec else None


def test_the_page_carries_the_portal_clock_and_a_change_time_without_impossible_dates(world):
	conn = world["conn"]
	now = portal_rows.db_now(conn)
	good = invoice(world, updated_at=now - timedelta(minutes=1))
	with conn.cursor() as cur:  # legacy rows were written outside strict mode: month or day 0 kept
		cur.execute("SET SESSION sql_mode = ''")
	bad = invoice(world, created_at=now - timedelta(hours=2), updated_at="2026-00-15 10:00:00")
	with conn.cursor() as cur:
		cur.execute(
			"UPDATE purchase_order_items SET updated_at = '2026-07-00 00:00:00' WHERE purchase_order_id = %s",
			(bad,),
		)
	batch = world["client"].fetch_invoice_batch((None, 0), 10, {str(world["entity"])})
	assert 0 <= (batch.portal_now - now).total_seconds() < 60
	by_id = {inv.id: inv for inv in batch.invoices}
	assert by_id[bad].change_ts == now - timedelta(hours=2)  # its created_at: the only real date
	assert by_id[good].change_ts == now - timedelta(minutes=1)
	assert batch.date_faults == {bad: "updated_at 2026-00-15 10:00:00; 1 line(s) updated_at"}
	assert [inv.id for inv in batch.invoices] == [bad, good] and batch.last_key == (
		by_id[good].change_ts,
		good,
	)

	# the in-memory portal reads the same rows the same way
	fake = InMemoryPortal()
	fake.add_vendor("Sharma Traders", "V001", "27AAAPS1234A1Z5")
	line = {"vendor_id": 1, "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}
	fake.add_invoice(world["entity"], [line], id=good, updated_at=now - timedelta(minutes=1))
	fake.add_invoice(
		world["entity"],
		[{**line, "updated_at": "2026-07-00 00:00:00"}],
		id=bad,
		created_at=now - timedelta(hours=2),
		updated_at="2026-00-15 10:00:00",
	)
	fake_batch = fake.fetch_invoice_batch((None, 0), 10, {str(world["entity"])})
	assert (fake_batch.date_faults, fake_batch.last_key) == (batch.date_faults, batch.last_key)
	assert [inv.change_ts for inv in fake_batch.invoices] == [inv.change_ts for inv in batch.invoices]


def test_a_row_dated_a_day_ahead_is_pulled_and_later_rows_are_still_read(world):
	conn, port = world["conn"], world["port"]
	ahead = invoice(world, updated_at=portal_rows.db_now(conn) + timedelta(days=1))
	assert run(world)["created"] == 1
	assert port.get_cursor()[0] <= portal_rows.db_now(conn)  # never past the portal's clock
	later = invoice(world)  # written at the portal's NOW()
	assert run(world)["created"] == 1 and named(world, later)
	edited = invoice(world)
	run(world)
	portal_edits.touch_invoice(conn, edited, remark="edited at the portal's NOW()")
	counts = run(world)
	assert counts["updated"] == 1 and counts["created"] == 0
	assert port.s.invoices[named(world, edited)]["remarks"] == "edited at the portal's NOW()"
	dates = port.logs_of(SKIPPED, PORTAL_DATE)
	assert [e.procureuat_id for e in dates] == [ahead]  # once, though re-read by every run


@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_a_ten_minute_skew_between_erpnext_and_the_portal_changes_nothing(world, skew):
	conn, port = world["conn"], world["port"]
	ids = [invoice(world) for _ in range(3)]
	assert run(world, skew)["created"] == 3
	for n, rid in enumerate(ids):
		portal_edits.touch_invoice(conn, rid, remark=f"edit {n}")  # the portal's NOW()
		counts = run(world, skew)
		assert (counts["updated"], counts["created"]) == (1, 0)
		assert port.s.invoices[named(world, rid)]["remarks"] == f"edit {n}"
	# the portal's application server runs 10 minutes off the database's clock, both ways
	for n, rid in enumerate(ids[:2]):
		off = portal_rows.db_now(conn) + (skew if n else -skew)
		portal_edits.touch_invoice(conn, rid, remark=f"stamped {off}", updated_at=off)
	assert run(world, skew)["updated"] + reconcile_missed(world) == 2
	assert [port.s.invoices[named(world, rid)]["remarks"].startswith("stamped") for rid in ids[:2]] == [
		True,
		True,
	]


def reconcile_missed(world) -> int:
	"""What the reconciliation applies that the cursor did not (an edit stamped behind it)."""
	engine = PullEngine(world["port"], world["client"], world["settings"])
	result = reconcile(engine, since=portal_rows.db_now(world["conn"]) - timedelta(days=1))
	return result["updated"]


def test_reconcile_reads_in_constant_statements_per_page_and_finds_the_missed_edit(world):
	conn, port, client = world["conn"], world["port"], world["client"]
	start = portal_rows.db_now(conn) - timedelta(hours=2)
	ids = [invoice(world, updated_at=start + timedelta(minutes=n)) for n in range(25)]
	run(world)
	behind = start - timedelta(hours=1)  # behind the cursor: the pull cannot see it
	portal_edits.touch_invoice(conn, ids[4], remark="stamped behind the cursor", updated_at=behind)
	assert run(world)["updated"] == 0
	before = client.query_count
	engine = PullEngine(port, client, world["settings"])
	result = reconcile(engine, since=portal_rows.db_now(conn) - timedelta(days=1))
	assert (result["read"], result["missed"], result["updated"], result["batches"]) == (25, 1, 1, 3)
	# two statements per page (headers, lines), plus the vendors of the one page with an edit
	assert client.query_count - before == 2 * 3 + 1
	assert port.s.invoices[named(world, ids[4])]["remarks"] == "stamped behind the cursor"
	assert (
		"25 invoice(s) read, 25 compared, 1 missed by the cursor"
		in port.logs_of(SUCCESS, "Reconcile")[0].message
	)
	before = client.query_count
	again = reconcile(
		PullEngine(port, client, world["settings"]), since=portal_rows.db_now(conn) - timedelta(days=1)
	)
	assert again["missed"] == 0 and client.query_count - before == 2 * 3
