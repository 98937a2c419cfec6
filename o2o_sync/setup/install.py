# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Install and uninstall hooks (see hooks.py).

Frappe's `uninstall-app` drops the app's DocTypes and deletes what links its module (the
workspace, number cards, dashboard chart and its source); `before_uninstall` takes away the
rest, in the uninstall's own transaction: custom fields, the property setter, the scheduled job
types (Frappe keeps them until the next migrate, and the scheduler would call a missing app),
the Log Settings row of Sync Log, the workspace's Custom HTML Block and the Sync Log list's
settings. Purchase Invoices stay as they are (the custom fields' columns and values too, as
Frappe always leaves them), submittable and cancellable without the app.
"""

import frappe

from o2o_sync.constants import SYNC_LOG
from o2o_sync.setup.custom_fields import (
	install_custom_fields,
	install_property_setters,
	remove_custom_fields,
	remove_property_setters,
)


def after_install():
	"""Add o2o_sync's fields and property setters to ERPNext's doctypes, and Sync Log to Log
	Settings (Frappe adds `default_log_clearing_doctypes` on migrate, not on install)."""
	install_custom_fields()
	install_property_setters()
	log_settings = frappe.get_single("Log Settings")
	log_settings.add_default_logtypes()
	log_settings.save(ignore_permissions=True)


def after_migrate():
	"""Keep the fields and property setters as this version of the app defines them."""
	install_custom_fields()
	install_property_setters()


def before_uninstall():
	"""Take away what o2o_sync added outside its module (see the module's docstring)."""
	from o2o_sync.setup.desk_blocks import LAST_PULL_BLOCK

	remove_property_setters()
	remove_custom_fields()
	for name in frappe.get_all("Scheduled Job Type", {"method": ["like", "o2o_sync.%"]}, pluck="name"):
		frappe.delete_doc("Scheduled Job Type", name, ignore_permissions=True, force=True)
	frappe.db.delete("Logs To Clear", {"parenttype": "Log Settings", "ref_doctype": SYNC_LOG})
	for doctype, name in (("Custom HTML Block", LAST_PULL_BLOCK), ("List View Settings", SYNC_LOG)):
		if frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, ignore_permissions=True, force=True)
