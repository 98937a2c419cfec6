"""The sync's portal sessions carry their own time limits, and the minute's probe asks one
question (issue 13, "Time limits at the portal", "A minute's latency"). Real MariaDB through a
real sshd: a second connection holds the `invoice_counter` row lock as a half-open session
would, and the push waits no longer than the limit, writes nothing and stays Pending.
"""

import dataclasses
from datetime import date, timedelta

import pymysql
import pytest
from fault_tools import PUSH_SETTINGS, counter, counter_locked, push_invoice, rows
from inmemory_port import InMemoryPort

from o2o_sync.constants import F_SYNC_STATUS, FAILED, PENDING, SYNCED
from o2o_sync.setup import portal_rows as pr
from o2o_sync.sync.engine.push.engine import PushEngine
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.writes import PushBusy


def test_every_session_of_the_sync_carries_its_lock_wait_statement_and_idle_limits(portal_config):
	config = dataclasses.replace(portal_config, lock_wait_timeout=7, statement_timeout=21)
	with ProcureUATClient(config) as client:
		[limits] = client._query(
			"SELECT @@SESSION.innodb_lock_wait_timeout AS lock_wait, @@SESSION.max_statement_time AS statement,"
			" @@SESSION.wait_timeout AS idle"
		)
		assert (limits["lock_wait"], float(limits["statement"]), limits["idle"]) == (7, 21.0, 21)
		assert client.query_count == 1  # the session's own SET is part of connecting


def test_a_statement_past_the_time_limit_is_stopped_by_the_portal(portal_config):
	config = dataclasses.replace(portal_config, statement_timeout=1)
	with ProcureUATClient(config) as client:
		with pytest.raises(pymysql.err.OperationalError) as caught:
			client._query("SELECT SLEEP(3)")
		assert caught.value.args[0] == 1969


def test_a_push_blocked_on_the_counter_row_past_the_lock_wait_stays_pending_and_writes_nothing(
	portal_db, portal_config, portal_server
):
	conn, db = portal_db["conn"], portal_db["name"]
	vendor = pr.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5")
	port = InMemoryPort()
	config = dataclasses.replace(portal_config, lock_wait_timeout=1)
	client = ProcureUATClient(config)
	for name in ("PINV-0", "PINV-1"):
		port.add_push_invoice(push_invoice(name, vendor_id=vendor))
	assert PushEngine(port, client, PUSH_SETTINGS).push("PINV-0")["status"] == SYNCED  # the counter row
	before = counter(conn)
	with counter_locked(db, portal_server):  # a session that never lets go of the counter row
		with pytest.raises(PushBusy):
			PushEngine(port, client, PUSH_SETTINGS).push("PINV-1")
	assert port.s.invoices["PINV-1"][F_SYNC_STATUS] == PENDING  # not Failed: the retry sends it
	[log] = port.logs_of(FAILED, "Push")
	assert log.message.startswith(
		"Purchase Invoice PINV-1: PINV-1: the portal kept a lock past the session's limits"
	)
	assert "MySQL error 1205: lock wait 1 s" in log.message and log.message.endswith(
		"it stays Pending and is retried"
	)
	assert rows(conn, "SELECT id FROM purchase_requisitions WHERE order_code = 'PINV-1'") == []
	assert counter(conn) == before
	# the lock gone, the retry goes through with the next number
	assert PushEngine(port, client, PUSH_SETTINGS).push("PINV-1")["status"] == SYNCED
	assert counter(conn) == before + 1
	client.close()


def _questions(client) -> int:
	return int(client._query("SHOW SESSION STATUS LIKE 'Questions'")[0]["Value"])


def test_the_probe_asks_one_question_and_says_yes_only_for_what_the_pull_would_read(portal_db, portal_config):
	conn = portal_db["conn"]
	entity = pr.insert_entity(conn, "O2O Buyer", "27AAACO2020A1Z5")
	vendor = pr.insert_vendor(conn, "Sharma Traders", "V001", "27AAAPS1234A1Z5")
	line = {"vendor_id": vendor, "product_id": 501, "quantity": 2, "cost": "100.00", "gst_amt": "18.00"}
	now = pr.db_now(conn)
	old = now - timedelta(hours=1)
	first = pr.insert_invoice(conn, entity, [line], created_at=old, updated_at=old)
	second = pr.insert_invoice(conn, entity, [dict(line, updated_at=old)], created_at=old, updated_at=old)
	client = ProcureUATClient(portal_config).open()
	cursor = (old, second)  # the pull has read both

	asked = _questions(client)
	counted = client.query_count
	assert client.has_changes_after(cursor) is False
	assert client.query_count - counted == 1
	assert _questions(client) - asked == 2  # the probe's statement, and this SHOW itself

	assert client.has_changes_after((None, 0)) is True  # nothing read yet
	assert client.has_changes_after((old, first)) is True  # same second, a higher id
	pr_later = old + timedelta(seconds=5)
	with conn.cursor() as cur:  # a line edited (the header untouched)
		cur.execute(
			"UPDATE purchase_order_items SET updated_at = %s WHERE purchase_order_id = %s", (pr_later, first)
		)
	assert client.has_changes_after(cursor) is True
	assert client.has_changes_after((pr_later, first)) is False
	# what the pull never reads does not count: a requisition without an invoice, a row dated
	# in the future (the cursor stays at the portal's clock), a row before the cut-over
	pr.insert_invoice(conn, entity, [line], invoice_generated=0)
	pr.insert_invoice(conn, entity, [dict(line, updated_at=old)], updated_at=now + timedelta(days=2))
	assert client.has_changes_after((pr_later, first)) is False
	pr.insert_invoice(conn, entity, [line], invoice_generated_at=date(2020, 1, 5), created_at=old)
	assert client.has_changes_after((pr_later, first), from_date=date(2024, 4, 1)) is False
	assert client.has_changes_after((pr_later, first)) is True
	client.close()
