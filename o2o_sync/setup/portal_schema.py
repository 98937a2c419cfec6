"""A ProcureUAT portal database of our own: create, drop and connect to one built from the portal's DDL.

The demo portal (`o2o_sync.setup.demo`), the benchmark and the tests build their portal
databases here, from `procureuat_schema.sql`: our copy of the portal's DDL written from the
contract ("Tables"), legacy habits included. The real portal's schema is never touched.

Needs PyMySQL and the standard library only; never imports frappe.
"""

import os
import re
from pathlib import Path

import pymysql
import pymysql.cursors

#: Our copy of the portal's DDL (shipped inside the package, next to this module).
SCHEMA_PATH = Path(__file__).with_name("procureuat_schema.sql")
#: Session SQL mode of helper connections: strict like the portal's server, zero dates allowed.
PORTAL_SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_CREATE_TABLE = re.compile(r"CREATE TABLE `([^`]+)`")


def db_server() -> dict:
	"""The MariaDB server throwaway portals (tests, benchmark) live on: dict host, port, user, password.

	From O2O_TEST_DB_HOST / _PORT / _USER / _PASSWORD; default 127.0.0.1:3306, root, no password.
	"""
	return {
		"host": os.environ.get("O2O_TEST_DB_HOST", "127.0.0.1"),
		"port": int(os.environ.get("O2O_TEST_DB_PORT", "3306")),
		"user": os.environ.get("O2O_TEST_DB_USER", "root"),
		"password": os.environ.get("O2O_TEST_DB_PASSWORD", ""),
	}


def schema_statements(path: Path | str = SCHEMA_PATH) -> list[str]:
	"""Split the schema file into statements.

	Lines starting with ``--`` are comments; a statement ends with ``;`` at the end of a
	line. Returns the statements without their ``;``.
	"""
	statements, current = [], []
	for line in Path(path).read_text(encoding="utf-8").splitlines():
		stripped = line.strip()
		if not stripped or stripped.startswith("--"):
			continue
		current.append(line)
		if stripped.endswith(";"):
			statements.append("\n".join(current).rstrip().rstrip(";"))
			current = []
	if current:
		statements.append("\n".join(current))
	return statements


def portal_tables(path: Path | str = SCHEMA_PATH) -> set[str]:
	"""Names of the tables the schema file creates (e.g. {'entitys', 'vendors', ...})."""
	return {
		_CREATE_TABLE.search(s).group(1)
		for s in schema_statements(path)
		if s.lstrip().upper().startswith("CREATE TABLE")
	}


def check_db_name(db_name: str) -> str:
	"""`db_name` when it is 1-64 letters, digits or underscores; ValueError otherwise."""
	if not _DB_NAME.match(db_name or ""):
		raise ValueError(f"database name must be 1-64 letters, digits or underscores: {db_name!r}")
	return db_name


def _server_connection(host, port, user, password, database=None) -> pymysql.Connection:
	return pymysql.connect(
		host=host,
		port=int(port),
		user=user,
		password=password,
		database=database,
		charset="utf8mb4",
		autocommit=True,
		connect_timeout=10,
		cursorclass=pymysql.cursors.DictCursor,
		init_command=f"SET SESSION sql_mode = '{PORTAL_SQL_MODE}'",
	)


def create_portal_database(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> None:
	"""Create an empty portal database `db_name` (dropped first if it exists) and load the schema.

	`db_name` must be letters, digits and underscores (ValueError otherwise).
	Raises pymysql errors when the server cannot be reached or refuses.
	"""
	check_db_name(db_name)
	conn = _server_connection(host, port, user, password)
	try:
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
			cur.execute(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
			cur.execute(f"USE `{db_name}`")
			for statement in schema_statements():
				cur.execute(statement)
	finally:
		conn.close()


def drop_portal_database(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> None:
	"""Drop the database `db_name` if it exists (ValueError for a malformed name)."""
	check_db_name(db_name)
	conn = _server_connection(host, port, user, password)
	try:
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
	finally:
		conn.close()


def connect_portal(
	db_name: str, host: str = "127.0.0.1", port: int = 3306, user: str = "root", password: str = ""
) -> pymysql.Connection:
	"""Open a direct connection to the portal database `db_name`.

	Returns a PyMySQL connection with autocommit on, DictCursor rows, utf8mb4 and the
	portal's strict SQL mode (`PORTAL_SQL_MODE`, zero dates allowed). The caller closes it.
	"""
	return _server_connection(host, port, user, password, database=check_db_name(db_name))
