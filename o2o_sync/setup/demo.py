# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""A demo ProcureUAT portal in the bench's own MariaDB, so a new user sees the pull work before
the real portal (behind its SSH bastion) is reachable.

`create_demo_portal` builds the portal database from the project's copy of the portal's DDL,
seeds one buyer entity, three vendors and realistic invoices, creates a MariaDB user that may
only read and write that database, and a Database Connection "ProcureUAT Demo" holding that
user (never the admin credentials). From the shell: ``bench --site SITE o2o-demo-portal``.

The demo's portal ids (entity 9001, vendors 900001-900003, requisitions from 900001) are kept
far from a real portal's small ids, because Sync Mapping and the Supplier links key on them.
Meant for a trial site: drop the demo database and its user when done (see `drop_demo_portal`).

This module is the command: checks, the admin login, the demo's MariaDB user. What it seeds
is in `demo_data`, what it writes on the ERPNext side in `demo_erpnext`; the portal database
itself comes from `portal_schema`.
"""

import re
import secrets

import frappe
import pymysql
from frappe import _
from frappe.utils import cint

from o2o_sync.constants import SETTINGS
from o2o_sync.setup.demo_data import (  # DEMO_ID_BASE: the demo's first portal id, for callers
	DEMO_ENTITY_ID,
	DEMO_ID_BASE,
	seed_entity_and_vendors,
	seed_invoices,
)
from o2o_sync.setup.demo_erpnext import (
	FREIGHT_ITEM,
	SERVICE_ITEM,
	ensure_item,
	entity_gstin_for,
	fiscal_year_covers,
	invoice_window,
	save_connection,
	update_settings,
)
from o2o_sync.setup.portal_schema import (
	connect_portal,
	create_portal_database,
	drop_portal_database,
	portal_tables,
)

DEMO_CONNECTION = "ProcureUAT Demo"
DEMO_DATABASE = "procureuat_demo"
DEMO_DB_USER = "o2o_demo"
#: Host parts of the demo user: TCP logins (the server may skip name resolution) and the socket.
DEMO_USER_HOSTS = ("%", "localhost")
DEMO_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
MAX_INVOICES = 5000

_DB_USER_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_SYSTEM_DATABASES = {"mysql", "information_schema", "performance_schema", "sys"}


def db_server_settings() -> dict:
	"""Host and port of the site's own MariaDB: `{"host": str, "port": int}` (default 127.0.0.1:3306)."""
	return {
		"host": frappe.conf.get("db_host") or "127.0.0.1",
		"port": cint(frappe.conf.get("db_port")) or 3306,
	}


def admin_credentials(username: str | None = None, password: str | None = None) -> tuple[str, str]:
	"""The MariaDB admin login to use: the given one, else `root_login` / `root_password` from
	site_config.json or common_site_config.json, else root with an empty password.

	Returns `(username, password)`.
	"""
	return (
		username or frappe.conf.get("root_login") or "root",
		password if password is not None else (frappe.conf.get("root_password") or ""),
	)


def admin_login_refused(username: str | None = None, password: str | None = None) -> bool:
	"""True when the site's MariaDB refuses the admin login `admin_credentials` gives (access
	denied, MySQL error 1045); False when it accepts it. Other pymysql errors (server down)
	are raised. Used by the `o2o-demo-portal` command to ask for a password only when needed.
	"""
	admin_user, admin_password = admin_credentials(username, password)
	try:
		_admin_connection(dict(db_server_settings(), user=admin_user, password=admin_password)).close()
	except pymysql.OperationalError as e:
		if e.args and e.args[0] == 1045:
			return True
		raise
	return False


