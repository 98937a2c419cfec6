"""Figures 1 to 3 of the benchmark: the pull against ERPNext alone, portal queries per pull
batch, and the unchanged re-run (see `sync_benchmark` for what each figure means); with the
re-run, the daily reconciliation over every invoice, unchanged, as a ratio to it.

The data comes from `scenarios`, the clocks and the batch recorder from `harness`. The pull
runs the way a person runs it: `sync_utils.bulk_sync_from_external()`, through the sshd tunnel.
"""

import cProfile
import statistics
import time
from datetime import datetime, timedelta

import frappe

from o2o_sync.benchmarks.harness import BatchRecorder, now, print_profile
from o2o_sync.benchmarks.scenarios import (
	baseline_doc,
	baseline_specs,
	baseline_templates,
	round_windows,
	seed_invoices,
)
from o2o_sync.constants import DATABASE_CONNECTION, FAILED, SETTINGS, SYNC_LOG
from o2o_sync.sync.sync_utils import bulk_sync_from_external, reconcile_now

#: the reconciliation's window in the benchmark: every invoice it seeded (April to November 2026)
RECONCILE_DAYS = 3650

# ---------------------------------------------------------------- 1 and 3. pull against ERPNext alone, re-run


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
	sides = {"baseline": [0.0, 0.0], "pull": [0.0, 0.0]}  # wall, cpu seconds
	per_round, batches, refused = [], [], []
	counts: dict = {}
	n_specs = n_lines = 0
	profiler = cProfile.Profile() if profile else None

	def timed(side, fn):
		wall, cpu = now(), time.process_time()
		out = fn()
		wall, cpu = now() - wall, time.process_time() - cpu
		sides[side][0] += wall
		sides[side][1] += cpu
		return out, wall

	def baseline(specs, templates):
		for i, spec in enumerate(specs, 1):
			frappe.get_doc(baseline_doc(spec, templates)).insert(ignore_permissions=True)
			if i % 200 == 0:
				frappe.db.commit()  # nosemgrep: commit per 200 like the pull's batches
		frappe.db.commit()  # nosemgrep

	def pull():
		with BatchRecorder() as recorder:
			if profiler:
				profiler.enable()
			try:
				result = bulk_sync_from_external()
			finally:
				if profiler:
					profiler.disable()
		batches.extend(recorder.batches())
		return result

	for r, (count, start, end) in enumerate(round_windows(n_invoices, rounds, warmup)):
		if not count:
			continue
		ids = seed_invoices(
			ctx.env, count, seed=seed + 100 * r, min_lines=1, max_lines=6, start_date=start, end_date=end
		)
		specs, no = baseline_specs(ctx, ids)
		templates = baseline_templates(specs)
		if r == 0:  # the warm-up: both sides, untimed
			baseline(specs, templates)
			bulk_sync_from_external()
			continue
		refused += no
		n_specs += len(specs)
		n_lines += sum(len(spec.items) for spec in specs)
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
		print_profile(profiler)

	started = now()
	again = bulk_sync_from_external()
	rerun_s = now() - started

	# the daily safety net over every invoice of the benchmark, unchanged, against that re-run
	started = now()
	swept = reconcile_now(days=RECONCILE_DAYS)
	reconcile_s = now() - started
	print(
		f"reconcile sweep over {swept['read']} unchanged invoices ({swept['batches']} batches,"
		f" {swept['missed']} missed): {reconcile_s:.2f} s = {reconcile_s / rerun_s:.1f}x the unchanged"
		f" incremental pull ({rerun_s:.3f} s)",
		flush=True,
	)

	failures = frappe.get_all(
		SYNC_LOG, filters={"status": FAILED}, pluck="message", limit=5, order_by="creation"
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
		"reconcile_s": round(reconcile_s, 3),
		"reconcile_ratio": round(reconcile_s / rerun_s, 2),
		"reconcile_result": swept,
	}


# ---------------------------------------------------------------- 2. portal queries per batch


def bench_queries(ctx, *, n_invoices: int, seed: int) -> dict:
	"""Figure 2: a pull of `n_invoices` 1-line invoices, then one of 6-line invoices."""
	result = {}
	for n_lines in (1, 6):
		connection = frappe.db.get_single_value(SETTINGS, "database_connection")
		cursor = frappe.db.get_value(DATABASE_CONNECTION, connection, "pull_cursor_updated_at")
		# newer than the cursor (seed_realistic's default dates are older), or the pull never sees them
		start = (
			(frappe.utils.get_datetime(cursor) + timedelta(minutes=1)).replace(microsecond=0)
			if cursor
			else datetime(2026, 11, 20, 18, 0)
		)
		seed_invoices(
			ctx.env,
			n_invoices,
			seed=seed + n_lines,
			min_lines=n_lines,
			max_lines=n_lines,
			multi_vendor_share=0,
			start_date=start,
			end_date=start + timedelta(minutes=30),
		)
		with BatchRecorder() as recorder:
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
