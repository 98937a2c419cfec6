#!/usr/bin/env bash
# A development bench with o2o_sync and invoices pulled from a demo portal, from a machine
# with MariaDB and Redis but no bench:
#
#   scripts/dev_bench.sh [DIR] [--site SITE] [--test-site SITE] [--company NAME --abbr ABBR]
#                        [--with-assets] [--force]
#
#   1. the bench CLI (frappe-bench from PyPI, into a virtualenv, when `bench` is not on PATH);
#   2. `bench init --frappe-branch version-15 DIR` (default DIR: ~/o2o-dev-bench of the bench
#      user), or from a local checkout: FRAPPE_SRC=/path/to/frappe (a git repository, used as it is);
#   3. `bench get-app erpnext --branch version-15`, or ERPNEXT_SRC=/path/to/erpnext;
#   4. the bench's config: MariaDB at O2O_DB_HOST (127.0.0.1), Redis at O2O_REDIS
#      (redis://127.0.0.1:6379) for cache, queue and socket.io;
#   5. two sites with ERPNext (Administrator / admin): dev.localhost for the demo, the bench's
#      default site, and test.localhost for the tests (they write and empty what they like);
#   6. on both, the setup wizard for an Indian company with CGST/SGST/IGST accounts, Asia/Kolkata;
#   7. this app from this working tree (apps/o2o_sync is a link to it), installed on both;
#   8. the demo portal (`bench --site dev.localhost o2o-demo-portal`), pulled once
#      (`o2o_sync.sync.sync_utils.bulk_sync_from_external`);
#   9. desk assets (`bench build`) with --with-assets only;
#  then it records the bench and its test site in .dev_bench (git-ignored), where
#  scripts/run_tests.sh looks, and prints what to open and how to start the bench.
#
# Re-runnable: each step skips what is already done (a re-run migrates the sites to this tree).
# It refuses a DIR it did not make (no .o2o_dev_bench marker in it) unless --force or
# O2O_DEV_FORCE=1. Run as root, it runs bench as a normal user, O2O_BENCH_USER (default frappe,
# created when missing), as bench wants.
# MariaDB's root password: DB_ROOT_PASSWORD, else none when root may log in without one, else
# bench asks for it; o2o-demo-portal asks again in a terminal (or reads root_password from
# common_site_config.json). Other settings: O2O_PYTHON (python3), O2O_ADMIN_PASSWORD (admin),
# O2O_PORTAL_DB (procureuat_demo), O2O_DEMO_INVOICES (40).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t0=$SECONDS
step_no=0
steps=$(grep -c '^step "' "${BASH_SOURCE[0]}")
step() {
	step_no=$((step_no + 1))
	printf '\n== [%d/%d, %ss] %s\n' "$step_no" "$steps" "$((SECONDS - t0))" "$*"
}
note() { printf '   %s\n' "$*"; }
die() {
	printf 'dev_bench.sh: %s\n' "$*" >&2
	exit 1
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

dir="" site=${O2O_DEV_SITE:-dev.localhost} test_site=${O2O_TEST_SITE:-test.localhost}
company="O2O Dev" abbr="OD" with_assets=0
force=${O2O_DEV_FORCE:-0}
while [ $# -gt 0 ]; do
	case "$1" in
	--site) site=${2:?--site needs a name} && shift ;;
	--test-site) test_site=${2:?--test-site needs a name} && shift ;;
	--company) company=${2:?--company needs a name} && shift ;;
	--abbr) abbr=${2:?--abbr needs an abbreviation} && shift ;;
	--with-assets) with_assets=1 ;;
	--force) force=1 ;;
	-h | --help) usage && exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) [ -z "$dir" ] || die "one DIR only (see --help)" && dir=$1 ;;
	esac
	shift
done

