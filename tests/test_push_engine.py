"""The push against a real portal database through a real sshd (contract, "Push")."""

import multiprocessing
from datetime import date, datetime
from decimal import Decimal as D

import pymysql
import pytest
from inmemory_port import InMemoryPort

from o2o_sync.constants import FAILED, SYNCED
from o2o_sync.setup import portal_rows as pr
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.push.engine import PushEngine, PushSettings, build_portal_rows, financial_year
from o2o_sync.sync.model.records import PushInvoice, PushLine, PushTax
from o2o_sync.sync.portal.client import ProcureUATClient

SETTINGS = PushSettings(invoice_prefix="O2OT", portal_user_id=9)


def invoice(name="ACC-PINV-2026-00001", chain=None, qty="7", posting=date(2026, 11, 20), **kw):
	fields = dict(
		name=name,
		chain=chain or [name],
		company="O2O Test Co",
		entity_id="1",
		supplier="Sharma Traders",
		supplier_name="Sharma Traders",
		vendor_id=1,
		supplier_address="Plot 12, MIDC, Pune",
		remarks="Pantry supplies",
		bill_no="ST/889",
		posting_date=posting,
		currency="INR",
		is_return=False,
		lines=[
			PushLine(1, "TEA", D(qty), D("14.285714"), D("100.00"), D("18.00"), D("18"), 501, "Nos"),
			PushLine(2, "SUGAR", D("2"), D("25"), D("50.00"), D("2.50"), D("5"), 502, "Kg"),
		],
		taxes=[
			PushTax(1, "CGST - O2O", "On Net Total", "gst"),
			PushTax(2, "SGST - O2O", "On Net Total", "gst"),
		],
		grand_total=D("170.50"),
	)
	fields.update(kw)
	return PushInvoice(**fields)


@pytest.fixture
def world(portal_db, portal_config):
	client = ProcureUATClient(portal_config).open()
	port = InMemoryPort()
	yield {
		"conn": portal_db["conn"],
		"client": client,
		"port": port,
		"engine": PushEngine(port, client, SETTINGS),
		"config": portal_config,
	}
	client.close()


def rows(conn, sql, params=()):
	with conn.cursor() as cur:
		cur.execute(sql, params)
		return cur.fetchall()


def test_submitted_invoice_becomes_one_header_and_its_lines_with_contract_values(world):
	conn, port = world["conn"], world["port"]
	port.add_push_invoice(invoice())
	result = world["engine"].push("ACC-PINV-2026-00001")
	assert result["status"] == SYNCED and result["invoice_number"] == "O2OT/26-27/0001"
	[h] = rows(conn, "SELECT * FROM purchase_requisitions")
	expected = {
		"entity": "1",
		"order_name": "Sharma Traders",
		"order_code": "ACC-PINV-2026-00001",
		"address": "Plot 12, MIDC, Pune",
		"remark": "Pantry supplies",
		"acknowledgement": 1,
		"order_status": 2,
		"status": "active",
		"category": 0,
		"amend_no": "0",
		"reason": "ERPNext",
		"transportation_mode": "",
		"vehicle_no": "",
		"challan_number": "",
		"freight_rate": "0",
		"freight_cost": "0",
		"requisition_by": 9,
		"created_by": 9,
		"updated_by": 9,
		"invoice_series": 1,
		"invoice_generated": 1,
		"is_visible_header": 1,
		"vendor_created": 0,
		"gst_percentage": "18",
		"credit_note_number": "ST/889",
		"invoice_number": "O2OT/26-27/0001",
		"requisition_at": datetime(2026, 11, 20),
		"created_at": datetime(2026, 11, 20),
		"invoice_generated_at": datetime(2026, 11, 20),
		"is_invoice_cancel": 0,
	}
	assert {k: h[k] for k in expected} == expected
	lines = rows(
		conn,
		"SELECT vendor_id, product_id, brand_id, image, status, quantity, unit_rate, cost + 0 AS cost, gst_amt + 0 AS gst, total_amt + 0 AS total FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id",
		(h["id"],),
	)
	assert [
		(
			li["product_id"],
			li["quantity"],
			li["unit_rate"],
			pr.round_paisa(li["cost"]),
			pr.round_paisa(li["gst"]),
			pr.round_paisa(li["total"]),
		)
		for li in lines
	] == [
		(501, 7, "14.285714", D("100.00"), D("18.00"), D("118.00")),
		(502, 2, "25", D("50.00"), D("2.50"), D("52.50")),
	]
	assert all(
		li["vendor_id"] == 1 and li["brand_id"] == 0 and li["image"] == "" and li["status"] == "active"
		for li in lines
	)
	rec = port.s.mappings[(h["id"], 1)]
	assert rec.status == SYNCED and rec.origin == "ERPNext"
	assert port.s.invoices["ACC-PINV-2026-00001"]["procureuat_invoice_number"] == "O2OT/26-27/0001"


