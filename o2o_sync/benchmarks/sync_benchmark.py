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
   Target: pull ≤ 1.05 × baseline (median of the rounds' ratios).
2. Portal queries per pull batch (the client's `query_count`) for batches of 1-line
   invoices against batches of 6-line invoices. Target: constant.
3. An unchanged re-run right after the pull, as a percentage of the pull. Target < 2 %.
4. Time the app adds to a Purchase Invoice submit (hooks on: O2O Sync Settings enabled,
   the push only queued) against the same submits with the sync disabled, interleaved.
   Target ≤ 5 %.
5. Push latency with a real worker (`bench worker --queue short,default`, started and
   stopped here): from the submit's commit to the row being visible in the portal
   database, polled every 10 ms. Target p95 < 1 s.

6. The minute's probe after a pull, nothing changed since (`scheduler.probe_portal_changes`):
   portal statements and milliseconds per probe. Target: 1 statement, < 50 ms.
7. Probe latency: a new or edited portal invoice to the Purchase Invoice in ERPNext, with the
   bench's own scheduler (`bench schedule`) and a worker on every queue, each write at a
   random moment of the minute. Target p95 ≤ 75 s.
8. Webhook latency: the same, by a signed call to `o2o_sync.api.portal_changed` through a
   real `bench serve` and a worker. Target p95 ≤ 10 s.
9. Parallel backfill throughput with 1 and 2 long-queue workers on the same data (`backfill_figures`).
   Target: 2 workers ≥ 1.5 × one.
10. The pull's cost per invoice with 1,000 and 20,000 Sync Mappings on the site. Target: within 10 %.
11. Peak memory of a worker during figure 9's backfills (20,000 invoices by default).

For the run the site gets INR as its default currency and buying price list (see
`scenarios.IndianDefaults`; the old values are put back), and the worker may cache bytecode
(see `harness.Worker`; `worker_bytecode=False` measures without).

Importing this module does nothing; everything happens in `run()`. On failure `run()`
prints the traceback and the figures it has, cleans up, and exits with status 1
(`SystemExit`, so that `bench execute` does not run it a second time).

Layout: `environment` builds the company, portal database, sshd and settings; `scenarios`
the benchmark's data; `pull_figures` (1-3) and `push_figures` (4-5) measure; `harness`
holds the clocks, the batch recorder, the worker and the printed report.
"""

import traceback

import frappe

from o2o_sync.benchmarks import backfill_figures, latency_figures
from o2o_sync.benchmarks.environment import require_test_site, setup_environment
from o2o_sync.benchmarks.harness import Worker, details, now, table
from o2o_sync.benchmarks.latency_figures import bench_probe_cost, bench_probe_latency, bench_webhook_latency
from o2o_sync.benchmarks.pull_figures import bench_pull, bench_queries
from o2o_sync.benchmarks.push_figures import bench_push_latency, bench_submit_overhead
from o2o_sync.benchmarks.scenarios import IndianDefaults, prepare, set_enabled


def run(
	n_invoices: int = 500,
	rounds: int = 5,
	n_push: int = 50,
	n_latency: int = 100,
	probe_invoices: int = 200,
	n_probe_cost: int = 20,
	n_probe_latency: int = 5,
	n_webhook_latency: int = 20,
	backfill_invoices: int = 20000,
	mapping_invoices: int = 200,
	mapping_small: int = 1000,
	mapping_large: int = 20000,
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
	`worker_bytecode` lets the worker cache compiled modules (see `harness.Worker`);
	`n_probe_cost` unchanged probes timed, `n_probe_latency` invoices brought in by the minute's
	probe (the bench's scheduler and a worker: about a minute each), `n_webhook_latency` by the
	signed webhook (a web server and a worker); see `latency_figures`; `backfill_invoices` for
	figures 9 and 11, `mapping_invoices` per round at `mapping_small` and `mapping_large` Sync
	Mappings for figure 10; see `backfill_figures`. 0 leaves a figure out.
	Raises frappe.ValidationError on a site without `allow_tests` (it builds companies,
	settings and site defaults of its own).
	"""
	require_test_site()
	frappe.flags.in_test = False  # as in production (the push is queued after commit, see scope.py)
	results: dict = {}
	env = worker = defaults = None
	failed = False
	started = now()
	try:
		defaults = IndianDefaults().__enter__()
		env = setup_environment()
		ctx = prepare(env)
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
			worker = Worker(bytecode=worker_bytecode)
			queued = results.get("submit", {}).get("queued", [])
			results["latency"] = bench_push_latency(ctx, worker, n=n_latency, queued=queued)
			worker.stop()
			worker = None
		if n_probe_cost:
			results["probe_cost"] = bench_probe_cost(env, n=n_probe_cost)
			print("probe cost done", flush=True)
		if n_webhook_latency:
			results["webhook_latency"] = bench_webhook_latency(env, n=n_webhook_latency)
			print("webhook latency done", flush=True)
		if n_probe_latency:
			results["probe_latency"] = bench_probe_latency(env, n=n_probe_latency, seed=seed)
			print("probe latency done", flush=True)
		if mapping_invoices:
			results["mapping_scale"] = backfill_figures.bench_mapping_scale(
				env, n=mapping_invoices, seed=seed, small=mapping_small, large=mapping_large
			)
			print(f"mapping scale done: {results['mapping_scale']}", flush=True)
		if backfill_invoices:
			results["backfill"] = backfill_figures.bench_backfill(
				env, n=backfill_invoices, seed=seed + 9, bytecode=worker_bytecode
			)
			print("backfill done", flush=True)
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
					set_enabled(False)  # leave no sync enabled against a portal that is gone
				finally:
					env.stop()
		finally:
			if defaults is not None:
				defaults.__exit__(None, None, None)
	if "submit" in results:
		results["submit"].pop("queued", None)
	results["total_s"] = round(now() - started, 1)
	print()
	print(details(results))
	print()
	print(table(results, latency_figures.rows(results) + backfill_figures.rows(results)))
	print(f"(whole benchmark: {results['total_s']} s)", flush=True)
	if failed:
		raise SystemExit(1)
	return results
