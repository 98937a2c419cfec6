# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""The demo portal's ERPNext side (`demo`): the demo entity's GSTIN and invoice window as the
site's Company and Fiscal Years allow, the Database Connection, the default and freight Items,
and O2O Sync Settings pointed at the demo where nothing is set yet.
"""

from datetime import datetime, timedelta

import frappe
from frappe import _
from frappe.utils import now_datetime

from o2o_sync.constants import DATABASE_CONNECTION, ITEM, SETTINGS
from o2o_sync.setup.demo_data import DEMO_ENTITY_GSTIN, DEMO_ENTITY_ID

SERVICE_ITEM = "ProcureUAT Service"
FREIGHT_ITEM = "ProcureUAT Freight"
#: Invoice dates span this many days, ending yesterday evening.
DEMO_DAYS = 90


# ---------------------------------------------------------------------------
# what the demo needs to know before seeding


def entity_gstin_for(company: str | None) -> str:
	"""The demo entity's GSTIN: the mapped company's own (its Tax ID) when it looks like one."""
	if company:
		from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import get_gstin_problem

		tax_id = (frappe.db.get_value("Company", company, "tax_id") or "").strip().upper()
		if tax_id and not get_gstin_problem(tax_id):
			return tax_id
	return DEMO_ENTITY_GSTIN


def fiscal_year_covers(day: datetime, company: str | None) -> bool:
	"""True when a Fiscal Year (of `company`, or for all companies) covers `day`'s date."""
	from erpnext.accounts.utils import get_fiscal_year

	return bool(get_fiscal_year(day.date(), company=company, boolean=True))


def invoice_window(company: str | None) -> tuple[datetime, datetime]:
	"""First and last invoice moments: `DEMO_DAYS` days up to yesterday 18:00 (site time), starting
	no earlier than the fiscal year of the last day when that year began since (a new year)."""
	last = datetime.combine(now_datetime().date() - timedelta(days=1), datetime.min.time()).replace(hour=18)
	first = (last - timedelta(days=DEMO_DAYS)).replace(hour=9)
	if not fiscal_year_covers(first, company) and fiscal_year_covers(last, company):
		from erpnext.accounts.utils import get_fiscal_year

		year_start = get_fiscal_year(last.date(), company=company, as_dict=True)["year_start_date"]
		first = datetime.combine(year_start, datetime.min.time()).replace(hour=9)
	if last - first < timedelta(days=1):
		first = last - timedelta(hours=1)
	return first, last


# ---------------------------------------------------------------------------
# what the demo writes


def save_connection(name: str, database_name: str, server: dict, user: str, password: str):
	"""Create or update the Database Connection `name`: direct (no SSH tunnel) to the demo database."""
	if frappe.db.exists(DATABASE_CONNECTION, name):
		doc = frappe.get_doc(DATABASE_CONNECTION, name)
	else:
		doc = frappe.new_doc(DATABASE_CONNECTION)
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
	# the demo database is new: the pull starts from the start on it (the cursor is the connection's)
	frappe.db.set_value(
		DATABASE_CONNECTION,
		doc.name,
		{"pull_cursor_updated_at": None, "pull_cursor_id": 0, "pulled_entities": None},
		update_modified=False,
	)


def ensure_item(item_code: str, description: str) -> str:
	"""A non-stock purchase Item `item_code`, created when missing; returns its code."""
	if frappe.db.exists(ITEM, item_code):
		return item_code
	from frappe.utils.nestedset import get_root_of

	uom = (
		"Nos" if frappe.db.exists("UOM", "Nos") else frappe.db.get_single_value("Stock Settings", "stock_uom")
	)
	frappe.get_doc(
		{
			"doctype": ITEM,
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


def update_settings(connection_name: str, company: str | None, entity_gstin: str) -> list[str]:
	"""Point O2O Sync Settings at the demo where nothing is set yet; returns the next steps for a person.

	Sets the Database Connection when none is set (its pull cursor restarted with the demo
	database: `save_connection`), the default and freight items when missing, and with `company` the
	entity row of the demo entity.
	"""
	settings = frappe.get_doc(SETTINGS)
	steps = []
	if not settings.database_connection:
		settings.database_connection = connection_name
	if settings.database_connection != connection_name:
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
