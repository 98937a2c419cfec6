"""The site side of `scripts/erpnext_suites.py`: ERPNext's own test modules run on a site where
the sync is enabled and a company is mapped to a portal must fail exactly as they do with the
sync disabled, and leave no Purchase Invoice, Sync Log or Sync Mapping row behind (issue 11).

Each function is called with `bench --site SITE execute o2o_sync.setup.erpnext_suites.NAME
--kwargs '{...}'` and writes its answer as JSON to `out` (a file the driver reads: `bench
execute` mixes its own output into stdout). `prepare` keeps the settings as they were in
`state`; `restore` puts them back and drops the portal database it made.
"""

import hashlib
import json

import frappe
from frappe.utils import cint

from o2o_sync.constants import DATABASE_CONNECTION, PURCHASE_INVOICE, SETTINGS, SYNC_LOG, SYNC_MAPPING

#: the Database Connection `prepare` makes, to a demo portal of its own
CONNECTION = "ProcureUAT ERPNext Suites"
#: the company of ERPNext's test records: made (and committed) by Frappe's runner on a site's
#: first run of ERPNext's tests, with the rest of their records
TEST_COMPANY = "_Test Company"
#: O2O Sync Settings fields kept and put back (child tables separately)
_SKIP = {"name", "doctype", "owner", "creation", "modified", "modified_by", "docstatus", "idx"}


def _portal_names() -> tuple[str, str]:
	"""(database, MariaDB user) of this site's suites portal: one per site on a shared server."""
	digest = hashlib.sha1(str(frappe.conf.db_name).encode()).hexdigest()[:10]
	return f"o2o_suites_{digest}", f"o2o_ste_{digest}"


def _write(out: str | None, value):
	if out:
		with open(out, "w") as f:
			json.dump(value, f, default=str, indent=1)
	return value


def counts(out: str | None = None) -> dict:
	"""Rows the suites must not leave behind: `{"purchase_invoice", "with_sync_status",
	"sync_log", "sync_mapping"}` (counts); written to `out` as JSON."""
	frappe.db.rollback()  # a fresh snapshot
	return _write(
		out,
		{
			"purchase_invoice": frappe.db.count(PURCHASE_INVOICE),
			"with_sync_status": frappe.db.count(PURCHASE_INVOICE, {"o2o_sync_status": ["is", "set"]}),
			"sync_log": frappe.db.count(SYNC_LOG),
			"sync_mapping": frappe.db.count(SYNC_MAPPING),
		},
	)


def prepare(state: str, out: str | None = None, company: str | None = None) -> dict:
	"""Keep the settings in `state` (JSON; kept from an earlier unfinished run), make a demo
	portal of this site's own with a Database Connection `CONNECTION`, map `company` (default:
	the site's default company) to its entity, and leave the sync disabled. Commits.

	Returns (and writes to `out`) `{"test_records_made"` (ERPNext's test records were made by an
	earlier run: `TEST_COMPANY` exists), `"company", "entity_id", "connection", "database"}`.
	"""
	import os

	from o2o_sync.setup.demo import create_demo_portal

	if not os.path.exists(state):
		settings = frappe.get_doc(SETTINGS).as_dict(no_default_fields=True)
		_write(state, {k: v for k, v in settings.items() if k not in _SKIP})
	company = company or frappe.defaults.get_global_default("company")
	if not company or company.startswith("_Test"):
		company = frappe.get_all(
			"Company", filters={"name": ["not like", "\\_Test%"]}, pluck="name", order_by="creation", limit=1
		)[0]
	database, db_user = _portal_names()
	summary = create_demo_portal(
		database, invoices=5, map_company=company, connection_name=CONNECTION, db_user=db_user
	)
	settings = frappe.get_doc(SETTINGS)
	settings.update(
		{
			"enabled": 0,
			"database_connection": CONNECTION,
			"supplier_group": settings.supplier_group or "All Supplier Groups",
			"invoice_prefix": settings.invoice_prefix or "O2OS",
			"portal_user_id": cint(settings.portal_user_id) or 1,
		}
	)
	settings.save(ignore_permissions=True)
	frappe.db.commit()  # nosemgrep: a command of its own, not inside anyone's transaction
	return _write(
		out,
		{
			"test_records_made": bool(frappe.db.exists("Company", TEST_COMPANY)),
			"company": company,
			"entity_id": summary["entity_id"],
			"connection": CONNECTION,
			"database": database,
		},
	)


def set_enabled(on: int, out: str | None = None) -> dict:
	"""Enable (`on` 1) or disable the sync; commits. Returns `{"enabled", "mapped_companies"}`."""
	from o2o_sync.sync.scope import mapped_companies

	frappe.db.set_single_value(SETTINGS, "enabled", cint(on))
	frappe.db.commit()  # nosemgrep
	return _write(out, {"enabled": cint(on), "mapped_companies": sorted(mapped_companies())})


def restore(state: str, out: str | None = None) -> dict:
	"""Put back the settings kept in `state` (removing the file), delete `CONNECTION` and drop
	the suites portal database and its MariaDB user. Commits. Returns `{"restored": bool}`."""
	import os

	from o2o_sync.setup.demo import drop_demo_portal

	restored = False
	if os.path.exists(state):
		with open(state) as f:
			kept = json.load(f)
		settings = frappe.get_doc(SETTINGS)
		for table in ("entities", "notify_users"):
			rows = kept.pop(table, None) or []
			settings.set(
				table, [{k: v for k, v in r.items() if k not in _SKIP and k != "parent"} for r in rows]
			)
		settings.update(kept)
		settings.flags.ignore_validate = True
		settings.save(ignore_permissions=True)
		os.remove(state)
		restored = True
	if frappe.db.exists(DATABASE_CONNECTION, CONNECTION):
		frappe.delete_doc(DATABASE_CONNECTION, CONNECTION, force=True, ignore_permissions=True)
	frappe.db.commit()  # nosemgrep
	database, db_user = _portal_names()
	drop_demo_portal(database, db_user=db_user)
	return _write(out, {"restored": restored})
