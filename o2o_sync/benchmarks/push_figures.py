"""Figures 4 and 5 of the benchmark: what the app adds to a Purchase Invoice submit, and the
push's latency from the submit's commit to the row on the portal (see `sync_benchmark`).

Drafts come from `scenarios.erp_invoice`; the worker and the clocks from `harness`.
"""

import statistics
import time
from datetime import timezone

import frappe
from frappe.utils.background_jobs import get_job

from o2o_sync.benchmarks.harness import Worker, now, p95
from o2o_sync.benchmarks.scenarios import erp_invoice, set_enabled
from o2o_sync.constants import FAILED, PURCHASE_INVOICE, PUSH, SUCCESS, SYNC_LOG

#: Seconds between two looks at the portal while waiting for a pushed row (brief: 10 ms).
POLL_INTERVAL = 0.01
#: Longest wait for one pushed row before it counts as lost.
PUSH_TIMEOUT = 30.0

# ---------------------------------------------------------------- 4. submit overhead


def timed_submit(name: str) -> float:
	"""Seconds to submit and commit one draft (the user's whole transaction)."""
	doc = frappe.get_doc(PURCHASE_INVOICE, name)
	started = now()
	doc.submit()
	frappe.db.commit()  # nosemgrep: the enqueue happens on commit
	return now() - started


def bench_submit_overhead(ctx, *, n: int) -> dict:
	"""Figure 4: submits with the sync enabled (push queued after commit) against disabled.

	Pairs are interleaved (on/off, then off/on) so drift hits both sides alike. Leaves the
	queued pushes for the worker of `bench_push_latency` and the sync enabled.
	"""
	warm = [(erp_invoice(ctx, "WARM", i), i % 2 == 0) for i in range(4)]
	pairs = [(erp_invoice(ctx, "ON", i), erp_invoice(ctx, "OFF", i)) for i in range(n)]
	frappe.db.commit()  # nosemgrep
	for name, on in warm:
		set_enabled(on)
		timed_submit(name)
	on_ms, off_ms = [], []
	for i, (on_name, off_name) in enumerate(pairs):
		order = ((True, on_name), (False, off_name))
		for on, name in order if i % 2 == 0 else reversed(order):
			set_enabled(on)
			(on_ms if on else off_ms).append(1000 * timed_submit(name))
	set_enabled(True)
	on_med, off_med = statistics.median(on_ms), statistics.median(off_ms)
	on_mean, off_mean = statistics.mean(on_ms), statistics.mean(off_ms)
	paired = statistics.median(a - b for a, b in zip(on_ms, off_ms, strict=True))
	return {
		"n": n,
		"on_ms_median": round(on_med, 2),
		"off_ms_median": round(off_med, 2),
		"on_ms_mean": round(on_mean, 2),
		"off_ms_mean": round(off_mean, 2),
		"overhead_pct_median": round(100 * (on_med - off_med) / off_med, 2),
		"overhead_pct_mean": round(100 * (on_mean - off_mean) / off_mean, 2),
		"overhead_ms_paired_median": round(paired, 2),
		"on_ms": [round(x, 1) for x in on_ms],
		"off_ms": [round(x, 1) for x in off_ms],
		"queued": [name for name, on in warm if on] + [on_name for on_name, _ in pairs],
	}


# ---------------------------------------------------------------- 5. push latency


def portal_has(conn, names: list[str]) -> set[str]:
	"""The `names` that are already a requisition's order_code on the portal (pushed rows)."""
	with conn.cursor() as cur:
		cur.execute(
			f"SELECT order_code FROM purchase_requisitions WHERE order_code IN ({', '.join(['%s'] * len(names))})",
			names,
		)
		return {r["order_code"] for r in cur.fetchall()}


