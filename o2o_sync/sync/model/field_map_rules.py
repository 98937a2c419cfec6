"""The rules of field maps (issue 12): what a field map of O2O Sync Settings may name, as
tables, and `validate`, which lists every problem at once. Frappe-free; `field_maps` turns
valid maps into registry entries.

A `FieldMap` row becomes one `columns.Column` (`build_registry`: the built-in `REGISTRY` plus
the maps), so the registry stays the one place that knows a mapped column: the client's
SELECT lists and push whitelist, the records, the portal view and its hash, the spec, the
ERPNext view, the snapshot's version and the three-way merge all read it from there.

What a map may name is decided by the tables below (`validate`, Frappe-free): the portal
column must exist and not be one the sync maps or keeps for itself (`RESERVED_COLUMNS`,
nothing of `vendors`); the ERPNext field must exist, not be computed by ERPNext or the sync
(`COMPUTED_FIELDS`, `COMPUTED_PARTS`, read-only fields, layout and table fields), and its
type must hold the column's (`FIELD_TYPES`). Values are converted both ways by the Column's
`to_erpnext` / `to_portal` (ValueError names what is wrong; the invoice then fails by name).
"""

import re
from dataclasses import dataclass

from o2o_sync.constants import (
	F_ACKNOWLEDGEMENT,
	F_INVOICE_NUMBER,
	F_ITEM_ID,
	F_ORDER_STATUS,
	F_PROCUREUAT_ID,
	F_PRODUCT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	PURCHASE_INVOICE,
	PURCHASE_INVOICE_ITEM,
)
from o2o_sync.sync.model import columns as c

# the field map's directions, as the settings' Select spells them
BOTH_WAYS = "Both"
TO_ERPNEXT = "ProcureUAT to ERPNext"
TO_PORTAL = "ERPNext to ProcureUAT"
DIRECTIONS = {BOTH_WAYS: c.BOTH, TO_ERPNEXT: c.PULL_ONLY, TO_PORTAL: frozenset({c.PUSH})}

#: The portal table a map reads and the DocType its field belongs to.
DOCTYPE_OF = {c.REQUISITIONS: PURCHASE_INVOICE, c.ORDER_ITEMS: PURCHASE_INVOICE_ITEM}

# kinds of portal column (from the DDL's type)
TEXT = "text"
DATETIME = "datetime"
INT = "int"
NUMBER = "number"  # DECIMAL/FLOAT: money, never mapped

_TYPE_KINDS = {
	"varchar": TEXT,
	"char": TEXT,
	"text": TEXT,
	"tinytext": TEXT,
	"mediumtext": TEXT,
	"longtext": TEXT,
	"datetime": DATETIME,
	"date": DATETIME,
	"timestamp": DATETIME,
	"int": INT,
	"tinyint": INT,
	"smallint": INT,
	"mediumint": INT,
	"bigint": INT,
	"decimal": NUMBER,
	"float": NUMBER,
	"double": NUMBER,
}

#: ERPNext field types that hold each kind of column (issue 12): text into text fields or
#: Select; DATETIME into Date or Datetime; INT into Int, Check or Data; numbers the portal
#: stores as text (VARCHAR) into Float, Currency or Data.
TEXT_TYPES = frozenset({"Data", "Small Text", "Text", "Long Text", "Select"})
NUMBER_TEXT_TYPES = frozenset({"Float", "Currency", "Data"})
FIELD_TYPES = {
	TEXT: TEXT_TYPES | NUMBER_TEXT_TYPES,
	DATETIME: frozenset({"Date", "Datetime"}),
	INT: frozenset({"Int", "Check", "Data"}),
}

