"""Our copy of the portal schema, the row builders and the test-only portal edits."""

import time
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

import pymysql
import pytest

from o2o_sync.setup.portal_realistic import seed_realistic
from o2o_sync.setup.portal_rows import financial_year, insert_entity, insert_invoice, insert_vendor
from o2o_sync.setup.portal_schema import schema_statements
from o2o_sync.sync.model.money import amount_tolerance, paisa, parse_text_number
from o2o_sync.sync.portal.client import CONTRACT_TABLES
from o2o_sync.tests.portal_edits import touch_invoice, touch_line

TABLES = set(CONTRACT_TABLES)


def _one(conn, sql, args=()):
	with conn.cursor() as cur:
		cur.execute(sql, args)
		return cur.fetchone()


def _all(conn, sql, args=()):
	with conn.cursor() as cur:
		cur.execute(sql, args)
		return cur.fetchall()


def _column(conn, table, column):
	return _one(
		conn,
		"SELECT data_type, is_nullable, column_default FROM information_schema.columns"
		" WHERE table_schema = DATABASE() AND table_name = %s AND column_name = %s",
		(table, column),
	)


def test_schema_loads(portal_db):
	conn = portal_db["conn"]
	assert len(schema_statements()) == len(TABLES)
	tables = {
		r["table_name"]
		for r in _all(
			conn,
			"SELECT table_name AS table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
		)
	}
	assert tables == TABLES
	engines = _all(
		conn,
		"SELECT DISTINCT engine, table_collation FROM information_schema.tables WHERE table_schema = DATABASE()",
	)
	assert engines == [{"engine": "InnoDB", "table_collation": "utf8mb4_general_ci"}]
	# legacy habits the client must cope with
	assert _column(conn, "purchase_order_items", "cost")["data_type"] == "float"
	assert _column(conn, "purchase_order_items", "unit_rate")["data_type"] == "varchar"
	assert _column(conn, "purchase_requisitions", "freight_cost")["data_type"] == "varchar"
	assert _column(conn, "purchase_requisitions", "updated_at")["is_nullable"] == "YES"
	remark = _column(conn, "purchase_requisitions", "remark")
	assert remark["is_nullable"] == "NO" and remark["column_default"] is None
	for column in ("password", "encrypted_password", "confirm_password", "last_sign_in_ip"):
		assert _column(conn, "vendors", column) is not None
	keys = _all(
		conn,
		"SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE()"
		" AND table_name = 'invoice_counter' AND non_unique = 0 AND index_name <> 'PRIMARY' ORDER BY seq_in_index",
	)
	assert [k["column_name"] for k in keys] == ["prefix", "financial_year"]


def test_not_null_columns_without_default_fail_under_strict_mode(portal_db):
	conn = portal_db["conn"]
	assert "STRICT_TRANS_TABLES" in _one(conn, "SELECT @@SESSION.sql_mode AS m")["m"]
	with pytest.raises(pymysql.err.OperationalError) as caught:
		with conn.cursor() as cur:
			# everything but `remark` (TEXT NOT NULL, no default)
			cur.execute(
				"INSERT INTO purchase_requisitions (entity, order_name, order_code, category, address, status,"
				" invoice_series, credit_note_number, freight_rate, freight_cost, requisition_at, requisition_by,"
				" created_by, updated_by, amend_no, reason, transportation_mode, vehicle_no, challan_number,"
				" is_visible_header) VALUES ('1', 'o', 'c', 0, '', 'active', 1, '', '0', '0', NOW(), 1, 1, 1,"
				" '0', '', '', '', '', 1)"
			)
	assert caught.value.args[0] == 1364  # ER_NO_DEFAULT_FOR_FIELD
	assert "remark" in caught.value.args[1]
	with pytest.raises(pymysql.err.OperationalError):
		with conn.cursor() as cur:
			cur.execute(
				"INSERT INTO purchase_order_items (purchase_order_id, image, status, created_by, updated_by) VALUES (1, '', 'active', 1, 1)"
			)


def test_zero_datetime_is_storable(portal_db):
	conn = portal_db["conn"]
	entity = insert_entity(conn, "Acme Buyers", "27AAAAA0000A1Z5")
	vendor = insert_vendor(conn, "Sharma Traders", "V001", "27ABCDE1234F1Z5")
	rid = insert_invoice(
		conn,
		entity,
		[{"vendor_id": vendor, "product_id": 1, "quantity": 1, "cost": "10.00", "gst_amt": "1.80"}],
		delivery_date="0000-00-00 00:00:00",
	)
	row = _one(
		conn, "SELECT CAST(delivery_date AS CHAR) AS d FROM purchase_requisitions WHERE id = %s", (rid,)
	)
	assert row["d"] == "0000-00-00 00:00:00"


