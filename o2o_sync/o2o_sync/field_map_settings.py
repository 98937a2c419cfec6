"""O2O Sync Settings' field maps (issue 12) as the sync reads them: the rows, the fields of
Purchase Invoice and Purchase Invoice Item (`frappe.get_meta`), the portal's columns (live
from `information_schema`, else the contract's DDL), and every problem of the maps for the
settings' `validate`. The rules themselves are Frappe-free: `sync/model/field_map_rules.py`.
"""

import frappe
from frappe import _
from frappe.utils import cint, cstr

from o2o_sync.constants import DATABASE_CONNECTION, PURCHASE_INVOICE, PURCHASE_INVOICE_ITEM, SETTINGS
from o2o_sync.sync.model import field_maps as fm
from o2o_sync.sync.model.errors import ProcureUATConnectionError
from o2o_sync.sync.portal.client import get_client


def field_map_rows(settings=None) -> list[fm.FieldMap]:
	"""O2O Sync Settings' `field_maps` table as `field_maps.FieldMap`s (default: the settings
	document, read fresh); names stripped, a missing direction "ProcureUAT to ERPNext"."""
	s = settings or frappe.get_doc(SETTINGS)
	return [
		fm.FieldMap(
			row=cint(row.get("idx")) or i,
			portal_table=cstr(row.get("portal_table")).strip(),
			portal_column=cstr(row.get("portal_column")).strip(),
			erpnext_field=cstr(row.get("erpnext_field")).strip(),
			direction=row.get("direction") or fm.TO_ERPNEXT,
			enabled=bool(cint(row.get("enabled"))),
		)
		for i, row in enumerate(s.get("field_maps") or [], start=1)
	]


def erpnext_fields() -> dict[str, dict[str, fm.ErpField]]:
	"""The fields of Purchase Invoice and Purchase Invoice Item as `frappe.get_meta` gives
	them, standard and custom, plus Frappe's own columns (`name`, `docstatus`, ...)."""
	from frappe.model import child_table_fields, default_fields

	out = {}
	for doctype in (PURCHASE_INVOICE, PURCHASE_INVOICE_ITEM):
		meta = frappe.get_meta(doctype)
		fields = {
			f: fm.ErpField(f, "Data", f, read_only=True) for f in (*default_fields, *child_table_fields)
		}
		for df in meta.fields:
			fields[df.fieldname] = fm.ErpField(
				df.fieldname,
				df.fieldtype,
				_(df.label) if df.label else df.fieldname,
				cstr(df.options),
				bool(df.read_only),
				bool(df.allow_on_submit),
				cint(df.length),
			)
		out[doctype] = fields
	return out


def contract_columns() -> dict[str, dict[str, fm.PortalColumn]]:
	"""The portal's columns by table from the contract's DDL (`setup/procureuat_schema.sql`)."""
	from o2o_sync.setup.portal_schema import SCHEMA_PATH

	return fm.columns_from_ddl(SCHEMA_PATH.read_text())


def live_columns(client) -> dict[str, dict[str, fm.PortalColumn]] | None:
	"""The live portal's columns (`information_schema`, one statement), or None when the
	connection does not answer."""
	try:
		return fm.columns_from_information_schema(client.portal_columns()) or None
	except ProcureUATConnectionError:
		return None


def field_map_problems(settings) -> tuple[list[str], bool]:
	"""Every problem of the settings' field maps (`field_map_rules.validate`) and whether the
	portal's columns were read live: from the live portal's `information_schema` when the
	settings' Database Connection answers, else from the contract's column list (False)."""
	maps = field_map_rows(settings)
	if not maps:
		return [], True
	known = None
	if settings.get("database_connection"):
		try:
			config = frappe.get_doc(
				DATABASE_CONNECTION, settings.get("database_connection")
			).get_connection_config()
			known = live_columns(get_client(config, shared_tunnel=True))
		except Exception:  # the portal does not answer, or the connection is not set up: the contract's list
			known = None
	live = known is not None
	return fm.validate(maps, known or contract_columns(), erpnext_fields()), live
