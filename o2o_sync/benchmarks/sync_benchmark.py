"""Benchmark of o2o_sync on a real bench, each figure against a baseline measured in the same run.

Run it on a site of its own (it builds companies, a portal database, an sshd bastion and
starts an RQ worker; concurrent runs on one site break each other)::

        bench --site o2obench.localhost execute o2o_sync.benchmarks.sync_benchmark.run
        bench --site o2obench.localhost execute o2o_sync.benchmarks.sync_benchmark.run \
                --kwargs "{'n_invoices': 200, 'n_push': 20, 'n_latency': 50}"

What it measures (and prints, and returns as a dict):

1. Pull: `n_invoices` portal invoices of 1 to 6 lines pulled through the real sshd
   tunnel by `sync_utils.bulk_sync_from_external()`, against ERPNext alone inserting the
   same Purchase Invoices (built from the engine's own `mapping.build_spec`, inserted
   with plain `frappe.get_doc(...).insert()` into a second company, without Sync
   Mapping, Sync Log or hashes), in interleaved rounds after an untimed warm-up.
   Target: pull ≤ 1.25 × baseline (median of the rounds' ratios).
2. Portal queries per pull batch (the client's `query_count`) for batches of 1-line
   invoices against batches of 6-line invoices. Target: constant.
3. An unchanged re-run right after the pull, as a percentage of the pull. Target < 2 %.
4. Time the app adds to a Purchase Invoice submit (hooks on: O2O Sync Settings enabled,
   the push only queued) against the same submits with the sync disabled, interleaved.
   Target ≤ 5 %.
5. Push latency with a real worker (`bench worker --queue short,default`, started and
   stopped here): from the submit's commit to the row being visible in the portal
   database, polled every 10 ms. Target p95 < 1 s.

For the run the site gets INR as its default currency and buying price list (see
`_IndianDefaults`; the old values are put back), and the worker may cache bytecode
(see `_Worker`; `worker_bytecode=False` measures without).

Importing this module does nothing; everything happens in `run()`. On failure `run()`
prints the traceback and the figures it has, cleans up, and exits with status 1
(`SystemExit`, so that `bench execute` does not run it a second time).
"""

import cProfile
import io
import math
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

SETTINGS = "O2O Sync Settings"
#: Portal product ids `portal_fixtures.seed_realistic` draws from (its default).
PRODUCT_IDS = range(501, 561)
#: Seconds between two looks at the portal while waiting for a pushed row (brief: 10 ms).
POLL_INTERVAL = 0.01
#: Longest wait for one pushed row before it counts as lost.
PUSH_TIMEOUT = 30.0


@dataclass
class _Context:
	"""What the benchmark made besides `setup_environment()`'s environment."""

	env: object
	token: str
	vendors: dict = field(default_factory=dict)  # portal vendor id -> records.Vendor
	suppliers: dict = field(default_factory=dict)  # portal vendor id -> Supplier name
	items: list = field(default_factory=list)  # Item codes linked to portal products
	base_company: str = ""
	base_accounts: dict = field(default_factory=dict)


# ---------------------------------------------------------------- helpers


def _now() -> float:
	return time.perf_counter()


def _p95(values: list[float]) -> float:
	"""95th percentile, nearest rank."""
	ordered = sorted(values)
	return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _direct_client(env):
	"""A ProcureUATClient straight to the portal database (no tunnel): untimed reads only."""
	from o2o_sync.sync.config import ConnectionConfig
	from o2o_sync.sync.procureuat_client import ProcureUATClient
	from o2o_sync.tests.erpnext_fixtures import db_server

	server = db_server()
	return ProcureUATClient(
		ConnectionConfig(
			host=server["host"],
			port=server["port"],
			database=env.portal_db,
			username=server["user"],
			password=server["password"],
			name="benchmark-direct",
		)
	).open()


class _BatchRecorder:
	"""Counts the portal statements of each pull batch.

	Wraps `ProcureUATClient.fetch_invoice_batch` (class attribute, restored on exit) to note
	the client's `query_count` when each batch starts; a batch's statements are those sent
	until the next batch starts (or the run ends): the page, its lines, its vendors.
	"""

	def __init__(self):
		self.calls: list[dict] = []

	def __enter__(self):
		from o2o_sync.sync.procureuat_client import ProcureUATClient

		self._original = original = ProcureUATClient.fetch_invoice_batch
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
		from o2o_sync.sync.procureuat_client import ProcureUATClient

		ProcureUATClient.fetch_invoice_batch = self._original
		for i, call in enumerate(self.calls):
			end = self.calls[i + 1]["start"] if i + 1 < len(self.calls) else call["client"].query_count
			call["queries"] = end - call["start"]
			del call["client"]

	def batches(self) -> list[dict]:
		"""The batches that read rows: {rows, invoices, lines, queries}."""
		return [c for c in self.calls if c["rows"]]


