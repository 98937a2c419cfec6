"""Rows of a portal database of our own (`portal_schema`): entities, vendors and generated invoices.

Used by the demo portal, the benchmark and the tests. The schema reproduces the portal's
legacy habits, so every builder fills each NOT NULL column that has no default, as the
portal's own code does. `portal_realistic.seed_realistic` makes many realistic invoices at once.

Credential columns of `vendors` get random hash-looking text made at run time; nothing
here writes a secret. Needs PyMySQL and the standard library only; never imports frappe.
"""

import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

#: Invoice number prefix the builders use ('AGO2O/26-27/0001').
DEFAULT_INVOICE_PREFIX = "AGO2O"
#: The zero datetime the portal leaves in some rows.
ZERO_DATETIME = "0000-00-00 00:00:00"

_PAISA = Decimal("0.01")

#: Every column of `purchase_requisitions` a builder may set.
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
#: Every column of `purchase_order_items` a builder may set.
LINE_COLUMNS = frozenset(
	"""id purchase_order_id vendor_id product_id category_id subcategory_id brand_id product_type gst_id
	image quantity unit_rate uom unit unit_type cost gst_amt total_amt status vendor_approve created_at
	updated_at created_by updated_by""".split()
)
#: Every column of `vendors` a builder may set.
VENDOR_COLUMNS = frozenset(
	"""id name code gstn email website address pincode contact_number country_id state_id city_id user_id
	status created_at updated_at created_by updated_by password encrypted_password confirm_password
	last_sign_in_ip""".split()
)


# ---------------------------------------------------------------------------
# small helpers


def round_paisa(value) -> Decimal:
	"""`value` (rupees: Decimal, str, int or float) rounded half-up to the paisa."""
	return Decimal(str(value)).quantize(_PAISA, rounding=ROUND_HALF_UP)


def financial_year(day: date | datetime) -> str:
	"""Indian financial year (April to March) of `day` as 'YY-YY', e.g. 2026-05-01 -> '26-27'."""
	start = day.year if day.month >= 4 else day.year - 1
	return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def row_value(row, key):
	"""Column `key` of a DictCursor row, or the first column of a tuple row."""
	return row[key] if isinstance(row, dict) else row[0]


def db_now(conn) -> datetime:
	"""The database server's NOW() (local time of the server, to the second)."""
	with conn.cursor() as cur:
		cur.execute("SELECT NOW() AS now")
		return row_value(cur.fetchone(), "now")


def max_invoice_number(conn, prefix: str, fy: str) -> int:
	"""Highest NNNN among the invoice numbers 'prefix/fy/NNNN' already used (0 when none)."""
	with conn.cursor() as cur:
		cur.execute(
			"SELECT MAX(CAST(SUBSTRING_INDEX(invoice_number, '/', -1) AS UNSIGNED)) AS n"
			" FROM purchase_requisitions WHERE invoice_number LIKE %s",
			(f"{prefix}/{fy}/%",),
		)
		return int(row_value(cur.fetchone(), "n") or 0)


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


def insert_rows(conn, table: str, columns: list[str], rows: Iterable[dict]) -> None:
	"""One multi-row INSERT of `rows` (dicts holding every name of `columns`) into `table`."""
	sql = "INSERT INTO `{}` ({}) VALUES ({})".format(
		table, ", ".join(f"`{c}`" for c in columns), ", ".join(["%s"] * len(columns))
	)
	params = [[row[c] for c in columns] for row in rows]
	if params:
		with conn.cursor() as cur:
			cur.executemany(sql, params)


def _fake_hash() -> str:
	"""Bcrypt-looking random text for a credential column (not a hash of anything)."""
	alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	return "$2y$10$" + "".join(secrets.choice(alphabet) for _ in range(53))


# ---------------------------------------------------------------------------
# entities and vendors


def insert_entity(conn, name: str, gstn: str | None, id: int | None = None) -> int:
	"""Insert an `entitys` row (a buyer organisation); returns its id."""
	values = {"name": name, "gstn": gstn, "address": f"{name}, Andheri East, Mumbai 400069"}
	values["created_at"] = db_now(conn)
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
	now = db_now(conn)
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


# ---------------------------------------------------------------------------
# invoices


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
			f"{round_paisa(Decimal(str(cost)) / Decimal(quantity))}"
			if cost is not None and quantity
			else None
		),
		"uom": "Nos",
		"unit": None,
		"unit_type": None,
		"cost": cost,
		"gst_amt": gst_amt,
		"total_amt": (
			round_paisa(Decimal(str(cost)) + Decimal(str(gst_amt)))
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


def header_row(entity_id, *, generated_at, created_at, updated_at, **values) -> dict:
	"""A generated invoice's `purchase_requisitions` row: every NOT NULL column filled, `values` on top.

	`generated_at`, `created_at`, `updated_at`: the invoice's datetimes (updated_at may be
	None). Returns the row as a dict of column values (no id unless `values` gives one).
	"""
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
	now = db_now(conn)
	generated_at = header_overrides.get("invoice_generated_at", now)
	created_at = header_overrides.get("created_at", now)
	header = header_row(
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
		number = max_invoice_number(conn, DEFAULT_INVOICE_PREFIX, fy) + 1
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
