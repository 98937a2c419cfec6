"""Field maps: portal columns an administrator maps to Purchase Invoice (Item) fields in O2O
Sync Settings, without code (issue 12).

A `FieldMap` row becomes one `columns.Column` (`build_registry`: the built-in `REGISTRY` plus
the maps), so the registry stays the one place that knows a mapped column: the client's
SELECT lists and push whitelist, the records, the portal view and its hash, the spec, the
ERPNext view, the snapshot's version and the three-way merge all read it from there. What a
map may name is decided by the tables of `field_map_rules` (`validate`). Values are
converted both ways by the Column's `to_erpnext` / `to_portal` (ValueError names what is
wrong; the invoice then fails by name). Frappe-free.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from o2o_sync.sync.model import columns as c
from o2o_sync.sync.model.field_map_rules import (
	BOTH_WAYS,
	DATA_LENGTH,
	DATETIME,
	DIRECTIONS,
	DOCTYPE_OF,
	INT,
	TEXT,
	TO_ERPNEXT,
	TO_PORTAL,
	ErpField,
	FieldMap,
	PortalColumn,
	columns_from_ddl,
	columns_from_information_schema,
	validate,
)

__all__ = [
	"BOTH_WAYS",
	"DIRECTIONS",
	"DOCTYPE_OF",
	"TO_ERPNEXT",
	"TO_PORTAL",
	"ErpField",
	"FieldMap",
	"PortalColumn",
	"build_registry",
	"column_for",
	"columns_from_ddl",
	"columns_from_information_schema",
	"describe",
	"field_labels",
	"named",
	"on_submit_columns",
	"on_submit_values",
	"pushed_columns",
	"validate",
]


# ---------------------------------------------------------------- converters


def _text(value) -> str:
	return "" if value is None else str(value).strip()


def _number_text(value) -> Decimal | None:
	text = _text(value).replace(",", "")
	if not text:
		return None
	try:
		number = Decimal(text)
	except InvalidOperation:
		raise ValueError(f"{_text(value)!r} is not a number") from None
	if not number.is_finite():
		raise ValueError(f"{_text(value)!r} is not a number")
	return number


def _options(field: ErpField) -> list[str]:
	return [o for o in (field.options or "").split("\n")]


def to_erpnext(portal: PortalColumn, field: ErpField):
	"""The converter of a portal value (as read) into `field`'s value; raises ValueError."""
	fieldtype = field.fieldtype

	def convert(value):
		if fieldtype in ("Date", "Datetime"):
			if value is None:
				return None
			if not isinstance(value, datetime | date):
				raise ValueError(f"{value!r} is not a valid date")
			return (
				value if fieldtype == "Datetime" else (value.date() if isinstance(value, datetime) else value)
			)
		if fieldtype in ("Int", "Check"):
			number = int(value or 0)
			if fieldtype == "Check" and number not in (0, 1):
				raise ValueError(f"{number} is neither 0 nor 1 (a Check field)")
			return number
		if fieldtype in ("Float", "Currency"):
			number = _number_text(value)
			return None if number is None else float(number)
		text = _text(value)
		if fieldtype == "Select" and text and text not in _options(field):
			raise ValueError(f"{text!r} is not an option of Select {field.fieldname}")
		if fieldtype == "Data" and len(text) > (field.length or DATA_LENGTH):
			raise ValueError(
				f"is {len(text)} characters; {field.fieldname} holds {field.length or DATA_LENGTH}"
			)
		return text

	return convert


def to_portal(portal: PortalColumn, field: ErpField):
	"""The converter of `field`'s value into the portal column's type and length, for the
	push; raises ValueError when the column cannot hold it (nothing is truncated)."""

	def convert(value):
		if portal.kind == DATETIME:
			if value in (None, ""):
				return None
			if isinstance(value, datetime):
				return value
			if isinstance(value, date):
				return datetime.combine(value, datetime.min.time())
			return datetime.fromisoformat(str(value))
		if portal.kind == INT:
			try:
				return int(Decimal(str(value or 0)))
			except (InvalidOperation, ValueError):
				raise ValueError(f"{value!r} is not a whole number") from None
		if isinstance(value, float | Decimal) and field.fieldtype in ("Float", "Currency"):
			text = format(Decimal(str(value)).normalize(), "f")
		else:
			text = _text(value)
		if portal.length and len(text) > portal.length:
			raise ValueError(f"is {len(text)} characters; the portal's {portal.name} holds {portal.length}")
		return text

	return convert


# ---------------------------------------------------------------- the run's registry


def _view_value(kind: str):
	if kind == DATETIME:
		return c.date_text
	return None


def _erpnext_kind(fieldtype: str) -> str:
	if fieldtype == "Date":
		return c.DATE
	if fieldtype == "Datetime":
		return c.DATETIME
	if fieldtype in ("Int", "Check"):
		return c.INT
	if fieldtype in ("Float", "Currency"):
		return c.FLOAT
	return c.TEXT


