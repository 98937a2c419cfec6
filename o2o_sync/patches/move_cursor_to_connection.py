"""The pull cursor moves from O2O Sync Settings to the Database Connection it was read on
(issue 7: the cursor belongs to the portal; another portal starts from its own).

Copies the settings' `pull_cursor_updated_at` / `pull_cursor_id` (Single values, no longer
fields of the settings) to the Database Connection the settings name, with the entities
mapped then listed as read from the start (the cursor already passed their history), and
deletes the old Single values. Idempotent: a second run finds nothing to move; a connection
that already has a cursor keeps it.
"""

import json

import frappe

from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS, SETTINGS_ENTITY

OLD_FIELDS = ("pull_cursor_updated_at", "pull_cursor_id")


def execute():
	"""Move the cursor; see the module's docstring."""
	values = dict(
		frappe.db.sql(
			"select field, value from `tabSingles` where doctype = %s and field in (%s, %s, %s)",
			(SETTINGS, "database_connection", *OLD_FIELDS),
		)
	)
	connection, cursor_ts = values.get("database_connection"), values.get("pull_cursor_updated_at")
	if (
		connection
		and cursor_ts
		and frappe.db.exists(DATABASE_CONNECTION, connection)
		and not frappe.db.get_value(DATABASE_CONNECTION, connection, "pull_cursor_updated_at")
	):
		entities = frappe.get_all(
			SETTINGS_ENTITY, filters={"parenttype": SETTINGS, "parent": SETTINGS}, pluck="entity_id"
		)
		frappe.db.set_value(
			DATABASE_CONNECTION,
			connection,
			{
				"pull_cursor_updated_at": cursor_ts,
				"pull_cursor_id": int(values.get("pull_cursor_id") or 0),
				"pulled_entities": json.dumps(
					sorted({str(e).strip() for e in entities if str(e or "").strip()})
				),
			},
			update_modified=False,
		)
	frappe.db.sql(
		"delete from `tabSingles` where doctype = %s and field in (%s, %s)", (SETTINGS, *OLD_FIELDS)
	)
