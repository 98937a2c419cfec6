# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""What the browser tests (`browser_tests/`) find on the site before they click: the demo
portal pulled once, then one scenario per test (a conflict, a failed invoice, new invoices to
pull). Each function is a `bench --site SITE execute o2o_sync.setup.browser_scenarios.NAME`
entry point that commits and returns a JSON-able dict of the names the test looks for.

Only for a test site: every function refuses unless the site's config sets `allow_tests`,
because `prepare_site` empties Sync Mapping and Sync Log (the demo portal's ids restart at
900001 each time it is re-created) and deletes the browser company's draft Purchase Invoices.

The portal is the demo portal (`demo.create_demo_portal`) in its own database,
`BROWSER_DATABASE`, behind the Database Connection `BROWSER_CONNECTION`; portal edits go
through the MariaDB admin login, the way the portal's own application changes its rows
(`updated_at` moves to the portal's NOW(), which is what the pull's cursor reads).
"""

from datetime import timedelta
from decimal import Decimal

import frappe
from frappe import _

from o2o_sync.constants import (
	CONFLICT,
	F_PROCUREUAT_ID,
	F_VENDOR_ID,
	FAILED,
	HOLD_FOR_REVIEW,
	ORIGIN_PORTAL,
	PURCHASE_INVOICE,
	SETTINGS,
	SUPPLIER,
	SYNC_LOG,
	SYNC_MAPPING,
	SYNCED,
)
from o2o_sync.setup import demo
from o2o_sync.setup.demo_data import DEMO_ENTITY_ID, DEMO_ID_BASE, DEMO_VENDORS
from o2o_sync.setup.demo_erpnext import invoice_window
from o2o_sync.setup.erpnext_masters import make_company
from o2o_sync.setup.portal_realistic import seed_realistic
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.setup.portal_schema import connect_portal

BROWSER_COMPANY = "O2O Browser Test Co"
BROWSER_ABBR = "OBTC"
BROWSER_DATABASE = "o2o_browser_portal"
BROWSER_CONNECTION = "ProcureUAT Browser Demo"
BROWSER_DB_USER = "o2o_browser"
#: Invoices per pull batch, so a pull of a few dozen shows several steps of progress.
BATCH_SIZE = 10
#: The conflicting values the conflict scenario writes into the invoice's remarks.
PORTAL_REMARK = "Vendor revised: deliver to the Pune warehouse (ProcureUAT)"
ERPNEXT_REMARK = "Checked against GRN 4471 by accounts (ERPNext)"
#: A line whose GST is 7 % of its cost: no GST slab, so the pull fails the invoice.
BAD_LINE = {"quantity": 4, "cost": Decimal("1000.00"), "gst_amt": Decimal("70.00")}
#: The same line at 18 %, once the vendor has corrected it.
GOOD_GST = Decimal("180.00")


def _require_test_site() -> None:
	"""Refuse (frappe.ValidationError) unless the site allows tests: these functions delete rows."""
	frappe.only_for("System Manager")
	if not frappe.conf.get("allow_tests"):
		frappe.throw(_("Browser test data is only prepared on a site with allow_tests set"))


def _portal():
	"""A direct admin connection to the browser portal's database (autocommit, dict rows)."""
	user, password = demo.admin_credentials()
	server = demo.db_server_settings()
	return connect_portal(BROWSER_DATABASE, server["host"], server["port"], user, password)


def _pull() -> dict:
	"""One pull run, as the scheduler or Pull now runs it; returns its counts."""
	from o2o_sync.sync.jobs import run_pull
	from o2o_sync.sync.portal.client import close_clients

	close_clients()  # the demo user's password was rotated by create_demo_portal
	return run_pull()


def _mapping_of(procureuat_id: int) -> dict:
	"""The Sync Mapping of a portal invoice: `{"name", "status", "purchase_invoice", ...}` or {}."""
	return (
		frappe.db.get_value(
			SYNC_MAPPING,
			{F_PROCUREUAT_ID: procureuat_id},
			["name", "status", "purchase_invoice", "conflict_fields", "last_error"],
			as_dict=True,
		)
		or {}
	)


def _synced_drafts() -> list[dict]:
	"""Synced pulled drafts of the browser company, oldest portal id first."""
	return frappe.db.sql(
		f"""select m.name, m.{F_PROCUREUAT_ID} as procureuat_id, m.purchase_invoice
		from `tab{SYNC_MAPPING}` m join `tab{PURCHASE_INVOICE}` pi on pi.name = m.purchase_invoice
		where m.status = %s and m.origin = %s and pi.docstatus = 0 and pi.company = %s
		order by m.{F_PROCUREUAT_ID}""",
		(SYNCED, ORIGIN_PORTAL, BROWSER_COMPANY),
		as_dict=True,
	)