def wait_visible(conn, name: str, timeout: float = PUSH_TIMEOUT) -> float | None:
	"""perf_counter() when a row with order_code = `name` is seen on the portal, None on timeout."""
	deadline = now() + timeout
	with conn.cursor() as cur:
		while True:
			cur.execute("SELECT id FROM purchase_requisitions WHERE order_code = %s LIMIT 1", (name,))
			if cur.fetchone():
				return now()
			if now() > deadline:
				return None
			time.sleep(POLL_INTERVAL)


def job_breakdown(epochs: dict) -> tuple[list[float], list[float]]:
	"""Per pushed invoice: seconds from the commit to RQ starting its job (queue, fork), and
	from there to the row being visible (Frappe init, imports, tunnel, the push itself)."""
	to_start, start_to_seen = [], []
	for name, (committed_at, seen_at) in epochs.items():
		job = get_job(f"o2o_sync::push::{name}")
		if job is None or job.started_at is None:
			continue
		started_at = job.started_at.replace(tzinfo=timezone.utc).timestamp()
		to_start.append(started_at - committed_at)
		start_to_seen.append(seen_at - started_at)
	return to_start, start_to_seen


def bench_push_latency(ctx, worker: Worker, *, n: int, queued: list[str]) -> dict:
	"""Figure 5: submit (commit) to row visible on the portal, one invoice at a time."""
	conn = ctx.env.conn
	drafts = [erp_invoice(ctx, "LAT", i) for i in range(n + 2)]
	frappe.db.commit()  # nosemgrep
	set_enabled(True)
	worker.start()

	# the pushes queued by the submit benchmark go first: wait for them
	drained_s = None
	if queued:
		started = now()
		deadline = started + 60 + 2 * len(queued)
		while now() < deadline and worker.alive():
			if len(portal_has(conn, queued)) == len(queued):
				drained_s = now() - started
				break
			time.sleep(0.1)
	landed = len(portal_has(conn, queued)) if queued else 0

	latencies, lost, epochs = [], [], {}
	for i, name in enumerate(drafts):
		doc = frappe.get_doc(PURCHASE_INVOICE, name)
		doc.submit()
		committed_at, started = time.time(), now()
		frappe.db.commit()  # nosemgrep: the push is enqueued on commit
		seen = wait_visible(conn, name)
		if i < 2:
			continue  # warm-up
		if seen is None:
			lost.append(name)
		else:
			latencies.append(seen - started)
			epochs[name] = (committed_at, committed_at + (seen - started))
		if not worker.alive():
			raise RuntimeError("the worker died:\n" + worker.log_tail())
	timed = drafts[2:]
	in_job = frappe.get_all(
		SYNC_LOG,
		filters={"operation": "Push", "status": SUCCESS, "reference_name": ["in", timed]},
		pluck="duration_ms",
	)
	failed_pushes = frappe.get_all(
		SYNC_LOG,
		filters={"direction": PUSH, "status": FAILED},
		pluck="message",
		limit=5,
	)
	to_start, start_to_seen = job_breakdown(epochs)
	if lost:
		print(f"{len(lost)} pushes not seen within {PUSH_TIMEOUT:g} s; worker log:\n{worker.log_tail()}")
	return {
		"n": len(timed),
		"median_s": round(statistics.median(latencies), 3) if latencies else None,
		"p95_s": round(p95(latencies), 3) if latencies else None,
		"max_s": round(max(latencies), 3) if latencies else None,
		"lost": len(lost),
		"push_in_job_ms_median": statistics.median(in_job) if in_job else None,
		"commit_to_job_start_ms_median": round(1000 * statistics.median(to_start)) if to_start else None,
		"job_start_to_visible_ms_median": round(1000 * statistics.median(start_to_seen))
		if start_to_seen
		else None,
		"worker_bytecode": worker.bytecode,
		"queued_landed": landed,
		"queued_total": len(queued),
		"queued_drain_s": round(drained_s, 2) if drained_s is not None else None,
		"failed_pushes": failed_pushes,
	}
