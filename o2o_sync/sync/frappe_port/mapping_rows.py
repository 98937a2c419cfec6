"""Sync Mapping rows as the port reads and writes them: the fields, and a new row inserted in
one statement (`insert_mapping`, see `bookkeeping.Bookkeeping.save_mapping`)."""

import frappe
from frappe.utils import now_datetime

from o2o_sync.constants import F_INVOICE_NUMBER, F_PROCUREUAT_ID, F_VENDOR_ID, SYNC_MAPPING

#: Sync Mapping fields, as `MappingRecord` attributes.
MAPPING_FIELDS = (
	"name",
	F_PROCUREUAT_ID,
	F_VENDOR_ID,
	"purchase_invoice",
	"origin",
	"status",
	F_INVOICE_NUMBER,
	"entity_id",
	"portal_hash",
	"erpnext_hash",
	"snapshot",
	"portal_updated_at",
	"last_synced_at",
	"finance_status",
	"conflict_fields",
	"last_error",
	"held_reason",
)
#: Sync Mapping fields stored in VARCHAR(140) columns (Data, Link, Select).
MAPPING_SHORT_FIELDS = (
	"purchase_invoice",
	"origin",
	"status",
	F_INVOICE_NUMBER,
	"entity_id",
	"portal_hash",
	"erpnext_hash",
	"held_reason",
)
#: Of those, the ones that hold portal text (sanitised as a Document insert would).
MAPPING_PORTAL_TEXT = (F_INVOICE_NUMBER, "entity_id")
MAPPING_VARCHAR_LENGTH = 140


def insert_mapping(values: dict) -> str:
	"""Insert a Sync Mapping row in one parameterised statement; returns its name.

	What `Document.insert` would store for these values, without running a controller
	that has nothing to check (the values are the engine's): a random name as the DocType's
	`autoname: hash` gives, the user and time as owner and creation, VARCHAR fields no longer
	than 140 characters (`frappe.CharacterLengthExceededError` naming the field, as
	`Document._validate_length` raises), and portal text holding `<` or `>` sanitised with
	Frappe's `sanitize_html` as `Document._sanitize_content` does. The snapshot (JSON) is
	stored exactly as written, as an update by `frappe.db.set_value` stores it. The unique
	key on (procureuat_id, procureuat_vendor_id) still refuses a second mapping.
	"""
	from frappe.model.naming import make_autoname
	from frappe.utils.html_utils import sanitize_html

	for field in MAPPING_SHORT_FIELDS:
		value = values.get(field)
		if isinstance(value, str) and len(value) > MAPPING_VARCHAR_LENGTH:
			frappe.throw(
				frappe._("{0}: '{1}' ({2}) will get truncated, as max characters allowed is {3}").format(
					SYNC_MAPPING, field, len(value), MAPPING_VARCHAR_LENGTH
				),
				frappe.CharacterLengthExceededError,
			)
	for field in MAPPING_PORTAL_TEXT:
		value = values.get(field)
		if isinstance(value, str) and ("<" in value or ">" in value):
			values[field] = sanitize_html(value)
	now = now_datetime()
	user = frappe.session.user if getattr(frappe, "session", None) else "Administrator"
	row = {
		"name": make_autoname("hash", SYNC_MAPPING),
		"creation": now,
		"modified": now,
		"owner": user,
		"modified_by": user,
		"docstatus": 0,
		"idx": 0,
		**values,
	}
	columns = ", ".join(f"`{c}`" for c in row)
	frappe.db.sql(
		f"insert into `tab{SYNC_MAPPING}` ({columns}) values ({', '.join(['%s'] * len(row))})",
		tuple(row.values()),
	)
	return row["name"]