def _link_demo_suppliers() -> None:
	"""One Supplier per demo vendor, linked by its vendor id only (no GSTIN), so the pull finds
	its Supplier whatever other Suppliers earlier tests left with the demo vendors' GSTINs."""
	vendor_ids = [DEMO_ID_BASE + offset for offset in range(len(DEMO_VENDORS))]
	frappe.db.sql(
		f"update `tab{SUPPLIER}` set {F_VENDOR_ID} = 0 where {F_VENDOR_ID} in %s", (tuple(vendor_ids),)
	)
	for vendor_id, (vendor_name, _code, _gstin) in zip(vendor_ids, DEMO_VENDORS, strict=True):
		name = f"{vendor_name} (browser tests)"
		if not frappe.db.exists(SUPPLIER, name):
			frappe.get_doc(
				{
					"doctype": SUPPLIER,
					"supplier_name": name,
					"supplier_group": "All Supplier Groups",
					"supplier_type": "Company",
				}
			).insert(ignore_permissions=True)
		frappe.db.set_value(SUPPLIER, name, F_VENDOR_ID, vendor_id)


def prepare_site(invoices: int = 12) -> dict:
	"""Start the browser tests from a known state: the demo portal with `invoices` invoices,
	pulled once as drafts into the company `BROWSER_COMPANY`.

	Empties Sync Mapping and Sync Log, deletes the browser company's draft Purchase Invoices
	from earlier runs, re-creates the portal database `BROWSER_DATABASE` (see
	`demo.create_demo_portal`) and points O2O Sync Settings at it: enabled, Hold for review,
	drafts, `BATCH_SIZE` invoices a batch, the cursor restarted. Commits.

	Returns `{"company", "connection", "database", "counts"}` (`counts`: the pull's counts).
	Raises frappe.ValidationError on a site without allow_tests, or when the pull did not
	create every invoice (the message names the counts).
	"""
	_require_test_site()
	make_company(BROWSER_COMPANY, BROWSER_ABBR)
	frappe.db.delete(SYNC_MAPPING)
	frappe.db.delete(SYNC_LOG)
	for name in frappe.get_all(PURCHASE_INVOICE, {"company": BROWSER_COMPANY, "docstatus": 0}, pluck="name"):
		frappe.delete_doc(PURCHASE_INVOICE, name, force=True, ignore_permissions=True)
	_link_demo_suppliers()
	frappe.db.commit()  # nosemgrep: create_demo_portal commits; the company must be there first

	demo.create_demo_portal(
		BROWSER_DATABASE,
		invoices,
		map_company=BROWSER_COMPANY,
		connection_name=BROWSER_CONNECTION,
		db_user=BROWSER_DB_USER,
	)
	settings = frappe.get_doc(SETTINGS)
	settings.update(
		{
			"enabled": 1,
			"database_connection": BROWSER_CONNECTION,
			"submit_pulled_invoices": 0,
			"conflict_strategy": HOLD_FOR_REVIEW,
			"pull_batch_size": BATCH_SIZE,
			"pull_from_date": None,
			"pull_cursor_updated_at": None,
			"pull_cursor_id": 0,
		}
	)
	# keep only the demo entity's row: other entities' companies may be gone
	settings.set(
		"entities", [r for r in settings.entities if str(r.entity_id).strip() == str(DEMO_ENTITY_ID)]
	)
	settings.save(ignore_permissions=True)
	frappe.db.commit()  # nosemgrep: the pull job reads the settings in its own transactions

	counts = _pull()
	if counts.get("created") != invoices:
		frappe.throw(
			_("The first pull of the browser portal did not create every invoice: {0}").format(counts)
		)
	return {
		"company": BROWSER_COMPANY,
		"connection": BROWSER_CONNECTION,
		"database": BROWSER_DATABASE,
		"counts": counts,
	}


