"""Shared pytest fixtures: a real sshd bastion and a throwaway ProcureUAT database.

Fixtures (generic, for every test module of the engine):

- `portal_server` (session): MariaDB connection arguments for the helpers
  (dict host/port/user/password), from O2O_TEST_DB_HOST / _PORT / _USER / _PASSWORD,
  default 127.0.0.1:3306 root with an empty password.
- `sshd` (session): a running `SshServer` (real /usr/sbin/sshd on 127.0.0.1).
- `portal_db` (function): ``{"name": db_name, "conn": pymysql connection}`` on a fresh
  database `o2o_test_portal_<pid>_<random>` with the portal schema, dropped afterwards.
- `portal_config` (function): a `ConnectionConfig` reaching `portal_db` through `sshd`.

Nothing here imports frappe.
"""

import importlib.util
import os
import secrets
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("o2o_sync") is None:  # running from a checkout without `pip install -e`
	sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from o2o_sync.setup.portal_bastion import SshServer
from o2o_sync.setup.portal_schema import (
	connect_portal,
	create_portal_database,
	db_server,
	drop_portal_database,
)
from o2o_sync.sync.portal.config import ConnectionConfig


@pytest.fixture(scope="session")
def portal_server() -> dict:
	"""MariaDB server the portal databases are created on: dict host, port, user, password."""
	return db_server()


@pytest.fixture(scope="session")
def sshd():
	"""A real OpenSSH server for the whole session (see `SshServer` for its attributes)."""
	with SshServer() as server:
		yield server


@pytest.fixture
def portal_db(portal_server):
	"""A fresh portal database: yields {"name": db_name, "conn": autocommit DictCursor connection}."""
	name = f"o2o_test_portal_{os.getpid()}_{secrets.token_hex(4)}"
	create_portal_database(name, **portal_server)
	conn = connect_portal(name, **portal_server)
	try:
		yield {"name": name, "conn": conn}
	finally:
		conn.close()
		drop_portal_database(name, **portal_server)


@pytest.fixture
def portal_config(sshd, portal_db, portal_server) -> ConnectionConfig:
	"""ConnectionConfig for `portal_db` through the `sshd` bastion (database host as the bastion sees it)."""
	return ConnectionConfig(
		host=portal_server["host"],
		port=portal_server["port"],
		database=portal_db["name"],
		username=portal_server["user"],
		password=portal_server["password"],
		use_ssh_tunnel=True,
		ssh_host=sshd.host,
		ssh_port=sshd.port,
		ssh_username=sshd.username,
		ssh_private_key=sshd.client_private_key,
		ssh_key_passphrase=sshd.client_key_passphrase,
		ssh_host_key=sshd.host_key_line,
		connect_timeout=10.0,
		name=f"test-{portal_db['name']}",
	)
