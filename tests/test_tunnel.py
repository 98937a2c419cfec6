"""The SSH tunnel against a real sshd: host key verification, authentication, error mapping."""

import dataclasses
import secrets
import socket
import subprocess
import time

import pymysql
import pytest

from o2o_sync.sync.model import errors
from o2o_sync.sync.portal.tunnel import fetch_host_key, fingerprint, load_private_key, open_tunnel


def _query_one(tunnel, cfg, sql="SELECT 1 AS one"):
	conn = pymysql.connect(
		host=tunnel.local_host,
		port=tunnel.local_port,
		user=cfg.username,
		password=cfg.password,
		database=cfg.database,
		connect_timeout=10,
		cursorclass=pymysql.cursors.DictCursor,
	)
	try:
		with conn.cursor() as cur:
			cur.execute(sql)
			return cur.fetchone()
	finally:
		conn.close()


def _random_key_line(key_type="ed25519", tmp_path=None):
	path = tmp_path / f"other_{key_type}_{secrets.token_hex(3)}"
	subprocess.run(
		[
			"ssh-keygen",
			"-q",
			"-t",
			key_type,
			*(["-b", "2048"] if key_type == "rsa" else []),
			"-N",
			"",
			"-C",
			"",
			"-f",
			str(path),
		],
		check=True,
	)
	return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def _assert_no_secrets(message, *secrets_):
	for secret in secrets_:
		if not secret:
			continue
		assert secret not in message
		for line in secret.splitlines():
			if len(line) > 20 and not line.startswith("-----"):
				assert line not in message


def test_tunnel_queries_through_sshd(portal_config):
	with open_tunnel(portal_config) as tunnel:
		assert tunnel.local_host == "127.0.0.1"
		assert tunnel.local_port > 0
		assert tunnel.is_active()
		assert _query_one(tunnel, portal_config) == {"one": 1}
		# the tunnel serves several connections in turn, and the portal schema is there
		assert _query_one(tunnel, portal_config, "SELECT COUNT(*) AS n FROM purchase_requisitions") == {
			"n": 0
		}
	assert not tunnel.is_active()
	tunnel.close()  # idempotent
	with pytest.raises(OSError):
		socket.create_connection((tunnel.local_host, tunnel.local_port), timeout=2).close()


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_rsa_and_ecdsa_client_keys(sshd, portal_config, key_type):
	cfg = dataclasses.replace(portal_config, ssh_private_key=sshd.add_client_key(key_type))
	with open_tunnel(cfg) as tunnel:
		assert _query_one(tunnel, cfg) == {"one": 1}


def test_host_key_accepted_in_known_hosts_form(sshd, portal_config):
	line = f"[{sshd.host}]:{sshd.port} {sshd.host_key_line} comment\n"
	cfg = dataclasses.replace(portal_config, ssh_host_key=line)
	with open_tunnel(cfg) as tunnel:
		assert tunnel.is_active()


def test_wrong_host_key_is_refused(sshd, portal_config, tmp_path):
	other = _random_key_line("ed25519", tmp_path)
	cfg = dataclasses.replace(portal_config, ssh_host_key=other)
	with pytest.raises(errors.HostKeyMismatch) as caught:
		open_tunnel(cfg)
	message = str(caught.value)
	assert type(caught.value) is errors.HostKeyMismatch
	assert caught.value.reason == "host_key_mismatch"
	assert sshd.host_key_fingerprint in message
	assert fingerprint(other) in message
	# no key material in the message: neither host key text nor the client key
	assert other.split()[1] not in message
	assert sshd.host_key_line.split()[1] not in message
	_assert_no_secrets(message, cfg.ssh_private_key, cfg.password)


def test_host_key_of_a_type_the_bastion_lacks_is_refused(portal_config, tmp_path):
	cfg = dataclasses.replace(portal_config, ssh_host_key=_random_key_line("rsa", tmp_path))
	with pytest.raises(errors.HostKeyMismatch) as caught:
		open_tunnel(cfg)
	assert "Fetch host key" in str(caught.value)


@pytest.mark.parametrize("host_key", ["", "   ", "not a key", "ssh-ed25519 !!!notbase64"])
def test_missing_or_invalid_host_key_is_refused_before_connecting(portal_config, host_key):
	cfg = dataclasses.replace(portal_config, ssh_host_key=host_key)
	with pytest.raises(errors.HostKeyNotConfigured) as caught:
		open_tunnel(cfg)
	assert isinstance(caught.value, errors.HostKeyMismatch)
	assert caught.value.reason == "host_key_not_configured"
	assert "Fetch host key" in str(caught.value)


def test_wrong_client_key_is_refused(sshd, portal_config):
	unauthorized = sshd.add_client_key(authorize=False)
	cfg = dataclasses.replace(portal_config, ssh_private_key=unauthorized)
	with pytest.raises(errors.SSHAuthFailed) as caught:
		open_tunnel(cfg)
	assert caught.value.reason == "ssh_auth_refused"
	assert sshd.username in str(caught.value)
	_assert_no_secrets(str(caught.value), unauthorized)


def test_wrong_username_is_refused(portal_config):
	cfg = dataclasses.replace(portal_config, ssh_username="o2o-no-such-user")
	with pytest.raises(errors.SSHAuthFailed):
		open_tunnel(cfg)


