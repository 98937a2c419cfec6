"""The shared tunnel service: one SSH login serves every worker process, and a dead tunnel
is reopened on demand (real sshd, real MariaDB). It trusts only a run directory of its own
user that nobody else may write, is sent the SSH login but never the database's, and
listens on 127.0.0.1 only."""

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
from pathlib import Path

import pytest

from o2o_sync.sync.model.errors import HostKeyMismatch, ProcureUATConnectionError
from o2o_sync.sync.portal import tunnel_service
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.tunnel_service import (
	TUNNEL_FIELDS,
	forget_tunnel,
	run_dir,
	shared_tunnel,
	tunnel_key,
)


def _logins(sshd) -> int:
	return sshd.log_text().count("Accepted publickey")


def _query_in_new_process(config, queue):
	client = ProcureUATClient(config, shared_tunnel=True).open()
	queue.put(client.fetch_vendors([1]) == {} and client.conn.get_host_info())
	client.close()


@pytest.fixture
def shared(portal_config, tmp_path, monkeypatch):
	monkeypatch.setenv("O2O_SYNC_RUN_DIR", str(tmp_path))
	yield portal_config
	forget_tunnel(portal_config)


def test_worker_processes_share_one_ssh_login(shared, sshd):
	before = _logins(sshd)
	ctx = multiprocessing.get_context("spawn")
	queue = ctx.Queue()
	for _ in range(3):  # three jobs, each in its own process, as RQ runs them
		proc = ctx.Process(target=_query_in_new_process, args=(shared, queue))
		proc.start()
		assert queue.get(timeout=60)
		proc.join(timeout=30)
	assert _logins(sshd) - before == 1
	state = json.loads((run_dir() / f"{tunnel_key(shared)}.json").read_text())
	assert set(state) == {"pid", "port"}  # no secret in the state file
	assert oct(os.stat(run_dir() / f"{tunnel_key(shared)}.json").st_mode)[-3:] == "600"


def test_a_dead_tunnel_is_reopened_by_the_next_job(shared, sshd):
	first = ProcureUATClient(shared, shared_tunnel=True).open()
	first.close()
	state = json.loads((run_dir() / f"{tunnel_key(shared)}.json").read_text())
	os.kill(state["pid"], signal.SIGKILL)  # the service (and its tunnel) died
	before = _logins(sshd)
	second = ProcureUATClient(shared, shared_tunnel=True).open()
	assert second.fetch_vendors([1]) == {}
	second.close()
	assert _logins(sshd) - before == 1
	assert json.loads((run_dir() / f"{tunnel_key(shared)}.json").read_text())["pid"] != state["pid"]


def test_the_service_refuses_a_wrong_host_key_like_the_tunnel(shared, sshd, tmp_path):
	from test_tunnel import _random_key_line

	wrong = dataclasses.replace(shared, ssh_host_key=_random_key_line("ed25519", tmp_path))
	with pytest.raises(HostKeyMismatch) as e:
		ProcureUATClient(wrong, shared_tunnel=True).open()
	assert "SHA256:" in str(e.value) and "PRIVATE KEY" not in str(e.value)


# ---------------------------------------------------------------- what the service trusts and is sent

DB_SECRET = "db-Secret-9f3!Zq"