# ---------------------------------------------------------------- setup


def _prepare(env) -> _Context:
	"""Items linked to the portal's products, the two GST-registered vendors' Suppliers, and
	the baseline's second company with the same kind of accounts. Commits."""
	import frappe

	from o2o_sync.sync.erpnext_port import FrappePort
	from o2o_sync.tests.erpnext_fixtures import make_company, make_item

	token = env.abbr[2:]
	ctx = _Context(env=env, token=token)
	ctx.items = [make_item(f"O2O Bench Product {pid}", product_id=pid) for pid in PRODUCT_IDS]
	client = _direct_client(env)
	try:
		ctx.vendors = client.fetch_vendors(env.vendors[:2])
	finally:
		client.close()
	port = FrappePort()
	for vendor_id, vendor in ctx.vendors.items():
		ctx.suppliers[vendor_id] = port.supplier_for_vendor(vendor_id) or port.create_supplier(
			vendor, "All Supplier Groups"
		)
	ctx.base_company = make_company(f"O2O Bench Baseline {token}", f"OB{token}")
	abbr = f"OB{token}"
	ctx.base_accounts = {
		"cgst": f"CGST - {abbr}",
		"sgst": f"SGST - {abbr}",
		"igst": f"IGST - {abbr}",
		"expense": frappe.db.get_value("Company", ctx.base_company, "default_expense_account"),
		"cost_center": frappe.db.get_value("Company", ctx.base_company, "cost_center"),
	}
	frappe.db.commit()  # nosemgrep: the pull (its own commits) must see these
	return ctx


class _IndianDefaults:
	"""INR as the site's default currency and buying price list while the benchmark runs.

	A hand-written import (the baseline) and the benchmark's own ERPNext-made invoices name
	no currency or price list, so ERPNext takes the global default currency and Buying
	Settings' price list; on a site set up for another country (ERPNext's `before_tests`
	makes a USD company and USD price lists) an INR company's invoice then fails with
	"Party Account ... currency (INR) and document currency (USD) should be same". (The
	pull names the company's currency itself.) An Indian site has INR there; this gives
	the benchmark site the same for the run and puts the old values back after.
	"""

	PRICE_LIST = "O2O Bench Buying INR"

	def __enter__(self):
		import frappe
		from frappe.defaults import get_global_default, set_global_default

		self.currency = get_global_default("currency")
		self.price_list = frappe.db.get_single_value("Buying Settings", "buying_price_list")
		if not frappe.db.exists("Price List", self.PRICE_LIST):
			frappe.get_doc(
				{
					"doctype": "Price List",
					"price_list_name": self.PRICE_LIST,
					"currency": "INR",
					"buying": 1,
					"enabled": 1,
				}
			).insert(ignore_permissions=True)
		if self.currency != "INR" or self.price_list != self.PRICE_LIST:
			print(
				f"note: default currency {self.currency} and buying price list {self.price_list} "
				f"set to INR / {self.PRICE_LIST} for the run"
			)
		set_global_default("currency", "INR")
		frappe.db.set_single_value("Buying Settings", "buying_price_list", self.PRICE_LIST)
		frappe.db.commit()  # nosemgrep: the worker must see them too
		return self

	def __exit__(self, *exc):
		import frappe
		from frappe.defaults import set_global_default

		frappe.db.rollback()
		set_global_default("currency", self.currency)
		frappe.db.set_single_value("Buying Settings", "buying_price_list", self.price_list)
		frappe.db.commit()  # nosemgrep


def _seed(env, n, *, seed, min_lines, max_lines, **kwargs):
	from o2o_sync.tests import portal_fixtures as pf

	return pf.seed_realistic(
		env.conn,
		n,
		entity_id=env.entity_id,
		vendor_ids=env.vendors[:2],  # the unregistered vendor may not charge GST
		product_ids=list(PRODUCT_IDS),
		seed=seed,
		min_lines=min_lines,
		max_lines=max_lines,
		**kwargs,
	)


# ---------------------------------------------------------------- 1. pull against ERPNext alone


