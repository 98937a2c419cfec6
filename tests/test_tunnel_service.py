"""The shared tunnel service: one SSH login serves every worker process, and a dead tunnel
is reopened on demand (real sshd, real MariaDB)."""

import dataclasses
import json
import multiprocessing
import os
import signal

import pytest

from o2o_sync.sync.errors import HostKeyMismatch
from o2o_sync.sync.procureuat_client import ProcureUATClient
from o2o_sync.sync.tunnel_service import forget_tunnel, run_dir, tunnel_key


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
