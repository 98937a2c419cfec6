"""The bench the browser tests drive: where it is, whether it can serve the desk, its commands
run as the bench's owner, and the servers the tests start and stop themselves (a web server
on a free port, socket.io, a background worker).

Settings (environment):
  O2O_BENCH            the bench directory (default /home/frappe/frappe-bench)
  O2O_BROWSER_SITE     the site to drive (default o2o.localhost; run_tests.sh installs the app there)
  O2O_ADMIN_PASSWORD   Administrator's password on that site (default admin)
  O2O_CHROMIUM         the browser (default /usr/bin/chromium, Debian's; never `playwright install`)
  O2O_BROWSER_PORT     the web server's port (default: a free one)
  O2O_SCREENSHOTS      where screenshots go (default browser_tests/screenshots/<timestamp>/)
"""

import json
import os
import pwd
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(os.environ.get("O2O_BENCH", "/home/frappe/frappe-bench"))
SITE = os.environ.get("O2O_BROWSER_SITE", "o2o.localhost")
ADMIN_PASSWORD = os.environ.get("O2O_ADMIN_PASSWORD", "admin")
CHROMIUM = os.environ.get("O2O_CHROMIUM", "/usr/bin/chromium")
#: What a headless Chromium needs in a container (root: no sandbox) and nothing that phones home.
CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
#: Seconds a server may take to answer after it was started (Frappe imports take a few).
START_TIMEOUT = 90


def skip_reason() -> str | None:
	"""Why the browser tests cannot run here (one line), or None when they can.

	They need the bench's Python, the site, the desk's built assets (`bench build` writes
	sites/assets/assets.json naming the hashed desk bundle under sites/assets/frappe/dist/),
	the app in the bench's apps.txt, Chromium and Playwright.
	"""
	if not (BENCH / "env" / "bin" / "python").exists():
		return f"no Frappe bench at {BENCH} (set O2O_BENCH)"
	if not (BENCH / "sites" / SITE / "site_config.json").exists():
		return f"no site {SITE} on {BENCH} (set O2O_BROWSER_SITE)"
	manifest = BENCH / "sites" / "assets" / "assets.json"
	try:
		desk_bundle = json.loads(manifest.read_text()).get("desk.bundle.js") or ""
	except (OSError, ValueError):
		desk_bundle = ""
	if not desk_bundle or not (BENCH / "sites" / desk_bundle.lstrip("/")).exists():
		return f"no built desk assets on {BENCH} (run `bench build`)"
	apps = (BENCH / "sites" / "apps.txt").read_text().split()
	if "o2o_sync" not in apps:
		return f"o2o_sync is not installed on {BENCH} (scripts/run_tests.sh installs it)"
	if not os.access(CHROMIUM, os.X_OK):
		return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set O2O_CHROMIUM)"
	try:
		import playwright.sync_api
	except ImportError:
		return "Playwright is not installed (pip install '.[browser]')"
	return None


def free_port() -> int:
	"""A TCP port nobody listens on now."""
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def answers(url: str, host: str | None = None, timeout: float = 3) -> int | None:
	"""The HTTP status `url` answers with (any status, errors included), None when nothing answers."""
	request = urllib.request.Request(url, headers={"Host": host} if host else {})
	try:
		with urllib.request.urlopen(request, timeout=timeout) as response:
			return response.status
	except urllib.error.HTTPError as e:
		return e.code
	except (OSError, ValueError):
		return None