#: Portal columns the sync maps or keeps for itself (ids, order_code, money, GST, status and
#: time columns), beyond every column of the built-in registry.
RESERVED_COLUMNS = {
	c.REQUISITIONS: frozenset(
		"""id entity subentity_id order_code order_name invoice_number invoice_series invoice_generated
		invoice_generated_at is_invoice_cancel invoice_cancel_date credit_note_number is_delete status
		order_status acknowledgement finance_status gst_percentage freight_rate freight_cost weight_rate
		currency_id requisition_at requisition_by created_at created_by updated_at updated_by clone_id reason_id
		approved_by rejected_by vendor_created is_new_invoice is_visible_header amend_no""".split()
	),
	c.ORDER_ITEMS: frozenset(
		"""id purchase_order_id vendor_id product_id category_id subcategory_id brand_id gst_id quantity
		unit_rate cost gst_amt total_amt status vendor_approve created_at created_by updated_at updated_by""".split()
	),
}
#: ERPNext fields the sync or ERPNext computes, or the built-in registry fills.
COMPUTED_FIELDS = frozenset(
	{
		"name",
		"docstatus",
		"idx",
		"owner",
		"creation",
		"modified",
		"modified_by",
		"parent",
		"parentfield",
		"parenttype",
		"amended_from",
		"naming_series",
		"company",
		"supplier",
		"currency",
		"bill_no",
		"bill_date",
		"posting_date",
		"posting_time",
		"due_date",
		"remarks",
		"items",
		"taxes",
		"item_code",
		"qty",
		"uom",
		"description",
		"expense_account",
		"cost_center",
		"item_tax_template",
		"status",
		F_SYNC_STATUS,
		F_PROCUREUAT_ID,
		F_VENDOR_ID,
		F_INVOICE_NUMBER,
		F_ORDER_STATUS,
		F_ACKNOWLEDGEMENT,
		F_ITEM_ID,
		F_PRODUCT_ID,
	}
)
#: Parts of a fieldname that mark a computed field: totals, amounts, taxes, rates.
COMPUTED_PARTS = ("total", "amount", "tax", "rate", "base_", "net_", "outstanding", "discount")
#: Field types that hold no value of their own.
LAYOUT_TYPES = frozenset(
	{"Section Break", "Column Break", "Tab Break", "HTML", "Button", "Table", "Table MultiSelect", "Fold"}
)
_IDENTIFIER = c.IDENTIFIER
_DDL_TABLE = re.compile(r"CREATE TABLE `([^`]+)` \((.*?)\n\)", re.S)
_DDL_COLUMN = re.compile(r"^\s*`([^`]+)`\s+([A-Za-z]+)(?:\((\d+)(?:,\d+)?\))?", re.M)
_CHARS = ("varchar", "char")
#: Characters a Data field holds (Frappe's default varchar length).
DATA_LENGTH = 140


@dataclass(frozen=True)
class PortalColumn:
	"""A portal column's type: `data_type` lower case ('varchar', 'datetime'), `length` its
	characters (VARCHAR/CHAR) or None."""

	name: str
	data_type: str
	length: int | None = None

	@property
	def kind(self) -> str:
		return _TYPE_KINDS.get(self.data_type, NUMBER)


@dataclass(frozen=True)
class ErpField:
	"""An ERPNext field as `frappe.get_meta` describes it (standard or custom)."""

	fieldname: str
	fieldtype: str
	label: str = ""
	options: str = ""
	read_only: bool = False
	allow_on_submit: bool = False
	length: int = 0


@dataclass(frozen=True)
class FieldMap:
	"""One row of O2O Sync Settings' `field_maps` (`row` its number in the table)."""

	row: int
	portal_table: str
	portal_column: str
	erpnext_field: str
	direction: str = TO_ERPNEXT
	enabled: bool = True


def columns_from_ddl(ddl: str) -> dict[str, dict[str, PortalColumn]]:
	"""The tables and column types of a DDL text (`CREATE TABLE` statements, backticked
	names): `{table: {column: PortalColumn}}` — the contract's column list when the live
	portal cannot be asked."""
	tables = {}
	for table, body in _DDL_TABLE.findall(ddl):
		tables[table] = {
			# a length counts for characters only (INT(11) is a display width)
			name: PortalColumn(
				name, data_type.lower(), int(length) if length and data_type.lower() in _CHARS else None
			)
			for name, data_type, length in _DDL_COLUMN.findall(body)
		}
	return tables


def columns_from_information_schema(rows) -> dict[str, dict[str, PortalColumn]]:
	"""The same from `information_schema.columns` rows (dicts with table_name, column_name,
	data_type, character_maximum_length)."""
	tables: dict = {}
	for r in rows:
		length = r.get("character_maximum_length")
		tables.setdefault(r["table_name"], {})[r["column_name"]] = PortalColumn(
			r["column_name"], str(r["data_type"]).lower(), int(length) if length else None
		)
	return tables


