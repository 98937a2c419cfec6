"""The benchmark's measuring harness: clocks, percentiles, what each pull batch asked the portal,
a real RQ worker, and the printed report.

Knows nothing of the data: the figures (`pull_figures`, `push_figures`) time their scenarios
(`scenarios`) with it, and `sync_benchmark.run` prints `details(results)` and `table(results)`.
Frappe is imported only where a worker is started or a job looked up.
"""

import io
import math
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------- clocks and percentiles


def now() -> float:
	"""A monotonic clock in seconds (`time.perf_counter`)."""
	return time.perf_counter()


def p95(values: list[float]) -> float:
	"""95th percentile, nearest rank."""
	ordered = sorted(values)
	return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# ---------------------------------------------------------------- portal statements per pull batch


class BatchRecorder:
	"""Counts the portal statements of each pull batch.

	Wraps `ProcureUATClient.fetch_invoice_batch` (class attribute, restored on exit) to note
	the client's `query_count` when each batch starts; a batch's statements are those sent
	until the next batch starts (or the run ends): the page, its lines, its vendors.
	"""

	def __init__(self):
		self.calls: list[dict] = []

	def __enter__(self):
		from o2o_sync.sync.portal.client import ProcureUATClient

		# the method may be inherited (from `portal_reads.PortalReads`): put back exactly what was there
		self._own = ProcureUATClient.__dict__.get("fetch_invoice_batch")
		original = ProcureUATClient.fetch_invoice_batch
		calls = self.calls

		def fetch_invoice_batch(client, *args, **kwargs):
			started_at = client.query_count
			batch = original(client, *args, **kwargs)
			calls.append(
				{
					"client": client,
					"start": started_at,
					"rows": batch.rows_read,
					"invoices": len(batch.invoices),
					"lines": sum(len(inv.lines) for inv in batch.invoices),
				}
			)
			return batch

		ProcureUATClient.fetch_invoice_batch = fetch_invoice_batch
		return self

	def __exit__(self, *exc):
		from o2o_sync.sync.portal.client import ProcureUATClient

		if self._own is None:
			del ProcureUATClient.fetch_invoice_batch
		else:
			ProcureUATClient.fetch_invoice_batch = self._own
		for i, call in enumerate(self.calls):
			end = self.calls[i + 1]["start"] if i + 1 < len(self.calls) else call["client"].query_count
			call["queries"] = end - call["start"]
			del call["client"]

	def batches(self) -> list[dict]:
		"""The batches that read rows: {rows, invoices, lines, queries}."""
		return [c for c in self.calls if c["rows"]]


def print_profile(profiler):
	"""The pull's profile: top functions by cumulative time, then o2o_sync's own by total time."""
	out = io.StringIO()
	stats = pstats.Stats(profiler, stream=out)
	stats.sort_stats("cumulative").print_stats(45)
	stats.sort_stats("tottime").print_stats("o2o_sync", 25)
	print("---- cProfile of the pull ----")
	print(out.getvalue(), flush=True)


# ---------------------------------------------------------------- a real worker