def _baseline_specs(ctx, ids) -> tuple[list[dict], list[str]]:
	"""The engine's own specs of the portal invoices `ids` (every vendor slice), for the
	baseline company, and the messages of the slices `build_spec` refuses."""
	from o2o_sync.sync import mapping as m
	from o2o_sync.sync.erpnext_port import FrappePort
	from o2o_sync.sync.errors import InvoiceError
	from o2o_sync.sync.sync_utils import get_settings, pull_settings

	env = ctx.env
	settings = pull_settings()
	entity = m.EntityConfig(
		entity_id=str(env.entity_id),
		company=ctx.base_company,
		company_gstin=settings.entities[str(env.entity_id)].company_gstin,
		cgst_account=ctx.base_accounts["cgst"],
		sgst_account=ctx.base_accounts["sgst"],
		igst_account=ctx.base_accounts["igst"],
		expense_account=ctx.base_accounts["expense"],
		cost_center=ctx.base_accounts["cost_center"],
	)
	port = FrappePort()
	client = _direct_client(env)
	try:
		invoices = client.fetch_invoices(sorted(ids))
	finally:
		client.close()
	items = port.items_for_products(list(PRODUCT_IDS))
	s = get_settings()
	default_item, freight_item = port.item_info(s.default_item), port.item_info(s.freight_item)
	specs, refused = [], []
	for inv in invoices:
		if inv.is_gone:
			continue
		for part in m.split_by_vendor(inv):
			vendor = ctx.vendors.get(m.slice_vendor_id(part))
			try:
				specs.append(
					m.build_spec(
						part,
						vendor=vendor,
						supplier=ctx.suppliers.get(vendor.id) if vendor else "",
						entity=entity,
						items=items,
						settings=settings,
						default_item=default_item,
						freight_item=freight_item,
					)
				)
			except InvoiceError as e:  # the pull refuses these too: neither side inserts them
				refused.append(str(e))
	return specs, refused


def _baseline_templates(ctx, specs) -> dict:
	"""Item Tax Templates of the baseline company, made beforehand like a one-off setup."""
	from o2o_sync.sync.erpnext_port import FrappePort

	port = FrappePort()
	templates = {}
	for spec in specs:
		for item in spec["items"]:
			if spec["tax_accounts"] and item["gst_rate"] is not None:
				key = (spec["gst_split"], item["gst_rate"])
				if key not in templates:
					templates[key] = port._template(
						spec["company"], spec["gst_split"], item["gst_rate"], spec["tax_accounts"]
					)
	return templates


def _baseline_doc(spec: dict, templates: dict) -> dict:
	"""A Purchase Invoice as a hand-written import script would build it from a spec."""
	from frappe.utils import flt

	from o2o_sync.sync.erpnext_port import FrappePort
	from o2o_sync.sync.mapping import tracking_fields

	items = []
	for item in spec["items"]:
		row = {
			"item_code": item["item_code"],
			"description": item["description"],
			"qty": item["qty"],
			"rate": flt(item["rate"], 6),
			"procureuat_item_id": item["procureuat_item_id"],
			"expense_account": item["expense_account"],
			"cost_center": item["cost_center"],
		}
		if spec["tax_accounts"] and item["gst_rate"] is not None:
			row["item_tax_template"] = templates[(spec["gst_split"], item["gst_rate"])]
		items.append(row)
	return {
		"doctype": "Purchase Invoice",
		"company": spec["company"],
		"supplier": spec["supplier"],
		"bill_no": spec["bill_no"],
		"bill_date": spec["bill_date"],
		"posting_date": spec["posting_date"],
		"set_posting_time": 1,
		"due_date": spec["due_date"],
		"remarks": spec["remarks"] or None,
		"update_stock": 0,
		"disable_rounded_total": 1,
		**tracking_fields(spec),
		"items": items,
		"taxes": FrappePort._tax_rows(spec),  # the same GST rows "On Net Total"
	}


def _rounds(n_invoices: int, rounds: int, warmup: int):
	"""(count, start, end) of the portal invoices seeded for each round; first the warm-up's.

	The rounds take consecutive slices of seed_realistic's default dates (2 April to 20
	November 2026) with a 6-hour gap: a row's change time can be up to 5.5 hours after its
	invoice time, and each round's rows must all be newer than the cursor the previous
	round's pull left.
	"""
	first, last = datetime(2026, 4, 2), datetime(2026, 11, 20, 18, 0)
	span = (last - first) / (rounds + 1)
	base, extra = divmod(n_invoices, rounds)
	counts = [warmup] + [base + (1 if r < extra else 0) for r in range(rounds)]
	for r, count in enumerate(counts):
		start = first + span * r
		yield count, start, start + span - timedelta(hours=6)


