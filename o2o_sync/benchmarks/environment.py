"""A whole sync environment on the current site, for the benchmark and the Frappe integration tests.

A fresh company with GST accounts, a portal database of our own (`o2o_sync.setup.portal_schema`)
with one buyer entity and three vendors, a real sshd bastion in front of it
(`o2o_sync.setup.portal_bastion`), a Database Connection through that bastion and O2O Sync
Settings mapping the entity to the company. Nothing here is a stand-in.

Only on a test site (site config `allow_tests`), and touching only its own records: the portal's
ids of each run lie in a band of their own (`TEST_ID_FLOOR` and up, far above a real portal's ids
and the demo's 900001), so the Sync Mappings, Sync Logs and Supplier links an environment clears
are those of earlier runs, never the site's own.
"""

import os
import secrets
from dataclasses import dataclass, field

import frappe
from frappe.utils import now_datetime

from o2o_sync.constants import (
	DATABASE_CONNECTION,
	F_VENDOR_ID,
	HOLD_FOR_REVIEW,
	SETTINGS,
	SUPPLIER,
	SYNC_LOG,
	SYNC_MAPPING,
)
from o2o_sync.setup.erpnext_masters import (
	COMPANY_GSTIN,
	ensure_fiscal_year,
	make_company,
	make_item,
	random_gstin,
)
from o2o_sync.setup.portal_bastion import SshServer
from o2o_sync.setup.portal_rows import insert_entity, insert_vendor
from o2o_sync.setup.portal_schema import (
	connect_portal,
	create_portal_database,
	db_server,
	drop_portal_database,
)
from o2o_sync.sync.portal.client import close_clients

#: The first portal id of the test environments' band; each run takes `ID_BAND` ids from its own base.
TEST_ID_FLOOR = 1_000_000_000
ID_BAND = 1_000_000
#: Portal tables whose AUTO_INCREMENT ids the environment moves into its band.
BANDED_TABLES = ("entitys", "subentitys", "vendors", "purchase_requisitions", "purchase_order_items")


def require_test_site():
	"""Raise frappe.ValidationError unless the site's config sets `allow_tests`: the tests and
	the benchmark build companies, settings and portal links on the site they run on."""
	if not frappe.conf.get("allow_tests"):
		frappe.throw(
			frappe._(
				"The o2o_sync tests and benchmark run only on a test site: set allow_tests in its site config"
			)
		)


#: Fields of a document (or a child row) that are not its values.
_NOT_VALUES = frozenset(
	{"name", "doctype", "owner", "creation", "modified", "modified_by", "docstatus", "idx"}
	| {"parent", "parentfield", "parenttype"}
)


def settings_snapshot() -> dict:
	"""O2O Sync Settings as they are: their values and the rows of their tables."""
	return frappe.get_doc(SETTINGS).as_dict()


def restore_settings(snapshot: dict) -> None:
	"""Give O2O Sync Settings the values and table rows of `snapshot` (`settings_snapshot`) as
	they were, without the form's checks (what was saved once was checked then)."""
	doc = frappe.get_doc(SETTINGS)
	for key, value in snapshot.items():
		if key in _NOT_VALUES:
			continue
		if isinstance(value, list):
			value = [{k: v for k, v in row.items() if k not in _NOT_VALUES} for row in value]
		doc.set(key, value)
	doc.flags.ignore_validate = doc.flags.ignore_links = doc.flags.ignore_mandatory = True
	doc.save(ignore_permissions=True)


def forget_earlier_runs():
	"""Delete the Sync Mappings and Sync Logs of earlier test environments and unlink their
	Suppliers: the rows whose portal id lies in the test band, nothing else of the site."""
	frappe.db.delete(SYNC_MAPPING, {"procureuat_id": [">=", TEST_ID_FLOOR]})
	frappe.db.delete(SYNC_LOG, {"procureuat_id": [">=", TEST_ID_FLOOR]})
	frappe.db.sql(f"update `tab{SUPPLIER}` set {F_VENDOR_ID} = 0 where {F_VENDOR_ID} >= %s", TEST_ID_FLOOR)


def move_ids_to_band(conn) -> int:
	"""Start every id of a new portal database at a base of its own in the test band; returns it."""
	base = TEST_ID_FLOOR + secrets.randbelow(1000) * ID_BAND
	with conn.cursor() as cur:
		for table in BANDED_TABLES:
			cur.execute(f"ALTER TABLE `{table}` AUTO_INCREMENT = {int(base)}")
	conn.commit()
	return base


@dataclass
class SyncEnvironment:
	"""What `setup_environment` made: names, the portal connection and the sshd.

	`vendors`: portal vendor ids (same state as the company, another state, unregistered);
	`gstins`: their GSTINs (None for the unregistered one); `conn`: a direct PyMySQL
	connection to the portal database `portal_db`; `accounts`: 'cgst', 'sgst', 'igst',
	'expense', 'cost_center', 'creditors', 'cash' of the company; `since`: the site's time
	when it was made (see `mine`).
	"""

	company: str
	abbr: str
	entity_id: int
	vendors: list[int]
	gstins: list[str | None]
	portal_db: str
	conn: object
	sshd: object
	accounts: dict = field(default_factory=dict)
	since: object = None
	settings_before: dict | None = None

	def mine(self, **filters) -> dict:
		"""Frappe filters of Sync Logs or Sync Mappings made since this environment was: what a
		test counts, leaving out the site's own rows (a demo pulled there, a real portal's)."""
		return {**filters, "creation": [">=", self.since]}

	def stop(self):
		"""Close clients, give O2O Sync Settings back the values they had before, drop the
		portal database, stop sshd. Commits."""
		close_clients()
		if self.settings_before is not None:
			restore_settings(self.settings_before)
			frappe.db.commit()  # nosemgrep: the environment's own teardown
		try:
			self.conn.close()
		finally:
			drop_portal_database(self.portal_db, **db_server())
			self.sshd.stop()