class Worker:
	"""`bench worker --queue <queues>` (default short,default) of this bench, as a child process
	group of ours.

	With `bytecode`, the worker may cache compiled modules (in a private directory, removed
	on `stop()`) even when the environment says PYTHONDONTWRITEBYTECODE: RQ forks a fresh
	work horse for every job, and without .pyc files each one compiles Frappe's and
	ERPNext's sources again (about 0.6 s a job), which no deployed bench does.
	"""

	#: what the child runs: `frappe worker --queue <queues>` (subclasses: the web server, the scheduler)
	def args(self) -> list[str]:
		return ["worker", "--queue", self.queues]

	def __init__(self, bytecode: bool = True, queues: str = "short,default"):
		self.bytecode = bytecode
		self.queues = queues
		self.proc = None
		self.log_path = None
		self.cache_dir = None

	def start(self) -> "Worker":
		import frappe

		# what `bench worker` runs, with this process's Python and environment (a bench of our own)
		cmd = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", *self.args()]
		cwd = os.path.join(frappe.utils.get_bench_path(), "sites")
		env = dict(os.environ)
		env.pop("CI", None)  # Frappe's execute_job sets in_test under CI: the push would not be async
		if self.bytecode:
			self.cache_dir = tempfile.mkdtemp(prefix="o2o-bench-pycache-")
			env.pop("PYTHONDONTWRITEBYTECODE", None)
			env["PYTHONPYCACHEPREFIX"] = self.cache_dir
		fd, self.log_path = tempfile.mkstemp(prefix="o2o-bench-worker-", suffix=".log")
		with os.fdopen(fd, "wb") as log:
			self.proc = subprocess.Popen(
				cmd,
				cwd=cwd,
				env=env,
				stdin=subprocess.DEVNULL,
				stdout=log,
				stderr=log,
				start_new_session=True,
			)
		return self

	def alive(self) -> bool:
		return self.proc is not None and self.proc.poll() is None

	def log_tail(self, n: int = 30) -> str:
		if not self.log_path or not os.path.exists(self.log_path):
			return ""
		with open(self.log_path, errors="replace") as f:
			return "".join(f.readlines()[-n:])

	def stop(self):
		"""SIGTERM to its process group (warm shutdown), SIGKILL after 20 s; removes the log."""
		proc, self.proc = self.proc, None
		if proc is not None and proc.poll() is None:
			try:
				os.killpg(proc.pid, signal.SIGTERM)
				proc.wait(timeout=20)
			except subprocess.TimeoutExpired:
				os.killpg(proc.pid, signal.SIGKILL)
				proc.wait(timeout=5)
			except ProcessLookupError:
				pass
		if self.log_path and os.path.exists(self.log_path):
			os.unlink(self.log_path)
		self.log_path = None
		if self.cache_dir:
			shutil.rmtree(self.cache_dir, ignore_errors=True)
			self.cache_dir = None


class WebServer(Worker):
	"""`bench serve` of this site on a free port (no reloader), as a child process group."""

	def __init__(self, bytecode: bool = True):
		super().__init__(bytecode)
		with socket.socket() as sock:
			sock.bind(("127.0.0.1", 0))
			self.port = sock.getsockname()[1]

	def args(self) -> list[str]:
		import frappe

		return ["--site", frappe.local.site, "serve", "--port", str(self.port), "--noreload"]

	def start(self) -> "WebServer":
		"""Start it and wait (at most a minute) until it answers HTTP."""
		super().start()
		deadline = time.monotonic() + 60
		while time.monotonic() < deadline:
			try:
				with socket.create_connection(("127.0.0.1", self.port), timeout=1):
					return self
			except OSError:
				if not self.alive():
					break
				time.sleep(0.2)
		raise RuntimeError(f"bench serve did not answer on port {self.port}:\n{self.log_tail()}")

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.port}"


class Scheduler(Worker):
	"""`bench schedule`: the bench's own scheduler (a tick a minute), as a child process group."""

	def args(self) -> list[str]:
		return ["schedule"]


# ---------------------------------------------------------------- report


def table_row(figure, value, target, ok):
	return (figure, value, target, "-" if ok is None else ("yes" if ok else "NO"))


