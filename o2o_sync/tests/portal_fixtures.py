"""Test helpers for the ProcureUAT side: a throwaway portal database, seed rows, a real sshd bastion.

Used by the pytest suite (tests/conftest.py), by Frappe integration tests and by the
demo command, so it needs PyMySQL and the standard library only (and the OpenSSH
binaries for `SshServer`). It must never import frappe.

The database is built from `procureuat_schema.sql`, our copy of the portal's DDL
written from the contract, legacy habits included: seeding helpers therefore fill
every NOT NULL column that has no default, as the portal's own code does.

Nothing here writes a secret anywhere but the SshServer's private temp directory:
vendor credential columns get random hash-looking text made at run time, and SSH
keys are generated per run and deleted on `SshServer.stop()`.
"""

import atexit
import math
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pymysql
import pymysql.cursors

#: Our copy of the portal's DDL.
SCHEMA_PATH = Path(__file__).with_name("procureuat_schema.sql")
#: Session SQL mode of helper connections: strict like the portal's server, zero dates allowed.
PORTAL_SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
#: Invoice number prefix the helpers use ('AGO2O/26-27/0001').
DEFAULT_INVOICE_PREFIX = "AGO2O"
#: The zero datetime the portal leaves in some rows.
ZERO_DATETIME = "0000-00-00 00:00:00"

SSHD_PATH = "/usr/sbin/sshd"

_PAISA = Decimal("0.01")
_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")

#: Every column of `purchase_requisitions` a helper may set.
REQUISITION_COLUMNS = frozenset(
	"""id entity subentity_id order_name order_code category delivery_date validity_date address
	remark acknowledgement order_status finance_status is_delete status gst_percentage invoice_series
	invoice_number invoice_generated invoice_generated_at is_invoice_cancel invoice_cancel_date
	credit_note_number freight_rate freight_cost requisition_at requisition_by created_by updated_by
	created_at updated_at vendor_created is_new_invoice currency_id clone_id reason_id approved_by
	rejected_by gru_ack amend_no reason transportation_mode vehicle_no challan_number gru_ack_remark
	dispatch_status awb_number weight weight_rate adv_shipping_detatils import_files user_file_name
	invoice_view amendment_date challan_date approved_at rejected_at total_wt is_visible_header""".split()
)
#: Every column of `purchase_order_items` a helper may set.
LINE_COLUMNS = frozenset(
	"""id purchase_order_id vendor_id product_id category_id subcategory_id brand_id product_type gst_id
	image quantity unit_rate uom unit unit_type cost gst_amt total_amt status vendor_approve created_at
	updated_at created_by updated_by""".split()
)
#: Every column of `vendors` a helper may set.
VENDOR_COLUMNS = frozenset(
	"""id name code gstn email website address pincode contact_number country_id state_id city_id user_id
	status created_at updated_at created_by updated_by password encrypted_password confirm_password
	last_sign_in_ip""".split()
)


# ---------------------------------------------------------------------------
# database


def db_server() -> dict:
	"""The MariaDB server test portals live on: dict host, port, user, password.

	From O2O_TEST_DB_HOST / _PORT / _USER / _PASSWORD; default 127.0.0.1:3306, root, no password.
	"""
	return {
		"host": os.environ.get("O2O_TEST_DB_HOST", "127.0.0.1"),
		"port": int(os.environ.get("O2O_TEST_DB_PORT", "3306")),
		"user": os.environ.get("O2O_TEST_DB_USER", "root"),
		"password": os.environ.get("O2O_TEST_DB_PASSWORD", ""),
	}


def schema_statements(path: Path | str = SCHEMA_PATH) -> list[str]:
	"""Split the schema file into statements.

	Lines starting with ``--`` are comments; a statement ends with ``;`` at the end of a
	line. Returns the statements without their ``;``.
	"""
	statements, current = [], []
	for line in Path(path).read_text(encoding="utf-8").splitlines():
		stripped = line.strip()
		if not stripped or stripped.startswith("--"):
			continue
		current.append(line)
		if stripped.endswith(";"):
			statements.append("\n".join(current).rstrip().rstrip(";"))
			current = []
	if current:
		statements.append("\n".join(current))
	return statements


def _check_db_name(db_name: str) -> str:
	if not _DB_NAME.match(db_name or ""):
		raise ValueError(f"database name must be 1-64 letters, digits or underscores: {db_name!r}")
	return db_name


def _server_connection(host, port, user, password, database=None) -> pymysql.Connection:
	return pymysql.connect(
		host=host,
		port=int(port),
		user=user,
		password=password,
		database=database,
		charset="utf8mb4",
		autocommit=True,
		connect_timeout=10,
		cursorclass=pymysql.cursors.DictCursor,
		init_command=f"SET SESSION sql_mode = '{PORTAL_SQL_MODE}'",
	)


