"""One SSH tunnel per portal connection, shared by every worker process and outliving jobs.

Frappe's `bench worker` (RQ) forks a fresh work-horse process for every job, so a tunnel
kept in a job's process dies with the job and the next push would pay a new SSH
handshake. `shared_tunnel(cfg)` instead starts, once, a small service process
(`python -m o2o_sync.sync.portal.tunnel_service`) that holds the verified tunnel
(`tunnel.open_tunnel`) and forwards 127.0.0.1:<port>; every job connects MariaDB to that
port. The service exits when its tunnel dies, or after `MAX_LIFETIME_SECONDS` (letting
connections in flight finish); the next job then starts a new one, so a dead tunnel is
reopened on demand.

Secrets reach the service through a pipe, never its command line or environment, and only
those of the SSH login (`TUNNEL_FIELDS`: never the database's user or password). The state
file (mode 0600, in a 0700 directory) holds only the service's pid and port; a run directory
this user does not own, or that others may write, is refused, and so is a state file naming
a process of another user. The service listens on 127.0.0.1 only. Nothing here imports
Frappe.
"""

import fcntl
import hashlib
import json
import os
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from o2o_sync.sync.model.errors import (
	BastionUnreachable,
	DatabaseRefused,
	HostKeyMismatch,
	HostKeyNotConfigured,
	ProcureUATConnectionError,
	SSHAuthFailed,
)
from o2o_sync.sync.portal.config import ConnectionConfig

MAX_LIFETIME_SECONDS = 3600
GRACE_SECONDS = 60
#: the only address the service listens on
LOOPBACK = "127.0.0.1"
#: what the service is sent of a `ConnectionConfig`: the SSH login and the forward's far end
#: (`tunnel.open_tunnel` reads nothing else); the database's name, user and password stay here
TUNNEL_FIELDS = (
	"host",
	"port",
	"ssh_host",
	"ssh_port",
	"ssh_username",
	"ssh_private_key",
	"ssh_key_passphrase",
	"ssh_host_key",
	"connect_timeout",
)
_ERRORS = {
	cls.reason: cls
	for cls in (
		BastionUnreachable,
		DatabaseRefused,
		HostKeyMismatch,
		HostKeyNotConfigured,
		SSHAuthFailed,
		ProcureUATConnectionError,
	)
}


def run_dir() -> Path:
	"""Where the services' state files live: $O2O_SYNC_RUN_DIR, else a per-user temp folder.

	Created with mode 0700 when missing. Raises ProcureUATConnectionError when the folder is
	not a directory of this user's that only this user may write (a symlink, another user's,
	group- or world-writable): a state file there could send the database login to another
	user's port.
	"""
	path = Path(os.environ.get("O2O_SYNC_RUN_DIR") or Path(tempfile.gettempdir()) / f"o2o_sync-{os.getuid()}")
	path.mkdir(mode=0o700, parents=True, exist_ok=True)
	check_run_dir(path)
	return path


def check_run_dir(path: Path) -> None:
	"""Raise ProcureUATConnectionError unless `path` is a real directory (not a symlink) owned
	by this process's user that neither its group nor others may write (mode & 0o022 == 0)."""
	info = os.lstat(path)
	problem = None
	if not stat.S_ISDIR(info.st_mode):
		problem = "is not a directory (a symlink?)"
	elif info.st_uid != os.getuid():
		problem = f"belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})"
	elif info.st_mode & 0o022:
		problem = f"may be written by other users (mode {stat.S_IMODE(info.st_mode):04o})"
	if problem:
		raise ProcureUATConnectionError(
			f"The SSH tunnel service's run directory {path} {problem}: refusing to use it. "
			"Remove it, or set O2O_SYNC_RUN_DIR to a directory only this user can write."
		)


def service_request(cfg: ConnectionConfig) -> dict:
	"""What the service is sent of `cfg`: its `TUNNEL_FIELDS` only (no database login)."""
	return {name: getattr(cfg, name) for name in TUNNEL_FIELDS}


def tunnel_key(cfg: ConnectionConfig) -> str:
	"""Stable name of a tunnel: what decides where it goes and who it is (a digest, no secret)."""
	identity = [
		cfg.ssh_host,
		int(cfg.ssh_port or 22),
		cfg.ssh_username,
		cfg.host,
		int(cfg.port or 3306),
		cfg.ssh_host_key.strip(),
		hashlib.sha256(cfg.ssh_private_key.encode()).hexdigest(),
	]
	return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:24]


