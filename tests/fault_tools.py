"""Helpers of the fault tests (`test_faults.py`, `test_concurrency.py`): a pushed invoice, a
session of the portal's server caught waiting, a row lock held from outside, and the check
that both sides match row for row after recovery. Nothing here imports frappe.
"""

import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from decimal import Decimal as D

from o2o_sync.constants import F_INVOICE_NUMBER
from o2o_sync.setup import portal_rows as pr
from o2o_sync.setup.portal_schema import connect_portal
from o2o_sync.sync.engine.push.engine import PushSettings
from o2o_sync.sync.model.records import PushInvoice, PushLine, PushTax
from o2o_sync.sync.portal.config import ConnectionConfig

PUSH_SETTINGS = PushSettings(invoice_prefix="O2OT", portal_user_id=9)
#: The statement the push blocks on while `counter_locked` holds the counter row.
COUNTER_LOCK_SQL = "%invoice_counter%FOR UPDATE%"
#: The push's wait for the invoice's named lock (`portal_writes.push_lock_name`).
PUSH_LOCK_SQL = "%GET_LOCK(%o2o_push:%"


def push_invoice(name: str, chain=None, vendor_id: int = 1) -> PushInvoice:
	"""A submitted Purchase Invoice ready to push: 7 × TEA ₹100.00 + 18 % and 2 × SUGAR
	₹50.00 + 5 % (net ₹150.00, GST ₹20.50)."""
	return PushInvoice(
		name=name,
		chain=chain or [name],
		company="O2O Test Co",
		entity_id="1",
		supplier="Sharma Traders",
		supplier_name="Sharma Traders",
		vendor_id=vendor_id,
		supplier_address="Plot 12, MIDC, Pune",
		remarks="Pantry supplies",
		bill_no="ST/889",
		posting_date=date(2026, 11, 20),
		currency="INR",
		is_return=False,
		lines=[
			PushLine(1, "TEA", D("7"), D("14.285714"), D("100.00"), D("18.00"), D("18"), 501, "Nos"),
			PushLine(2, "SUGAR", D("2"), D("25"), D("50.00"), D("2.50"), D("5"), 502, "Kg"),
		],
		taxes=[
			PushTax(1, "CGST - O2O", "On Net Total", "gst"),
			PushTax(2, "SGST - O2O", "On Net Total", "gst"),
		],
		grand_total=D("170.50"),
	)


def bastion_config(bastion, database: str, server: dict) -> ConnectionConfig:
	"""A ConnectionConfig reaching `database` on `server` through the `bastion` SshServer."""
	return ConnectionConfig(
		host=server["host"],
		port=server["port"],
		database=database,
		username=server["user"],
		password=server["password"],
		use_ssh_tunnel=True,
		ssh_host=bastion.host,
		ssh_port=bastion.port,
		ssh_username=bastion.username,
		ssh_private_key=bastion.client_private_key,
		ssh_key_passphrase=bastion.client_key_passphrase,
		ssh_host_key=bastion.host_key_line,
		connect_timeout=10.0,
		read_timeout=60.0,
		name=f"faults-{database}",
	)


def rows(conn, sql: str, params=()) -> list[dict]:
	with conn.cursor() as cur:
		cur.execute(sql, params)
		return list(cur.fetchall())


def wait_for(check, what: str, seconds: float = 60.0):
	"""Poll `check()` until it returns something truthy; returns it. Raises AssertionError
	naming `what` after `seconds` (a guard against a hang, not a timing assertion)."""
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		found = check()
		if found:
			return found
		time.sleep(0.05)
	raise AssertionError(f"never saw {what} within {seconds:g} s")


def sessions_running(conn, database: str, *patterns: str) -> list[int]:
	"""Ids of the server's sessions on `database` running a statement LIKE any of `patterns`."""
	where = " OR ".join(["INFO LIKE %s"] * len(patterns))
	found = rows(
		conn,
		f"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID() AND ({where})",
		[database, *patterns],
	)
	return [r["ID"] for r in found]


@contextmanager
def counter_locked(database: str, server: dict, prefix: str = "O2OT", financial_year: str = "26-27"):
	"""Hold the `invoice_counter` row of prefix/year under a row lock from another connection
	(as a slow push would), so a push blocks on it inside its transaction; yields that
	connection. The lock goes on leaving (rollback)."""
	conn = connect_portal(database, **server)
	try:
		conn.begin()
		rows(
			conn,
			"SELECT last_number FROM invoice_counter WHERE prefix = %s AND financial_year = %s FOR UPDATE",
			(prefix, financial_year),
		)
		yield conn
	finally:
		try:
			conn.rollback()
		finally:
			conn.close()


def counter(conn, prefix: str = "O2OT", financial_year: str = "26-27") -> int:
	"""`invoice_counter.last_number` of prefix/year (0 when there is no row)."""
	found = rows(
		conn,
		"SELECT last_number FROM invoice_counter WHERE prefix = %s AND financial_year = %s",
		(prefix, financial_year),
	)
	return int(found[0]["last_number"]) if found else 0


def assert_sides_match(conn, port) -> None:
	"""Row for row after recovery: every portal invoice has exactly one Sync Mapping per vendor,
	every Sync Mapping points at a portal row and at a Purchase Invoice that exist, and the
	invoice carries the row's number and its net and GST totals to the paisa; no order_code
	is on two rows."""
	sums = defaultdict(lambda: [D(0), D(0)])
	for r in rows(
		conn,
		"SELECT purchase_order_id AS id, vendor_id, cost + 0 AS cost, gst_amt + 0 AS gst FROM purchase_order_items",
	):
		sums[(r["id"], r["vendor_id"])][0] += pr.round_paisa(r["cost"])
		sums[(r["id"], r["vendor_id"])][1] += pr.round_paisa(r["gst"])
	header = {
		r["id"]: r for r in rows(conn, "SELECT id, invoice_number, order_code FROM purchase_requisitions")
	}
	codes = [r["order_code"] for r in header.values() if r["order_code"]]
	assert len(codes) == len(set(codes)), f"an order_code is on two rows: {sorted(codes)}"
	assert sorted(port.s.mappings) == sorted(sums), "portal slices and Sync Mappings differ"
	for key, rec in port.s.mappings.items():
		assert rec.purchase_invoice in port.s.invoices, f"{key} points at a missing invoice"
		doc = port.s.invoices[rec.purchase_invoice]
		if "push" in doc:
			inv = doc["push"]
			net = sum((li.net_amount for li in inv.lines), D(0))
			gst = sum((li.gst_amount for li in inv.lines), D(0))
		else:
			state = port.get_invoice(rec.purchase_invoice)
			net, gst = state.net_total, state.gst_total
		assert [net, gst] == sums[key], f"{rec.purchase_invoice}: totals differ from requisition {key[0]}"
		assert doc.get(F_INVOICE_NUMBER) == header[key[0]]["invoice_number"]
