"""Figures 9 to 11 of the benchmark (issue 13): a parallel backfill's throughput with one and
two long-queue workers on the same portal data in one run, the pull's cost per invoice with
1,000 against 20,000 Sync Mappings already on the site, and a worker's peak memory while it
backfills.

9. Backfill throughput: `n` portal invoices (1 to 6 lines) backfilled by `backfill.
   start_backfill(jobs=w)` with `w` real workers (`bench worker --queue long`), for w = 1
   then 2, the Purchase Invoices and Sync Mappings of the first run deleted before the
   second (the Suppliers stay: the first pass finds them both times). Timed from the start
   to the backfill being Done. Target: 2 workers >= 1.5 x one.
10. Pull cost per invoice with `small` against `large` Sync Mappings on the site (clones of
   one of the run's own mappings, snapshot and all, under requisition ids of their own),
   in interleaved rounds of `n` new invoices each. Target: within 10 %.
11. Peak memory: the largest resident set of any worker process (the worker and the work
   horses it forks) sampled every 0.2 s during figure 9's backfills.
"""

import statistics
import threading
import time
from datetime import datetime, timedelta

import frappe
import psutil

from o2o_sync.benchmarks.harness import Worker, now, table_row
from o2o_sync.benchmarks.scenarios import seed_invoices
from o2o_sync.constants import ORIGIN_PORTAL, PURCHASE_INVOICE, SYNC_MAPPING
from o2o_sync.setup.portal_rows import db_now
from o2o_sync.sync import backfill, backfill_state, jobs
from o2o_sync.sync.engine.pull.run import CLOSED_SECONDS
from o2o_sync.sync.sync_utils import bulk_sync_from_external

#: requisition ids of the filler Sync Mappings (figure 10): far above any portal id of the run
FILLER_BASE = 1_900_000_000
#: Sync Mapping names of the fillers start with this
FILLER_PREFIX = "o2o-bench-fill-"
#: figure 10's first batch of invoices is dated this day (Asia/Kolkata), each next one a day later
WINDOWS_FROM = datetime(2026, 11, 21, 9, 0)


class MemorySampler:
	"""Samples the resident set of processes and their children every `interval` seconds in a
	thread; `peak_mb` is the largest one seen (one process, not a sum)."""

	def __init__(self, pids: list[int], interval: float = 0.2):
		self.pids, self.interval = pids, interval
		self.peak = 0
		self._stop = threading.Event()
		self._thread = threading.Thread(target=self._run, daemon=True)

	def _run(self):
		while not self._stop.is_set():
			for pid in self.pids:
				try:
					parent = psutil.Process(pid)
					for proc in [parent, *parent.children(recursive=True)]:
						self.peak = max(self.peak, proc.memory_info().rss)
				except psutil.Error:
					pass
			self._stop.wait(self.interval)

	def __enter__(self):
		self._thread.start()
		return self

	def __exit__(self, *exc):
		self._stop.set()
		self._thread.join()

	@property
	def peak_mb(self) -> float:
		return round(self.peak / 2**20, 1)


def _wait(condition, seconds: float, what: str):
	end = now() + seconds
	while now() < end:
		frappe.db.rollback()  # see the workers' commits
		if condition():
			return
		time.sleep(0.2)
	raise TimeoutError(f"gave up waiting for {what}")


def _forget_pulled(company: str):
	"""Delete the company's pulled Purchase Invoices (drafts) and their Sync Mappings, so the
	same portal data can be backfilled again (the benchmark's own company only; what figures
	4 and 5 pushed stays, and is read back unchanged)."""
	names = frappe.db.sql_list(
		f"""select pi.name from `tab{PURCHASE_INVOICE}` pi join `tab{SYNC_MAPPING}` m on m.purchase_invoice = pi.name
		where pi.company = %s and m.origin = %s and pi.docstatus = 0""",
		(company, ORIGIN_PORTAL),
	)
	for i in range(0, len(names), 1000):
		chunk = names[i : i + 1000]
		for table in ("Purchase Invoice Item", "Purchase Taxes and Charges", "Payment Schedule"):
			frappe.db.delete(table, {"parent": ["in", chunk], "parenttype": PURCHASE_INVOICE})
		frappe.db.delete(SYNC_MAPPING, {"purchase_invoice": ["in", chunk]})
		frappe.db.delete(PURCHASE_INVOICE, {"name": ["in", chunk]})
	frappe.db.commit()  # nosemgrep: the benchmark's own reset between two runs


def bench_backfill(env, *, n: int, seed: int, workers=(1, 2), bytecode: bool = True) -> dict:
	"""Figures 9 and 11. Returns `{"invoices", "runs": [{"workers", "seconds", "per_s",
	"read", "created", "failed", "peak_mb"}], "speedup"}` (per_s: portal invoices a second)."""
	seed_invoices(env, n, seed=seed, min_lines=1, max_lines=6)
	runs = []
	for count in workers:
		_forget_pulled(env.company)
		pool = [Worker(bytecode=bytecode, queues="long").start() for _ in range(count)]
		try:
			time.sleep(3)  # the workers are up and listening
			with MemorySampler([w.proc.pid for w in pool]) as memory:
				started = now()
				result = backfill.start_backfill(jobs=count)
				name = result["backfill"]
				_wait(
					lambda name=name: backfill_state.progress(name)["status"] == "Done", 7200, "the backfill"
				)
				seconds = now() - started
			# the incremental pull it hands over to, before the workers go
			_wait(lambda: not jobs.pull_running(), 600, "the pull after the backfill")
		finally:
			for w in pool:
				w.stop()
		p = backfill_state.progress(name)
		runs.append(
			{
				"workers": count,
				"seconds": round(seconds, 1),
				"per_s": round(p["read"] / seconds, 2),
				"read": p["read"],
				"created": p["created"],
				"failed": p["failed"],
				"peak_mb": memory.peak_mb,
			}
		)
		print(f"backfill with {count} worker(s): {runs[-1]}", flush=True)
	speedup = runs[-1]["per_s"] / runs[0]["per_s"] if len(runs) > 1 and runs[0]["per_s"] else None
	return {"invoices": n, "runs": runs, "speedup": round(speedup, 2) if speedup else None}


