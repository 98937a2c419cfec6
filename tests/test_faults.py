"""Fault tests against the real MariaDB and a real sshd (issue 7, "One runner, one row").

The bastion is an sshd of this module's own (`bastion`), killed and restarted on the same
port and keys as a crashed bastion would be; the portal connection is killed from a root
connection with KILL CONNECTION; a push is caught inside its transaction by holding the
`invoice_counter` row it needs from another connection (`fault_tools.counter_locked`), as a
slow concurrent push would. ERPNext is the in-memory port. After recovery both sides match
row for row (`fault_tools.assert_sides_match`).
"""

import threading
from datetime import timedelta

import pytest
from fault_tools import (
	COUNTER_LOCK_SQL,
	PUSH_SETTINGS,
	assert_sides_match,
	bastion_config,
	counter,
	counter_locked,
	push_invoice,
	rows,
	sessions_running,
	wait_for,
)
from inmemory_port import InMemoryPort

from o2o_sync.constants import F_SYNC_STATUS, FAILED, PENDING, SUCCESS, SYNCED
from o2o_sync.setup import portal_rows as pr
from o2o_sync.setup.portal_bastion import SshServer
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.push.engine import PushEngine
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.portal.client import ProcureUATClient

COMPANY_GSTIN = "27AAACO2020A1Z5"


@pytest.fixture(scope="module")
def bastion():
	"""This module's own sshd: killing it never disturbs the session's `sshd`."""
	with SshServer() as server:
		yield server


@pytest.fixture
def world(bastion, portal_db, portal_server):
	bastion.restart()  # running again whatever the previous test did to it
	conn = portal_db["conn"]
	entity = pr.insert_entity(conn, "O2O Buyer", COMPANY_GSTIN)
	vendor = pr.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5")
	port = InMemoryPort()
	port.add_item("SERVICES")
	settings = m.PullSettings(
		default_item="SERVICES",
		pull_batch_size=10,
		entities={
			str(entity): m.EntityConfig(str(entity), "O2O Test Co", COMPANY_GSTIN, "CGST", "SGST", "IGST")
		},
	)
	config = bastion_config(bastion, portal_db["name"], portal_server)
	client = ProcureUATClient(config)
	w = {
		"conn": conn,
		"db": portal_db["name"],
		"server": portal_server,
		"bastion": bastion,
		"entity": entity,
		"vendor": vendor,
		"port": port,
		"settings": settings,
		"config": config,
		"client": client,
	}
	yield w
	w["client"].close()
	bastion.restart()


def pull(w, client=None, **kw) -> dict:
	return PullEngine(w["port"], client or w["client"], w["settings"], **kw).run()


