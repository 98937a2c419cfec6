"""O2O Sync Settings' **Check the Portal Every Minute** (`probe_portal_changes`, issue 13) is on
by default: a Single's new Check field reads 0 on a site that had the settings before it, so
this sets it to 1 where the site never stored a value. Idempotent: a value already stored (a
person's 0 included) is left alone.
"""

import frappe

from o2o_sync.constants import SETTINGS

FIELD = "probe_portal_changes"


def execute():
	"""Store 1 for the field when the settings hold no value for it; see the module's docstring."""
	stored = frappe.db.sql(
		"select count(*) from `tabSingles` where doctype = %s and field = %s", (SETTINGS, FIELD)
	)[0][0]
	if not stored:
		frappe.db.set_single_value(SETTINGS, FIELD, 1)
