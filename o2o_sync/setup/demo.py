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
"""

import random
import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import frappe
import pymysql
from frappe import _
from frappe.utils import cint, now_datetime

from o2o_sync.tests import portal_fixtures as pf

SETTINGS = "O2O Sync Settings"
DEMO_CONNECTION = "ProcureUAT Demo"
DEMO_DATABASE = "procureuat_demo"
DEMO_DB_USER = "o2o_demo"
#: Host parts of the demo user: TCP logins (the server may skip name resolution) and the socket.
DEMO_USER_HOSTS = ("%", "localhost")
DEMO_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"

DEMO_ENTITY_ID = 9001
DEMO_ENTITY_NAME = "Demo Buyer Pvt Ltd"
#: Used as the entity's GSTIN when the mapped company has no GSTIN of its own (Maharashtra).
DEMO_ENTITY_GSTIN = "27AAACD2026P1ZM"
#: Requisition and vendor ids start here.
DEMO_ID_BASE = 900001
#: (name, code, first 12 characters of the GSTIN after the state code): a vendor in the entity's
#: state, one in another state, one unregistered (no GSTIN).
DEMO_VENDORS = (
	("Sharma Office Supplies", "DEMO-V1", "AABCS4321K1Z"),
	("Kaveri Industrial Traders", "DEMO-V2", "AACCK7788M1Z"),
	("Lakshmi General Stores", "DEMO-V3", None),
)
SERVICE_ITEM = "ProcureUAT Service"
FREIGHT_ITEM = "ProcureUAT Freight"
DEMO_SEED = 2026
#: Invoice dates span this many days, ending yesterday evening.
DEMO_DAYS = 90
MAX_INVOICES = 5000

_DB_USER_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_SYSTEM_DATABASES = {"mysql", "information_schema", "performance_schema", "sys"}
#: Unit price ranges (rupees) of the GST-free goods the unregistered vendor sells: milk, fresh
#: vegetables, rice and pulses by the sack.
_GST_FREE_PRICES = ((20, 90), (35, 60), (200, 900))


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
			used for this call only and never stored.
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

	entity_gstin = _entity_gstin(map_company)
	first_day, last_day = _invoice_window(map_company)

	admin = dict(server, user=admin_user, password=admin_password)
	_check_database_is_replaceable(database_name, admin)
	pf.create_portal_database(database_name, **admin)
	conn = pf.connect_portal(database_name, **admin)
	try:
		vendors = _seed_entity_and_vendors(conn, entity_gstin)
		requisition_ids = _seed_invoices(conn, invoices, vendors, first_day, last_day)
		demo_password = secrets.token_urlsafe(24)
		_create_demo_user(conn, db_user, demo_password, database_name)
	finally:
		conn.close()

	_save_connection(connection_name, database_name, server, db_user, demo_password)
	del demo_password
	ensure_item(SERVICE_ITEM, "Portal invoice lines without a linked ERPNext Item")
	ensure_item(FREIGHT_ITEM, "Freight charged on portal invoices")
	next_steps = _update_settings(connection_name, map_company, entity_gstin)
	frappe.db.commit()  # nosemgrep: the connection's password matches the MariaDB user just made

	is_default = frappe.db.get_single_value(SETTINGS, "database_connection") == connection_name
	site = getattr(frappe.local, "site", None) or "SITE"
	if not _fiscal_year_covers(first_day, map_company) or not _fiscal_year_covers(last_day, map_company):
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
		"entity_gstin": entity_gstin,
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
	pf.drop_portal_database(database_name, **admin)
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
	portal_tables = {
		re.search(r"CREATE TABLE `([^`]+)`", s).group(1)
		for s in pf.schema_statements()
		if s.lstrip().upper().startswith("CREATE TABLE")
	}
	conn = _admin_connection(admin)
	try:
		with conn.cursor() as cur:
			cur.execute(
				"SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database_name,)
			)
			tables = {row[0] for row in cur.fetchall()}
	finally:
		conn.close()
	if foreign := sorted(tables - portal_tables):
		frappe.throw(
			_("Database {0} has tables that are not the portal's ({1}); it will not be dropped").format(
				database_name, ", ".join(foreign[:5])
			)
		)


# ---------------------------------------------------------------------------
# ERPNext side: what the demo needs to know before seeding


def _entity_gstin(company: str | None) -> str:
	"""The demo entity's GSTIN: the mapped company's own (its Tax ID) when it looks like one."""
	if company:
		from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import get_gstin_problem

		tax_id = (frappe.db.get_value("Company", company, "tax_id") or "").strip().upper()
		if tax_id and not get_gstin_problem(tax_id):
			return tax_id
	return DEMO_ENTITY_GSTIN


def _fiscal_year_covers(day: datetime, company: str | None) -> bool:
	from erpnext.accounts.utils import get_fiscal_year

	return bool(get_fiscal_year(day.date(), company=company, boolean=True))


def _invoice_window(company: str | None) -> tuple[datetime, datetime]:
	"""First and last invoice moments: `DEMO_DAYS` days up to yesterday 18:00 (site time), starting
	no earlier than the fiscal year of the last day when that year began since (a new year)."""
	last = datetime.combine(now_datetime().date() - timedelta(days=1), datetime.min.time()).replace(hour=18)
	first = (last - timedelta(days=DEMO_DAYS)).replace(hour=9)
	if not _fiscal_year_covers(first, company) and _fiscal_year_covers(last, company):
		from erpnext.accounts.utils import get_fiscal_year

		year_start = get_fiscal_year(last.date(), company=company, as_dict=True)["year_start_date"]
		first = datetime.combine(year_start, datetime.min.time()).replace(hour=9)
	if last - first < timedelta(days=1):
		first = last - timedelta(hours=1)
	return first, last


# ---------------------------------------------------------------------------
# portal side


def _seed_entity_and_vendors(conn, entity_gstin: str) -> list[dict]:
	"""Insert the entity and the three vendors; returns `[{"id", "name", "gstin"}]`.

	The first vendor's GSTIN is of the entity's state (CGST + SGST), the second's of another
	state (IGST); the third has none.
	"""
	pf.insert_entity(conn, DEMO_ENTITY_NAME, entity_gstin, id=DEMO_ENTITY_ID)
	with conn.cursor() as cur:
		cur.execute(
			"INSERT INTO subentitys (id, entity_id, name) VALUES (%s, %s, %s)",
			(1, DEMO_ENTITY_ID, "Head Office"),
		)
	from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import gstin_check_character

	state = entity_gstin[:2]
	states = (state, "29" if state != "29" else "27", None)
	vendors = []
	for offset, ((name, code, body), vendor_state) in enumerate(zip(DEMO_VENDORS, states, strict=True)):
		gstin = None
		if body and vendor_state:
			gstin = vendor_state + body + gstin_check_character(vendor_state + body)
		vendor_id = pf.insert_vendor(conn, name, code, gstin, id=DEMO_ID_BASE + offset)
		vendors.append({"id": vendor_id, "name": name, "gstin": gstin})
	return vendors


def _seed_invoices(conn, count: int, vendors: list[dict], first: datetime, last: datetime) -> list[int]:
	"""Seed `count` invoices between `first` and `last`; returns their requisition ids in order.

	About a tenth (at least one) belong to the unregistered vendor: GST-free lines only (an
	unregistered vendor may not charge GST), dated in the first days of the window and
	numbered first, ids from `DEMO_ID_BASE`, one of them with freight. The rest are
	`seed_realistic`'s invoices of the two registered vendors, with GST, continuing the ids
	and invoice numbers.
	"""
	rng = random.Random(DEMO_SEED)
	unregistered = vendors[2]["id"]
	n_unregistered = min(count, max(1, count // 10))
	span = last - first
	ids = []
	for index in range(n_unregistered):
		moment = first + span * (0.05 * index / n_unregistered) + timedelta(minutes=rng.randint(0, 300))
		lines = []
		for _position in range(rng.randint(1, 3)):
			low, high = rng.choice(_GST_FREE_PRICES)
			quantity = rng.randint(2, 60)
			rate = Decimal(rng.randint(low * 100, high * 100)) / 100
			lines.append(
				{
					"vendor_id": unregistered,
					"product_id": rng.randint(561, 580),
					"quantity": quantity,
					"cost": rate * quantity,
					"gst_amt": Decimal(0),
					"gst_id": 1,
					"unit_rate": f"{rate:.2f}",
					"uom": rng.choice(("Kg", "Ltr", "Nos")),
				}
			)
		header = {
			"order_name": f"Pantry provisions {moment:%b %Y}",
			"invoice_generated_at": moment,
			"created_at": moment - timedelta(hours=rng.randint(1, 48)),
			"updated_at": moment + timedelta(minutes=rng.randint(1, 60)),
			"subentity_id": "1",
		}
		if index == 0:
			header["id"] = DEMO_ID_BASE
		if index == min(1, n_unregistered - 1):
			header["freight_rate"] = header["freight_cost"] = "250"
		ids.append(pf.insert_invoice(conn, DEMO_ENTITY_ID, lines, **header))

	if count > n_unregistered:
		ids += pf.seed_realistic(
			conn,
			count - n_unregistered,
			entity_id=DEMO_ENTITY_ID,
			vendor_ids=[vendors[0]["id"], vendors[1]["id"]],
			seed=DEMO_SEED,
			start_date=first + span * 0.06,
			end_date=last,
		)
	return ids


def _create_demo_user(conn, user: str, password: str, database_name: str):
	"""Create (or reset) `user` with `password` and only `DEMO_PRIVILEGES` on `database_name`."""
	with conn.cursor() as cur:
		for host in DEMO_USER_HOSTS:
			cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
			cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
			# privileges on an earlier demo database (or anything else) go
			cur.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", (user, host))
			cur.execute(f"GRANT {DEMO_PRIVILEGES} ON `{database_name}`.* TO %s@%s", (user, host))


# ---------------------------------------------------------------------------
# ERPNext side


def _save_connection(name: str, database_name: str, server: dict, user: str, password: str):
	"""Create or update the Database Connection `name`: direct (no SSH tunnel) to the demo database."""
	if frappe.db.exists("Database Connection", name):
		doc = frappe.get_doc("Database Connection", name)
	else:
		doc = frappe.new_doc("Database Connection")
		doc.connection_name = name
	doc.update(
		{
			"host": server["host"],
			"port": server["port"],
			"database_name": database_name,
			"username": user,
			"password": password,
			"use_ssh_tunnel": 0,
			"connect_timeout": 10,
			"read_timeout": 60,
		}
	)
	doc.save(ignore_permissions=True)


def ensure_item(item_code: str, description: str) -> str:
	"""A non-stock purchase Item `item_code`, created when missing; returns its code."""
	if frappe.db.exists("Item", item_code):
		return item_code
	from frappe.utils.nestedset import get_root_of

	uom = (
		"Nos" if frappe.db.exists("UOM", "Nos") else frappe.db.get_single_value("Stock Settings", "stock_uom")
	)
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": item_code,
			"item_name": item_code,
			"description": description,
			"item_group": frappe.db.get_single_value("Stock Settings", "item_group")
			or get_root_of("Item Group"),
			"stock_uom": uom,
			"is_stock_item": 0,
			"is_purchase_item": 1,
			"is_sales_item": 0,
		}
	).insert(ignore_permissions=True)
	return item_code


def _update_settings(connection_name: str, company: str | None, entity_gstin: str) -> list[str]:
	"""Point O2O Sync Settings at the demo where nothing is set yet; returns the next steps for a person.

	Sets the Database Connection when none is set (and then restarts the pull cursor: the demo
	database is new), the default and freight items when missing, and with `company` the
	entity row of the demo entity.
	"""
	settings = frappe.get_doc(SETTINGS)
	steps = []
	if not settings.database_connection:
		settings.database_connection = connection_name
	if settings.database_connection == connection_name:
		settings.pull_cursor_updated_at = None
		settings.pull_cursor_id = 0
	else:
		steps.append(
			_(
				"O2O Sync Settings uses Database Connection {0}; set it to {1} to pull from the demo portal"
			).format(settings.database_connection, connection_name)
		)
	if not settings.default_item:
		settings.default_item = SERVICE_ITEM
	if not settings.freight_item:
		settings.freight_item = FREIGHT_ITEM

	if company:
		steps += _map_entity(settings, company, entity_gstin)
	elif not any(str(row.entity_id).strip() == str(DEMO_ENTITY_ID) for row in settings.entities):
		steps.append(
			_(
				"Map portal entity {0} (GSTIN {1}) to a Company in O2O Sync Settings > Entities, with its "
				"CGST, SGST and IGST accounts (or run again with --company)"
			).format(DEMO_ENTITY_ID, entity_gstin)
		)
	settings.save(ignore_permissions=True)
	return steps


def _map_entity(settings, company: str, entity_gstin: str) -> list[str]:
	"""Add or update the settings' row mapping the demo entity to `company`; returns next steps."""
	abbr, expense_account, cost_center = frappe.db.get_value(
		"Company", company, ["abbr", "default_expense_account", "cost_center"]
	)
	accounts = {
		f"{head.lower()}_account": f"{head} - {abbr}"
		for head in ("CGST", "SGST", "IGST")
		if frappe.db.exists("Account", {"name": f"{head} - {abbr}", "company": company, "is_group": 0})
	}
	row = next((r for r in settings.entities if str(r.entity_id).strip() == str(DEMO_ENTITY_ID)), None)
	if row is None:
		row = settings.append("entities", {"entity_id": str(DEMO_ENTITY_ID)})
	row.update(
		{
			"company": company,
			"company_gstin": entity_gstin,
			"expense_account": expense_account,
			"cost_center": cost_center,
			**accounts,
		}
	)
	missing = [
		f"{head} - {abbr}" for head in ("CGST", "SGST", "IGST") if f"{head.lower()}_account" not in accounts
	]
	if missing:
		return [
			_(
				"Company {0} has no account {1}: set the CGST, SGST and IGST accounts of entity {2} in "
				"O2O Sync Settings > Entities (the pull fails invoices with GST until then)"
			).format(company, ", ".join(missing), DEMO_ENTITY_ID)
		]
	return []