def seed(w, n: int) -> list[int]:
	"""`n` portal invoices of one ₹100 + ₹18 line, changed a minute apart up to the portal's now."""
	now = pr.db_now(w["conn"])
	line = {"vendor_id": w["vendor"], "product_id": 5, "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}
	return [
		pr.insert_invoice(w["conn"], w["entity"], [line], updated_at=now - timedelta(minutes=n - i))
		for i in range(n)
	]


def in_background(call):
	"""Run `call()` in a thread; returns (thread, outcome) where outcome gets "result" or "error"."""
	outcome = {}

	def run():
		try:
			outcome["result"] = call()
		except BaseException as e:  # the test reads it
			outcome["error"] = e

	thread = threading.Thread(target=run, daemon=True)
	thread.start()
	return thread, outcome


# ---------------------------------------------------------------- the pull


def test_sshd_killed_between_batches_of_a_pull_skips_nothing(world):
	w = world
	ids = seed(w, 25)
	client, fetches = w["client"], []
	fetch = client.fetch_invoice_batch

	def fetch_then_crash(*args, **kwargs):
		fetches.append(args[0])
		if len(fetches) == 3:
			w["bastion"].kill()  # the bastion dies after two batches were committed
		return fetch(*args, **kwargs)

	client.fetch_invoice_batch = fetch_then_crash
	with pytest.raises(ProcureUATConnectionError):
		pull(w)
	port = w["port"]
	# what was committed stays, and the cursor is at the last invoice applied
	assert sorted(k[0] for k in port.s.mappings) == ids[:20]
	assert port.get_cursor()[1] == ids[19]
	assert all(r.status == SYNCED for r in port.s.mappings.values())
	w["bastion"].restart()
	counts = pull(w, ProcureUATClient(w["config"]))
	assert counts["created"] == 5 and counts["failed"] == 0
	assert sorted(k[0] for k in port.s.mappings) == ids
	assert_sides_match(w["conn"], port)


# ---------------------------------------------------------------- the push


def caught_in_the_counter_lock(w, name: str, kill):
	"""Push `name` while another connection holds the counter row; once the push waits for it
	inside its transaction, `kill(session_id)`; returns the push's outcome."""
	engine = PushEngine(w["port"], w["client"], PUSH_SETTINGS)
	with counter_locked(w["db"], w["server"]) as holder:
		thread, outcome = in_background(lambda: engine.push(name))
		[session] = wait_for(
			lambda: sessions_running(holder, w["db"], COUNTER_LOCK_SQL), "the push waiting for the counter"
		)
		kill(session)
		thread.join(timeout=60)
	return outcome


def first_push(w, name="PINV-0") -> dict:
	"""Push one invoice so that the counter row exists (its number: 1)."""
	w["port"].add_push_invoice(push_invoice(name, vendor_id=w["vendor"]))
	result = PushEngine(w["port"], w["client"], PUSH_SETTINGS).push(name)
	assert counter(w["conn"]) == 1
	return result


def assert_pending_then_one_row(w, name: str, outcome: dict):
	port, conn = w["port"], w["conn"]
	assert isinstance(outcome.get("error"), ProcureUATConnectionError), outcome
	assert port.s.invoices[name][F_SYNC_STATUS] == PENDING
	assert all(r.status != FAILED for r in port.s.mappings.values())
	assert [r.purchase_invoice for r in port.s.mappings.values()] == ["PINV-0"]
	assert any("stays Pending and is retried" in e.message for e in port.logs_of(FAILED, "Push"))
	assert rows(conn, "SELECT id FROM purchase_requisitions WHERE order_code = %s", (name,)) == []
	assert counter(conn) == 1  # the rolled-back transaction took no number
	# the retry (`retry_pending_pushes`), once the portal answers again
	result = PushEngine(port, ProcureUATClient(w["config"]), PUSH_SETTINGS).push(name)
	assert result["status"] == SYNCED and result["invoice_number"] == "O2OT/26-27/0002"
	assert len(rows(conn, "SELECT id FROM purchase_requisitions WHERE order_code = %s", (name,))) == 1
	assert counter(conn) == 2 and port.s.invoices[name][F_SYNC_STATUS] == SYNCED
	pull(w, ProcureUATClient(w["config"]))
	assert_sides_match(conn, port)


def test_sshd_killed_inside_the_push_leaves_it_pending_then_one_row(world):
	w = world
	first_push(w)
	w["port"].add_push_invoice(push_invoice("PINV-1", vendor_id=w["vendor"]))
	outcome = caught_in_the_counter_lock(w, "PINV-1", lambda session: w["bastion"].kill())
	w["bastion"].restart()
	assert_pending_then_one_row(w, "PINV-1", outcome)


def test_portal_connection_killed_inside_the_push_transaction(world):
	w = world
	first_push(w)
	w["port"].add_push_invoice(push_invoice("PINV-1", vendor_id=w["vendor"]))

	def kill(session):
		rows(w["conn"], "KILL CONNECTION %s", (session,))

	outcome = caught_in_the_counter_lock(w, "PINV-1", kill)
	assert_pending_then_one_row(w, "PINV-1", outcome)


def test_cancellation_while_sshd_is_down_is_queued_then_sent(world):
	w = world
	rid = first_push(w, "PINV-C")["procureuat_id"]
	port = w["port"]
	port.s.invoices["PINV-C"]["docstatus"] = 2  # cancelled in ERPNext
	w["bastion"].kill()
	w["client"].close()  # the worker's next job opens the tunnel again
	with pytest.raises(ProcureUATConnectionError):
		PushEngine(port, w["client"], PUSH_SETTINGS).cancel("PINV-C")
	assert port.s.invoices["PINV-C"][F_SYNC_STATUS] == PENDING
	assert any("the cancellation is queued" in e.message for e in port.logs_of(FAILED, "Cancel"))
	w["bastion"].restart()
	result = PushEngine(port, ProcureUATClient(w["config"]), PUSH_SETTINGS).cancel("PINV-C")
	assert result["status"] == SYNCED and port.s.invoices["PINV-C"][F_SYNC_STATUS] == SYNCED
	[row] = rows(w["conn"], "SELECT is_invoice_cancel, invoice_cancel_date FROM purchase_requisitions")
	assert row["is_invoice_cancel"] == 1 and row["invoice_cancel_date"] is not None
	assert [e.procureuat_id for e in port.logs_of(SUCCESS, "Cancel")] == [rid]


# ---------------------------------------------------------------- clocks


@pytest.mark.parametrize("skew_minutes", [-10, 10])
def test_clock_skew_between_erpnext_and_the_portal_loses_nothing(world, skew_minutes):
	"""ERPNext's clock (given to the engines) is 10 minutes off the portal's NOW(); pushes,
	portal edits and new portal invoices made after each other are all seen, and the cursor
	never runs ahead of the portal's own clock."""
	w = world
	conn = w["conn"]

	def erpnext_clock():
		return pr.db_now(conn) + timedelta(minutes=skew_minutes)

	port, client = w["port"], w["client"]
	pusher = PushEngine(port, client, PUSH_SETTINGS, clock=erpnext_clock)
	[early] = seed(w, 1)
	assert pull(w, clock=erpnext_clock)["created"] == 1
	port.add_push_invoice(push_invoice("PINV-S", vendor_id=w["vendor"]))
	pushed = pusher.push("PINV-S")["procureuat_id"]
	counts = pull(w, clock=erpnext_clock)
	assert counts["created"] == 0 and counts["unchanged"] >= 1  # the pushed row is not pulled back
	later = pr.insert_invoice(
		conn,
		w["entity"],
		[{"vendor_id": w["vendor"], "product_id": 5, "quantity": 2, "cost": "240.00", "gst_amt": "12.00"}],
	)  # written by the portal after the push, on the portal's clock
	rows(
		conn, "UPDATE purchase_requisitions SET order_status = 3, updated_at = NOW() WHERE id = %s", (early,)
	)
	counts = pull(w, clock=erpnext_clock)
	assert (counts["created"], counts["updated"]) == (1, 1)
	assert port.get_cursor()[0] <= pr.db_now(conn)
	assert sorted(k[0] for k in port.s.mappings) == sorted([early, pushed, later])
	assert_sides_match(conn, port)