# ---------------------------------------------------------------- validation


def _reserved(table: str) -> frozenset:
	return RESERVED_COLUMNS.get(table, frozenset()) | {col.key for col in c.REGISTRY if col.table == table}


def _computed(field: ErpField) -> str | None:
	"""Why ERPNext or the sync computes `field`, or None when a map may fill it."""
	name = field.fieldname
	if name in COMPUTED_FIELDS or name.startswith(("procureuat_", "o2o_")):
		return "is filled by the sync itself or by ERPNext"
	if any(part in name for part in COMPUTED_PARTS):
		return "is computed by ERPNext (totals, amounts, taxes, rates)"
	if field.fieldtype in LAYOUT_TYPES:
		return f"is a {field.fieldtype}, which holds no value of its own"
	if field.read_only:
		return "is read-only: ERPNext computes or fetches it"
	return None


def validate(
	maps: list[FieldMap],
	portal_columns: dict[str, dict[str, PortalColumn]],
	erpnext_fields: dict[str, dict[str, ErpField]],
) -> list[str]:
	"""Every problem of the field maps at once, each naming its row and the portal column or
	ERPNext field at fault (issue 12).

	Args: the rows; the portal's columns by table (live, or the contract's); the ERPNext
	fields by DocType (`DOCTYPE_OF`). Returns messages ('' none: an empty list).
	"""
	problems = []
	seen_columns: dict[tuple, int] = {}
	seen_fields: dict[tuple, int] = {}
	for m in maps:
		where = f"Field map row {m.row}"
		column_name, field_name = (m.portal_column or "").strip(), (m.erpnext_field or "").strip()
		if m.portal_table not in DOCTYPE_OF:
			problems.append(
				f"{where}: portal table {m.portal_table or '(empty)'} cannot be mapped; use "
				f"{' or '.join(DOCTYPE_OF)} (nothing of vendors is mapped)"
			)
			continue
		if m.direction not in DIRECTIONS:
			problems.append(f"{where}: direction {m.direction!r} is not one of {', '.join(DIRECTIONS)}")
		doctype = DOCTYPE_OF[m.portal_table]
		portal = None
		if not _IDENTIFIER.match(column_name):
			problems.append(f"{where}: portal column {column_name or '(empty)'} is not a column name")
		elif column_name in _reserved(m.portal_table):
			problems.append(
				f"{where}: portal column {m.portal_table}.{column_name} is mapped or kept by the sync itself"
				" (ids, order_code, money, GST, status and time columns)"
			)
		else:
			portal = portal_columns.get(m.portal_table, {}).get(column_name)
			if portal is None:
				problems.append(f"{where}: portal column {m.portal_table}.{column_name} does not exist")
			elif portal.kind == NUMBER:
				problems.append(
					f"{where}: portal column {m.portal_table}.{column_name} is {portal.data_type.upper()}"
					" (money): the sync maps money itself"
				)
				portal = None
			elif m.enabled:
				first = seen_columns.setdefault((m.portal_table, column_name), m.row)
				if first != m.row:
					problems.append(
						f"{where}: portal column {m.portal_table}.{column_name} is already mapped in row {first}"
					)
		field = erpnext_fields.get(doctype, {}).get(field_name)
		if field is None:
			problems.append(f"{where}: ERPNext field {field_name or '(empty)'} does not exist on {doctype}")
			continue
		why = _computed(field)
		if why:
			problems.append(f"{where}: ERPNext field {doctype}.{field_name} {why}")
			continue
		if m.enabled:
			first = seen_fields.setdefault((doctype, field_name), m.row)
			if first != m.row:
				problems.append(
					f"{where}: ERPNext field {doctype}.{field_name} is already mapped in row {first}"
				)
		if portal is not None and field.fieldtype not in FIELD_TYPES[portal.kind]:
			problems.append(
				f"{where}: ERPNext field {doctype}.{field_name} is {field.fieldtype}; portal column"
				f" {m.portal_table}.{column_name} ({portal.data_type.upper()}) needs one of"
				f" {', '.join(sorted(FIELD_TYPES[portal.kind]))}"
			)
	return problems
