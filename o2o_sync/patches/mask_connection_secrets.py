"""Database Connection secrets: replace Frappe's `*` × the secret's length, which tells the
length, by the fixed `SECRET_MASK` in the connections' rows, their Version history and their
Deleted Documents (issue 7, "No secret, nor its length, is stored in Version rows").

The secrets themselves stay encrypted in `__Auth`, untouched. Idempotent: a second run finds
only masks.
"""

import json

import frappe

from o2o_sync.constants import DATABASE_CONNECTION
from o2o_sync.o2o_sync.doctype.database_connection.database_connection import SECRET_MASK


def execute():
	"""Mask the Password fields of every Database Connection row, Version and Deleted Document."""
	fields = [
		df.fieldname for df in frappe.get_meta(DATABASE_CONNECTION).get("fields", {"fieldtype": "Password"})
	]
	if not fields:
		return
	for fieldname in fields:
		frappe.db.sql(
			f"update `tabDatabase Connection` set `{fieldname}` = %s where ifnull(`{fieldname}`, '') != ''",
			(SECRET_MASK,),
		)

	for name, data in frappe.get_all(
		"Version", filters={"ref_doctype": DATABASE_CONNECTION}, fields=["name", "data"], as_list=True
	):
		masked = mask_version_data(data, fields)
		if masked != data:
			frappe.db.set_value("Version", name, "data", masked, update_modified=False)

	for name, data in frappe.get_all(
		"Deleted Document",
		filters={"deleted_doctype": DATABASE_CONNECTION},
		fields=["name", "data"],
		as_list=True,
	):
		try:
			doc = json.loads(data or "{}")
		except ValueError:
			continue
		changed = False
		for fieldname in fields:
			if doc.get(fieldname):
				doc[fieldname] = SECRET_MASK
				changed = True
		if changed:
			frappe.db.set_value("Deleted Document", name, "data", frappe.as_json(doc), update_modified=False)


def mask_version_data(data: str | None, fields: list[str]) -> str | None:
	"""`data` of a Version row (JSON `{"changed": [[fieldname, old, new], ...], ...}`) with the
	non-empty old and new values of `fields` replaced by `SECRET_MASK`; a change left with equal
	sides (a secret changed for another) is dropped. Returns `data` unchanged when it is not JSON."""
	try:
		diff = json.loads(data or "")
	except ValueError:
		return data
	if not isinstance(diff, dict) or not isinstance(diff.get("changed"), list):
		return data
	changed = []
	for entry in diff["changed"]:
		if isinstance(entry, list) and len(entry) == 3 and entry[0] in fields:
			old, new = (SECRET_MASK if value else value for value in entry[1:])
			if old == new:
				continue
			entry = [entry[0], old, new]
		changed.append(entry)
	if changed == diff["changed"]:
		return data
	diff["changed"] = changed
	return frappe.as_json(diff, indent=None, separators=(",", ":"))