def make_conflict() -> dict:
	"""Hold a pulled draft for a person: both sides change its remarks since the last sync.

	Takes the oldest Synced draft, sets its `remarks` in ERPNext to `ERPNEXT_REMARK` and the
	portal row's `remark` to `PORTAL_REMARK` (moving its `updated_at` to the portal's NOW()),
	each followed by a mark new to this call, then pulls. Commits. Returns `{"mapping", "invoice", "procureuat_id", "field": "remarks",
	"portal_value", "erpnext_value", "counts"}`. Raises frappe.ValidationError when the
	mapping did not go to Conflict.
	"""
	_require_test_site()
	drafts = _synced_drafts()
	if not drafts:
		frappe.throw(_("No Synced draft to put in conflict: run prepare_site first"))
	target = drafts[0]
	# a mark of this call: a draft settled by an earlier call differs from its values again
	mark = frappe.generate_hash(length=4)
	portal_value, erpnext_value = f"{PORTAL_REMARK} #{mark}", f"{ERPNEXT_REMARK} #{mark}"
	frappe.db.set_value(PURCHASE_INVOICE, target.purchase_invoice, "remarks", erpnext_value)
	frappe.db.commit()  # nosemgrep: the pull reads the invoice in its own transaction
	conn = _portal()
	try:
		with conn.cursor() as cur:
			cur.execute(
				"UPDATE purchase_requisitions SET remark = %s, updated_at = NOW() WHERE id = %s",
				(portal_value, target.procureuat_id),
			)
	finally:
		conn.close()
	counts = _pull()
	mapping = _mapping_of(target.procureuat_id)
	if mapping.get("status") != CONFLICT:
		frappe.throw(
			_("Invoice {0} did not go to Conflict: {1}, {2}").format(target.procureuat_id, mapping, counts)
		)
	return {
		"mapping": mapping["name"],
		"invoice": target.purchase_invoice,
		"procureuat_id": target.procureuat_id,
		"field": "remarks",
		"portal_value": portal_value,
		"erpnext_value": erpnext_value,
		"counts": counts,
	}


def make_failed_invoice(repair: int = 1) -> dict:
	"""A new portal invoice whose line's GST matches no slab: the pull fails it.

	Inserts the invoice (vendor in the entity's state, `BAD_LINE`), pulls (the invoice fails,
	with a Failed Sync Log row), then with `repair` corrects the line's GST to 18 % on the
	portal, as the vendor would, without pulling: a Retry then goes through. Commits.
	Returns `{"procureuat_id", "company", "log", "mapping", "message", "counts"}` (`company`:
	the browser company, to which a test scopes what it counts, since another demo portal on the
	site numbers its requisitions the same way; `log`: the name of the Failed Sync Log row;
	`mapping`: the Failed Sync Mapping or None). Raises
	frappe.ValidationError when the pull did not fail it.
	"""
	_require_test_site()
	conn = _portal()
	try:
		requisition_id = insert_invoice(
			conn,
			DEMO_ENTITY_ID,
			[
				{
					"vendor_id": DEMO_ID_BASE,
					"product_id": 501,
					"unit_rate": "250.00",
					**BAD_LINE,
				}
			],
			order_name="Toner cartridges (GST to be corrected)",
			subentity_id="1",
		)
		counts = _pull()
		log = frappe.db.get_value(
			SYNC_LOG,
			{F_PROCUREUAT_ID: requisition_id, "status": FAILED},
			["name", "message"],
			as_dict=True,
			order_by="creation desc",
		)
		if not log:
			frappe.throw(_("Portal invoice {0} did not fail: {1}").format(requisition_id, counts))
		if int(repair):
			with conn.cursor() as cur:
				cur.execute(
					"UPDATE purchase_order_items SET gst_amt = %s, total_amt = cost + %s, updated_at = NOW()"
					" WHERE purchase_order_id = %s",
					(GOOD_GST, GOOD_GST, requisition_id),
				)
	finally:
		conn.close()
	return {
		"procureuat_id": requisition_id,
		"company": BROWSER_COMPANY,
		"log": log.name,
		"mapping": _mapping_of(requisition_id).get("name"),
		"message": log.message,
		"counts": counts,
	}


def add_portal_invoices(count: int = 30) -> dict:
	"""`count` new invoices on the browser portal, changed now, for a Pull now to read.

	Realistic invoices (`seed_realistic`) of the two registered vendors dated in the last 30
	days of the demo window, their `updated_at` moved to the portal's NOW() so the pull's
	cursor reaches them. Returns `{"requisition_ids", "batches"}` (`batches`: how many pull
	batches they take at `BATCH_SIZE`).
	"""
	_require_test_site()
	first, last = invoice_window(BROWSER_COMPANY)
	conn = _portal()
	try:
		ids = seed_realistic(
			conn,
			int(count),
			entity_id=DEMO_ENTITY_ID,
			vendor_ids=[DEMO_ID_BASE, DEMO_ID_BASE + 1],
			seed=int(db_now(conn).timestamp()),
			start_date=max(first, last - timedelta(days=30)),
			end_date=last,
			null_updated_share=0,
			multi_vendor_share=0,
		)
		marks = ", ".join(["%s"] * len(ids))
		with conn.cursor() as cur:
			cur.execute(f"UPDATE purchase_requisitions SET updated_at = NOW() WHERE id IN ({marks})", ids)
			cur.execute(
				f"UPDATE purchase_order_items SET updated_at = NOW() WHERE purchase_order_id IN ({marks})",
				ids,
			)
	finally:
		conn.close()
	return {"requisition_ids": ids, "batches": -(-len(ids) // BATCH_SIZE)}