def _service_alive(pid: int) -> bool:
	"""True when `pid` is a tunnel service of this user (never another user's process)."""
	try:
		os.kill(pid, 0)
		owner = os.stat(f"/proc/{pid}").st_uid
		cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
	except (OSError, ValueError):
		return False
	return owner == os.getuid() and b"o2o_sync.sync.portal.tunnel_service" in cmdline


def _read_state(path: Path) -> dict | None:
	try:
		state = json.loads(path.read_text())
	except (OSError, ValueError):
		return None
	return state if _service_alive(int(state.get("pid", 0))) else None


def shared_tunnel(cfg: ConnectionConfig) -> tuple[str, int]:
	"""The local end (host, port) of the shared tunnel for `cfg`, starting its service when none runs.

	Raises the error the tunnel raised (BastionUnreachable, HostKeyMismatch,
	HostKeyNotConfigured, SSHAuthFailed, ProcureUATConnectionError), messages free of secrets.
	"""
	folder = run_dir()
	key = tunnel_key(cfg)
	state_path = folder / f"{key}.json"
	with open(folder / f"{key}.lock", "w") as lock:
		fcntl.flock(lock, fcntl.LOCK_EX)
		state = _read_state(state_path)
		if state:
			return LOOPBACK, int(state["port"])
		proc = subprocess.Popen(
			[sys.executable, "-m", "o2o_sync.sync.portal.tunnel_service", str(state_path)],
			stdin=subprocess.PIPE,
			stdout=subprocess.PIPE,
			stderr=subprocess.DEVNULL,
			start_new_session=True,  # outlives the job that started it
			close_fds=True,
		)
		proc.stdin.write(json.dumps(service_request(cfg)).encode())
		proc.stdin.close()
		ready, _, _ = select.select([proc.stdout], [], [], float(cfg.connect_timeout or 10) + 20)
		line = proc.stdout.readline() if ready else b""
		proc.stdout.close()
		try:
			reply = json.loads(line)
		except ValueError:
			proc.kill()
			raise ProcureUATConnectionError(
				f"The SSH tunnel service for {cfg.ssh_host}:{cfg.ssh_port} did not start in time"
			) from None
		if not reply.get("ok"):
			raise _ERRORS.get(reply.get("reason"), ProcureUATConnectionError)(reply.get("message", ""))
		return LOOPBACK, int(reply["port"])


def forget_tunnel(cfg: ConnectionConfig) -> None:
	"""Stop the shared tunnel of `cfg` (e.g. after it stopped forwarding); the next user starts a new one."""
	state_path = run_dir() / f"{tunnel_key(cfg)}.json"
	state = _read_state(state_path)
	if state:
		try:
			os.kill(int(state["pid"]), signal.SIGTERM)
		except OSError:
			pass
	state_path.unlink(missing_ok=True)


def _serve(state_path: Path) -> int:
	"""The service: open the tunnel, report its port on stdout, keep it while it lives."""
	from o2o_sync.sync.portal.tunnel import open_tunnel

	request = json.loads(sys.stdin.read())
	cfg = ConnectionConfig(**{name: request[name] for name in TUNNEL_FIELDS if name in request})
	try:
		tunnel = open_tunnel(cfg)
		if tunnel.local_host != LOOPBACK:
			tunnel.close()
			raise ProcureUATConnectionError(f"The SSH tunnel listened on {tunnel.local_host}, not {LOOPBACK}")
	except ProcureUATConnectionError as e:
		print(json.dumps({"ok": False, "reason": e.reason, "message": str(e)}), flush=True)
		return 1
	old_umask = os.umask(0o077)
	try:
		state_path.write_text(json.dumps({"pid": os.getpid(), "port": tunnel.local_port}))
	finally:
		os.umask(old_umask)
	print(json.dumps({"ok": True, "port": tunnel.local_port}), flush=True)
	sys.stdout.close()
	stopping = []
	signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
	started = time.monotonic()
	while tunnel.is_active() and not stopping and time.monotonic() - started < MAX_LIFETIME_SECONDS:
		time.sleep(1)
	# no new users from here on; connections in flight get a grace period unless the tunnel is gone
	try:
		if json.loads(state_path.read_text()).get("pid") == os.getpid():
			state_path.unlink()
	except (OSError, ValueError):
		pass
	if tunnel.is_active() and not stopping:
		time.sleep(GRACE_SECONDS)
	tunnel.close()
	return 0


if __name__ == "__main__":
	sys.exit(_serve(Path(sys.argv[1])))