def test_insert_helpers_fill_every_required_column(portal_db):
	conn = portal_db["conn"]
	entity = insert_entity(conn, "Acme Buyers", "27AAAAA0000A1Z5", id=7)
	assert entity == 7
	vendor = insert_vendor(conn, "Sharma Traders", "V001", "27ABCDE1234F1Z5")
	other = insert_vendor(conn, "Gupta & Sons", "V002", None, id=40, status="inactive")
	assert other == 40
	row = _one(conn, "SELECT password, confirm_password FROM vendors WHERE id = %s", (vendor,))
	assert row["password"].startswith("$2y$10$") and row["password"] != row["confirm_password"]

	first = insert_invoice(
		conn,
		entity,
		[
			{"vendor_id": vendor, "product_id": 11, "quantity": 7, "cost": "100.00", "gst_amt": "18.00"},
			{
				"vendor_id": vendor,
				"product_id": 12,
				"quantity": 3,
				"cost": "815999.69",
				"gst_amt": "40800.00",
				"unit_rate": "2,71,999.90",
				"uom": "Kg",
			},
		],
		invoice_generated_at=datetime(2026, 5, 4, 11, 30),
	)
	second = insert_invoice(
		conn, entity, [{"vendor_id": vendor, "product_id": 11, "quantity": 1, "cost": 50, "gst_amt": 2.5}]
	)
	header = _one(conn, "SELECT * FROM purchase_requisitions WHERE id = %s", (first,))
	assert header["invoice_number"] == "AGO2O/26-27/0001"
	assert header["entity"] == "7" and header["invoice_generated"] == 1 and header["currency_id"] == 1
	assert header["status"] == "active" and header["freight_cost"] == "0"
	assert header["invoice_generated_at"] == datetime(2026, 5, 4, 11, 30)
	assert header["created_at"] is not None and header["updated_at"] is not None
	second_number = _one(conn, "SELECT invoice_number FROM purchase_requisitions WHERE id = %s", (second,))
	assert second_number["invoice_number"] != header["invoice_number"]

	lines = _all(
		conn,
		"SELECT id, cost + 0 AS cost, gst_amt + 0 AS gst_amt, total_amt + 0 AS total_amt, unit_rate, uom"
		" FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id",
		(first,),
	)
	assert [paisa(r["cost"]) for r in lines] == [Decimal("100.00"), paisa(lines[1]["cost"])]
	assert paisa(lines[0]["total_amt"]) == Decimal("118.00")
	assert lines[0]["unit_rate"] == "14.29" and lines[1]["unit_rate"] == "2,71,999.90"
	# 815999.69 is beyond FLOAT's paisa: stored within the column's resolution
	assert abs(paisa(lines[1]["cost"]) - Decimal("815999.69")) <= amount_tolerance(Decimal("815999.69"))

	with pytest.raises(ValueError):
		insert_invoice(conn, entity, [], no_such_column=1)


def test_touch_moves_updated_at(portal_db):
	conn = portal_db["conn"]
	entity = insert_entity(conn, "Acme Buyers", "27AAAAA0000A1Z5")
	vendor = insert_vendor(conn, "Sharma Traders", "V001", "27ABCDE1234F1Z5")
	old = datetime(2026, 6, 1, 10, 0)
	rid = insert_invoice(
		conn,
		entity,
		[
			{
				"vendor_id": vendor,
				"product_id": 1,
				"quantity": 2,
				"cost": "200.00",
				"gst_amt": "36.00",
				"updated_at": old,
			}
		],
		invoice_generated_at=old,
		created_at=old,
		updated_at=old,
	)
	line_id = _one(conn, "SELECT id FROM purchase_order_items WHERE purchase_order_id = %s", (rid,))["id"]
	now = _one(conn, "SELECT NOW() AS now")["now"]

	touch_invoice(conn, rid, remark="changed on the portal", finance_status=1)
	row = _one(
		conn, "SELECT remark, finance_status, updated_at FROM purchase_requisitions WHERE id = %s", (rid,)
	)
	assert row["remark"] == "changed on the portal" and row["finance_status"] == 1
	assert row["updated_at"] >= now and row["updated_at"].microsecond == 0

	touch_line(conn, line_id, cost="300.00", gst_amt="54.00")
	line = _one(
		conn, "SELECT total_amt + 0 AS t, updated_at FROM purchase_order_items WHERE id = %s", (line_id,)
	)
	assert paisa(line["t"]) == Decimal("354.00") and line["updated_at"] >= now

	touch_line(conn, line_id, gst_amt="15.00")  # total follows when only one side changes
	assert paisa(
		_one(conn, "SELECT total_amt + 0 AS t FROM purchase_order_items WHERE id = %s", (line_id,))["t"]
	) == Decimal("315.00")

	with pytest.raises(LookupError):
		touch_invoice(conn, 999999, remark="x")
	with pytest.raises(ValueError):
		touch_line(conn, line_id, nope=1)


SLABS = [Decimal(s) for s in ("0", "3", "5", "12", "18", "28")]


