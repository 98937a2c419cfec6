"""ERPNext-side test environment: a real company, accounts, items, a real sshd and a portal
database, wired together through a Database Connection and O2O Sync Settings.

Used by the Frappe integration tests and the benchmark; nothing here is a stand-in.
"""

import os
import secrets
from dataclasses import dataclass, field

import frappe

from o2o_sync.sync.procureuat_client import close_clients
from o2o_sync.tests import portal_fixtures as pf
from o2o_sync.tests.portal_fixtures import db_server

COMPANY_GSTIN = "27AAACO2020A1ZC"  # Maharashtra


def random_gstin(state_code: str) -> str:
	"""A well-formed GSTIN (valid check character) for `state_code`, unique per test run:
	suppliers are matched by GSTIN, and earlier runs' suppliers stay on the test site."""
	from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import gstin_check_character

	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pan = (
		"".join(secrets.choice(letters) for _ in range(5))
		+ f"{secrets.randbelow(10000):04d}"
		+ secrets.choice(letters)
	)
	first_14 = f"{state_code}{pan}1Z"
	return first_14 + gstin_check_character(first_14)


@dataclass
class SyncEnvironment:
	"""Everything a test needs: names of what was made, the portal connection and the sshd."""

	company: str
	abbr: str
	entity_id: int
	vendors: list[int]
	gstins: list[str | None]
	portal_db: str
	conn: object
	sshd: object
	accounts: dict = field(default_factory=dict)

	def stop(self):
		"""Close clients, drop the portal database, stop sshd."""
		close_clients()
		try:
			self.conn.close()
		finally:
			pf.drop_portal_database(self.portal_db, **db_server())
			self.sshd.stop()


def make_company(name: str, abbr: str) -> str:
	"""An Indian INR company with the standard chart and CGST/SGST/IGST tax accounts."""
	if not frappe.db.exists("Company", name):
		frappe.get_doc(
			{
				"doctype": "Company",
				"company_name": name,
				"abbr": abbr,
				"country": "India",
				"default_currency": "INR",
				"create_chart_of_accounts_based_on": "Standard Template",
				"chart_of_accounts": "Standard",
			}
		).insert(ignore_permissions=True)
	parent = frappe.db.get_value(
		"Account", {"company": name, "account_name": "Duties and Taxes", "is_group": 1}
	)
	for head in ("CGST", "SGST", "IGST"):
		if not frappe.db.exists("Account", f"{head} - {abbr}"):
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": head,
					"company": name,
					"parent_account": parent,
					"account_type": "Tax",
					"root_type": "Liability",
				}
			).insert(ignore_permissions=True)
	return name


def make_item(code: str, is_stock: int = 0, product_id: int | None = None, uom: str = "Nos") -> str:
	"""A non-stock (by default) purchase Item, linked to a portal product when given."""
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": code,
				"item_group": "All Item Groups",
				"stock_uom": uom,
				"is_stock_item": is_stock,
				"is_purchase_item": 1,
				"procureuat_product_id": product_id,
			}
		).insert(ignore_permissions=True)
	return code


def ensure_fiscal_year(year_start: str = "2026-04-01", year_end: str = "2027-03-31"):
	"""A Fiscal Year covering the test invoices' dates, unless one already does."""
	from erpnext.accounts.utils import get_fiscal_year

	for day in (year_start, year_end):
		if not get_fiscal_year(day, boolean=True):
			frappe.get_doc(
				{
					"doctype": "Fiscal Year",
					"year": f"O2O {day[:4]}",
					"year_start_date": day[:4] + "-01-01",
					"year_end_date": day[:4] + "-12-31",
				}
			).insert(ignore_permissions=True)


def setup_environment(submit_pulled_invoices: int = 0) -> SyncEnvironment:
	"""Build a fresh company, portal database, sshd bastion, Database Connection and settings.

	Also empties Sync Mapping and Sync Log (the portal's ids restart at 1 in a new
	database) and resets the pull cursor. Commits.
	"""
	from o2o_sync.setup.custom_fields import install_custom_fields, install_property_setters

	install_custom_fields()
	install_property_setters()
	token = secrets.token_hex(2).upper()
	abbr = f"O2{token}"
	company = make_company(f"O2O Test Co {token}", abbr)
	ensure_fiscal_year()
	make_item("O2O Services")
	make_item("O2O Freight")
	# a new portal database restarts its ids at 1: forget earlier runs' links to them
	frappe.db.delete("Sync Mapping")
	frappe.db.delete("Sync Log")
	frappe.db.sql("update `tabSupplier` set procureuat_vendor_id = 0 where procureuat_vendor_id != 0")

	server = db_server()
	db_name = f"o2o_frappe_portal_{os.getpid()}_{token.lower()}"
	pf.create_portal_database(db_name, **server)
	conn = pf.connect_portal(db_name, **server)
	entity = pf.insert_entity(conn, "O2O Buyer", COMPANY_GSTIN)
	gstins = [random_gstin("27"), random_gstin("29"), None]  # same state, other state, unregistered
	vendors = [
		pf.insert_vendor(conn, f"Sharma Traders {token}", "V001", gstins[0]),
		pf.insert_vendor(conn, f"Kaveri Supplies {token}", "V002", gstins[1]),
		pf.insert_vendor(conn, f"Local Kirana {token}", "V003", gstins[2]),
	]
	sshd = pf.SshServer().start()

	connection_name = f"ProcureUAT Test {token}"
	doc = frappe.get_doc(
		{
			"doctype": "Database Connection",
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
	settings = frappe.get_doc("O2O Sync Settings")
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
			"conflict_strategy": "Hold for review",
			"pull_from_date": None,
			"pull_cursor_updated_at": None,
			"pull_cursor_id": 0,
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
	return SyncEnvironment(company, abbr, entity, vendors, gstins, db_name, conn, sshd, accounts)