[ "$site" != "$test_site" ] || die "the demo site and the test site must differ (the tests empty what they like)"
db_host=${O2O_DB_HOST:-127.0.0.1}
redis=${O2O_REDIS:-redis://127.0.0.1:6379}
admin_password=${O2O_ADMIN_PASSWORD:-admin}
portal_db=${O2O_PORTAL_DB:-procureuat_demo}
invoices=${O2O_DEMO_INVOICES:-40}
python=${O2O_PYTHON:-python3}
marker=.o2o_dev_bench
base_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---- who runs bench: never root
if [ "$(id -u)" = 0 ]; then
	user=${O2O_BENCH_USER:-frappe}
	if ! id "$user" >/dev/null 2>&1; then
		echo "== creating user $user to run bench (bench does not run as root)"
		useradd -m -s /bin/bash "$user"
	fi
	home=$(getent passwd "$user" | cut -d: -f6)
	# root's PATH (a pyenv, say) may hold nothing the bench user can run
	user_path="$home/.local/bin:$base_path"
	as_user() { runuser -u "$user" -- env HOME="$home" USER="$user" PATH="$user_path" bash -c "$1"; }
else
	user=$(id -un)
	home=$HOME
	user_path=$PATH
	as_user() { PATH="$user_path" bash -c "$1"; }
fi
dir=${dir:-$home/o2o-dev-bench}
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
q() { printf '%q' "$1"; }
in_bench() { as_user "cd $(q "$dir") && $1"; }
on_site() { in_bench "bench --site $(q "$1") $2"; } # SITE ARGS
# SITE APP (grep -c reads to the end: grep -q would stop list-apps with SIGPIPE, a failure under pipefail)
site_has() { on_site "$1" "list-apps" 2>/dev/null | grep -c "^$2\b" >/dev/null; }

step "bench CLI, MariaDB and Redis"
if ! as_user "command -v bench" >/dev/null; then
	note "no bench on PATH: installing frappe-bench (PyPI) into $home/.local/share/frappe-bench-cli"
	as_user "$(q "$python") -m venv ~/.local/share/frappe-bench-cli &&
		~/.local/share/frappe-bench-cli/bin/pip install -q --disable-pip-version-check frappe-bench &&
		mkdir -p ~/.local/bin && ln -sf ~/.local/share/frappe-bench-cli/bin/bench ~/.local/bin/bench"
fi
# bench 5.x runs uv (a dependency of frappe-bench, next to the bench command) for Python packages
bench_bin=$(as_user 'dirname "$(readlink -f "$(command -v bench)")"')
user_path="$bench_bin:$user_path"
note "$(as_user "bench --version 2>/dev/null | tail -1 | sed 's/^/bench /'"), running as $user"
for tool in git "$python"; do as_user "command -v $(q "$tool")" >/dev/null || die "$tool is missing"; done
if command -v redis-cli >/dev/null; then
	redis-cli -u "$redis" ping 2>/dev/null | grep -q PONG || die "no Redis answers at $redis (set O2O_REDIS)"
fi
note "MariaDB at $db_host, Redis at $redis"

step "bench $dir"
ours=1 # made by this script: it has the marker, or it is new
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/$marker" ]; then
	ours=0
	[ "$force" = 1 ] || die "$dir exists and was not made by this script (no $marker in it): give another DIR, or --force (O2O_DEV_FORCE=1) to use it anyway"
	note "--force: using $dir, which this script did not make"
fi
if [ ! -d "$dir" ]; then
	as_user "mkdir -p $(q "$dir")"
fi
[ "$ours" = 0 ] || [ -f "$dir/$marker" ] || as_user "echo 'made by o2o_sync scripts/dev_bench.sh; delete this file to stop it touching this bench' > $(q "$dir/$marker")"
if [ -x "$dir/env/bin/python" ] && [ -f "$dir/apps/frappe/pyproject.toml" ] && [ -f "$dir/sites/apps.txt" ]; then
	note "already initialised ($(in_bench "env/bin/python -c 'import frappe; print(\"frappe\", frappe.__version__)'"))"
else
	if [ -n "${FRAPPE_SRC:-}" ]; then
		note "bench init from the local checkout $FRAPPE_SRC (a few minutes: Python and Node packages)"
		source_opts="--frappe-path $(q "$FRAPPE_SRC")"
	else
		note "bench init --frappe-branch version-15 (a few minutes: Python and Node packages)"
		source_opts="--frappe-branch version-15"
	fi
	if [ -e "$dir/apps/frappe" ] || [ -e "$dir/env" ]; then
		[ "$ours" = 1 ] || die "$dir has an unfinished Frappe (apps/frappe or env) this script did not make: finish or remove it"
		note "an earlier init stopped half-way: starting it again"
		in_bench "rm -rf apps/frappe env"
	fi
	# --ignore-exist: DIR holds the marker already; no asset build here (step 9 does it)
	in_bench "cd .. && bench init $(q "$(basename "$dir")") --ignore-exist --skip-assets --no-backups \
		--python $(q "$python") $source_opts </dev/null"
fi

step "ERPNext"
if [ -f "$dir/apps/erpnext/pyproject.toml" ] && grep -qx erpnext "$dir/sites/apps.txt"; then
	note "already in apps/erpnext"
elif [ -n "${ERPNEXT_SRC:-}" ]; then
	note "bench get-app from the local checkout $ERPNEXT_SRC"
	in_bench "bench get-app --overwrite --skip-assets $(q "$ERPNEXT_SRC") </dev/null"
else
	note "bench get-app erpnext --branch version-15"
	in_bench "bench get-app --overwrite --skip-assets erpnext --branch version-15 </dev/null"
fi
# the test runner's tools (what frappe names as development dependencies)
in_bench "env/bin/python -c 'import freezegun'" 2>/dev/null || in_bench "bench setup requirements --dev"

step "bench config: MariaDB and Redis"
# (values are read as Python literals: quoted, they stay strings)
in_bench "bench config set-common-config -c db_host $(q "'$db_host'") -c redis_cache $(q "'$redis'") \
	-c redis_queue $(q "'$redis'") -c redis_socketio $(q "'$redis'")"
# bench start runs no Redis of its own: the one above serves
in_bench "sed -i -E 's/^(redis_(cache|queue|socketio):)/# \1/' Procfile"
note "db_host $db_host; redis_cache, redis_queue, redis_socketio $redis"

step "sites $site (the demo) and $test_site (the tests) with ERPNext"
# bench asks for MariaDB's root password (an empty one reads as missing): answer on its stdin,
# never on a command line every local user can read; ask in the terminal when neither is known
root_answer=""
if [ -n "${DB_ROOT_PASSWORD:-}" ]; then
	root_answer=given
elif in_bench "env/bin/python -c 'import pymysql; pymysql.connect(host=\"$db_host\", user=\"root\", password=\"\").close()'" 2>/dev/null; then
	root_answer=none
fi
new_site_opts="--admin-password $(q "$admin_password") --db-root-username root --install-app erpnext"
for s in "$site" "$test_site"; do
	if [ -f "$dir/sites/$s/site_config.json" ] && site_has "$s" erpnext; then
		note "$s: already there, with ERPNext"
		continue
	fi
	opts=$new_site_opts
	[ ! -d "$dir/sites/$s" ] || opts="$opts --force" # a half-made site of ours
	note "bench new-site $s --install-app erpnext (a few minutes)"
	if [ -n "$root_answer" ]; then
		printf '%s\n' "${DB_ROOT_PASSWORD:-}" | in_bench "bench new-site $(q "$s") $opts"
	else
		in_bench "bench new-site $(q "$s") $opts"
	fi
done
# the tests may write and empty anything: only on their own site
on_site "$test_site" "set-config allow_tests true" >/dev/null
in_bench "bench use $(q "$site")" >/dev/null
note "$site is the default site (bench start serves it); $test_site allows tests"

step "setup wizard: $company ($abbr), India, INR, Asia/Kolkata, CGST/SGST/IGST - $abbr"
# o2o_sync's helper is importable once the app is in the bench's env: link it first
if [ ! -e "$dir/apps/o2o_sync" ]; then
	as_user "test -r $(q "$root/pyproject.toml")" ||
		die "user $user cannot read $root: put the repository where $user can read it"
	in_bench "ln -s $(q "$root") apps/o2o_sync"
fi
in_bench "env/bin/python -c 'import o2o_sync' 2>/dev/null" ||
	in_bench "env/bin/python -m pip install -q --disable-pip-version-check -e apps/o2o_sync"
grep -qx o2o_sync "$dir/sites/apps.txt" || in_bench "printf '\no2o_sync\n' >> sites/apps.txt && sed -i '/^$/d' sites/apps.txt"
for s in "$site" "$test_site"; do
	# (bench execute wants the app installed on the site: run the module itself)
	in_bench "cd sites && O2O_ADMIN_PASSWORD=$(q "$admin_password") ../env/bin/python -m o2o_sync.setup.dev_site \
		$(q "$s") $(q "$company") $(q "$abbr")" | sed "s/^/   $s: /"
done

step "o2o_sync from $root"
if [ -L "$dir/apps/o2o_sync" ]; then
	note "apps/o2o_sync -> $(readlink "$dir/apps/o2o_sync") (edits show without reinstalling)"
else
	note "apps/o2o_sync is a copy, not this tree: scripts/run_tests.sh refreshes it"
fi
for s in "$site" "$test_site"; do
	if site_has "$s" o2o_sync; then
		note "$s: installed; bench migrate (the site follows this tree's DocTypes and fields)"
		on_site "$s" "migrate --skip-search-index" >/dev/null
	else
		note "$s: bench install-app o2o_sync"
		on_site "$s" "clear-cache" # the app's modules are cached from before apps.txt named it
		on_site "$s" "install-app o2o_sync"
	fi
done

step "demo portal $portal_db on $site and the first pull"
count() { on_site "$site" "execute frappe.db.count --args $(q "[\"$1\"]")" | tail -1; }
pulled=$(count "Sync Mapping")
if [ "${pulled:-0}" != 0 ]; then
	note "already pulled: $pulled invoices in Sync Mapping (drop the site's Sync Mappings to pull again)"
else
	note "bench --site $site o2o-demo-portal --company \"$company\" --database $portal_db"
	on_site "$site" "o2o-demo-portal --company $(q "$company") --database $(q "$portal_db") --invoices $(q "$invoices")" | sed 's/^/   /'
	note "pull: bench --site $site execute o2o_sync.sync.sync_utils.bulk_sync_from_external"
	on_site "$site" "execute o2o_sync.sync.sync_utils.bulk_sync_from_external" | sed 's/^/   /'
fi
note "Purchase Invoices: $(count "Purchase Invoice"), Sync Log rows: $(count "Sync Log")"

step "desk assets"
if [ "$with_assets" = 1 ]; then
	note "bench build (Node and yarn; a few minutes)"
	in_bench "bench build"
elif [ -f "$dir/sites/assets/assets.json" ]; then
	note "built before"
else
	note "skipped: the desk needs them, run this again with --with-assets (or bench build in $dir)"
fi

# scripts/run_tests.sh finds this bench here
printf 'O2O_BENCH=%s\nO2O_SITE=%s\n' "$dir" "$test_site" >"$root/.dev_bench"

port=$(in_bench "env/bin/python -c 'import json; print(json.load(open(\"sites/common_site_config.json\")).get(\"webserver_port\", 8000))'")
cat <<EOF

== done in $((SECONDS - t0)) s: bench $dir, sites $site (demo) and $test_site (tests)
Start it (web server, worker, scheduler, socket.io; Ctrl-C stops):
   cd $dir && bench start$([ "$(id -u)" = 0 ] && printf '        (as %s: runuser -u %s -- bash -lc "cd %s && bench start")' "$user" "$user" "$dir")
Then open http://localhost:$port/app/purchase-invoice (or http://$site:$port), log in as
Administrator / $admin_password: the invoices pulled from the demo portal, each with its ProcureUAT
section; /app/sync-log for what the pull did; /app/o2o-sync-settings to see the mapping.
Pull again: bench --site $site o2o-pull    Status: bench --site $site o2o-status
Every test suite on this bench (site $test_site, recorded in .dev_bench): bash scripts/run_tests.sh
EOF