def bench_pull(
	ctx, *, n_invoices: int, rounds: int, seed: int, warmup: int = 10, profile: bool = False
) -> dict:
	"""Figures 1 and 3 (and the mixed batches of 2): baseline insert, pull, unchanged re-run.

	In `rounds` rounds: seed a share of the portal invoices, then insert them with ERPNext
	alone into the baseline company and pull them with `bulk_sync_from_external()`, the
	order alternating from round to round. Before them, an untimed warm-up round of
	`warmup` invoices loads code and caches for both sides. On a shared machine (and a
	small InnoDB buffer pool) the database's speed comes and goes over minutes;
	interleaving puts both sides under the same conditions, and the headline ratio is the
	median of the rounds' ratios.
	"""
	import frappe

	from o2o_sync.sync.sync_utils import bulk_sync_from_external

	sides = {"baseline": [0.0, 0.0], "pull": [0.0, 0.0]}  # wall, cpu seconds
	per_round, batches, refused = [], [], []
	counts: dict = {}
	n_specs = n_lines = 0
	profiler = cProfile.Profile() if profile else None

	def timed(side, fn):
		wall, cpu = _now(), time.process_time()
		out = fn()
		wall, cpu = _now() - wall, time.process_time() - cpu
		sides[side][0] += wall
		sides[side][1] += cpu
		return out, wall

	def baseline(specs, templates):
		for i, spec in enumerate(specs, 1):
			frappe.get_doc(_baseline_doc(spec, templates)).insert(ignore_permissions=True)
			if i % 200 == 0:
				frappe.db.commit()  # nosemgrep: commit per 200 like the pull's batches
		frappe.db.commit()  # nosemgrep

	def pull():
		with _BatchRecorder() as recorder:
			if profiler:
				profiler.enable()
			try:
				result = bulk_sync_from_external()
			finally:
				if profiler:
					profiler.disable()
		batches.extend(recorder.batches())
		return result

	for r, (count, start, end) in enumerate(_rounds(n_invoices, rounds, warmup)):
		if not count:
			continue
		ids = _seed(
			ctx.env, count, seed=seed + 100 * r, min_lines=1, max_lines=6, start_date=start, end_date=end
		)
		specs, no = _baseline_specs(ctx, ids)
		templates = _baseline_templates(ctx, specs)
		if r == 0:  # the warm-up: both sides, untimed
			baseline(specs, templates)
			bulk_sync_from_external()
			continue
		refused += no
		n_specs += len(specs)
		n_lines += sum(len(spec["items"]) for spec in specs)
		order = ("baseline", "pull") if r % 2 else ("pull", "baseline")
		took = {}
		for side in order:
			if side == "baseline":
				_none, took[side] = timed(
					side, lambda specs=specs, templates=templates: baseline(specs, templates)
				)
			else:
				result, took[side] = timed(side, pull)
				for k, v in result.items():
					counts[k] = counts.get(k, 0) + v
		per_round.append(
			{
				"invoices": len(specs),
				"baseline_s": round(took["baseline"], 2),
				"pull_s": round(took["pull"], 2),
				"ratio": round(took["pull"] / took["baseline"], 3),
			}
		)
		print(f"round {r}/{rounds}: {per_round[-1]}", flush=True)

	if profiler:
		_print_profile(profiler)

	started = _now()
	again = bulk_sync_from_external()
	rerun_s = _now() - started

	failures = frappe.get_all(
		"Sync Log", filters={"status": "Failed"}, pluck="message", limit=5, order_by="creation"
	)
	(baseline_s, baseline_cpu), (pull_s, pull_cpu) = sides["baseline"], sides["pull"]
	return {
		"invoices": n_specs,
		"lines": n_lines,
		"rounds": per_round,
		"refused_by_mapping": refused[:5],
		"baseline_s": round(baseline_s, 2),
		"pull_s": round(pull_s, 2),
		"ratio": round(statistics.median(r["ratio"] for r in per_round), 3),
		"total_ratio": round(pull_s / baseline_s, 3),
		"baseline_cpu_s": round(baseline_cpu, 2),
		"pull_cpu_s": round(pull_cpu, 2),
		"cpu_ratio": round(pull_cpu / baseline_cpu, 3),
		"pull_invoices_per_s": round(counts.get("created", 0) / pull_s, 2),
		"baseline_invoices_per_s": round(n_specs / baseline_s, 2),
		"profiled": bool(profile),
		"counts": counts,
		"failures": failures,
		"batches": batches,
		"rerun_s": round(rerun_s, 3),
		"rerun_pct": round(100 * rerun_s / pull_s, 2),
		"rerun_counts": again,
	}