def _fill_mappings(target: int) -> int:
	"""Make the site hold `target` Sync Mappings (at least those it has), adding or removing
	filler clones of its newest mapping. Returns how many it holds."""
	frappe.db.delete(SYNC_MAPPING, {"name": ["like", f"{FILLER_PREFIX}%"]})
	have = frappe.db.count(SYNC_MAPPING)
	missing = max(0, target - have)
	template = frappe.get_all(SYNC_MAPPING, filters={"status": "Synced"}, order_by="creation desc", limit=1)
	if missing and template:
		columns = [c for c in frappe.db.get_table_columns(SYNC_MAPPING) if c not in ("name", "procureuat_id")]
		listed = ", ".join(f"`{c}`" for c in columns)
		frappe.db.sql(
			f"""insert into `tabSync Mapping` (`name`, `procureuat_id`, {listed})
			select concat(%s, seq), %s + seq, {listed} from `tabSync Mapping`, seq_1_to_{int(missing)}
			where `tabSync Mapping`.name = %s""",
			(FILLER_PREFIX, FILLER_BASE, template[0].name),
		)
	frappe.db.commit()  # nosemgrep: the benchmark's own fillers
	return frappe.db.count(SYNC_MAPPING)


def bench_mapping_scale(
	env, *, n: int, seed: int, small: int = 1000, large: int = 20000, rounds: int = 3
) -> dict:
	"""Figure 10. Returns `{"small": {"mappings", "ms_per_invoice"}, "large": {...}, "ratio",
	"rounds"}` (medians of the rounds; ratio large / small)."""
	per = {"small": [], "large": []}
	held = {}
	windows = iter(range(1 + 2 * rounds))

	def seed_after_the_cursor(k: int):
		"""`n` invoices dated a day after the last batch, changed on the portal now (whatever
		the figures before left the cursor at), the portal's clock then past that second."""
		day = WINDOWS_FROM + timedelta(days=next(windows))
		ids = seed_invoices(
			env, n, seed=seed + k, min_lines=1, max_lines=6, start_date=day, end_date=day + timedelta(hours=8)
		)
		marks = ", ".join(["%s"] * len(ids))
		with env.conn.cursor() as cur:
			cur.execute(f"UPDATE purchase_requisitions SET updated_at = NOW() WHERE id IN ({marks})", ids)
			cur.execute(
				f"UPDATE purchase_order_items SET updated_at = NOW() WHERE purchase_order_id IN ({marks})",
				ids,
			)
		env.conn.commit()
		closed = db_now(env.conn) + timedelta(seconds=CLOSED_SECONDS)
		while db_now(env.conn) <= closed:
			time.sleep(0.2)

	try:
		seed_after_the_cursor(7)
		bulk_sync_from_external()  # a warm-up, and a mapping to clone
		for r in range(rounds):
			order = ("small", "large") if r % 2 == 0 else ("large", "small")
			for size in order:
				held[size] = _fill_mappings(small if size == "small" else large)
				seed_after_the_cursor(1000 * r + len(size))
				started = now()
				counts = bulk_sync_from_external()
				written = counts.get("created", 0) + counts.get("failed", 0)
				if written < n:  # every invoice of the batch is new to the pull: else no figure
					raise RuntimeError(f"figure 10: {n} invoices seeded, the pull counted {counts}")
				per[size].append(1000 * (now() - started) / written)
	finally:
		frappe.db.delete(SYNC_MAPPING, {"name": ["like", f"{FILLER_PREFIX}%"]})
		frappe.db.commit()  # nosemgrep: the fillers go
	out = {
		size: {"mappings": held.get(size), "ms_per_invoice": round(statistics.median(v), 2)}
		for size, v in per.items()
		if v
	}
	out["ratio"] = round(out["large"]["ms_per_invoice"] / out["small"]["ms_per_invoice"], 3)
	out["rounds"] = {size: [round(x, 2) for x in v] for size, v in per.items()}
	return out


def rows(results: dict) -> list[tuple]:
	"""The report's rows of figures 9 to 11 (`harness.table`)."""
	out = []
	b = results.get("backfill")
	if b and b["runs"]:
		rates = " | ".join(f"{r['workers']}w {r['per_s']:.1f}/s" for r in b["runs"])
		out.append(
			table_row(
				f"9 backfill throughput, {b['invoices']} invoices: {rates}",
				f"{b['speedup']}x" if b["speedup"] else "-",
				">= 1.5x with 2 workers",
				bool(b["speedup"] and b["speedup"] >= 1.5 and not any(r["failed"] for r in b["runs"])),
			)
		)
		out.append(
			table_row(
				f"11 peak worker memory, {b['invoices']}-invoice backfill",
				f"{max(r['peak_mb'] for r in b['runs'])} MB",
				"(reported)",
				True,
			)
		)
	s = results.get("mapping_scale")
	if s:
		out.append(
			table_row(
				f"10 pull per invoice at {s['small']['mappings']} | {s['large']['mappings']} mappings",
				f"{s['small']['ms_per_invoice']} | {s['large']['ms_per_invoice']} ms ({s['ratio']}x)",
				"within 10 %",
				s["ratio"] <= 1.10,
			)
		)
	return out
