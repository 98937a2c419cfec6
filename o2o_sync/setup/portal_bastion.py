"""A throwaway SSH bastion in front of a portal database of our own: a real OpenSSH server.

The real portal's MariaDB is reachable only through its SSH bastion (contract, introduction);
the benchmark (`o2o_sync.benchmarks.environment`) and the tests put this one in its place,
so the tunnel, the keys and the host-key check run for real. Needs the OpenSSH binaries
(`/usr/sbin/sshd`, `ssh-keygen`) and the standard library; never imports frappe.

Nothing here writes a secret anywhere but the server's private temp directory: keys are
generated per run and deleted on `SshServer.stop()`.
"""

import atexit
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SSHD_PATH = "/usr/sbin/sshd"


class SshdNotAvailable(RuntimeError):
	"""The OpenSSH server or ssh-keygen is not installed (or sshd would not start)."""


def _free_port(host: str) -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind((host, 0))
		return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
	"""Pids of the live descendants of `pid` (Linux /proc; [] elsewhere)."""
	parents: dict[int, list[int]] = {}
	for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
		if not entry.isdigit():
			continue
		try:
			stat = Path("/proc", entry, "stat").read_text()
		except OSError:
			continue
		ppid = int(stat.rsplit(")", 1)[1].split()[1])
		parents.setdefault(ppid, []).append(int(entry))
	found, todo = [], [pid]
	while todo:
		for child in parents.get(todo.pop(), []):
			found.append(child)
			todo.append(child)
	return found


