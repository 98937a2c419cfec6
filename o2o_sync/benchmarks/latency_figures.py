"""Figures 6 to 8 of the benchmark (issue 13): what the minute's probe costs when nothing
changed, and how long a portal invoice takes to be in ERPNext by the probe (the bench's real
scheduler and a worker) and by the signed webhook (a real `bench serve` and a worker).

Latency is measured from the portal's commit of the new or edited invoice to the Purchase
Invoice being visible (new) or showing the edit (its `remarks`) in ERPNext's database, polled
every `POLL_INTERVAL`. Samples alternate a new invoice and an edit of the last one.
"""

import json
import random
import secrets
import statistics
import time
import urllib.request
from datetime import timedelta

import frappe

from o2o_sync.benchmarks.harness import Scheduler, WebServer, Worker, now, p95, table_row
from o2o_sync.constants import DATABASE_CONNECTION, PURCHASE_INVOICE, SETTINGS
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.engine.pull.run import CLOSED_SECONDS
from o2o_sync.sync.portal.webhook_signature import sign
from o2o_sync.sync.scheduler import probe_portal_changes
from o2o_sync.sync.sync_utils import bulk_sync_from_external

#: Seconds between two looks at ERPNext while waiting for an invoice.
POLL_INTERVAL = 0.1
#: Longest wait for one invoice (probe: a minute's tick, the probe's job, the pull's job).
PROBE_TIMEOUT = 240.0
WEBHOOK_TIMEOUT = 60.0


def _stats(values: list[float]) -> dict:
	return {
		"n": len(values),
		"p50": round(statistics.median(values), 3) if values else None,
		"p95": round(p95(values), 3) if values else None,
		"max": round(max(values), 3) if values else None,
	}


def bench_probe_cost(env, *, n: int) -> dict:
	"""Figure 6: `probe_portal_changes()` after a pull, nothing changed since: milliseconds per
	probe (p50/p95) and portal statements per probe (the client's counter). Target: 1, < 50 ms."""
	bulk_sync_from_external()
	# a pull that ended in a second the portal had not closed leaves its cursor before it
	# (`run.cursor_for`): once the portal's clock closes it, one more pull brings the cursor
	# past it, as the first probe after a burst of edits does in production
	closed_after = db_now(env.conn) + timedelta(seconds=CLOSED_SECONDS)
	while db_now(env.conn) <= closed_after:
		time.sleep(0.2)
	bulk_sync_from_external()  # the cursor is up to date
	probe_portal_changes()  # warm: the process's portal client is open
	ms, queries, queued = [], set(), 0
	for _ in range(n):
		started = now()
		answer = probe_portal_changes()
		ms.append(1000 * (now() - started))
		queries.add(answer["queries"])
		queued += bool(answer["queued"])
	return {**_stats(ms), "queries": sorted(queries), "queued": queued}


class Samples:
	"""New and edited portal invoices, and the wait until ERPNext shows each."""

	def __init__(self, env):
		self.env = env
		self.last = None
		self.line = {
			"vendor_id": env.vendors[0],
			"product_id": 0,
			"quantity": 1,
			"cost": "100.00",
			"gst_amt": "18.00",
		}

	def write(self, i: int) -> tuple[int, str]:
		"""Write sample `i` on the portal (even: a new invoice; odd: an edit of the last one);
		returns (requisition id, the remark ERPNext must show)."""
		remark = f"latency sample {i} {secrets.token_hex(3)}"
		if i % 2 == 0 or self.last is None:
			self.last = insert_invoice(self.env.conn, self.env.entity_id, [self.line], remark=remark)
		else:
			with self.env.conn.cursor() as cur:  # as the portal edits: `updated_at` to its NOW()
				cur.execute(
					"UPDATE purchase_requisitions SET remark = %s, updated_at = NOW() WHERE id = %s",
					(remark, self.last),
				)
		return self.last, remark

	def wait(
		self, requisition_id: int, remark: str, timeout: float, since: float | None = None
	) -> float | None:
		"""Seconds from `since` (`harness.now()`; default: now) until ERPNext shows the invoice
		with `remark`, None after `timeout`."""
		started = now() if since is None else since
		while now() - started < timeout:
			frappe.db.rollback()  # a fresh snapshot: what the worker committed
			if frappe.db.exists(
				PURCHASE_INVOICE,
				{"procureuat_id": requisition_id, "company": self.env.company, "remarks": remark},
			):
				return now() - started
			time.sleep(POLL_INTERVAL)
		return None