class Bench:
	"""Commands on the bench, run as its owner (via runuser when we are root)."""

	def __init__(self, path: Path = BENCH, site: str = SITE):
		self.path = path
		self.site = site
		self.owner = pwd.getpwuid(path.stat().st_uid).pw_name
		config = json.loads((path / "sites" / "common_site_config.json").read_text())
		self.socketio_port = int(config.get("socketio_port") or 9000)

	def as_owner(self, argv: list[str], env: dict | None = None) -> list[str]:
		"""`argv` run as the bench's owner, with `env` set for it."""
		argv = ["env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
		if pwd.getpwuid(os.getuid()).pw_name == self.owner:
			return argv
		if os.getuid() == 0:
			return ["runuser", "-u", self.owner, "--", *argv]
		return ["sudo", "-n", "-u", self.owner, "--", *argv]

	def frappe_argv(self, *args: str, env: dict | None = None) -> list[str]:
		"""`bench --site SITE <args>` without the bench CLI: Frappe's own command runner
		(run it with cwd sites/), with `env` set."""
		return self.as_owner(
			["../env/bin/python", "-m", "frappe.utils.bench_helper", "frappe", "--site", self.site, *args],
			env,
		)

	def execute(self, method: str, timeout: float = 600, **kwargs):
		"""`bench --site SITE execute METHOD --kwargs JSON`; returns what the method returned
		(the JSON Frappe prints last). Raises RuntimeError with the command's output on failure."""
		argv = self.frappe_argv("execute", method, "--kwargs", json.dumps(kwargs))
		done = subprocess.run(
			argv, cwd=self.path / "sites", capture_output=True, text=True, timeout=timeout, check=False
		)
		if done.returncode != 0:
			tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
			raise RuntimeError(f"bench execute {method} failed ({done.returncode}):\n{tail}")
		for line in reversed(done.stdout.splitlines()):
			line = line.strip()
			if line.startswith(("{", "[")):
				return json.loads(line)
		return None


class Servers:
	"""The web server, socket.io server and worker the tests run against; `stop` ends what
	`start` started (whole process groups), never a server someone else runs."""

	def __init__(self, bench: Bench, log_dir: Path, port: int | None = None):
		self.bench = bench
		self.log_dir = log_dir
		self.port = port or int(os.environ.get("O2O_BROWSER_PORT") or 0) or free_port()
		self.base_url = f"http://{bench.site}:{self.port}"
		self.processes: dict[str, subprocess.Popen] = {}

	def _spawn(self, name: str, argv: list[str], cwd: Path) -> None:
		with open(self.log_dir / f"{name}.log", "ab") as log:
			# a session of its own: `stop` kills the whole group (runuser, Python, forked jobs)
			self.processes[name] = subprocess.Popen(
				argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
			)

	def start(self) -> "Servers":
		"""Start the servers and wait until each answers; raises RuntimeError naming the one
		that did not (with its log's tail)."""
		bench, sites = self.bench, self.bench.path / "sites"
		# DEV_SERVER=1: the desk's socket.io client then talks to socketio_port itself (no nginx)
		self._spawn(
			"web",
			bench.frappe_argv("serve", "--port", str(self.port), "--noreload", env={"DEV_SERVER": "1"}),
			sites,
		)
		socketio_url = f"http://127.0.0.1:{bench.socketio_port}/socket.io/?EIO=4&transport=polling"
		if answers(socketio_url) is None:  # one socket.io server serves every site: reuse a running one
			self._spawn("socketio", bench.as_owner(["node", "apps/frappe/socketio.js"]), bench.path)
		self._spawn("worker", bench.frappe_argv("worker"), sites)

		ping = f"http://127.0.0.1:{self.port}/api/method/ping"
		self._wait("web", lambda: answers(ping, host=bench.site) == 200)
		self._wait("socketio", lambda: answers(socketio_url) is not None)
		self._wait("worker", lambda: True)
		return self

	def _wait(self, name: str, ready) -> None:
		deadline = time.monotonic() + START_TIMEOUT
		process = self.processes.get(name)
		while time.monotonic() < deadline:
			if process is not None and process.poll() is not None:
				break
			if ready():
				return
			time.sleep(0.5)
		self.stop()
		log = self.log_dir / f"{name}.log"
		tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
		raise RuntimeError(f"the {name} server did not start within {START_TIMEOUT} s:\n{tail}")

	def stop(self) -> None:
		"""Terminate each started process group, then kill what is left after 10 s."""
		for process in self.processes.values():
			if process.poll() is None:
				try:
					os.killpg(process.pid, signal.SIGTERM)
				except ProcessLookupError:
					pass
		deadline = time.monotonic() + 10
		for process in self.processes.values():
			try:
				process.wait(timeout=max(0.1, deadline - time.monotonic()))
			except subprocess.TimeoutExpired:
				pass
			try:  # the group may outlive its leader (a forked job)
				os.killpg(process.pid, signal.SIGKILL)
			except (ProcessLookupError, PermissionError):
				pass
		self.processes.clear()