def _sshd_version(sshd_path: str) -> tuple[int, int]:
	out = subprocess.run([sshd_path, "-V"], capture_output=True, text=True, timeout=10)
	match = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
	return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class SshServer:
	"""A real OpenSSH server on 127.0.0.1 to act as the portal's bastion in tests.

	Runs ``/usr/sbin/sshd -D -e -f <config>`` on a free port with a throwaway ed25519
	host key and accepts public-key logins of the current OS user with a throwaway
	ed25519 client key (encrypted with `passphrase` when given). TCP forwarding is on,
	passwords off. Everything lives in a private temp directory deleted by `stop()`.

	Use as a context manager or call `start()` / `stop()`. Attributes once started:
	`host`, `port`, `username`, `client_private_key` (OpenSSH key text),
	`client_key_passphrase` ('' when none), `host_key_line` ('ssh-ed25519 AAAA...'),
	`host_key_fingerprint` ('SHA256:...', as ``ssh-keygen -l`` prints it).

	Raises SshdNotAvailable when sshd or ssh-keygen is missing or sshd does not start
	within `start_timeout` seconds (the message quotes sshd's own log).
	"""

	def __init__(
		self,
		*,
		passphrase: str | None = None,
		host: str = "127.0.0.1",
		start_timeout: float = 10.0,
		sshd_path: str = SSHD_PATH,
	):
		self.host = host
		self.port: int | None = None
		self.username = pwd.getpwuid(os.getuid()).pw_name
		self.client_private_key = ""
		self.client_key_passphrase = passphrase or ""
		self.host_key_line = ""
		self.host_key_fingerprint = ""
		self.start_timeout = start_timeout
		self.sshd_path = sshd_path
		self._dir: str | None = None
		self._proc: subprocess.Popen | None = None
		self._log_path: str | None = None

	# context manager
	def __enter__(self) -> "SshServer":
		return self.start()

	def __exit__(self, *exc) -> None:
		self.stop()

	def __repr__(self) -> str:
		return f"<SshServer {self.username}@{self.host}:{self.port} {'running' if self.is_running() else 'stopped'}>"

	def _keygen(self, *args: str) -> str:
		result = subprocess.run(
			["ssh-keygen", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
		)
		if result.returncode != 0:
			raise SshdNotAvailable(f"ssh-keygen failed: {result.stderr.strip()[:300]}")
		return result.stdout

	def _new_key(self, name: str, key_type: str, passphrase: str) -> Path:
		path = Path(self._dir, name)
		bits = {"rsa": ["-b", "2048"], "ecdsa": ["-b", "256"]}.get(key_type, [])
		self._keygen("-q", "-t", key_type, *bits, "-N", passphrase, "-C", "", "-f", str(path))
		return path

	def start(self) -> "SshServer":
		"""Generate the keys, start sshd and wait until its port accepts connections; returns self."""
		if self._proc is not None:
			return self
		if not (os.path.isfile(self.sshd_path) and os.access(self.sshd_path, os.X_OK)):
			raise SshdNotAvailable(
				f"{self.sshd_path} is missing: install the OpenSSH server "
				"(apt-get install -y openssh-server; do not start its service, tests run their own sshd)"
			)
		if not shutil.which("ssh-keygen"):
			raise SshdNotAvailable("ssh-keygen is missing: install openssh-client")
		self._dir = tempfile.mkdtemp(prefix="o2o-sshd-")
		try:
			self._prepare()
			self._launch()
		except BaseException:
			self.stop()
			raise
		atexit.register(self.stop)
		return self

	def _prepare(self) -> None:
		host_key = self._new_key("ssh_host_ed25519_key", "ed25519", "")
		pub = Path(f"{host_key}.pub").read_text().split()
		self.host_key_line = f"{pub[0]} {pub[1]}"
		self.host_key_fingerprint = self._keygen("-l", "-E", "sha256", "-f", f"{host_key}.pub").split()[1]
		Path(self._dir, "authorized_keys").write_text("")
		self.client_private_key = self.add_client_key(passphrase=self.client_key_passphrase)
		try:  # privilege separation directory; Debian creates it only when the service starts
			os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
		except PermissionError:
			pass

	def _write_config(self) -> str:
		d = self._dir
		lines = [
			f"ListenAddress {self.host}:{self.port}",
			f"HostKey {d}/ssh_host_ed25519_key",
			f"PidFile {d}/sshd.pid",
			f"AuthorizedKeysFile {d}/authorized_keys",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"AllowTcpForwarding yes",
			"PermitRootLogin prohibit-password",
			"X11Forwarding no",
			"PrintMotd no",
			"UseDNS no",
			"MaxStartups 50:30:100",
			"LogLevel VERBOSE",
		]
		if _sshd_version(self.sshd_path) >= (9, 8):
			# OpenSSH 9.8+ penalises addresses whose logins fail; tests fail logins on purpose.
			lines.append("PerSourcePenalties no")
		path = Path(d, "sshd_config")
		path.write_text("\n".join(lines) + "\n")
		return str(path)

	def _launch(self, port: int | None = None) -> None:
		for _attempt in range(1 if port else 3):
			self.port = port or _free_port(self.host)
			config = self._write_config()
			self._log_path = str(Path(self._dir, "sshd.log"))
			with open(self._log_path, "ab") as log:
				self._proc = subprocess.Popen(
					[self.sshd_path, "-D", "-e", "-f", config],
					stdin=subprocess.DEVNULL,
					stdout=log,
					stderr=log,
					start_new_session=True,
				)
			deadline = time.monotonic() + self.start_timeout
			while time.monotonic() < deadline:
				if self._proc.poll() is not None:
					break
				try:
					with socket.create_connection((self.host, self.port), timeout=0.5):
						return
				except OSError:
					time.sleep(0.05)
			log_text = self.log_text()
			self._kill()
			if "Address already in use" in log_text:
				continue
			raise SshdNotAvailable(
				f"sshd did not accept connections on {self.host}:{self.port} within "
				f"{self.start_timeout:g} s; its log:\n{log_text[-2000:]}"
			)
		raise SshdNotAvailable(
			f"sshd could not listen on {self.host}:{port}"
			if port
			else "sshd could not find a free port after 3 attempts"
		)

	def add_client_key(self, key_type: str = "ed25519", passphrase: str = "", authorize: bool = True) -> str:
		"""Generate another client key pair; returns its private key text (OpenSSH format).

		`key_type`: 'ed25519', 'rsa' (2048 bits) or 'ecdsa' (P-256). With `authorize`
		the public key is appended to the server's authorized_keys (sshd reads it on
		every login, so this works while running).
		"""
		if self._dir is None:
			raise RuntimeError("SshServer.add_client_key: start the server first")
		name = f"client_{key_type}_{secrets.token_hex(4)}"
		path = self._new_key(name, key_type, passphrase)
		if authorize:
			with open(Path(self._dir, "authorized_keys"), "a") as keys:
				keys.write(Path(f"{path}.pub").read_text().strip() + "\n")
		return path.read_text()

	def is_running(self) -> bool:
		"""True while the sshd process is alive."""
		return self._proc is not None and self._proc.poll() is None

	def log_text(self) -> str:
		"""sshd's own log so far ('' when none); useful when a login fails."""
		if self._log_path and os.path.exists(self._log_path):
			return Path(self._log_path).read_text(errors="replace")
		return ""

	def _kill(self) -> None:
		proc, self._proc = self._proc, None
		if proc is None:
			return
		# sshd forks one process per connection, each in a session of its own (setsid):
		# find them while they are still our descendants, then end them by pid.
		children = _descendants(proc.pid)
		try:
			os.killpg(proc.pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
		for pid in children:
			try:
				os.kill(pid, signal.SIGTERM)
			except ProcessLookupError:
				pass
		try:
			proc.wait(timeout=5)
		except subprocess.TimeoutExpired:
			try:
				os.killpg(proc.pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
			proc.wait(timeout=5)

	def kill(self) -> None:
		"""Kill sshd and every connection it serves, as a bastion that crashed (fault tests);
		the keys and the port are kept for `restart()`. Idempotent."""
		self._kill()

	def restart(self) -> "SshServer":
		"""Start sshd again after `kill()` on the same port with the same keys; returns self.
		Raises SshdNotAvailable when it does not come back (the port taken meanwhile)."""
		if self._dir is None:
			raise RuntimeError("SshServer.restart: the server was stopped; use start()")
		if not self.is_running():
			self._launch(self.port)
		return self

	def stop(self) -> None:
		"""Kill sshd (and its per-connection children) and delete the temp directory. Idempotent."""
		self._kill()
		if self._dir is not None:
			shutil.rmtree(self._dir, ignore_errors=True)
			self._dir = None
		atexit.unregister(self.stop)