def bench_probe_latency(env, *, n: int, seed: int) -> dict:
	"""Figure 7: portal write to invoice in ERPNext by the minute's probe, with the bench's own
	scheduler (`bench schedule`, a tick a minute) and a worker on every queue; each write at a
	random moment of the minute. Target: p95 ≤ 75 s."""
	rng = random.Random(seed)
	bulk_sync_from_external()
	frappe.db.set_single_value(SETTINGS, "probe_portal_changes", 1)
	frappe.db.commit()  # nosemgrep
	worker = Worker(queues="short,default,long").start()
	scheduler = Scheduler().start()
	samples, seconds, lost = Samples(env), [], 0
	try:
		for i in range(n):
			time.sleep(rng.uniform(0, 60))
			took = samples.wait(*samples.write(i), timeout=PROBE_TIMEOUT)
			if took is None:
				lost += 1
			else:
				seconds.append(took)
	finally:
		scheduler.stop()
		worker.stop()
	return {**_stats(seconds), "lost": lost}


def bench_webhook_latency(env, *, n: int) -> dict:
	"""Figure 8: portal write to invoice in ERPNext by a signed call to
	`o2o_sync.api.portal_changed` through a real `bench serve`, a worker on every queue.
	Target: p95 ≤ 10 s."""
	connection = frappe.db.get_single_value(SETTINGS, "database_connection")
	secret = secrets.token_hex(16)
	doc = frappe.get_doc(DATABASE_CONNECTION, connection)
	doc.webhook_secret = secret
	doc.save(ignore_permissions=True)
	frappe.db.set_single_value(SETTINGS, "probe_portal_changes", 0)  # the webhook alone
	frappe.db.commit()  # nosemgrep
	worker = Worker(queues="short,default,long").start()
	server = WebServer().start()
	samples, seconds, lost, answers = Samples(env), [], 0, set()
	try:
		for i in range(n):
			requisition_id, remark = samples.write(i)
			started = now()
			body = json.dumps({"connection": connection, "requisition_ids": [requisition_id]}).encode()
			stamp = str(int(time.time()))
			request = urllib.request.Request(
				server.url + "/api/method/o2o_sync.api.portal_changed",
				data=body,
				method="POST",
				headers={
					"Host": frappe.local.site,
					"Content-Type": "application/json",
					"X-O2O-Timestamp": stamp,
					"X-O2O-Signature": sign(secret, stamp, body),
				},
			)
			with urllib.request.urlopen(request, timeout=30) as response:
				answers.add(json.loads(response.read())["message"]["status"])
			took = samples.wait(requisition_id, remark, timeout=WEBHOOK_TIMEOUT, since=started)
			if took is None:
				lost += 1
			else:
				seconds.append(took)
	finally:
		server.stop()
		worker.stop()
		frappe.db.set_single_value(SETTINGS, "probe_portal_changes", 1)
		frappe.db.commit()  # nosemgrep
	return {**_stats(seconds), "lost": lost, "answers": sorted(answers)}


def rows(results: dict) -> list[tuple]:
	"""The report's rows of figures 6 to 8 (`harness.table`)."""
	out = []
	c = results.get("probe_cost")
	if c:
		ok = c["queries"] == [1] and c["p95"] < 50 and not c["queued"]
		out.append(
			table_row(
				f"6 unchanged probe: queries | p50 | p95 (n={c['n']})",
				f"{','.join(map(str, c['queries']))} | {c['p50']:.1f} | {c['p95']:.1f} ms",
				"1, < 50 ms",
				ok,
			)
		)
	for key, label, target in (("probe_latency", "7 probe", 75), ("webhook_latency", "8 webhook", 10)):
		lat = results.get(key)
		if lat and lat["p50"] is not None:
			out.append(
				table_row(
					f"{label} latency p50 | p95 | max (n={lat['n']}, lost {lat['lost']})",
					f"{lat['p50']:.1f} | {lat['p95']:.1f} | {lat['max']:.1f} s",
					f"p95 <= {target} s",
					lat["p95"] <= target and not lat["lost"],
				)
			)
	return out