def test_the_service_is_sent_the_ssh_login_only_and_listens_on_loopback(shared, sshd, monkeypatch):
	sent = []

	class RecordingPopen(subprocess.Popen):
		def __init__(self, *args, **kwargs):
			super().__init__(*args, **kwargs)
			pipe = self.stdin

			class Recorder:
				def write(self, data):
					sent.append(data)
					return pipe.write(data)

				def close(self):
					pipe.close()

			self.stdin = Recorder()

	monkeypatch.setattr(tunnel_service.subprocess, "Popen", RecordingPopen)
	cfg = dataclasses.replace(shared, password=DB_SECRET, username="portal_login_x", database="portal_db_x")
	host, port = shared_tunnel(cfg)

	payload = b"".join(sent)
	assert set(json.loads(payload)) == set(TUNNEL_FIELDS)
	for secret in (DB_SECRET, "portal_login_x", "portal_db_x"):
		assert secret.encode() not in payload
	# nor on the service's command line or in its environment
	pid = json.loads((run_dir() / f"{tunnel_key(cfg)}.json").read_text())["pid"]
	for name in ("cmdline", "environ"):
		exposed = Path(f"/proc/{pid}/{name}").read_bytes()
		assert DB_SECRET.encode() not in exposed and b"PRIVATE KEY" not in exposed

	# the forward listens on 127.0.0.1 only: every listening socket of the service is loopback
	assert host == "127.0.0.1"
	listening = _listening_addresses(pid)
	assert listening == {("127.0.0.1", port)}


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
	"""(address, port) of each TCP socket in LISTEN state the process `pid` holds (IPv4 and IPv6)."""
	inodes = set()
	for fd in Path(f"/proc/{pid}/fd").iterdir():
		try:
			target = os.readlink(fd)
		except OSError:
			continue
		if target.startswith("socket:["):
			inodes.add(target[len("socket:[") : -1])
	found = set()
	for table in ("tcp", "tcp6"):
		for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
			fields = line.split()
			local, state, inode = fields[1], fields[3], fields[9]
			if state != "0A" or inode not in inodes:  # 0A: LISTEN
				continue
			address, port = local.split(":")
			if table == "tcp":
				address = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
			found.add((address, int(port, 16)))
	return found


def test_a_run_dir_others_may_write_is_refused(portal_config, tmp_path, monkeypatch):
	folder = tmp_path / "run"
	folder.mkdir(mode=0o700)
	folder.chmod(0o777)
	monkeypatch.setenv("O2O_SYNC_RUN_DIR", str(folder))
	with pytest.raises(ProcureUATConnectionError) as e:
		ProcureUATClient(portal_config, shared_tunnel=True).open()
	assert "may be written by other users" in str(e.value)
	assert list(folder.iterdir()) == []  # no lock, no state file, no service

	folder.chmod(0o720)  # group-writable is refused too
	with pytest.raises(ProcureUATConnectionError):
		shared_tunnel(portal_config)


def test_a_run_dir_of_another_user_is_refused(portal_config, tmp_path, monkeypatch):
	if os.getuid() == 0:
		folder = tmp_path / "theirs"
		folder.mkdir(mode=0o700)
		os.chown(folder, 65534, 65534)  # nobody's
	else:
		folder = Path("/usr")  # root's; this user cannot own it
	monkeypatch.setenv("O2O_SYNC_RUN_DIR", str(folder))
	with pytest.raises(ProcureUATConnectionError) as e:
		shared_tunnel(portal_config)
	assert "not to this user" in str(e.value)


def test_a_symlinked_run_dir_is_refused(portal_config, tmp_path, monkeypatch):
	real = tmp_path / "real"
	real.mkdir(mode=0o700)
	(tmp_path / "link").symlink_to(real)
	monkeypatch.setenv("O2O_SYNC_RUN_DIR", str(tmp_path / "link"))
	with pytest.raises(ProcureUATConnectionError) as e:
		shared_tunnel(portal_config)
	assert "not a directory" in str(e.value)


def test_a_state_file_naming_another_users_process_is_not_trusted(shared, sshd):
	# a tunnel service run by another user (here: a process of uid 65534 whose command line
	# names the service) must never receive this user's database login
	if os.getuid() != 0:
		pytest.skip("needs root to start a process as another user")
	impostor = subprocess.Popen(
		["/bin/sh", "-c", "sleep 60; true", "o2o_sync.sync.portal.tunnel_service"],
		user=65534,
		group=65534,
	)
	try:
		state_path = run_dir() / f"{tunnel_key(shared)}.json"
		state_path.write_text(json.dumps({"pid": impostor.pid, "port": 9}))
		_host, port = shared_tunnel(shared)
		assert port != 9  # a service of our own was started instead
		assert json.loads(state_path.read_text())["pid"] != impostor.pid
	finally:
		impostor.kill()
		impostor.wait()