def create_demo_portal(
	database_name: str = DEMO_DATABASE,
	invoices: int = 40,
	db_root_username: str | None = None,
	db_root_password: str | None = None,
	map_company: str | None = None,
	*,
	connection_name: str = DEMO_CONNECTION,
	db_user: str = DEMO_DB_USER,
) -> dict:
	"""Create (or re-create) the demo portal database, its MariaDB user and its Database Connection.

	Args:
		database_name: the portal database to (drop and) create on the site's MariaDB host; it
			must not be the site's own database, a system schema, or a database with tables
			other than the portal's.
		invoices: how many invoices to seed (1 to 5000); about a tenth belong to the
			unregistered vendor and carry no GST, the rest are `seed_realistic`'s.
		db_root_username, db_root_password: MariaDB admin login (see `admin_credentials`);
			used for this call only and never stored. The bench command never takes the
			password on its command line (see `o2o_sync.commands`).
		map_company: an ERPNext Company to map the demo entity to in O2O Sync Settings, with
			its "CGST - ABBR", "SGST - ABBR", "IGST - ABBR" accounts when they exist.
		connection_name: name of the Database Connection to create or update.
		db_user: the MariaDB user the connection logs in as (created with a new random password,
			privileges on `database_name` only). Re-running rotates its password.

	Returns a summary dict: `database`, `host`, `port`, `db_user`, `connection`,
	`connection_is_default` (bool), `entity_id`, `entity_gstin`, `vendors` (list of
	`{"id", "name", "gstin"}`), `invoices` (int), `requisition_ids` ([first, last]),
	`invoice_dates` ([first, last] as "YYYY-MM-DD"), `company` (or None), `next_steps` (list of
	str). It never contains a password.

	Raises frappe.ValidationError for bad arguments and pymysql errors when the server refuses.
	Commits the ERPNext side (Database Connection, Items, O2O Sync Settings).
	"""
	frappe.only_for("System Manager")
	invoices = cint(invoices)
	_check_arguments(database_name, invoices, db_user, map_company)
	server = db_server_settings()
	admin_user, admin_password = admin_credentials(db_root_username, db_root_password)
	if admin_user == db_user:
		frappe.throw(_("The demo user {0} cannot be the admin user that creates it").format(db_user))

	gstin = entity_gstin_for(map_company)
	first_day, last_day = invoice_window(map_company)

	admin = dict(server, user=admin_user, password=admin_password)
	_check_database_is_replaceable(database_name, admin)
	create_portal_database(database_name, **admin)
	conn = connect_portal(database_name, **admin)
	try:
		vendors = seed_entity_and_vendors(conn, gstin)
		requisition_ids = seed_invoices(conn, invoices, vendors, first_day, last_day)
		demo_password = secrets.token_urlsafe(24)
		_create_demo_user(conn, db_user, demo_password, database_name)
	finally:
		conn.close()

	save_connection(connection_name, database_name, server, db_user, demo_password)
	del demo_password
	ensure_item(SERVICE_ITEM, "Portal invoice lines without a linked ERPNext Item")
	ensure_item(FREIGHT_ITEM, "Freight charged on portal invoices")
	next_steps = update_settings(connection_name, map_company, gstin)
	frappe.db.commit()  # nosemgrep: the connection's password matches the MariaDB user just made

	is_default = frappe.db.get_single_value(SETTINGS, "database_connection") == connection_name
	site = getattr(frappe.local, "site", None) or "SITE"
	if not fiscal_year_covers(first_day, map_company) or not fiscal_year_covers(last_day, map_company):
		next_steps.append(
			_("Create a Fiscal Year covering {0} to {1}: the pull keeps the invoices' own dates").format(
				first_day.date(), last_day.date()
			)
		)
	next_steps.append(
		f"bench --site {site} execute o2o_sync.sync.sync_utils.test_database_connection"
		f' --kwargs \'{{"connection": "{connection_name}"}}\''
	)
	if is_default:
		next_steps.append(f"bench --site {site} execute o2o_sync.sync.sync_utils.bulk_sync_from_external")
	return {
		"database": database_name,
		"host": server["host"],
		"port": server["port"],
		"db_user": db_user,
		"connection": connection_name,
		"connection_is_default": is_default,
		"entity_id": DEMO_ENTITY_ID,
		"entity_gstin": gstin,
		"vendors": vendors,
		"invoices": len(requisition_ids),
		"requisition_ids": [requisition_ids[0], requisition_ids[-1]],
		"invoice_dates": [str(first_day.date()), str(last_day.date())],
		"company": map_company,
		"next_steps": next_steps,
	}


def drop_demo_portal(
	database_name: str = DEMO_DATABASE,
	db_root_username: str | None = None,
	db_root_password: str | None = None,
	*,
	db_user: str = DEMO_DB_USER,
) -> None:
	"""Drop the demo database and its MariaDB user (the Database Connection and settings stay).

	Same checks and admin login as `create_demo_portal`; missing ones are not an error.
	"""
	frappe.only_for("System Manager")
	_check_arguments(database_name, 1, db_user, None)
	admin_user, admin_password = admin_credentials(db_root_username, db_root_password)
	admin = dict(db_server_settings(), user=admin_user, password=admin_password)
	_check_database_is_replaceable(database_name, admin)
	drop_portal_database(database_name, **admin)
	conn = _admin_connection(admin)
	try:
		with conn.cursor() as cur:
			for host in DEMO_USER_HOSTS:
				cur.execute("DROP USER IF EXISTS %s@%s", (db_user, host))
	finally:
		conn.close()


# ---------------------------------------------------------------------------
# checks


def _check_arguments(database_name, invoices, db_user, map_company):
	if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", database_name or ""):
		frappe.throw(_("Database name must be 1-64 letters, digits or underscores"))
	if database_name.lower() in _SYSTEM_DATABASES or database_name == frappe.conf.get("db_name"):
		frappe.throw(_("Database {0} is not a demo database; choose another name").format(database_name))
	if not 1 <= invoices <= MAX_INVOICES:
		frappe.throw(_("Invoices must be between 1 and {0}").format(MAX_INVOICES))
	if not _DB_USER_RE.match(db_user or ""):
		frappe.throw(_("The demo user name must be 1-32 letters, digits or underscores"))
	if map_company and not frappe.db.exists("Company", map_company):
		frappe.throw(_("Company {0} does not exist").format(map_company))


def _admin_connection(admin: dict, database: str | None = None) -> pymysql.Connection:
	return pymysql.connect(
		host=admin["host"],
		port=int(admin["port"]),
		user=admin["user"],
		password=admin["password"],
		database=database,
		charset="utf8mb4",
		autocommit=True,
		connect_timeout=10,
	)


def _check_database_is_replaceable(database_name: str, admin: dict):
	"""Refuse to drop a database that holds anything but the portal's tables (another site's, say)."""
	expected = portal_tables()
	conn = _admin_connection(admin)
	try:
		with conn.cursor() as cur:
			cur.execute(
				"SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database_name,)
			)
			tables = {row[0] for row in cur.fetchall()}
	finally:
		conn.close()
	if foreign := sorted(tables - expected):
		frappe.throw(
			_("Database {0} has tables that are not the portal's ({1}); it will not be dropped").format(
				database_name, ", ".join(foreign[:5])
			)
		)


def _create_demo_user(conn, user: str, password: str, database_name: str):
	"""Create (or reset) `user` with `password` and only `DEMO_PRIVILEGES` on `database_name`."""
	with conn.cursor() as cur:
		for host in DEMO_USER_HOSTS:
			cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
			cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
			# privileges on an earlier demo database (or anything else) go
			cur.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", (user, host))
			cur.execute(f"GRANT {DEMO_PRIVILEGES} ON `{database_name}`.* TO %s@%s", (user, host))