def _print_profile(profiler):
	"""The pull's profile: top functions by cumulative time, then o2o_sync's own by total time."""
	out = io.StringIO()
	stats = pstats.Stats(profiler, stream=out)
	stats.sort_stats("cumulative").print_stats(45)
	stats.sort_stats("tottime").print_stats("o2o_sync", 25)
	print("---- cProfile of the pull ----")
	print(out.getvalue(), flush=True)


# ---------------------------------------------------------------- 2. portal queries per batch


def bench_queries(ctx, *, n_invoices: int, seed: int) -> dict:
	"""Figure 2: a pull of `n_invoices` 1-line invoices, then one of 6-line invoices."""
	import frappe

	from o2o_sync.sync.sync_utils import bulk_sync_from_external

	result = {}
	for n_lines in (1, 6):
		cursor = frappe.db.get_single_value(SETTINGS, "pull_cursor_updated_at")
		# newer than the cursor (seed_realistic's default dates are older), or the pull never sees them
		start = (
			(frappe.utils.get_datetime(cursor) + timedelta(minutes=1)).replace(microsecond=0)
			if cursor
			else datetime(2026, 11, 20, 18, 0)
		)
		_seed(
			ctx.env,
			n_invoices,
			seed=seed + n_lines,
			min_lines=n_lines,
			max_lines=n_lines,
			multi_vendor_share=0,
			start_date=start,
			end_date=start + timedelta(minutes=30),
		)
		with _BatchRecorder() as recorder:
			counts = bulk_sync_from_external()
		batches = recorder.batches()
		full = [b for b in batches if b["invoices"]]
		result[f"{n_lines}_line"] = {
			"batches": batches,
			"queries_per_batch": sorted({b["queries"] for b in full}),
			"created": counts["created"],
			"failed": counts["failed"],
		}
	return result


# ---------------------------------------------------------------- 4 and 5. push