def setup_environment(submit_pulled_invoices: int = 0) -> SyncEnvironment:
	"""Build a fresh company, portal database, sshd bastion, Database Connection and settings.

	The portal's ids start at a base of their own in the test band (`move_ids_to_band`);
	earlier environments' Sync Mappings, Sync Logs and Supplier links are forgotten
	(`forget_earlier_runs`), the site's other records are left as they are. The pull cursor
	is the new Database Connection's, so it starts empty. O2O Sync Settings are kept as they
	were and given back by `SyncEnvironment.stop`.
	The portal database lives on `portal_schema.db_server()`. Commits. Raises
	frappe.ValidationError on a site without `allow_tests`, `portal_bastion.SshdNotAvailable`
	without OpenSSH, pymysql errors without MariaDB.
	"""
	require_test_site()
	settings_before = settings_snapshot()
	from o2o_sync.setup.custom_fields import install_custom_fields, install_property_setters

	install_custom_fields()
	install_property_setters()
	token = secrets.token_hex(2).upper()
	abbr = f"O2{token}"
	company = make_company(f"O2O Test Co {token}", abbr)
	ensure_fiscal_year()
	make_item("O2O Services")
	make_item("O2O Freight")
	forget_earlier_runs()

	server = db_server()
	db_name = f"o2o_frappe_portal_{os.getpid()}_{token.lower()}"
	create_portal_database(db_name, **server)
	conn = connect_portal(db_name, **server)
	move_ids_to_band(conn)
	entity = insert_entity(conn, "O2O Buyer", COMPANY_GSTIN)
	gstins = [random_gstin("27"), random_gstin("29"), None]  # same state, other state, unregistered
	vendors = [
		insert_vendor(conn, f"Sharma Traders {token}", "V001", gstins[0]),
		insert_vendor(conn, f"Kaveri Supplies {token}", "V002", gstins[1]),
		insert_vendor(conn, f"Local Kirana {token}", "V003", gstins[2]),
	]
	sshd = SshServer().start()

	connection_name = f"ProcureUAT Test {token}"
	doc = frappe.get_doc(
		{
			"doctype": DATABASE_CONNECTION,
			"connection_name": connection_name,
			"host": server["host"],
			"port": server["port"],
			"database_name": db_name,
			"username": server["user"],
			"password": server["password"] or None,
			"use_ssh_tunnel": 1,
			"ssh_host": sshd.host,
			"ssh_port": sshd.port,
			"ssh_username": sshd.username,
			"ssh_private_key": sshd.client_private_key,
			"ssh_host_key": sshd.host_key_line,
			"connect_timeout": 10,
			"read_timeout": 60,
		}
	)
	doc.insert(ignore_permissions=True)

	accounts = {
		"cgst": f"CGST - {abbr}",
		"sgst": f"SGST - {abbr}",
		"igst": f"IGST - {abbr}",
		"expense": frappe.db.get_value("Company", company, "default_expense_account"),
		"cost_center": frappe.db.get_value("Company", company, "cost_center"),
		"creditors": frappe.db.get_value("Company", company, "default_payable_account"),
		"cash": frappe.db.get_value("Account", {"company": company, "account_type": "Cash", "is_group": 0}),
	}
	settings = frappe.get_doc(SETTINGS)
	settings.update(
		{
			"enabled": 1,
			"database_connection": connection_name,
			"supplier_group": "All Supplier Groups",
			"default_item": "O2O Services",
			"freight_item": "O2O Freight",
			"invoice_prefix": "O2OT",
			"portal_user_id": 9,
			"submit_pulled_invoices": submit_pulled_invoices,
			"pull_batch_size": 200,
			"log_retention_days": 30,
			"conflict_strategy": HOLD_FOR_REVIEW,
			"pull_from_date": None,
		}
	)
	settings.set(
		"entities",
		[
			{
				"entity_id": str(entity),
				"company": company,
				"company_gstin": COMPANY_GSTIN,
				"cgst_account": accounts["cgst"],
				"sgst_account": accounts["sgst"],
				"igst_account": accounts["igst"],
				"expense_account": accounts["expense"],
				"cost_center": accounts["cost_center"],
			}
		],
	)
	settings.save(ignore_permissions=True)
	close_clients()
	frappe.db.commit()  # nosemgrep: the pull commits per batch; its setup must be visible to it
	return SyncEnvironment(
		company,
		abbr,
		entity,
		vendors,
		gstins,
		db_name,
		conn,
		sshd,
		accounts,
		since=now_datetime(),
		settings_before=settings_before,
	)
