"""The same invoice pushed by two processes at once (the submit job, the 15-minute retry and
the button, on two workers or hosts): one portal row, one number (issue 7, "One runner, one
row"). Real MariaDB, real sshd, processes started with `spawn`.

To be sure both pushes are in flight together, another connection holds the
`invoice_counter` row (`fault_tools.counter_locked`) until the portal shows both waiting:
one inside its transaction for the counter, the other for the invoice's named lock. Without
that lock both would wait for the counter, then each insert a row.
"""

import multiprocessing

import pytest
from fault_tools import (
	COUNTER_LOCK_SQL,
	PUSH_LOCK_SQL,
	PUSH_SETTINGS,
	assert_sides_match,
	counter,
	counter_locked,
	push_invoice,
	rows,
	sessions_running,
	wait_for,
)
from inmemory_port import InMemoryPort

from o2o_sync.constants import F_SYNC_STATUS, FAILED, PENDING, SYNCED
from o2o_sync.setup import portal_rows as pr
from o2o_sync.setup.portal_schema import connect_portal
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.push.engine import PushEngine
from o2o_sync.sync.portal import writes as portal_writes
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.writes import PushBusy, push_lock_name


def _push_in_a_process(config, name: str, vendor_id: int, queue) -> None:
	"""One worker: its own ERPNext (in memory), its own client and tunnel; pushes `name`."""
	port = InMemoryPort()
	port.add_push_invoice(push_invoice(name, vendor_id=vendor_id))
	client = ProcureUATClient(config)
	try:
		result = PushEngine(port, client, PUSH_SETTINGS).push(name)
		queue.put({k: result.get(k) for k in ("status", "procureuat_id", "invoice_number", "message")})
	except BaseException as e:
		queue.put({"status": "error", "message": f"{type(e).__name__}: {e}"})
	finally:
		client.close()


def test_the_same_invoice_pushed_by_two_processes_at_once_is_one_row_and_one_number(
	portal_db, portal_config, portal_server
):
	conn, db = portal_db["conn"], portal_db["name"]
	entity = pr.insert_entity(conn, "O2O Buyer", "27AAACO2020A1Z5")
	vendor = pr.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5")
	port = InMemoryPort()
	port.add_push_invoice(push_invoice("PINV-0", vendor_id=vendor))
	client = ProcureUATClient(portal_config)
	assert (
		PushEngine(port, client, PUSH_SETTINGS).push("PINV-0")["status"] == SYNCED
	)  # the counter row exists
	before = counter(conn)

	ctx = multiprocessing.get_context("spawn")
	queue = ctx.Queue()
	with counter_locked(db, portal_server) as holder:
		procs = [
			ctx.Process(target=_push_in_a_process, args=(portal_config, "PINV-1", vendor, queue))
			for _ in range(2)
		]
		for p in procs:
			p.start()
		# both pushes are in flight: one holds the invoice's lock and waits for the counter,
		# the other waits for the invoice's lock
		wait_for(
			lambda: len(sessions_running(holder, db, COUNTER_LOCK_SQL, PUSH_LOCK_SQL)) == 2,
			"two pushes of PINV-1 in flight together",
			seconds=120,
		)
		assert len(sessions_running(holder, db, PUSH_LOCK_SQL)) == 1
	results = [queue.get(timeout=120) for _ in procs]
	for p in procs:
		p.join(timeout=60)

	assert [r["status"] for r in results] == [SYNCED, SYNCED], results
	assert {r["procureuat_id"] for r in results} == {results[0]["procureuat_id"]}
	assert {r["invoice_number"] for r in results} == {"O2OT/26-27/0002"}
	assert sorted(r["message"].split()[0] for r in results) == ["Inserted", "Updated"]
	[row] = rows(conn, "SELECT id FROM purchase_requisitions WHERE order_code = %s", ("PINV-1",))
	assert counter(conn) == before + 1
	assert (
		len(rows(conn, "SELECT id FROM purchase_order_items WHERE purchase_order_id = %s", (row["id"],))) == 2
	)
	# ERPNext's side of one of them, then the pull: nothing new, both sides match
	port.add_push_invoice(push_invoice("PINV-1", vendor_id=vendor))
	PushEngine(port, client, PUSH_SETTINGS).push("PINV-1")
	settings = m.PullSettings(
		default_item="SERVICES",
		entities={str(entity): m.EntityConfig(str(entity), "O2O Test Co", "27AAACO2020A1Z5", "C", "S", "I")},
	)
	assert PullEngine(port, client, settings).run()["created"] == 0
	assert_sides_match(conn, port)
	client.close()


def test_a_push_waits_for_the_chain_and_stays_pending_when_the_other_push_never_ends(
	portal_db, portal_config, portal_server, monkeypatch
):
	"""An amendment's push takes the lock of the chain's first invoice: while another push of
	that chain holds it past the wait, the amendment writes nothing and stays Pending."""
	conn, db = portal_db["conn"], portal_db["name"]
	monkeypatch.setattr(portal_writes, "PUSH_LOCK_TIMEOUT_SECONDS", 0)
	port = InMemoryPort()
	port.add_push_invoice(push_invoice("PINV-A-1", chain=["PINV-A-1", "PINV-A"]))
	other = connect_portal(db, **portal_server)
	client = ProcureUATClient(portal_config)
	try:
		assert rows(other, "SELECT GET_LOCK(%s, 0) AS got", (push_lock_name(db, "PINV-A"),))[0]["got"] == 1
		with pytest.raises(PushBusy):
			PushEngine(port, client, PUSH_SETTINGS).push("PINV-A-1")
		assert port.s.invoices["PINV-A-1"][F_SYNC_STATUS] == PENDING
		assert [e.message for e in port.logs_of(FAILED, "Push")] == [
			"Purchase Invoice PINV-A-1: another push of PINV-A-1 (or of its amendment chain) held the"
			" portal's lock for 0 s; it stays Pending and is retried"
		]
		assert rows(conn, "SELECT id FROM purchase_requisitions") == [] and counter(conn) == 0
	finally:
		other.close()  # the other push ends: its lock goes with its connection
	monkeypatch.setattr(portal_writes, "PUSH_LOCK_TIMEOUT_SECONDS", 30)  # while the server sees it go
	assert PushEngine(port, client, PUSH_SETTINGS).push("PINV-A-1")["status"] == SYNCED
	client.close()
