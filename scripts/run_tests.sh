#!/usr/bin/env bash
# The whole o2o_sync test suite, on a fresh machine or a developer's:
#   1. sshd (openssh-server) for the tunnel tests, installed with apt-get when missing;
#   2. a virtualenv (.venv) with the app and its test tools;
#   3. ruff, then pytest: the engine, the client and the tunnel against a real MariaDB
#      portal reached through a real sshd (MariaDB at 127.0.0.1:3306, root, no password,
#      unless O2O_TEST_DB_HOST/_PORT/_USER/_PASSWORD say otherwise);
#   4. when a Frappe bench with ERPNext is present (O2O_BENCH, else the bench and site
#      scripts/dev_bench.sh recorded in .dev_bench, else /home/frappe/frappe-bench; site
#      O2O_SITE, default o2o.localhost): this tree is installed into it (a dev_bench.sh bench
#      links to it already) and Frappe's own test runner runs the app's suite there, then
#      ERPNext's own Purchase Invoice / Payment Entry / Journal Entry modules with the sync
#      disabled and enabled (scripts/erpnext_suites.py: same failures, no row left behind);
#   5. when that bench also has built desk assets and Chromium is installed
#      (/usr/bin/chromium, or O2O_CHROMIUM): the browser tests (browser_tests/, Playwright
#      in .venv driving headless Chromium against a web server they start on that site,
#      O2O_BROWSER_SITE, default O2O_SITE). Either suite says in one line when it is skipped.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if [ ! -x /usr/sbin/sshd ]; then
	echo "== installing openssh-server (sshd) for the tunnel tests"
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi

echo "== virtualenv and packages"
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== pytest (engine, client, tunnel)"
.venv/bin/python -m pytest tests -q -p no:cacheprovider

# the bench: O2O_BENCH, else the one scripts/dev_bench.sh made (recorded in .dev_bench, git-ignored),
# else /home/frappe/frappe-bench
dev_bench="" dev_site=""
if [ -f .dev_bench ]; then
	dev_bench=$(sed -n 's/^O2O_BENCH=//p' .dev_bench)
	dev_site=$(sed -n 's/^O2O_SITE=//p' .dev_bench)
fi
if [ -n "${O2O_BENCH:-}" ]; then
	bench_dir=$O2O_BENCH
	[ "$bench_dir" = "$dev_bench" ] || dev_site=""
elif [ -n "$dev_bench" ] && [ -d "$dev_bench/sites" ]; then
	bench_dir=$dev_bench
else
	bench_dir=/home/frappe/frappe-bench
	dev_site=""
fi
site=${O2O_SITE:-${dev_site:-o2o.localhost}}
if [ ! -x "$bench_dir/env/bin/python" ] || [ ! -d "$bench_dir/sites/$site" ]; then
	why="no bench with site $site at $bench_dir (make one with scripts/dev_bench.sh, or set O2O_BENCH and O2O_SITE)"
	echo "Frappe suite skipped: $why."
	echo "Browser tests skipped: $why."
	exit 0
fi

echo "== Frappe suite on $bench_dir (site $site)"
owner=$(stat -c %U "$bench_dir")
run_as_owner() {
	if [ "$(id -un)" = "$owner" ]; then bash -c "$1"; else as_root runuser -u "$owner" -- bash -c "$1"; fi
}
app_dir="$bench_dir/apps/o2o_sync"
# install this tree (not a stale copy) into the bench; a bench from scripts/dev_bench.sh links to it
if [ "$(readlink -f "$app_dir")" != "$root" ]; then
	as_root rm -rf "$app_dir"
	as_root mkdir -p "$app_dir"
	tar -C "$root" --exclude=.git --exclude=.venv --exclude=__pycache__ -cf - . | as_root tar -C "$app_dir" -xf -
	as_root chown -R "$owner": "$app_dir"
fi
run_as_owner "cd '$bench_dir' && env/bin/python -m pip install -q --disable-pip-version-check -e apps/o2o_sync"
grep -qx o2o_sync "$bench_dir/sites/apps.txt" || run_as_owner "cd '$bench_dir' && printf '\no2o_sync\n' >> sites/apps.txt && sed -i '/^$/d' sites/apps.txt"
# the tests start their own sshd as the bench user: a locked account ('!' password) may not log in
if [ "$(id -u)" = 0 ] && getent shadow "$owner" | cut -d: -f2 | grep -q '^!'; then usermod -p '*' "$owner"; fi
frappe_cmd() { run_as_owner "cd '$bench_dir/sites' && ../env/bin/python -m frappe.utils.bench_helper frappe --site '$site' $1"; }
if ! frappe_cmd "list-apps" | grep -q '^o2o_sync'; then
	frappe_cmd "clear-cache" # the app's modules are cached from before apps.txt named it
	frappe_cmd "install-app o2o_sync"