def _erp_invoice(ctx, tag: str, i: int) -> str:
	"""A draft Purchase Invoice made in ERPNext, pushable: mapped supplier and items, GST rows."""
	import frappe
	from frappe.utils import today

	env = ctx.env
	vendor_id = env.vendors[0]  # same state as the company: CGST + SGST
	day = today()
	doc = frappe.get_doc(
		{
			"doctype": "Purchase Invoice",
			"company": env.company,
			"supplier": ctx.suppliers[vendor_id],
			"bill_no": f"{tag}-{ctx.token}-{i:04d}",
			"bill_date": day,
			"posting_date": day,
			"set_posting_time": 1,
			"due_date": day,
			"update_stock": 0,
			"disable_rounded_total": 1,
			"items": [
				{
					"item_code": ctx.items[(i + k) % len(ctx.items)],
					"qty": 2 + k,
					"rate": 125.5 * (k + 1),
					"expense_account": env.accounts["expense"],
					"cost_center": env.accounts["cost_center"],
				}
				for k in range(2)
			],
			"taxes": [
				{
					"charge_type": "On Net Total",
					"account_head": env.accounts[kind],
					"rate": 9,
					"description": kind.upper(),
					"category": "Total",
					"add_deduct_tax": "Add",
				}
				for kind in ("cgst", "sgst")
			],
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def _set_enabled(on: bool):
	import frappe

	frappe.db.set_single_value(SETTINGS, "enabled", int(on))
	frappe.db.commit()  # nosemgrep


def _timed_submit(name: str) -> float:
	"""Seconds to submit and commit one draft (the user's whole transaction)."""
	import frappe

	doc = frappe.get_doc("Purchase Invoice", name)
	started = _now()
	doc.submit()
	frappe.db.commit()  # nosemgrep: the enqueue happens on commit
	return _now() - started


def bench_submit_overhead(ctx, *, n: int) -> dict:
	"""Figure 4: submits with the sync enabled (push queued after commit) against disabled.

	Pairs are interleaved (on/off, then off/on) so drift hits both sides alike. Leaves the
	queued pushes for the worker of `bench_push_latency` and the sync enabled.
	"""
	import frappe

	warm = [(_erp_invoice(ctx, "WARM", i), i % 2 == 0) for i in range(4)]
	pairs = [(_erp_invoice(ctx, "ON", i), _erp_invoice(ctx, "OFF", i)) for i in range(n)]
	frappe.db.commit()  # nosemgrep
	for name, on in warm:
		_set_enabled(on)
		_timed_submit(name)
	on_ms, off_ms = [], []
	for i, (on_name, off_name) in enumerate(pairs):
		order = ((True, on_name), (False, off_name))
		for on, name in order if i % 2 == 0 else reversed(order):
			_set_enabled(on)
			(on_ms if on else off_ms).append(1000 * _timed_submit(name))
	_set_enabled(True)
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


class _Worker:
	"""`bench worker --queue short,default` of this bench, as a child process group of ours.

	With `bytecode`, the worker may cache compiled modules (in a private directory, removed
	on `stop()`) even when the environment says PYTHONDONTWRITEBYTECODE: RQ forks a fresh
	work horse for every job, and without .pyc files each one compiles Frappe's and
	ERPNext's sources again (about 0.6 s a job), which no deployed bench does.
	"""

	def __init__(self, bytecode: bool = True):
		self.bytecode = bytecode
		self.proc = None
		self.log_path = None
		self.cache_dir = None

	def start(self) -> "_Worker":
		import frappe

		bench = shutil.which("bench") or os.path.expanduser("~/.local/bin/bench")
		if os.path.exists(bench):
			cmd, cwd = [bench, "worker", "--queue", "short,default"], frappe.utils.get_bench_path()
		else:  # what `bench worker` runs
			cmd = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker"]
			cmd, cwd = (
				[*cmd, "--queue", "short,default"],
				os.path.join(frappe.utils.get_bench_path(), "sites"),
			)
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


def _portal_has(conn, names: list[str]) -> set[str]:
	with conn.cursor() as cur:
		cur.execute(
			f"SELECT order_code FROM purchase_requisitions WHERE order_code IN ({', '.join(['%s'] * len(names))})",
			names,
		)
		return {r["order_code"] for r in cur.fetchall()}


def _wait_visible(conn, name: str, timeout: float = PUSH_TIMEOUT) -> float | None:
	"""perf_counter() when a row with order_code = `name` is seen on the portal, None on timeout."""
	deadline = _now() + timeout
	with conn.cursor() as cur:
		while True:
			cur.execute("SELECT id FROM purchase_requisitions WHERE order_code = %s LIMIT 1", (name,))
			if cur.fetchone():
				return _now()
			if _now() > deadline:
				return None
			time.sleep(POLL_INTERVAL)


def _job_breakdown(epochs: dict) -> tuple[list[float], list[float]]:
	"""Per pushed invoice: seconds from the commit to RQ starting its job (queue, fork), and
	from there to the row being visible (Frappe init, imports, tunnel, the push itself)."""
	from frappe.utils.background_jobs import get_job

	to_start, start_to_seen = [], []
	for name, (committed_at, seen_at) in epochs.items():
		job = get_job(f"o2o_sync::push::{name}")
		if job is None or job.started_at is None:
			continue
		started_at = job.started_at.replace(tzinfo=timezone.utc).timestamp()
		to_start.append(started_at - committed_at)
		start_to_seen.append(seen_at - started_at)
	return to_start, start_to_seen


def bench_push_latency(ctx, worker: _Worker, *, n: int, queued: list[str]) -> dict:
	"""Figure 5: submit (commit) to row visible on the portal, one invoice at a time."""
	import frappe

	conn = ctx.env.conn
	drafts = [_erp_invoice(ctx, "LAT", i) for i in range(n + 2)]
	frappe.db.commit()  # nosemgrep
	_set_enabled(True)
	worker.start()

	# the pushes queued by the submit benchmark go first: wait for them
	drained_s = None
	if queued:
		started = _now()
		deadline = started + 60 + 2 * len(queued)
		while _now() < deadline and worker.alive():
			if len(_portal_has(conn, queued)) == len(queued):
				drained_s = _now() - started
				break
			time.sleep(0.1)
	landed = len(_portal_has(conn, queued)) if queued else 0

	latencies, lost, epochs = [], [], {}
	for i, name in enumerate(drafts):
		doc = frappe.get_doc("Purchase Invoice", name)
		doc.submit()
		committed_at, started = time.time(), _now()
		frappe.db.commit()  # nosemgrep: the push is enqueued on commit
		seen = _wait_visible(conn, name)
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
		"Sync Log",
		filters={"operation": "Push", "status": "Success", "reference_name": ["in", timed]},
		pluck="duration_ms",
	)
	failed_pushes = frappe.get_all(
		"Sync Log",
		filters={"direction": "ERPNext to ProcureUAT", "status": "Failed"},
		pluck="message",
		limit=5,
	)
	to_start, start_to_seen = _job_breakdown(epochs)
	if lost:
		print(f"{len(lost)} pushes not seen within {PUSH_TIMEOUT:g} s; worker log:\n{worker.log_tail()}")
	return {
		"n": len(timed),
		"median_s": round(statistics.median(latencies), 3) if latencies else None,
		"p95_s": round(_p95(latencies), 3) if latencies else None,
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


# ---------------------------------------------------------------- report


def _row(figure, value, target, ok):
	return (figure, value, target, "-" if ok is None else ("yes" if ok else "NO"))


def _table(results: dict) -> str:
	rows = []
	p = results.get("pull")
	if p:
		rows.append(_row("1 baseline insert (ERPNext alone)", f"{p['baseline_s']:.1f} s", "", None))
		rows.append(_row("1 pull through sshd", f"{p['pull_s']:.1f} s", "", None))
		rows.append(
			_row(
				"1 pull / baseline, median of rounds" + (" (profiled!)" if p["profiled"] else ""),
				f"{p['ratio']:.2f}x",
				"<= 1.25x",
				p["ratio"] <= 1.25,
			)
		)
		ratios = [r["ratio"] for r in p["rounds"]]
		rows.append(
			_row(
				f"1 per round ({len(ratios)}) min..max",
				f"{min(ratios):.2f}x .. {max(ratios):.2f}x",
				"",
				None,
			)
		)
		rows.append(_row("1 same, total times", f"{p['total_ratio']:.2f}x", "", None))
		rows.append(_row("1 same, CPU time of this process", f"{p['cpu_ratio']:.2f}x", "", None))
		rows.append(
			_row(
				"1 invoices/s pull | baseline",
				f"{p['pull_invoices_per_s']:.1f} | {p['baseline_invoices_per_s']:.1f}",
				"",
				None,
			)
		)
		mixed = sorted({b["queries"] for b in p["batches"] if b["invoices"]})
		rows.append(_row("2 queries/batch, 1-6 lines", ",".join(map(str, mixed)), "constant", None))
	q = results.get("queries")
	if q:
		one, six = q["1_line"]["queries_per_batch"], q["6_line"]["queries_per_batch"]
		rows.append(_row("2 queries/batch, 1-line", ",".join(map(str, one)), "constant", None))
		rows.append(
			_row(
				"2 queries/batch, 6-line",
				",".join(map(str, six)),
				"constant",
				len(set(one) | set(six)) == 1,
			)
		)
	if p:
		rows.append(
			_row(
				"3 unchanged re-run / pull",
				f"{p['rerun_pct']:.2f} % ({p['rerun_s']:.2f} s)",
				"< 2 %",
				p["rerun_pct"] < 2,
			)
		)
	s = results.get("submit")
	if s:
		rows.append(
			_row(
				f"4 submit ms, sync off | on (n={s['n']})",
				f"{s['off_ms_median']:.1f} | {s['on_ms_median']:.1f}",
				"",
				None,
			)
		)
		rows.append(
			_row(
				"4 submit overhead (median | mean)",
				f"{s['overhead_pct_median']:.1f} % | {s['overhead_pct_mean']:.1f} %",
				"<= 5 %",
				s["overhead_pct_median"] <= 5,
			)
		)
	lat = results.get("latency")
	if lat and lat["median_s"] is not None:
		rows.append(
			_row(f"5 push latency median (n={lat['n']})", f"{1000 * lat['median_s']:.0f} ms", "", None)
		)
		rows.append(
			_row(
				"5 push latency p95 | max",
				f"{1000 * lat['p95_s']:.0f} | {1000 * lat['max_s']:.0f} ms",
				"< 1000 ms",
				lat["p95_s"] < 1 and not lat["lost"],
			)
		)
		if lat["commit_to_job_start_ms_median"] is not None:
			rows.append(
				_row(
					"5 median commit->job start | ->visible",
					f"{lat['commit_to_job_start_ms_median']} | {lat['job_start_to_visible_ms_median']} ms",
					"",
					None,
				)
			)
		if lat["push_in_job_ms_median"] is not None:
			rows.append(
				_row(
					"5 median PushEngine.push() (Sync Log)",
					f"{lat['push_in_job_ms_median']:.0f} ms",
					"",
					None,
				)
			)
		rows.append(_row("5 worker caches bytecode", "yes" if lat["worker_bytecode"] else "no", "", None))
	widths = [max(len(str(r[i])) for r in [("figure", "value", "target", "ok"), *rows]) for i in range(4)]
	fmt = "  ".join(f"{{:<{w}}}" for w in widths)
	lines = [fmt.format("figure", "value", "target", "ok"), fmt.format(*("-" * w for w in widths))]
	lines += [fmt.format(*r) for r in rows]
	return "\n".join(lines)


def _details(results: dict) -> str:
	out = []
	p = results.get("pull")
	if p:
		out.append(f"pull: {p['invoices']} invoices / {p['lines']} lines; counts {p['counts']}")
		out.append(f"re-run counts {p['rerun_counts']}")
		out.append("rounds: " + "; ".join(f"{r['baseline_s']} s / {r['pull_s']} s" for r in p["rounds"]))
		out.append("pull batches (rows, lines, portal queries): " + _batches(p["batches"]))
		if p["failures"]:
			out.append(f"first failures: {p['failures']}")
	q = results.get("queries")
	if q:
		for key in ("1_line", "6_line"):
			out.append(
				f"{key} pull: created {q[key]['created']}, failed {q[key]['failed']}; batches "
				+ _batches(q[key]["batches"])
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


def _batches(batches) -> str:
	return "; ".join(f"({b['rows']}, {b['lines']}, {b['queries']})" for b in batches)


# ---------------------------------------------------------------- entry point


def run(
	n_invoices: int = 500,
	rounds: int = 5,
	n_push: int = 50,
	n_latency: int = 100,
	probe_invoices: int = 200,
	seed: int = 20261121,
	profile: bool = False,
	worker_bytecode: bool = True,
) -> dict:
	"""Run the whole benchmark on the current site; print a table and return the figures.

	Args: `n_invoices` portal invoices for the pull (1 to 6 lines each), seeded, inserted
	by ERPNext alone and pulled in `rounds` interleaved rounds; `n_push`
	submits per side (sync on / off) for the submit overhead; `n_latency` invoices timed
	from submit to portal row; `probe_invoices` invoices per line count for the
	queries-per-batch figure; `seed` for the portal data; `profile` runs the pull under
	cProfile and prints its top functions (the pull's time is then inflated);
	`worker_bytecode` lets the worker cache compiled modules (see `_Worker`).
	"""
	import frappe

	from o2o_sync.tests.erpnext_fixtures import setup_environment

	frappe.flags.in_test = False  # the push must really be queued (events.py: now=in_test)
	results: dict = {}
	env = worker = defaults = None
	failed = False
	started = _now()
	try:
		defaults = _IndianDefaults().__enter__()
		env = setup_environment()
		ctx = _prepare(env)
		print(f"environment ready: company {env.company}, baseline company {ctx.base_company}", flush=True)
		if n_invoices:
			results["pull"] = bench_pull(
				ctx, n_invoices=n_invoices, rounds=rounds, seed=seed, profile=profile
			)
			print(f"pull done in {results['pull']['pull_s']} s", flush=True)
		if probe_invoices:
			results["queries"] = bench_queries(ctx, n_invoices=probe_invoices, seed=seed)
			print("queries per batch done", flush=True)
		if n_push:
			results["submit"] = bench_submit_overhead(ctx, n=n_push)
			print("submit overhead done", flush=True)
		if n_latency:
			worker = _Worker(bytecode=worker_bytecode)
			queued = results.get("submit", {}).get("queued", [])
			results["latency"] = bench_push_latency(ctx, worker, n=n_latency, queued=queued)
	except Exception:
		failed = True
		traceback.print_exc()
	finally:
		if worker is not None:
			worker.stop()
		try:
			if env is not None:
				try:
					frappe.db.rollback()
					_set_enabled(False)  # leave no sync enabled against a portal that is gone
				finally:
					env.stop()
		finally:
			if defaults is not None:
				defaults.__exit__(None, None, None)
	if "submit" in results:
		results["submit"].pop("queued", None)
	results["total_s"] = round(_now() - started, 1)
	print()
	print(_details(results))
	print()
	print(_table(results))
	print(f"(whole benchmark: {results['total_s']} s)", flush=True)
	if failed:
		raise SystemExit(1)
	return results
