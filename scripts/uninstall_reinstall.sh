#!/usr/bin/env bash
# Uninstall and reinstall o2o_sync on a THROWAWAY site (issue 11) and print what is left at each step.
# Usage: scripts/uninstall_reinstall.sh FRAPPE_SITE_COMMAND...
#   e.g. scripts/uninstall_reinstall.sh bench --site throwaway.localhost
# The site needs allow_tests in its site config, ERPNext with a default Indian company and o2o_sync
# installed. It pulls a demo portal of its own into the default company, uninstalls the app
# (no backup), submits and cancels Purchase Invoices without it, installs it again, pulls again and
# checks nothing is held twice. Exits non-zero when a check fails.
set -euo pipefail
site=("$@")
probe=o2o_sync.tests.uninstall_probe
step() { echo; echo "== $*"; }
# through the console: `execute` refuses a module of an app that is not installed
run() {
	echo "import json; from $probe import $1; print('RESULT', json.dumps($1()))" |
		"${site[@]}" console 2>&1 | sed -n 's/^.*RESULT //p'
}

step "pull a demo portal"; run pull_demo
step "installed";            before=$(run leftovers); echo "$before"
step "uninstall-app";        "${site[@]}" uninstall-app o2o_sync --yes --no-backup
step "left after uninstall"; after=$(run leftovers); echo "$after"
step "submit and cancel without the app"; steps=$(run submit_and_cancel); echo "$steps"
step "install-app";          "${site[@]}" install-app o2o_sync
step "reinstalled";          again=$(run leftovers); echo "$again"
step "pull again";           pulled=$(run pull_demo); echo "$pulled"
run drop_probe_portal >/dev/null

python3 - "$before" "$after" "$steps" "$again" "$pulled" <<'PY'
import json, sys
before, after, steps, again, pulled = (json.loads(a) for a in sys.argv[1:])
problems = []
left = {k: v for k, v in after.items() if v > 0}
if left:
	problems.append(f"left after uninstall: {left}")
if any(v != [1, 2] for v in steps.values()):
	problems.append(f"not submittable and cancellable: {steps}")
lost = {k: (before[k], again[k]) for k in before if again[k] != before[k]}
if lost:
	problems.append(f"not as before after reinstall (before, after): {lost}")
if pulled["invoices_twice"] or pulled["mappings_twice"] or pulled["pull"]["failed"]:
	problems.append(f"held twice or failed after reinstall: {pulled}")
print("\nOK: removed, Purchase Invoices submittable and cancellable, reinstalled, nothing twice" if not problems else "\nFAILED:\n" + "\n".join(problems))
sys.exit(1 if problems else 0)
PY