def _select(column: PortalColumn, alias: str) -> str:
	"""SQL of a mapped column: its name checked (an identifier cannot be a parameter) and
	backticked; a DATETIME read as NULL when zero or invalid."""
	if not c.IDENTIFIER.match(column.name):
		raise ValueError(f"not a column name: {column.name!r}")
	quoted = f"{alias}`{column.name}`"
	if column.kind == DATETIME:
		return f"IF({quoted} > '1000-01-01', {quoted}, NULL) AS `{column.name}`"
	return f"{quoted} AS `{column.name}`"


def column_for(m: FieldMap, portal: PortalColumn, field: ErpField) -> c.Column:
	"""The registry entry of one valid field map."""
	directions = DIRECTIONS[m.direction]
	line = m.portal_table == c.ORDER_ITEMS
	pulled = c.PULL in directions
	role = (c.LINE_FIELD if line else c.HEADER) if pulled else c.KEY
	group = (c.ITEM_GROUP_PREFIX + field.fieldname) if line else field.fieldname
	return c.Column(
		portal.name,
		m.portal_table,
		role,
		groups=(group,) if pulled else (),
		erpnext_field=field.fieldname,
		erpnext_kind=_erpnext_kind(field.fieldtype),
		directions=directions,
		select=_select(portal, "" if line else "pr.") if pulled else "",
		value=_view_value(portal.kind) or (_text if portal.kind == TEXT else None),
		label=field.label or field.fieldname,
		allow_on_submit=field.allow_on_submit,
		mapped=True,
		to_erpnext=to_erpnext(portal, field),
		to_portal=to_portal(portal, field),
	)


def build_registry(
	maps: list[FieldMap],
	portal_columns: dict[str, dict[str, PortalColumn]],
	erpnext_fields: dict[str, dict[str, ErpField]],
	base: tuple = c.REGISTRY,
) -> tuple:
	"""The run's registry: `base` plus one Column per enabled, valid field map (issue 12).

	Maps `validate` refuses are left out (the settings cannot be saved with them; a column
	dropped from the portal since is left out too). Returns a tuple of Columns.
	"""
	entries = list(base)
	for m in maps:
		if not m.enabled or validate([m], portal_columns, erpnext_fields):
			continue
		portal = portal_columns[m.portal_table][m.portal_column.strip()]
		field = erpnext_fields[DOCTYPE_OF[m.portal_table]][m.erpnext_field.strip()]
		entries.append(column_for(m, portal, field))
	return tuple(entries)


def describe(registry) -> list[dict]:
	"""The mapped columns of a registry as the engine reads them (the console's
	`sync_utils.field_maps()`): table, column, field, label, kind, directions, on submit."""
	return [
		{
			"portal_table": col.table,
			"portal_column": col.key,
			"erpnext_field": col.erpnext_field,
			"label": col.label,
			"erpnext_kind": col.erpnext_kind,
			"pull": c.PULL in col.directions,
			"push": c.PUSH in col.directions,
			"allow_on_submit": col.allow_on_submit,
			"view_key": col.view_key if col.compared else None,
		}
		for col in registry
		if col.mapped
	]


# ---------------------------------------------------------------- what the engine asks of a registry's maps


def on_submit_columns(registry=c.REGISTRY) -> tuple[str, ...]:
	"""Keys of the mapped header columns whose Purchase Invoice field allows on submit: a
	submitted invoice takes their portal edits, as it takes the status columns."""
	return tuple(
		col.key
		for col in c.header_columns(registry)
		if col.role == c.HEADER and col.mapped and col.allow_on_submit
	)


def on_submit_values(record, keys: Iterable[str], registry=c.REGISTRY) -> dict:
	"""The allow-on-submit Purchase Invoice fields of the mapped columns `keys` on a portal
	record, by fieldname, converted; raises `columns.MappedValueError` naming the column."""
	keys = set(keys)
	return {
		col.erpnext_field: c.erpnext_value(col, record)
		for col in c.header_columns(registry)
		if col.key in keys
	}


def field_labels(registry=c.REGISTRY) -> dict[str, str]:
	"""Labels of the field groups mapped columns fill (`{"vehicle_no": "Vehicle No",
	"items.unit": "Unit (Items)"}`), for the conflict table and the Sync Log."""
	labels = {}
	for col in registry:
		if col.mapped and col.erpnext_field and col.label:
			for group in col.groups:
				labels[group] = f"{col.label} (Items)" if col.role == c.LINE_FIELD else col.label
	return labels


def named(groups: Iterable[str], registry=c.REGISTRY) -> str:
	"""Field groups (or mapped portal columns) as a person reads them: a mapped field by its
	label, others by name."""
	labels = {col.key: col.label for col in registry if col.mapped and col.label} | field_labels(registry)
	return ", ".join(labels.get(g, g) for g in groups)


def pushed_columns(table: str, registry=c.REGISTRY) -> list:
	"""The mapped columns of `table` the push writes (direction Both or ERPNext to ProcureUAT)."""
	return [col for col in registry if col.table == table and col.mapped and c.PUSH in col.directions]