def create_portal_database(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> None:
	"""Create an empty portal database `db_name` (dropped first if it exists) and load the schema.

	`db_name` must be letters, digits and underscores (ValueError otherwise).
	Raises pymysql errors when the server cannot be reached or refuses.
	"""
	_check_db_name(db_name)
	conn = _server_connection(host, port, user, password)
	try:
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
			cur.execute(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
			cur.execute(f"USE `{db_name}`")
			for statement in schema_statements():
				cur.execute(statement)
	finally:
		conn.close()


def drop_portal_database(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> None:
	"""Drop the database `db_name` if it exists (ValueError for a malformed name)."""
	_check_db_name(db_name)
	conn = _server_connection(host, port, user, password)
	try:
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
	finally:
		conn.close()


def connect_portal(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> pymysql.Connection:
	"""Open a direct connection to the portal database `db_name`.

	Returns a PyMySQL connection with autocommit on, DictCursor rows, utf8mb4 and the
	portal's strict SQL mode (`PORTAL_SQL_MODE`, zero dates allowed). The caller closes it.
	"""
	return _server_connection(host, port, user, password, database=_check_db_name(db_name))


def _db_now(conn) -> datetime:
	with conn.cursor() as cur:
		cur.execute("SELECT NOW() AS now")
		return _row_value(cur.fetchone(), "now")


def _row_value(row, key):
	return row[key] if isinstance(row, dict) else row[0]


def _insert(conn, table: str, allowed: frozenset, values: dict) -> int:
	unknown = set(values) - allowed
	if unknown:
		raise ValueError(f"unknown {table} column(s): {', '.join(sorted(unknown))}")
	columns = list(values)
	sql = "INSERT INTO `{}` ({}) VALUES ({})".format(
		table, ", ".join(f"`{c}`" for c in columns), ", ".join(["%s"] * len(columns))
	)
	with conn.cursor() as cur:
		cur.execute(sql, [values[c] for c in columns])
		return cur.lastrowid


def _insert_many(conn, table: str, columns: list[str], rows: Iterable[dict]) -> None:
	sql = "INSERT INTO `{}` ({}) VALUES ({})".format(
		table, ", ".join(f"`{c}`" for c in columns), ", ".join(["%s"] * len(columns))
	)
	params = [[row[c] for c in columns] for row in rows]
	if params:
		with conn.cursor() as cur:
			cur.executemany(sql, params)


def _paisa(value) -> Decimal:
	return Decimal(str(value)).quantize(_PAISA, rounding=ROUND_HALF_UP)


def financial_year(day: date | datetime) -> str:
	"""Indian financial year (April to March) of `day` as 'YY-YY', e.g. 2026-05-01 -> '26-27'."""
	start = day.year if day.month >= 4 else day.year - 1
	return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def _max_invoice_number(conn, prefix: str, fy: str) -> int:
	with conn.cursor() as cur:
		cur.execute(
			"SELECT MAX(CAST(SUBSTRING_INDEX(invoice_number, '/', -1) AS UNSIGNED)) AS n"
			" FROM purchase_requisitions WHERE invoice_number LIKE %s",
			(f"{prefix}/{fy}/%",),
		)
		return int(_row_value(cur.fetchone(), "n") or 0)


def _fake_hash() -> str:
	"""Bcrypt-looking random text for a credential column (not a hash of anything)."""
	alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	return "$2y$10$" + "".join(secrets.choice(alphabet) for _ in range(53))


# ---------------------------------------------------------------------------
# seeding


def insert_entity(conn, name: str, gstn: str | None, id: int | None = None) -> int:
	"""Insert an `entitys` row (a buyer organisation); returns its id."""
	values = {"name": name, "gstn": gstn, "address": f"{name}, Andheri East, Mumbai 400069"}
	values["created_at"] = _db_now(conn)
	if id is not None:
		values["id"] = id
	with conn.cursor() as cur:
		cols = list(values)
		cur.execute(
			"INSERT INTO entitys ({}) VALUES ({})".format(", ".join(cols), ", ".join(["%s"] * len(cols))),
			[values[c] for c in cols],
		)
		return cur.lastrowid if id is None else id


def insert_vendor(conn, name: str, code: str, gstn: str | None, **overrides) -> int:
	"""Insert a `vendors` row with every NOT NULL column filled; returns its id.

	`overrides` are column values (e.g. ``id=7``, ``status="inactive"``); an unknown
	column raises ValueError. Credential columns get random hash-looking text.
	"""
	now = _db_now(conn)
	values = {
		"name": name,
		"code": code,
		"gstn": gstn,
		"email": f"accounts@{re.sub(r'[^a-z0-9]+', '', code.lower()) or 'vendor'}.example.com",
		"website": "",
		"address": f"{name}, Plot 12, MIDC Industrial Area, Pune",
		"pincode": "411019",
		"contact_number": 9800000000 + secrets.randbelow(100000000),
		"country_id": 101,
		"state_id": int(gstn[:2]) if gstn and gstn[:2].isdigit() else 0,
		"city_id": 1,
		"user_id": 0,
		"status": "active",
		"created_at": now,
		"updated_at": now,
		"created_by": 1,
		"updated_by": 1,
		"password": _fake_hash(),
		"encrypted_password": _fake_hash(),
		"confirm_password": _fake_hash(),
		"last_sign_in_ip": f"10.0.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}",
	}
	values.update(overrides)
	new_id = _insert(conn, "vendors", VENDOR_COLUMNS, values)
	return values.get("id") or new_id


def _header_gst_percentage(lines: list[dict]) -> str:
	rates = set()
	for line in lines:
		cost = Decimal(str(line.get("cost") or 0))
		gst = Decimal(str(line.get("gst_amt") or 0))
		rates.add(int((gst * 100 / cost).to_integral_value()) if cost else 0)
	fitting = [r for r in rates if len(str(r)) <= 2]
	if len(rates) == 1 and fitting:
		return str(fitting[0])
	return str(max(fitting)) if fitting else "5"


def _line_values(requisition_id: int, line: dict, header: dict) -> dict:
	unknown = set(line) - LINE_COLUMNS
	if unknown:
		raise ValueError(f"unknown purchase_order_items column(s): {', '.join(sorted(unknown))}")
	cost = line.get("cost")
	gst_amt = line.get("gst_amt")
	quantity = line.get("quantity")
	values = {
		"purchase_order_id": requisition_id,
		"vendor_id": line.get("vendor_id"),
		"product_id": line.get("product_id"),
		"category_id": 1,
		"subcategory_id": 1,
		"brand_id": 0,
		"product_type": 1,
		"gst_id": None,
		"image": "",
		"quantity": quantity,
		"unit_rate": (
			f"{_paisa(Decimal(str(cost)) / Decimal(quantity))}" if cost is not None and quantity else None
		),
		"uom": "Nos",
		"unit": None,
		"unit_type": None,
		"cost": cost,
		"gst_amt": gst_amt,
		"total_amt": (
			_paisa(Decimal(str(cost)) + Decimal(str(gst_amt)))
			if cost is not None and gst_amt is not None
			else None
		),
		"status": "active",
		"vendor_approve": 1,
		"created_at": header["created_at"],
		"updated_at": header["updated_at"],
		"created_by": header["created_by"],
		"updated_by": header["updated_by"],
	}
	values.update(line)
	values["purchase_order_id"] = requisition_id
	return values


def _header_row(entity_id, *, generated_at, created_at, updated_at, **values) -> dict:
	"""A generated invoice's `purchase_requisitions` row: every NOT NULL column filled, `values` on top."""
	row = {
		"entity": str(entity_id),
		"subentity_id": None,
		"order_name": "Office and pantry supplies",
		"order_code": f"PO-{secrets.token_hex(4).upper()}",
		"category": 0,
		"delivery_date": None,
		"validity_date": None,
		"address": "Unit 4, Andheri East, Mumbai 400069",
		"remark": "",
		"acknowledgement": 1,
		"order_status": 2,
		"finance_status": 0,
		"is_delete": 0,
		"status": "active",
		"gst_percentage": "5",
		"invoice_series": 1,
		"invoice_generated": 1,
		"invoice_generated_at": generated_at,
		"is_invoice_cancel": 0,
		"invoice_cancel_date": None,
		"credit_note_number": "",
		"freight_rate": "0",
		"freight_cost": "0",
		"requisition_at": created_at,
		"requisition_by": 1,
		"created_by": 1,
		"updated_by": 1,
		"created_at": created_at,
		"updated_at": updated_at,
		"vendor_created": 0,
		"is_new_invoice": 0,
		"currency_id": 1,
		"amend_no": "0",
		"reason": "",
		"transportation_mode": "",
		"vehicle_no": "",
		"challan_number": "",
		"is_visible_header": 1,
	}
	row.update(values)
	return row


def insert_invoice(conn, entity_id: int, lines: list[dict], **header_overrides) -> int:
	"""Insert a generated invoice: one `purchase_requisitions` row and its `purchase_order_items`.

	`lines`: dicts with vendor_id, product_id, quantity (int), cost and gst_amt (rupees:
	Decimal, str or float) and optionally any other line column (unit_rate text, uom,
	created_at, updated_at...); `total_amt` defaults to cost + gst_amt, line timestamps
	to the header's. `header_overrides`: column values for the header; an unknown column
	raises ValueError. Defaults: invoice_generated=1, status 'active', currency_id 1,
	freight '0', invoice_generated_at / created_at / updated_at = the server's NOW()
	each unless given, requisition_at = created_at, and the next free invoice number
	'AGO2O/YY-YY/NNNN' of the invoice date's financial year. Returns the requisition id.
	"""
	now = _db_now(conn)
	generated_at = header_overrides.get("invoice_generated_at", now)
	created_at = header_overrides.get("created_at", now)
	header = _header_row(
		entity_id,
		generated_at=generated_at,
		created_at=created_at,
		updated_at=now,
		gst_percentage=_header_gst_percentage(lines),
	)
	header.update(header_overrides)
	if "invoice_number" not in header_overrides:
		day = generated_at if isinstance(generated_at, date) else now
		fy = financial_year(day)
		number = _max_invoice_number(conn, DEFAULT_INVOICE_PREFIX, fy) + 1
		header["invoice_number"] = f"{DEFAULT_INVOICE_PREFIX}/{fy}/{number:04d}"
	conn.begin()
	try:
		requisition_id = _insert(conn, "purchase_requisitions", REQUISITION_COLUMNS, header)
		if "id" in header:
			requisition_id = header["id"]
		for line in lines:
			_insert(conn, "purchase_order_items", LINE_COLUMNS, _line_values(requisition_id, line, header))
		conn.commit()
	except BaseException:
		conn.rollback()
		raise
	return requisition_id


def _update(conn, table: str, allowed: frozenset, row_id: int, changes: dict) -> None:
	unknown = set(changes) - allowed - {"id"}
	if unknown or "id" in changes:
		raise ValueError(
			f"cannot set {table} column(s): {', '.join(sorted(unknown | ({'id'} & set(changes))))}"
		)
	assignments = [f"`{c}` = %s" for c in changes]
	params = list(changes.values())
	if "updated_at" not in changes:
		assignments.append("`updated_at` = NOW()")
	with conn.cursor() as cur:
		cur.execute(f"UPDATE `{table}` SET {', '.join(assignments)} WHERE id = %s", [*params, row_id])
		if cur.rowcount == 0:
			cur.execute(f"SELECT 1 FROM `{table}` WHERE id = %s", (row_id,))
			if not cur.fetchone():
				raise LookupError(f"no {table} row with id {row_id}")


def touch_invoice(conn, requisition_id: int, **changes) -> None:
	"""Edit a requisition the way the portal does: set `changes` and move `updated_at` to NOW().

	NOW() is the database server's clock, to the second; pass ``updated_at=`` to set it
	instead. Raises ValueError for an unknown column, LookupError when the row is missing.
	"""
	_update(conn, "purchase_requisitions", REQUISITION_COLUMNS, requisition_id, changes)


def touch_line(conn, line_id: int, **changes) -> None:
	"""Edit an invoice line: set `changes` and move its `updated_at` to NOW() (seconds).

	When cost or gst_amt changes and total_amt is not given, total_amt becomes their
	new sum. Raises ValueError for an unknown column, LookupError when the row is missing.
	"""
	changes = dict(changes)
	if ("cost" in changes or "gst_amt" in changes) and "total_amt" not in changes:
		with conn.cursor() as cur:
			cur.execute(
				"SELECT cost + 0 AS cost, gst_amt + 0 AS gst_amt FROM purchase_order_items WHERE id = %s",
				(line_id,),
			)
			row = cur.fetchone()
		if row is None:
			raise LookupError(f"no purchase_order_items row with id {line_id}")
		cost = changes.get("cost", row["cost"] if isinstance(row, dict) else row[0])
		gst = changes.get("gst_amt", row["gst_amt"] if isinstance(row, dict) else row[1])
		if cost is not None and gst is not None:
			changes["total_amt"] = _paisa(cost) + _paisa(gst)
	_update(conn, "purchase_order_items", LINE_COLUMNS, line_id, changes)


# Realistic data -------------------------------------------------------------

#: (GST rate %, weight): Indian B2B purchases are mostly 18 %, then 12 and 5 %.
_SLABS = (
	(Decimal(18), 45),
	(Decimal(12), 20),
	(Decimal(5), 18),
	(Decimal(28), 8),
	(Decimal(0), 7),
	(Decimal(3), 2),
)
#: Portal `gst_id` per slab.
_GST_IDS = {Decimal(0): 1, Decimal(5): 2, Decimal(12): 3, Decimal(18): 4, Decimal(28): 5, Decimal(3): 6}
_UOMS = ("Nos", "Nos", "Nos", "Box", "Kg", "Ltr", "Pcs", "Mtr", "Set", "Ream")
_ORDER_NAMES = (
	"Office stationery",
	"Housekeeping consumables",
	"IT peripherals",
	"Pantry supplies",
	"Electrical spares",
	"Packaging material",
	"Safety equipment",
	"Printer cartridges",
	"Furniture repair",
	"Lab consumables",
)
_ADDRESSES = (
	"Unit 4, Andheri East, Mumbai 400069",
	"Plot 22, Sector 18, Gurugram 122015",
	"No. 14, Whitefield Main Road, Bengaluru 560066",
	"Survey 112, Hinjewadi Phase 2, Pune 411057",
	"Door 7, Guindy Industrial Estate, Chennai 600032",
)


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
	"""A price between ₹`low` and ₹`high`, log-uniform (cheap items are common), in paise."""
	return round(math.exp(rng.uniform(math.log(low), math.log(high))) * 100)


def _unit_rate_text(rng: random.Random, rate: Decimal) -> str:
	plain = f"{rate:.2f}"
	roll = rng.random()
	if roll < 0.62:
		return plain
	if roll < 0.80:
		return f"{rate:,.2f}"  # '1,250.50' (plain below ₹1,000)
	if roll < 0.86:
		return f" {plain}"
	if roll < 0.92:
		return f"{rate:,.2f} ".replace(",", " ")  # '1 250.50 '
	if roll < 0.97:
		return f"{rate:.0f}" if rate == rate.to_integral_value() else plain
	return ""


def seed_realistic(
	conn,
	n_invoices: int,
	*,
	entity_id: int,
	vendor_ids: list[int],
	product_ids: list[int] | None = None,
	seed: int = 1,
	min_lines: int = 1,
	max_lines: int = 6,
	start_date: datetime = datetime(2026, 4, 2),
	end_date: datetime = datetime(2026, 11, 20, 18, 0),
	null_updated_share: float = 0.08,
	zero_delivery_share: float = 0.05,
	multi_vendor_share: float = 0.02,
	mixed_slab_share: float = 0.25,
) -> list[int]:
	"""Seed `n_invoices` realistic generated invoices for `entity_id`; returns their requisition ids.

	Deterministic for a given `seed` and database state. Invoice dates (business hours)
	are spread from `start_date` to `end_date` (default 2 April to 20 November 2026, FY
	26-27) and numbered 'AGO2O/YY-YY/NNNN' in date order after the highest number already
	used. Lines: whole quantities 1-500, unit rates with paise (text, sometimes '1,250.50',
	padded or spaced, rarely ''), cost = quantity × rate, gst_amt = cost × slab rounded
	half-up to the paisa (slabs 0/5/12/18/28 %, a few 3 %), `mixed_slab_share` of invoices
	with lines of different slabs, `multi_vendor_share` with lines of two vendors (when
	more than one vendor id is given). `null_updated_share` of headers have updated_at
	NULL (lines too), `zero_delivery_share` have delivery_date '0000-00-00 00:00:00'.
	Some line amounts exceed ₹1,31,072, where FLOAT keeps no exact paisa.
	Uses two multi-row INSERTs (500 invoices take well under a second).
	"""
	if n_invoices <= 0:
		return []
	if not vendor_ids:
		raise ValueError("seed_realistic needs at least one vendor id")
	if not 1 <= min_lines <= max_lines:
		raise ValueError("need 1 <= min_lines <= max_lines")
	if end_date < start_date:
		raise ValueError("end_date is before start_date")
	rng = random.Random(seed)
	products = list(product_ids) if product_ids else list(range(501, 561))
	slabs, weights = zip(*_SLABS, strict=True)

	days = (end_date.date() - start_date.date()).days
	dates = []
	for _ in range(n_invoices):
		day = datetime.combine(start_date.date() + timedelta(days=rng.randint(0, days)), datetime.min.time())
		moment = day + timedelta(hours=9, seconds=rng.randint(0, 9 * 3600 - 1))
		dates.append(min(max(moment, start_date), end_date))
	dates.sort()

	with conn.cursor() as cur:
		cur.execute("SELECT COALESCE(MAX(id), 0) AS n FROM purchase_requisitions")
		next_id = int(_row_value(cur.fetchone(), "n")) + 1
	numbers: dict[str, int] = {}

	headers, lines = [], []
	for index, generated_at in enumerate(dates):
		requisition_id = next_id + index
		fy = financial_year(generated_at)
		if fy not in numbers:
			numbers[fy] = _max_invoice_number(conn, DEFAULT_INVOICE_PREFIX, fy)
		numbers[fy] += 1

		lead = timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 600))
		if lead > generated_at - start_date:  # raised before start_date: keep it on or after
			lead = (generated_at - start_date) * rng.random()
		created_at = (generated_at - lead).replace(microsecond=0)
		updated_at = (
			None
			if rng.random() < null_updated_share
			else generated_at + timedelta(minutes=rng.randint(0, 90), seconds=rng.randint(0, 59))
		)
		roll = rng.random()
		if roll < zero_delivery_share:
			delivery_date = ZERO_DATETIME
		elif roll < zero_delivery_share + 0.12:
			delivery_date = None
		else:
			delivery_date = datetime.combine(
				(generated_at + timedelta(days=rng.randint(3, 21))).date(), datetime.min.time()
			)

		vendor = rng.choice(vendor_ids)
		second_vendor = None
		if len(vendor_ids) > 1 and rng.random() < multi_vendor_share:
			second_vendor = rng.choice([v for v in vendor_ids if v != vendor])
		invoice_slab = rng.choices(slabs, weights)[0]
		mixed = rng.random() < mixed_slab_share
		n_lines = rng.randint(min_lines, max_lines)
		if second_vendor is not None and n_lines < 2:
			n_lines = 2

		line_slabs = []
		for position in range(n_lines):
			slab = rng.choices(slabs, weights)[0] if mixed else invoice_slab
			size = rng.random()
			if size < 0.55:  # a few units of a catalogue item
				quantity, rate_paise = rng.randint(1, 20), _log_uniform(rng, 50, 5_000)
			elif size < 0.85:  # dozens of cheaper items
				quantity, rate_paise = rng.randint(21, 100), _log_uniform(rng, 10, 800)
			elif size < 0.97:  # bulk consumables
				quantity, rate_paise = rng.randint(101, 500), _log_uniform(rng, 5, 150)
			else:  # big-ticket lines, often beyond FLOAT's paisa (₹1,31,072)
				quantity, rate_paise = rng.randint(1, 50), _log_uniform(rng, 2_000, 20_000)
			if slab == 3 and quantity * rate_paise < 100_000:
				slab = Decimal(18)  # 3 % (gold, jewellery) only on larger lines
			line_slabs.append(slab)
			rate = Decimal(rate_paise) / 100
			cost = rate * quantity
			gst_amt = _paisa(cost * slab / 100)
			line_updated = updated_at
			if updated_at is not None and rng.random() < 0.1:
				line_updated = updated_at + timedelta(minutes=rng.randint(1, 240))
			lines.append(
				{
					"purchase_order_id": requisition_id,
					"vendor_id": second_vendor if second_vendor is not None and position % 2 else vendor,
					"product_id": rng.choice(products),
					"category_id": rng.randint(1, 12),
					"subcategory_id": rng.randint(1, 60),
					"brand_id": rng.choice((0, 0, rng.randint(1, 40))),
					"product_type": 1,
					"gst_id": _GST_IDS[slab],
					"image": "",
					"quantity": quantity,
					"unit_rate": _unit_rate_text(rng, rate),
					"uom": rng.choice(_UOMS),
					"cost": cost,
					"gst_amt": gst_amt,
					"total_amt": cost + gst_amt,
					"status": "active",
					"vendor_approve": 1,
					"created_at": created_at,
					"updated_at": line_updated,
					"created_by": 1,
					"updated_by": 1,
				}
			)

		rates = sorted({int(s) for s in line_slabs})
		headers.append(
			_header_row(
				entity_id,
				generated_at=generated_at,
				created_at=created_at,
				updated_at=updated_at,
				id=requisition_id,
				subentity_id=rng.choice((None, "", str(rng.randint(1, 9)))),
				order_name=f"{rng.choice(_ORDER_NAMES)} {generated_at:%b %Y}",
				order_code=f"PO/{fy}/{requisition_id:05d}",
				category=rng.randint(0, 12),
				delivery_date=delivery_date,
				address=rng.choice(_ADDRESSES),
				remark=rng.choice(("", "", "", "Urgent", "Deliver to stores, gate 2")),
				order_status=rng.choice((2, 2, 2, 4)),
				gst_percentage=str(rates[0] if len(rates) == 1 else rates[-1]),
				invoice_number=f"{DEFAULT_INVOICE_PREFIX}/{fy}/{numbers[fy]:04d}",
				credit_note_number=rng.choice(("", "", f"INV-{rng.randint(100, 9999)}")),
				is_new_invoice=rng.choice((0, 1)),
				transportation_mode=rng.choice(("", "Road", "Courier")),
			)
		)

	conn.begin()
	try:
		_insert_many(conn, "purchase_requisitions", list(headers[0]), headers)
		_insert_many(conn, "purchase_order_items", list(lines[0]), lines)
		conn.commit()
	except BaseException:
		conn.rollback()
		raise
	return [h["id"] for h in headers]


# ---------------------------------------------------------------------------
# sshd


class SshdNotAvailable(RuntimeError):
	"""The OpenSSH server or ssh-keygen is not installed (or sshd would not start)."""


def _free_port(host: str) -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind((host, 0))
		return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
	"""Pids of the live descendants of `pid` (Linux /proc; [] elsewhere)."""
	parents: dict[int, list[int]] = {}
	for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
		if not entry.isdigit():
			continue
		try:
			stat = Path("/proc", entry, "stat").read_text()
		except OSError:
			continue
		ppid = int(stat.rsplit(")", 1)[1].split()[1])
		parents.setdefault(ppid, []).append(int(entry))
	found, todo = [], [pid]
	while todo:
		for child in parents.get(todo.pop(), []):
			found.append(child)
			todo.append(child)
	return found


def _sshd_version(sshd_path: str) -> tuple[int, int]:
	out = subprocess.run([sshd_path, "-V"], capture_output=True, text=True, timeout=10)
	match = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
	return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class SshServer:
	"""A real OpenSSH server on 127.0.0.1 to act as the portal's bastion in tests.

	Runs ``/usr/sbin/sshd -D -e -f <config>`` on a free port with a throwaway ed25519
	host key and accepts public-key logins of the current OS user with a throwaway
	ed25519 client key (encrypted with `passphrase` when given). TCP forwarding is on,
	passwords off. Everything lives in a private temp directory deleted by `stop()`.

	Use as a context manager or call `start()` / `stop()`. Attributes once started:
	`host`, `port`, `username`, `client_private_key` (OpenSSH key text),
	`client_key_passphrase` ('' when none), `host_key_line` ('ssh-ed25519 AAAA...'),
	`host_key_fingerprint` ('SHA256:...', as ``ssh-keygen -l`` prints it).

	Raises SshdNotAvailable when sshd or ssh-keygen is missing or sshd does not start
	within `start_timeout` seconds (the message quotes sshd's own log).
	"""

	def __init__(
		self,
		*,
		passphrase: str | None = None,
		host: str = "127.0.0.1",
		start_timeout: float = 10.0,
		sshd_path: str = SSHD_PATH,
	):
		self.host = host
		self.port: int | None = None
		self.username = pwd.getpwuid(os.getuid()).pw_name
		self.client_private_key = ""
		self.client_key_passphrase = passphrase or ""
		self.host_key_line = ""
		self.host_key_fingerprint = ""
		self.start_timeout = start_timeout
		self.sshd_path = sshd_path
		self._dir: str | None = None
		self._proc: subprocess.Popen | None = None
		self._log_path: str | None = None

	# context manager
	def __enter__(self) -> "SshServer":
		return self.start()

	def __exit__(self, *exc) -> None:
		self.stop()

	def __repr__(self) -> str:
		return f"<SshServer {self.username}@{self.host}:{self.port} {'running' if self.is_running() else 'stopped'}>"

	def _keygen(self, *args: str) -> str:
		result = subprocess.run(
			["ssh-keygen", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
		)
		if result.returncode != 0:
			raise SshdNotAvailable(f"ssh-keygen failed: {result.stderr.strip()[:300]}")
		return result.stdout

	def _new_key(self, name: str, key_type: str, passphrase: str) -> Path:
		path = Path(self._dir, name)
		bits = {"rsa": ["-b", "2048"], "ecdsa": ["-b", "256"]}.get(key_type, [])
		self._keygen("-q", "-t", key_type, *bits, "-N", passphrase, "-C", "", "-f", str(path))
		return path

	def start(self) -> "SshServer":
		"""Generate the keys, start sshd and wait until its port accepts connections; returns self."""
		if self._proc is not None:
			return self
		if not (os.path.isfile(self.sshd_path) and os.access(self.sshd_path, os.X_OK)):
			raise SshdNotAvailable(
				f"{self.sshd_path} is missing: install the OpenSSH server "
				"(apt-get install -y openssh-server; do not start its service, tests run their own sshd)"
			)
		if not shutil.which("ssh-keygen"):
			raise SshdNotAvailable("ssh-keygen is missing: install openssh-client")
		self._dir = tempfile.mkdtemp(prefix="o2o-sshd-")
		try:
			self._prepare()
			self._launch()
		except BaseException:
			self.stop()
			raise
		atexit.register(self.stop)
		return self

	def _prepare(self) -> None:
		host_key = self._new_key("ssh_host_ed25519_key", "ed25519", "")
		pub = Path(f"{host_key}.pub").read_text().split()
		self.host_key_line = f"{pub[0]} {pub[1]}"
		self.host_key_fingerprint = self._keygen("-l", "-E", "sha256", "-f", f"{host_key}.pub").split()[1]
		Path(self._dir, "authorized_keys").write_text("")
		self.client_private_key = self.add_client_key(passphrase=self.client_key_passphrase)
		try:  # privilege separation directory; Debian creates it only when the service starts
			os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
		except PermissionError:
			pass

	def _write_config(self) -> str:
		d = self._dir
		lines = [
			f"ListenAddress {self.host}:{self.port}",
			f"HostKey {d}/ssh_host_ed25519_key",
			f"PidFile {d}/sshd.pid",
			f"AuthorizedKeysFile {d}/authorized_keys",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"AllowTcpForwarding yes",
			"PermitRootLogin prohibit-password",
			"X11Forwarding no",
			"PrintMotd no",
			"UseDNS no",
			"MaxStartups 50:30:100",
			"LogLevel VERBOSE",
		]
		if _sshd_version(self.sshd_path) >= (9, 8):
			# OpenSSH 9.8+ penalises addresses whose logins fail; tests fail logins on purpose.
			lines.append("PerSourcePenalties no")
		path = Path(d, "sshd_config")
		path.write_text("\n".join(lines) + "\n")
		return str(path)

	def _launch(self) -> None:
		for _attempt in range(3):
			self.port = _free_port(self.host)
			config = self._write_config()
			self._log_path = str(Path(self._dir, "sshd.log"))
			with open(self._log_path, "ab") as log:
				self._proc = subprocess.Popen(
					[self.sshd_path, "-D", "-e", "-f", config],
					stdin=subprocess.DEVNULL,
					stdout=log,
					stderr=log,
					start_new_session=True,
				)
			deadline = time.monotonic() + self.start_timeout
			while time.monotonic() < deadline:
				if self._proc.poll() is not None:
					break
				try:
					with socket.create_connection((self.host, self.port), timeout=0.5):
						return
				except OSError:
					time.sleep(0.05)
			log_text = self.log_text()
			self._kill()
			if "Address already in use" in log_text:
				continue
			raise SshdNotAvailable(
				f"sshd did not accept connections on {self.host}:{self.port} within "
				f"{self.start_timeout:g} s; its log:\n{log_text[-2000:]}"
			)
		raise SshdNotAvailable("sshd could not find a free port after 3 attempts")

	def add_client_key(self, key_type: str = "ed25519", passphrase: str = "", authorize: bool = True) -> str:
		"""Generate another client key pair; returns its private key text (OpenSSH format).

		`key_type`: 'ed25519', 'rsa' (2048 bits) or 'ecdsa' (P-256). With `authorize`
		the public key is appended to the server's authorized_keys (sshd reads it on
		every login, so this works while running).
		"""
		if self._dir is None:
			raise RuntimeError("SshServer.add_client_key: start the server first")
		name = f"client_{key_type}_{secrets.token_hex(4)}"
		path = self._new_key(name, key_type, passphrase)
		if authorize:
			with open(Path(self._dir, "authorized_keys"), "a") as keys:
				keys.write(Path(f"{path}.pub").read_text().strip() + "\n")
		return path.read_text()

	def is_running(self) -> bool:
		"""True while the sshd process is alive."""
		return self._proc is not None and self._proc.poll() is None

	def log_text(self) -> str:
		"""sshd's own log so far ('' when none); useful when a login fails."""
		if self._log_path and os.path.exists(self._log_path):
			return Path(self._log_path).read_text(errors="replace")
		return ""

	def _kill(self) -> None:
		proc, self._proc = self._proc, None
		if proc is None:
			return
		# sshd forks one process per connection, each in a session of its own (setsid):
		# find them while they are still our descendants, then end them by pid.
		children = _descendants(proc.pid)
		try:
			os.killpg(proc.pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
		for pid in children:
			try:
				os.kill(pid, signal.SIGTERM)
			except ProcessLookupError:
				pass
		try:
			proc.wait(timeout=5)
		except subprocess.TimeoutExpired:
			try:
				os.killpg(proc.pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
			proc.wait(timeout=5)

	def stop(self) -> None:
		"""Kill sshd (and its per-connection children) and delete the temp directory. Idempotent."""
		self._kill()
		if self._dir is not None:
			shutil.rmtree(self._dir, ignore_errors=True)
			self._dir = None
		atexit.unregister(self.stop)