def test_counter_row_is_created_after_the_highest_number_already_used(world):
	conn = world["conn"]
	pr.insert_invoice(
		conn,
		1,
		[{"vendor_id": 1, "quantity": 1, "cost": "1", "gst_amt": "0"}],
		invoice_number="O2OT/26-27/0041",
	)
	world["port"].add_push_invoice(invoice())
	assert world["engine"].push("ACC-PINV-2026-00001")["invoice_number"] == "O2OT/26-27/0042"
	[c] = rows(conn, "SELECT prefix, financial_year, last_number FROM invoice_counter")
	assert (c["prefix"], c["financial_year"], c["last_number"]) == ("O2OT", "26-27", 42)
	assert financial_year(date(2027, 3, 31)) == "26-27" and financial_year(date(2027, 4, 1)) == "27-28"


def test_a_failing_line_leaves_no_header_and_no_number_behind(world):
	conn, client = world["conn"], world["client"]
	header, lines = build_portal_rows(invoice("ACC-PINV-BROKEN"), SETTINGS)
	lines[1]["quantity"] = "not a number"
	with pytest.raises(pymysql.MySQLError):
		client.write_invoice(
			header, lines, order_codes=["ACC-PINV-BROKEN"], prefix="O2OT", financial_year="26-27"
		)
	assert rows(conn, "SELECT id FROM purchase_requisitions") == ()
	assert rows(conn, "SELECT id FROM purchase_order_items") == ()
	assert rows(conn, "SELECT last_number FROM invoice_counter") == ()


def test_retry_after_crash_between_portal_and_erpnext_commits_finds_its_own_row(world):
	conn, port = world["conn"], world["port"]
	port.add_push_invoice(invoice())
	first = world["engine"].push("ACC-PINV-2026-00001")
	port.s.mappings.clear()  # ERPNext's side never committed
	second = world["engine"].push("ACC-PINV-2026-00001")
	assert (
		second["procureuat_id"] == first["procureuat_id"]
		and second["invoice_number"] == first["invoice_number"]
	)
	assert len(rows(conn, "SELECT id FROM purchase_requisitions")) == 1
	assert len(rows(conn, "SELECT id FROM purchase_order_items")) == 2


def test_cancel_then_amend_keeps_the_row_and_number(world):
	conn, port, engine = world["conn"], world["port"], world["engine"]
	port.add_push_invoice(invoice("PINV-A"))
	first = engine.push("PINV-A")
	engine.cancel("PINV-A")
	[h] = rows(conn, "SELECT is_invoice_cancel, invoice_cancel_date FROM purchase_requisitions")
	assert h["is_invoice_cancel"] == 1 and h["invoice_cancel_date"] is not None
	amended = invoice(
		"PINV-A-AMEND",
		chain=["PINV-A-AMEND", "PINV-A"],
		qty="3",
		lines=[PushLine(1, "TEA", D("3"), D("10"), D("30.00"), D("5.40"), D("18"), 501)],
	)
	port.add_push_invoice(amended)
	second = engine.push("PINV-A-AMEND")
	assert (second["procureuat_id"], second["invoice_number"]) == (
		first["procureuat_id"],
		first["invoice_number"],
	)
	[h] = rows(
		conn,
		"SELECT order_code, is_invoice_cancel, invoice_cancel_date, invoice_number FROM purchase_requisitions",
	)
	assert (h["order_code"], h["is_invoice_cancel"], h["invoice_cancel_date"]) == ("PINV-A-AMEND", 0, None)
	assert [r["quantity"] for r in rows(conn, "SELECT quantity FROM purchase_order_items")] == [3]


