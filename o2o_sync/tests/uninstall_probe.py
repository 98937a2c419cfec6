"""Uninstall and reinstall on a throwaway site (issue 11), step by step for
`scripts/uninstall_reinstall.sh`: each function is a `bench --site SITE execute
o2o_sync.tests.uninstall_probe.NAME` entry point that commits and returns a JSON-able dict.

`pull_demo` seeds a demo portal of its own (`PROBE_DATABASE`, MariaDB user `PROBE_USER`) mapped
to the site's default company and pulls it; `leftovers` counts what o2o_sync put on the site
(plain SQL, so it answers with or without the app installed); `submit_and_cancel` proves the
Purchase Invoices are submittable and cancellable; `duplicates` counts Purchase Invoices and
Sync Mappings held twice. Every function refuses on a site without `allow_tests`.
"""

import frappe

from o2o_sync.benchmarks.environment import require_test_site

PROBE_DATABASE = "procureuat_uninstall_probe"
PROBE_USER = "o2o_uninstall_probe"
PROBE_CONNECTION = "ProcureUAT Uninstall Probe"
INVOICES = 12

#: (what, SQL counting it): everything the app adds outside Purchase Invoices' own rows
LEFTOVER_QUERIES = {
	"custom_fields": "select count(*) from `tabCustom Field` where fieldname like 'procureuat%%'"
	" or fieldname = 'o2o_sync_status'",
	"property_setter": "select count(*) from `tabProperty Setter` where doc_type = 'Purchase Invoice Item'"
	" and field_name = 'rate' and property = 'precision'",
	"workspace": "select count(*) from `tabWorkspace` where name = 'O2O Sync'",
	"number_cards": "select count(*) from `tabNumber Card` where module = 'O2O Sync'",
	"dashboard_chart": "select count(*) from `tabDashboard Chart` where module = 'O2O Sync'",
	"chart_source": "select count(*) from `tabDashboard Chart Source` where module = 'O2O Sync'",
	"scheduled_job_types": "select count(*) from `tabScheduled Job Type` where method like 'o2o_sync.%%'",
	"log_settings_row": "select count(*) from `tabLogs To Clear` where ref_doctype = 'Sync Log'",
	"html_block": "select count(*) from `tabCustom HTML Block` where name = 'O2O Sync Last Pull'",
	"list_settings": "select count(*) from `tabList View Settings` where name = 'Sync Log'",
	"doctypes": "select count(*) from `tabDocType` where module = 'O2O Sync'",
	"installed": "select count(*) from `tabInstalled Application` where app_name = 'o2o_sync'",
}


def _company() -> str:
	return frappe.db.get_single_value("Global Defaults", "default_company")


def pull_demo() -> dict:
	"""(Re)create the probe's demo portal mapped to the default company and pull it (drafts)."""
	require_test_site()
	from o2o_sync.setup.demo import create_demo_portal
	from o2o_sync.sync.jobs import run_pull

	company = _company()
	create_demo_portal(
		PROBE_DATABASE,
		INVOICES,
		map_company=company,
		connection_name=PROBE_CONNECTION,
		db_user=PROBE_USER,
	)
	settings = frappe.get_doc("O2O Sync Settings")
	settings.database_connection = PROBE_CONNECTION
	settings.enabled = 1
	settings.save(ignore_permissions=True)
	frappe.db.commit()  # nosemgrep: an entry point of its own
	counts = run_pull()
	frappe.db.set_single_value("O2O Sync Settings", "enabled", 0)  # nothing pushed by what follows
	frappe.db.commit()  # nosemgrep
	return {"company": company, "pull": counts, **duplicates()}


def leftovers() -> dict:
	"""{what: count} of `LEFTOVER_QUERIES`; a table that is gone counts -1."""
	out = {}
	for what, sql in LEFTOVER_QUERIES.items():
		try:
			out[what] = int(frappe.db.sql(sql)[0][0])
		except Exception as e:
			if not frappe.db.is_table_missing(e):
				raise
			out[what] = -1
	return out


def submit_and_cancel() -> dict:
	"""Submit the company's first pulled draft and cancel it, and a draft made now: their
	docstatus after each step."""
	require_test_site()
	company = _company()
	steps = {}
	# raw SQL: without the app the column stays but is no field of Purchase Invoice
	pulled = frappe.db.sql(
		"""select name from `tabPurchase Invoice` where company = %s and docstatus = 0
		and procureuat_id > 0 order by name limit 1""",
		company,
	)[0][0]
	made = frappe.copy_doc(frappe.get_doc("Purchase Invoice", pulled))
	made.bill_no = f"{made.bill_no}-PROBE"
	made.insert(ignore_permissions=True)
	for name in (pulled, made.name):
		doc = frappe.get_doc("Purchase Invoice", name)
		doc.submit()
		after_submit = frappe.db.get_value("Purchase Invoice", name, "docstatus")
		doc.reload()
		doc.cancel()
		steps[name] = [after_submit, frappe.db.get_value("Purchase Invoice", name, "docstatus")]
	frappe.db.commit()  # nosemgrep
	return steps


def duplicates() -> dict:
	"""Purchase Invoices (not cancelled) of the default company, those sharing a supplier and bill
	no, Sync Mappings and those sharing a portal key (-1: no Sync Mapping table)."""
	company = _company()
	invoices = frappe.db.sql(
		"select count(*) from `tabPurchase Invoice` where company = %s and docstatus < 2", company
	)[0][0]
	twice = frappe.db.sql(
		"""select count(*) from (select supplier, bill_no from `tabPurchase Invoice`
		where company = %s and docstatus < 2 group by supplier, bill_no having count(*) > 1) t""",
		company,
	)[0][0]
	try:
		mappings = frappe.db.sql("select count(*) from `tabSync Mapping`")[0][0]
		mapped_twice = frappe.db.sql(
			"""select count(*) from (select procureuat_id, procureuat_vendor_id from `tabSync Mapping`
			group by procureuat_id, procureuat_vendor_id having count(*) > 1) t"""
		)[0][0]
	except Exception as e:
		if not frappe.db.is_table_missing(e):
			raise
		mappings = mapped_twice = -1
	return {
		"invoices": int(invoices),
		"invoices_twice": int(twice),
		"mappings": int(mappings),
		"mappings_twice": int(mapped_twice),
	}


def drop_probe_portal() -> dict:
	"""Drop the probe's portal database and MariaDB user."""
	require_test_site()
	from o2o_sync.setup.demo import drop_demo_portal

	drop_demo_portal(PROBE_DATABASE, db_user=PROBE_USER)
	return {"dropped": PROBE_DATABASE}