fi
frappe_cmd "migrate --skip-search-index" >/dev/null
log=$(mktemp)
set +e
frappe_cmd "run-tests --app o2o_sync" >"$log" 2>&1
status=$?
set -e
# this Frappe build prints a stack for every query it logs: show the test lines only,
# and the whole tail when something failed
grep -v -e "Error in query" -e '^  File ' -e '^    ' -e '^\s*$' "$log" | tail -n 120
if [ "$status" != 0 ]; then
	echo "== Frappe suite failed: last 300 lines of its output"
	tail -n 300 "$log"
fi
ran=$(grep -Eo '^Ran [0-9]+ tests?' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
bad=$( (grep -E '^FAILED \(' "$log" || true) | tail -1 | grep -Eo '(failures|errors)=[0-9]+' | awk -F= '{s += $2} END {print s + 0}' || true)
rm -f "$log"
bad=${bad:-0}
echo "frappe: $((ran - bad)) passed, $bad failed"
frappe_status=$status

# ERPNext's own Purchase Invoice, Payment Entry and Journal Entry test modules with the sync
# disabled, then enabled with a company mapped to a demo portal: the same failures, no row left
# behind (scripts/erpnext_suites.py; about 8 minutes on 2 cores). O2O_ERPNEXT_SUITES=0 skips it.
if [ "${O2O_ERPNEXT_SUITES:-1}" = 0 ]; then
	echo "ERPNext's suites skipped: O2O_ERPNEXT_SUITES=0."
else
	echo "== ERPNext's suites with the sync disabled and enabled on $bench_dir (site $site)"
	suites_start=$SECONDS
	if [ "$(id -un)" = "$owner" ]; then as_owner=""; elif [ "$(id -u)" = 0 ]; then as_owner="runuser -u $owner --"; else as_owner="sudo -n runuser -u $owner --"; fi
	set +e
	python3 scripts/erpnext_suites.py \
		--frappe "$as_owner env -C '$bench_dir/sites' '$bench_dir/env/bin/python' -m frappe.utils.bench_helper frappe --site '$site'"
	suites_status=$?
	set -e
	echo "ERPNext's suites: $((SECONDS - suites_start)) s"
	[ "$suites_status" = 0 ] || frappe_status=$suites_status
fi

# browser tests: a real headless Chromium against this bench's desk (browser_tests/conftest.py)
browser_site=${O2O_BROWSER_SITE:-$site}
chromium=${O2O_CHROMIUM:-/usr/bin/chromium}
browser_skip=""
if [ ! -f "$bench_dir/sites/assets/assets.json" ]; then
	browser_skip="no built desk assets on $bench_dir (run bench build)"
elif [ ! -x "$chromium" ]; then
	browser_skip="no Chromium at $chromium (apt-get install chromium, or set O2O_CHROMIUM)"
elif [ ! -d "$bench_dir/sites/$browser_site" ]; then
	browser_skip="no site $browser_site at $bench_dir (set O2O_BROWSER_SITE)"
fi
if [ -n "$browser_skip" ]; then
	echo "Browser tests skipped: $browser_skip."
	exit "$frappe_status"
fi
echo "== browser tests (headless Chromium) on $bench_dir (site $browser_site)"
browser_start=$SECONDS
.venv/bin/python -c "import playwright" 2>/dev/null ||
	.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,browser]'
# the desk and socket.io reach the site by its name
getent hosts "$browser_site" >/dev/null || as_root sh -c "echo '127.0.0.1 $browser_site' >> /etc/hosts"
# the app's public files under /assets/o2o_sync, and its bundles when it has any (a DocType's
# desk JS and the plain files app_include_js names need no build; building flushes Redis)
if [ -n "$(find "$app_dir/o2o_sync/public" -name '*.bundle.*' -print -quit)" ]; then
	frappe_cmd "build --app o2o_sync" >/dev/null
elif [ ! -e "$bench_dir/sites/assets/o2o_sync" ]; then
	run_as_owner "ln -s '$app_dir/o2o_sync/public' '$bench_dir/sites/assets/o2o_sync'"
fi
set +e
O2O_BENCH="$bench_dir" O2O_BROWSER_SITE="$browser_site" O2O_CHROMIUM="$chromium" \
	.venv/bin/python -m pytest browser_tests -q -p no:cacheprovider
browser_status=$?
set -e
echo "browser tests: $((SECONDS - browser_start)) s"
[ "$frappe_status" = 0 ] || exit "$frappe_status"
exit "$browser_status"
