"""A development site's ERPNext side, for `scripts/dev_bench.sh`: the setup wizard completed for
an Indian company with GST accounts, in Asia/Kolkata, so the demo portal has somewhere to land.

Run on a site with ERPNext (o2o_sync need not be installed on it yet):

	bench --site SITE execute o2o_sync.setup.dev_site.complete_setup --kwargs '{"company": "O2O Dev", "abbr": "OD"}'
"""

import frappe
from frappe.utils import getdate, nowdate

COUNTRY, CURRENCY, TIME_ZONE = "India", "INR", "Asia/Kolkata"
GST_ACCOUNTS = ("CGST", "SGST", "IGST")


def complete_setup(company: str = "O2O Dev", abbr: str = "OD", admin_password: str = "admin") -> dict:
	"""Complete ERPNext's setup wizard for `company` (India, INR, Asia/Kolkata) unless done, and
	add what the demo pull needs: fiscal years from last year to next year (April to March, as in
	India) and "CGST - ABBR", "SGST - ABBR", "IGST - ABBR" Tax accounts under Duties and Taxes.

	Idempotent: a second call only adds what is missing. Must run as Administrator (as `bench
	execute` does); commits.

	Args:
		company, abbr: the Company's name and abbreviation (the accounts are named "CGST - abbr").
		admin_password: the password the wizard gives the first user (o2o.admin@example.com).

	Returns `{"company", "currency", "time_zone", "fiscal_years", "tax_accounts"}`.
	Raises frappe.ValidationError when the wizard fails or the company ends up without a
	"Duties and Taxes" group account (a chart of accounts other than ERPNext's Standard).
	"""
	frappe.only_for("System Manager")
	start = _fiscal_year_start(getdate(nowdate()))
	if not frappe.is_setup_complete() or not frappe.db.exists("Company", company):
		from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

		result = setup_complete(
			{
				"language": "English",
				"country": COUNTRY,
				"timezone": TIME_ZONE,
				"currency": CURRENCY,
				"full_name": "O2O Admin",
				"email": "o2o.admin@example.com",
				"password": admin_password,
				"company_name": company,
				"company_abbr": abbr,
				"chart_of_accounts": "Standard",
				"fy_start_date": str(start),
				"fy_end_date": f"{start.year + 1}-03-31",
			}
		)
		if not result or result.get("status") != "ok" or not frappe.db.exists("Company", company):
			frappe.throw(f"The setup wizard did not complete for {company}: {result}")
		frappe.db.commit()  # nosemgrep: a setup step of its own, run from bench execute

	for year in (start.year - 1, start.year, start.year + 1):
		name = f"{year}-{year + 1}"
		if not frappe.db.exists("Fiscal Year", name):
			frappe.get_doc(
				{
					"doctype": "Fiscal Year",
					"year": name,
					"year_start_date": f"{year}-04-01",
					"year_end_date": f"{year + 1}-03-31",
				}
			).insert()

	parent = frappe.db.get_value(
		"Account", {"company": company, "account_name": "Duties and Taxes", "is_group": 1}
	)
	if not parent:
		frappe.throw(f"Company {company} has no 'Duties and Taxes' group account for the GST accounts")
	for tax in GST_ACCOUNTS:
		if not frappe.db.exists("Account", f"{tax} - {abbr}"):
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": tax,
					"parent_account": parent,
					"company": company,
					"account_type": "Tax",
					"is_group": 0,
				}
			).insert()
	if frappe.db.get_single_value("System Settings", "time_zone") != TIME_ZONE:
		frappe.db.set_single_value("System Settings", "time_zone", TIME_ZONE)
	frappe.db.commit()  # nosemgrep: a setup step of its own, run from bench execute
	frappe.clear_cache()
	return {
		"company": company,
		"currency": frappe.db.get_value("Company", company, "default_currency"),
		"time_zone": frappe.db.get_single_value("System Settings", "time_zone"),
		"fiscal_years": frappe.get_all("Fiscal Year", pluck="name", order_by="name"),
		"tax_accounts": frappe.get_all(
			"Account",
			{"company": company, "account_type": "Tax", "is_group": 0},
			pluck="name",
			order_by="name",
		),
	}


def _fiscal_year_start(day):
	"""1 April of the Indian fiscal year holding `day` (a date)."""
	return getdate(f"{day.year if day.month >= 4 else day.year - 1}-04-01")


def main(argv: list[str] | None = None) -> int:
	"""`python -m o2o_sync.setup.dev_site SITE [COMPANY ABBR]`, from the bench's sites folder:
	`complete_setup` as Administrator on a site where o2o_sync is not installed yet (`bench
	execute` wants the app installed). Prints the summary as JSON; returns the exit status."""
	import json
	import os
	import sys

	args = sys.argv[1:] if argv is None else argv
	if len(args) not in (1, 3):
		print("usage: python -m o2o_sync.setup.dev_site SITE [COMPANY ABBR]", file=sys.stderr)
		return 2
	frappe.init(site=args[0], sites_path=".")
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		kwargs = {"company": args[1], "abbr": args[2]} if len(args) == 3 else {}
		password = os.environ.get("O2O_ADMIN_PASSWORD")
		print(json.dumps(complete_setup(**kwargs, **({"admin_password": password} if password else {}))))
	finally:
		frappe.destroy()
	return 0


if __name__ == "__main__":
	raise SystemExit(main())