def test_seed_realistic_500(portal_db):
	conn = portal_db["conn"]
	entity = insert_entity(conn, "Acme Buyers", "27AAAAA0000A1Z5")
	vendors = [insert_vendor(conn, f"Vendor {i}", f"V{i:03d}", f"27ABCDE{i:04d}F1Z5") for i in range(1, 9)]

	started = time.monotonic()
	ids = seed_realistic(conn, 500, entity_id=entity, vendor_ids=vendors, seed=7)
	assert time.monotonic() - started < 5
	assert len(ids) == len(set(ids)) == 500

	headers = _all(
		conn,
		"SELECT id, invoice_number, invoice_generated, invoice_generated_at, created_at, updated_at,"
		" CAST(delivery_date AS CHAR) AS delivery, entity, currency_id, is_delete, is_invoice_cancel"
		" FROM purchase_requisitions ORDER BY id",
	)
	assert [h["id"] for h in headers] == ids
	assert all(h["invoice_generated"] == 1 and h["entity"] == str(entity) for h in headers)
	assert all(h["currency_id"] == 1 and not h["is_delete"] and not h["is_invoice_cancel"] for h in headers)
	numbers = [h["invoice_number"] for h in headers]
	assert len(set(numbers)) == 500
	assert numbers[0] == "AGO2O/26-27/0001" and numbers[-1] == "AGO2O/26-27/0500"
	dates = [h["invoice_generated_at"] for h in headers]
	assert dates == sorted(dates)
	assert min(dates) >= datetime(2026, 4, 2) and max(dates) <= datetime(2026, 11, 20, 23, 59, 59)
	assert {financial_year(d) for d in dates} == {"26-27"}
	assert len({d.month for d in dates}) == 8  # April to November
	null_updated = [h for h in headers if h["updated_at"] is None]
	assert null_updated and all(h["created_at"] is not None for h in null_updated)
	assert any(h["delivery"] == "0000-00-00 00:00:00" for h in headers)
	assert all(
		h["updated_at"] is None or h["updated_at"] <= datetime(2026, 11, 20, 23, 59, 59) for h in headers
	)

	lines = _all(
		conn,
		"SELECT id, purchase_order_id, vendor_id, quantity, unit_rate, cost + 0 AS cost,"
		" gst_amt + 0 AS gst_amt, total_amt + 0 AS total_amt FROM purchase_order_items",
	)
	per_invoice = defaultdict(list)
	for line in lines:
		per_invoice[line["purchase_order_id"]].append(line)
	assert set(per_invoice) == set(ids)
	assert all(1 <= len(v) <= 6 for v in per_invoice.values())

	slab_use = Counter()
	mixed = beyond_float = odd_rates = 0
	for invoice_lines in per_invoice.values():
		invoice_slabs = set()
		for line in invoice_lines:
			assert isinstance(line["quantity"], int) and 1 <= line["quantity"] <= 500
			cost, gst, total = paisa(line["cost"]), paisa(line["gst_amt"]), paisa(line["total_amt"])
			slab = next(
				s
				for s in SLABS
				if abs(paisa(cost * s / 100) - gst)
				<= amount_tolerance(cost) * s / 100 + amount_tolerance(gst)
			)
			if cost <= Decimal(131072):  # FLOAT holds every paisa here: exact
				assert paisa(cost * slab / 100) == gst
			else:
				beyond_float += 1
			if total <= Decimal(131072):
				assert total == cost + gst
			else:
				assert abs(total - (cost + gst)) <= 2 * amount_tolerance(total)
			invoice_slabs.add(slab)
			slab_use[slab] += 1
			rate = parse_text_number(line["unit_rate"])
			if rate is not None and cost <= Decimal(131072):
				assert paisa(rate * line["quantity"]) == cost
			if rate is None or line["unit_rate"] != f"{rate:.2f}":
				odd_rates += 1
		mixed += len(invoice_slabs) > 1
	assert {Decimal(0), Decimal(5), Decimal(12), Decimal(18), Decimal(28)} <= set(slab_use)
	assert slab_use[Decimal(18)] == max(slab_use.values())
	assert mixed > 20
	assert beyond_float > 0
	assert odd_rates > 20
	assert any("," in (line["unit_rate"] or "") for line in lines)
	assert any(" " in (line["unit_rate"] or "") for line in lines)


def test_seed_realistic_is_deterministic_and_appends(portal_db):
	conn = portal_db["conn"]
	entity = insert_entity(conn, "Acme Buyers", "27AAAAA0000A1Z5")
	vendors = [
		insert_vendor(conn, "Vendor A", "VA", "27ABCDE0001F1Z5"),
		insert_vendor(conn, "Vendor B", "VB", "29ABCDE0002F1Z5"),
	]
	first = seed_realistic(conn, 20, entity_id=entity, vendor_ids=vendors, seed=3)
	second = seed_realistic(conn, 20, entity_id=entity, vendor_ids=vendors, seed=3)
	assert second[0] == first[-1] + 1
	numbers = [
		r["invoice_number"]
		for r in _all(conn, "SELECT invoice_number FROM purchase_requisitions ORDER BY id")
	]
	assert len(set(numbers)) == 40

	def amounts(ids):
		return [
			(r["quantity"], r["unit_rate"], r["cost"])
			for r in _all(
				conn,
				"SELECT quantity, unit_rate, cost + 0 AS cost FROM purchase_order_items"
				f" WHERE purchase_order_id BETWEEN {ids[0]} AND {ids[-1]} ORDER BY id",
			)
		]

	assert amounts(first) == amounts(second)