@pytest.mark.parametrize("key_text", ["", "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n", "hello"])
def test_unusable_private_key_text(portal_config, key_text):
	cfg = dataclasses.replace(portal_config, ssh_private_key=key_text)
	with pytest.raises(errors.SSHAuthFailed):
		open_tunnel(cfg)


def test_closed_port_is_bastion_unreachable(portal_config):
	with socket.socket() as sock:
		sock.bind(("127.0.0.1", 0))
		free_port = sock.getsockname()[1]
	cfg = dataclasses.replace(portal_config, ssh_port=free_port)
	started = time.monotonic()
	with pytest.raises(errors.BastionUnreachable) as caught:
		open_tunnel(cfg)
	assert time.monotonic() - started < 5
	assert caught.value.reason == "bastion_unreachable"
	assert str(free_port) in str(caught.value)


def test_non_ssh_server_is_bastion_unreachable(portal_config, portal_server):
	# MariaDB's port talks, but not SSH
	cfg = dataclasses.replace(
		portal_config, ssh_host=portal_server["host"], ssh_port=portal_server["port"], connect_timeout=3
	)
	with pytest.raises(errors.BastionUnreachable):
		open_tunnel(cfg)


def test_silent_server_times_out_within_connect_timeout(portal_config):
	with socket.socket() as listener:  # accepts TCP but never speaks
		listener.bind(("127.0.0.1", 0))
		listener.listen(1)
		cfg = dataclasses.replace(portal_config, ssh_port=listener.getsockname()[1], connect_timeout=1.0)
		started = time.monotonic()
		with pytest.raises(errors.BastionUnreachable):
			open_tunnel(cfg)
		assert time.monotonic() - started < 6


def test_unresolvable_bastion(portal_config):
	cfg = dataclasses.replace(portal_config, ssh_host="no-such-host.invalid")
	with pytest.raises(errors.BastionUnreachable):
		open_tunnel(cfg)


def test_passphrase_protected_key(sshd, portal_config):
	passphrase = secrets.token_urlsafe(12)
	key = sshd.add_client_key(passphrase=passphrase)
	with pytest.raises(errors.SSHAuthFailed, match="encrypted"):
		load_private_key(key, "")  # really encrypted
	good = dataclasses.replace(portal_config, ssh_private_key=key, ssh_key_passphrase=passphrase)
	with open_tunnel(good) as tunnel:
		assert _query_one(tunnel, good) == {"one": 1}

	wrong = dataclasses.replace(good, ssh_key_passphrase=passphrase + "x")
	with pytest.raises(errors.SSHAuthFailed) as caught:
		open_tunnel(wrong)
	assert "passphrase" in str(caught.value)
	_assert_no_secrets(str(caught.value), passphrase, key)

	missing = dataclasses.replace(good, ssh_key_passphrase="")
	with pytest.raises(errors.SSHAuthFailed):
		open_tunnel(missing)


def test_passphrase_ignored_for_unencrypted_key(portal_config):
	cfg = dataclasses.replace(portal_config, ssh_key_passphrase="stale-" + secrets.token_hex(4))
	with open_tunnel(cfg) as tunnel:
		assert tunnel.is_active()


def test_sshd_started_with_passphrase_key():
	from o2o_sync.setup.portal_bastion import SshServer

	passphrase = secrets.token_urlsafe(12)
	with SshServer(passphrase=passphrase) as server:
		assert server.client_key_passphrase == passphrase
		key = load_private_key(server.client_private_key, passphrase)
		assert key.get_name() == "ssh-ed25519"
		with pytest.raises(errors.SSHAuthFailed):
			load_private_key(server.client_private_key, "")
	assert not server.is_running()


def test_fetch_host_key_matches_ssh_keygen(sshd):
	result = fetch_host_key(sshd.host, sshd.port, timeout=5)
	assert result["key_line"] == sshd.host_key_line
	assert result["key_type"] == "ssh-ed25519"
	assert result["fingerprint"] == sshd.host_key_fingerprint
	assert fingerprint(result["key_line"]) == sshd.host_key_fingerprint
	assert fingerprint(result["key_line"] + " some comment") == sshd.host_key_fingerprint


def test_fetch_host_key_unreachable():
	with socket.socket() as sock:
		sock.bind(("127.0.0.1", 0))
		free_port = sock.getsockname()[1]
	with pytest.raises(errors.BastionUnreachable):
		fetch_host_key("127.0.0.1", free_port, timeout=2)


def test_fingerprint_rejects_garbage():
	with pytest.raises(ValueError):
		fingerprint("ssh-ed25519 AAAA")
	with pytest.raises(ValueError):
		fingerprint("")


def test_tunnel_reports_inactive_when_bastion_goes_away(portal_config):
	from o2o_sync.setup.portal_bastion import SshServer

	with SshServer() as server:
		cfg = dataclasses.replace(
			portal_config,
			ssh_port=server.port,
			ssh_private_key=server.client_private_key,
			ssh_host_key=server.host_key_line,
		)
		tunnel = open_tunnel(cfg)
		assert tunnel.is_active()
	try:
		deadline = time.monotonic() + 10
		while tunnel.is_active() and time.monotonic() < deadline:
			time.sleep(0.1)
		assert not tunnel.is_active()
	finally:
		tunnel.close()