def test_amendment_may_not_move_the_invoice_into_another_financial_year(world):
	port, engine = world["port"], world["engine"]
	port.add_push_invoice(invoice("PINV-B"))
	engine.push("PINV-B")
	port.add_push_invoice(invoice("PINV-B-1", chain=["PINV-B-1", "PINV-B"], posting=date(2027, 4, 2)))
	result = engine.push("PINV-B-1")
	assert result["status"] == FAILED and "financial year" in result["message"]
	assert rows(world["conn"], "SELECT order_code FROM purchase_requisitions")[0]["order_code"] == "PINV-B"


@pytest.mark.parametrize(
	"changes,words",
	[
		({"is_return": True}, "return (debit note)"),
		({"currency": "USD"}, "INR only"),
		({"qty": "1.5"}, "fractional"),
		({"taxes": [PushTax(1, "CGST - O2O", "Actual", "gst")]}, "On Net Total"),
		({"taxes": [PushTax(1, "Freight - O2O", "On Net Total", "other")]}, "not a GST row"),
		({"vendor_id": None}, "Supplier Sharma Traders (set its ProcureUAT Vendor ID)"),
		(
			{"lines": [PushLine(1, "TEA", D("1"), D("1"), D("1"), D("0"), D("0"), None)]},
			"Item TEA (set its ProcureUAT Product ID)",
		),
	],
)
def test_what_the_portal_cannot_hold_is_refused_and_nothing_written(world, changes, words):
	port = world["port"]
	port.add_push_invoice(invoice(**changes))
	result = world["engine"].push("ACC-PINV-2026-00001")
	assert result["status"] == FAILED and words in result["message"]
	assert port.s.invoices["ACC-PINV-2026-00001"]["o2o_sync_status"] == "Failed"
	assert rows(world["conn"], "SELECT id FROM purchase_requisitions") == ()
	assert port.logs_of(FAILED)[0].message == result["message"]


def test_payment_state_follows_outstanding(world):
	port, engine, conn = world["port"], world["engine"], world["conn"]
	port.add_push_invoice(invoice("P1"))
	port.add_push_invoice(invoice("P2"))
	r1, r2 = engine.push("P1")["procureuat_id"], engine.push("P2")["procureuat_id"]
	assert engine.sync_payment_states() == {"updated": 0, "unchanged": 2, "left": 0}
	port.s.invoices["P1"]["push"].outstanding_amount = D("70.50")
	port.s.invoices["P2"]["push"].outstanding_amount = D("0")
	assert engine.sync_payment_states() == {"updated": 2, "unchanged": 0, "left": 0}
	status = {
		r["id"]: r["finance_status"]
		for r in rows(conn, "SELECT id, finance_status FROM purchase_requisitions")
	}
	assert status == {r1: 1, r2: 2}
	assert engine.sync_payment_states(["P1"]) == {"updated": 0, "unchanged": 1, "left": 0}


def test_pushed_row_is_not_pulled_back(world):
	port = world["port"]
	port.add_push_invoice(invoice())
	rid = world["engine"].push("ACC-PINV-2026-00001")["procureuat_id"]
	settings = m.PullSettings(
		default_item="X", entities={"1": m.EntityConfig("1", "O2O Test Co", "27AAACO2020A1Z5", "C", "S", "I")}
	)
	counts = PullEngine(port, world["client"], settings).run()
	assert counts["created"] == 0 and counts["unchanged"] == 1
	assert port.s.mappings[(rid, 1)].status == SYNCED


def _push_many(config, worker, n, queue):
	client = ProcureUATClient(config).open()
	numbers = []
	for i in range(n):
		header, lines = build_portal_rows(invoice(f"PINV-W{worker}-{i}"), SETTINGS)
		numbers.append(
			client.write_invoice(
				header, lines, order_codes=[header["order_code"]], prefix="O2OT", financial_year="26-27"
			)["invoice_number"]
		)
	client.close()
	queue.put(numbers)


def test_two_processes_pushing_at_once_never_share_an_invoice_number(world):
	ctx = multiprocessing.get_context("spawn")
	queue = ctx.Queue()
	procs = [ctx.Process(target=_push_many, args=(world["config"], w, 50, queue)) for w in range(2)]
	for p in procs:
		p.start()
	numbers = queue.get(timeout=120) + queue.get(timeout=120)
	for p in procs:
		p.join(timeout=60)
	assert len(numbers) == 100 and len(set(numbers)) == 100
	assert sorted(numbers) == [f"O2OT/26-27/{n:04d}" for n in range(1, 101)]
	assert len(rows(world["conn"], "SELECT id FROM purchase_requisitions")) == 100