def table(results: dict, extra_rows: list[tuple] = ()) -> str:
	"""The report's table of `results`, then `extra_rows` (`table_row` tuples)."""
	rows = []
	p = results.get("pull")
	if p:
		rows.append(table_row("1 baseline insert (ERPNext alone)", f"{p['baseline_s']:.1f} s", "", None))
		rows.append(table_row("1 pull through sshd", f"{p['pull_s']:.1f} s", "", None))
		rows.append(
			table_row(
				"1 pull / baseline, median of rounds" + (" (profiled!)" if p["profiled"] else ""),
				f"{p['ratio']:.2f}x",
				"<= 1.05x",
				p["ratio"] <= 1.05,
			)
		)
		ratios = [r["ratio"] for r in p["rounds"]]
		rows.append(
			table_row(
				f"1 per round ({len(ratios)}) min..max",
				f"{min(ratios):.2f}x .. {max(ratios):.2f}x",
				"",
				None,
			)
		)
		rows.append(table_row("1 same, total times", f"{p['total_ratio']:.2f}x", "", None))
		rows.append(table_row("1 same, CPU time of this process", f"{p['cpu_ratio']:.2f}x", "", None))
		rows.append(
			table_row(
				"1 invoices/s pull | baseline",
				f"{p['pull_invoices_per_s']:.1f} | {p['baseline_invoices_per_s']:.1f}",
				"",
				None,
			)
		)
		mixed = sorted({b["queries"] for b in p["batches"] if b["invoices"]})
		rows.append(table_row("2 queries/batch, 1-6 lines", ",".join(map(str, mixed)), "constant", None))
	q = results.get("queries")
	if q:
		one, six = q["1_line"]["queries_per_batch"], q["6_line"]["queries_per_batch"]
		rows.append(table_row("2 queries/batch, 1-line", ",".join(map(str, one)), "constant", None))
		rows.append(
			table_row(
				"2 queries/batch, 6-line",
				",".join(map(str, six)),
				"constant",
				len(set(one) | set(six)) == 1,
			)
		)
	if p:
		rows.append(
			table_row(
				"3 unchanged re-run / pull",
				f"{p['rerun_pct']:.2f} % ({p['rerun_s']:.2f} s)",
				"< 2 %",
				p["rerun_pct"] < 2,
			)
		)
	s = results.get("submit")
	if s:
		rows.append(
			table_row(
				f"4 submit ms, sync off | on (n={s['n']})",
				f"{s['off_ms_median']:.1f} | {s['on_ms_median']:.1f}",
				"",
				None,
			)
		)
		rows.append(
			table_row(
				"4 submit overhead (median | mean)",
				f"{s['overhead_pct_median']:.1f} % | {s['overhead_pct_mean']:.1f} %",
				"<= 5 %",
				s["overhead_pct_median"] <= 5,
			)
		)
	lat = results.get("latency")
	if lat and lat["median_s"] is not None:
		rows.append(
			table_row(f"5 push latency median (n={lat['n']})", f"{1000 * lat['median_s']:.0f} ms", "", None)
		)
		rows.append(
			table_row(
				"5 push latency p95 | max",
				f"{1000 * lat['p95_s']:.0f} | {1000 * lat['max_s']:.0f} ms",
				"< 1000 ms",
				lat["p95_s"] < 1 and not lat["lost"],
			)
		)
		if lat["commit_to_job_start_ms_median"] is not None:
			rows.append(
				table_row(
					"5 median commit->job start | ->visible",
					f"{lat['commit_to_job_start_ms_median']} | {lat['job_start_to_visible_ms_median']} ms",
					"",
					None,
				)
			)
		if lat["push_in_job_ms_median"] is not None:
			rows.append(
				table_row(
					"5 median PushEngine.push() (Sync Log)",
					f"{lat['push_in_job_ms_median']:.0f} ms",
					"",
					None,
				)
			)
		rows.append(
			table_row("5 worker caches bytecode", "yes" if lat["worker_bytecode"] else "no", "", None)
		)
	rows += list(extra_rows)
	widths = [max(len(str(r[i])) for r in [("figure", "value", "target", "ok"), *rows]) for i in range(4)]
	fmt = "  ".join(f"{{:<{w}}}" for w in widths)
	lines = [fmt.format("figure", "value", "target", "ok"), fmt.format(*("-" * w for w in widths))]
	lines += [fmt.format(*r) for r in rows]
	return "\n".join(lines)


def details(results: dict) -> str:
	out = []
	p = results.get("pull")
	if p:
		out.append(f"pull: {p['invoices']} invoices / {p['lines']} lines; counts {p['counts']}")
		out.append(f"re-run counts {p['rerun_counts']}")
		out.append("rounds: " + "; ".join(f"{r['baseline_s']} s / {r['pull_s']} s" for r in p["rounds"]))
		out.append("pull batches (rows, lines, portal queries): " + batches_text(p["batches"]))
		if p["failures"]:
			out.append(f"first failures: {p['failures']}")
	q = results.get("queries")
	if q:
		for key in ("1_line", "6_line"):
			out.append(
				f"{key} pull: created {q[key]['created']}, failed {q[key]['failed']}; batches "
				+ batches_text(q[key]["batches"])
			)
	s = results.get("submit")
	if s:
		out.append(
			f"submit: mean off {s['off_ms_mean']} ms, on {s['on_ms_mean']} ms; paired median difference "
			f"{s['overhead_ms_paired_median']} ms"
		)
	lat = results.get("latency")
	if lat:
		out.append(
			f"push: queued pushes landed {lat['queued_landed']}/{lat['queued_total']}"
			f" (drained in {lat['queued_drain_s']} s); lost {lat['lost']}; failed {lat['failed_pushes']}"
		)
	return "\n".join(out)


def batches_text(batches) -> str:
	return "; ".join(f"({b['rows']}, {b['lines']}, {b['queries']})" for b in batches)
