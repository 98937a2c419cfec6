"""ERPNext masters the benchmark and the Frappe integration tests build: an Indian company with
GST accounts, purchase Items linked to portal products, a Fiscal Year, well-formed GSTINs.

Real documents inserted with `ignore_permissions`, each only when missing; the caller commits.
"""

import secrets

import frappe

from o2o_sync.constants import F_PRODUCT_ID, ITEM

#: GSTIN of the buyer entity the environment maps (state 27, Maharashtra).
COMPANY_GSTIN = "27AAACO2020A1ZC"


def random_gstin(state_code: str) -> str:
	"""A well-formed GSTIN (valid check character) for `state_code` ('27'), unique per run.

	Suppliers are matched by GSTIN, and earlier runs' suppliers stay on the site.
	"""
	from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import gstin_check_character

	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pan = (
		"".join(secrets.choice(letters) for _ in range(5))
		+ f"{secrets.randbelow(10000):04d}"
		+ secrets.choice(letters)
	)
	first_14 = f"{state_code}{pan}1Z"
	return first_14 + gstin_check_character(first_14)


def make_company(name: str, abbr: str) -> str:
	"""An Indian INR company `name` with the standard chart and "CGST/SGST/IGST - `abbr`" tax
	accounts under Duties and Taxes; returns its name."""
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
	"""A non-stock (by default) purchase Item `code`, linked to portal product `product_id` when
	given; returns its code."""
	if not frappe.db.exists(ITEM, code):
		frappe.get_doc(
			{
				"doctype": ITEM,
				"item_code": code,
				"item_name": code,
				"item_group": "All Item Groups",
				"stock_uom": uom,
				"is_stock_item": is_stock,
				"is_purchase_item": 1,
				F_PRODUCT_ID: product_id,
			}
		).insert(ignore_permissions=True)
	return code


def make_supplier(name: str, vendor_id: int | None = None, tax_id: str | None = None) -> str:
	"""A Supplier `name` in All Supplier Groups, linked to the portal vendor `vendor_id` when
	given, with GSTIN `tax_id` when given; returns its name (the caller commits)."""
	doc = {"doctype": "Supplier", "supplier_name": name, "supplier_group": "All Supplier Groups"}
	if vendor_id is not None:
		doc["procureuat_vendor_id"] = vendor_id
	if tax_id is not None:
		doc["tax_id"] = tax_id
	return frappe.get_doc(doc).insert(ignore_permissions=True).name


def ensure_fiscal_year(year_start: str = "2026-04-01", year_end: str = "2027-03-31"):
	"""A Fiscal Year covering `year_start` and `year_end` ('YYYY-MM-DD'), unless one already does
	(calendar years 'O2O YYYY' are made for the days not covered)."""
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
