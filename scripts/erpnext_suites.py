#!/usr/bin/env python3
"""ERPNext's own test modules on a site where o2o_sync is installed, a company mapped to a
(demo) portal, and the sync disabled, then enabled (issue 11).

For each pass it counts Purchase Invoice (all, and with an `o2o_sync_status`), Sync Log and
Sync Mapping rows before and after, and runs ERPNext's modules with Frappe's runner. The
failing tests must be the same in both passes, and the enabled pass must leave exactly the
rows the disabled pass left: no Sync Log, Sync Mapping or status, and only the Purchase
Invoices ERPNext's own tests leave with the app disabled too (test_purchase_invoice commits
one `_Test Company` invoice per run; a site's first run also commits ERPNext's test records,
so run it once before recording a baseline). The settings are put back at the end and
the suites' portal database dropped (`o2o_sync.setup.erpnext_suites`).

    scripts/erpnext_suites.py --frappe 'bench --site SITE'      # both passes
    scripts/erpnext_suites.py --frappe hb2 --baseline FILE      # enabled pass only, against
                                                               # failures recorded in FILE
    scripts/erpnext_suites.py --frappe hb2 --record FILE        # disabled pass only: record

`--frappe` is the command that runs `frappe --site SITE ARGS` (e.g. `bench --site SITE`).
Exit status 0 when the passes agree and nothing was left behind, 1 otherwise.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

MODULES = (
	"erpnext.accounts.doctype.purchase_invoice.test_purchase_invoice",
	"erpnext.accounts.doctype.payment_entry.test_payment_entry",
	"erpnext.accounts.doctype.journal_entry.test_journal_entry",
)
SITE_SIDE = "o2o_sync.setup.erpnext_suites"
FAILED_LINE = re.compile(r"^(FAIL|ERROR): (\S+) \(([\w.]+)")
RAN_LINE = re.compile(r"^Ran (\d+) tests?")


class Site:
	def __init__(self, frappe_cmd: str, work: str):
		self.cmd = shlex.split(frappe_cmd)
		self.work = work

	def execute(self, name: str, **kwargs) -> dict:
		out = os.path.join(self.work, f"{name}.json")
		if os.path.exists(out):
			os.remove(out)
		kwargs["out"] = out
		proc = subprocess.run(
			[*self.cmd, "execute", f"{SITE_SIDE}.{name}", "--kwargs", json.dumps(kwargs)],
			capture_output=True,
			text=True,
		)
		if proc.returncode != 0 or not os.path.exists(out):
			sys.exit(f"{SITE_SIDE}.{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
		with open(out) as f:
			return json.load(f)

	def run_module(self, module: str, log_path: str) -> dict:
		"""Run one test module; `{"ran", "failing": [test ids], "seconds"}`."""
		started = time.monotonic()
		with open(log_path, "w") as log:
			subprocess.run([*self.cmd, "run-tests", "--module", module], stdout=log, stderr=subprocess.STDOUT)
		ran, failing = 0, set()
		with open(log_path, errors="replace") as log:
			for line in log:
				if m := FAILED_LINE.match(line):
					name, parts = m.group(2), m.group(3).split(".")
					if parts[-1] == name:  # Python 3.11 names the test after its class
						parts.pop()
					failing.add(f"{parts[-1]}.{name}")
				elif m := RAN_LINE.match(line):
					ran = int(m.group(1))
		return {"ran": ran, "failing": sorted(failing), "seconds": round(time.monotonic() - started)}


def left(result: dict) -> dict:
	"""Rows a pass left behind: after minus before, per count."""
	return {k: result["after"][k] - result["before"][k] for k in result["before"]}


def run_pass(site: Site, enabled: bool) -> dict:
	label = "enabled" if enabled else "disabled"
	state = site.execute("set_enabled", on=int(enabled))
	before = site.execute("counts")
	modules = {}
	for module in MODULES:
		result = site.run_module(module, os.path.join(site.work, f"{label}-{module.rsplit('.', 1)[-1]}.log"))
		modules[module] = result
		print(
			f"  {label:8} {module.rsplit('.', 1)[-1]:24} ran {result['ran']:3}, failing {len(result['failing'])}"
			f" ({result['seconds']} s)",
			flush=True,
		)
		for test in result["failing"]:
			print(f"           - {test}")
	after = site.execute("counts")
	return {"sync": state, "before": before, "after": after, "modules": modules}


def main() -> int:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--frappe", required=True, help="command running `frappe --site SITE`")
	parser.add_argument("--company", help="Company to map (default: the site's default company)")
	parser.add_argument("--baseline", help="JSON of the disabled pass's failures: run the enabled pass only")
	parser.add_argument("--record", help="run the disabled pass only and write its failures here")
	parser.add_argument("--report", help="write the whole result here as JSON")
	args = parser.parse_args()

	work = tempfile.mkdtemp(prefix="o2o-erpnext-suites-")
	os.chmod(work, 0o777)  # the site's commands may run as the bench's user
	site = Site(args.frappe, work)
	state = os.path.join(work, "settings.json")
	started = time.monotonic()
	prepared = site.execute("prepare", state=state, **({"company": args.company} if args.company else {}))
	print(f"== ERPNext's suites; {prepared['company']} mapped to portal entity {prepared['entity_id']}")
	passes = {}
	try:
		if not args.baseline:
			passes["disabled"] = run_pass(site, enabled=False)
		if not args.record:
			passes["enabled"] = run_pass(site, enabled=True)
	finally:
		site.execute("restore", state=state)

	problems = []
	if args.baseline:
		with open(args.baseline) as f:
			baseline = json.load(f)
	else:
		baseline = {
			"failing": {m: r["failing"] for m, r in passes["disabled"]["modules"].items()},
			"left": left(passes["disabled"]),
		}
	if args.record:
		with open(args.record, "w") as f:
			json.dump(baseline, f, indent=1)
	for label, result in passes.items():
		for module, r in result["modules"].items():
			if r["ran"] == 0:
				problems.append(f"{label}: {module} ran no test")
	if "enabled" in passes:
		enabled = passes["enabled"]
		if not enabled["sync"]["mapped_companies"]:
			problems.append("enabled: no company mapped")
		# ERPNext's own tests may leave rows of their own (they do with the app disabled too):
		# the enabled pass must leave exactly those, and nothing of the sync
		expected_left = dict(baseline["left"])
		if not prepared["test_records_made"] and not args.baseline:
			# the disabled pass also made ERPNext's test records: it may leave more invoices
			expected_left["purchase_invoice"] = min(
				expected_left["purchase_invoice"], left(enabled)["purchase_invoice"]
			)
			print("  note: ERPNext's test records were made by the disabled pass (the site's first run)")
		if left(enabled) != expected_left:
			problems.append(
				f"enabled: rows left {left(enabled)}, with the sync disabled {baseline['left']} "
				f"(before {enabled['before']}, after {enabled['after']})"
			)
		for module in MODULES:
			expected = set(baseline["failing"].get(module, []))
			got = set(enabled["modules"][module]["failing"])
			if got != expected:
				problems.append(
					f"{module}: failing with the sync enabled but not disabled: {sorted(got - expected)}; "
					f"the other way round: {sorted(expected - got)}"
				)
	report = {"prepared": prepared, "passes": passes, "problems": problems}
	if args.report:
		with open(args.report, "w") as f:
			json.dump(report, f, indent=1)
	for label, result in passes.items():
		print(f"  {label}: rows before {result['before']}, after {result['after']}, left {left(result)}")
	print(f"== ERPNext's suites: {round(time.monotonic() - started)} s; logs in {work}")
	for problem in problems:
		print(f"PROBLEM: {problem}")
	print(
		"ERPNext's suites: same failures, nothing left behind" if not problems else "ERPNext's suites FAILED"
	)
	return 1 if problems else 0


if __name__ == "__main__":
	sys.exit(main())
