"""The one registry of the portal columns the sync reads and maps (contract, "Tables" and
"What maps to what").

A column is declared once, in `REGISTRY`: its portal table and column, its role (a key the
engine reads for its own rules, a mapped header column, a line column, a status column),
the Purchase Invoice field groups a change of it touches (the three-way merge), the
Purchase Invoice field it lands in one-to-one where it does, and the directions that use
it. Everything else reads the registry:

- the client's SELECT lists (`HEADER_SELECT`, `LINE_SELECT`) and the records it builds
  (`invoice_from_row`, `line_from_row`);
- the portal view hashed and diffed by the pull (`portal_view`, `view_hash`);
- the Purchase Invoice header fields of the spec (`erpnext_values`) and of the ERPNext view
  (`erpnext_header_fields`), hence the port's `insert_invoice`/`update_invoice`/`invoice_view`;
- the snapshot of the last sync and the three-way merge (`merge.py`): a snapshot carries the
  registry's version, so one saved before a column was added is upgraded (the new column
  takes the current value as its base) instead of reading as an edit.

Adding a column: one `Column(...)` entry below plus its test (docs/architecture.md). Frappe-free.
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from o2o_sync.sync.model.money import float_money
from o2o_sync.sync.model.records import PortalInvoice, PortalLine

REQUISITIONS = "purchase_requisitions"
ORDER_ITEMS = "purchase_order_items"

# roles
KEY = "key"  # read for the engine's own rules (identity, cursor, linking); not compared
HEADER = "header"  # mapped header column: a change reaches the Purchase Invoice's `groups`
LINE = "line"  # mapped line column: compared as part of the view's `lines`
STATUS = "status"  # status column: kept in an allow-on-submit field, taken by a submitted invoice too
LINE_FIELD = "line_field"  # a line column mapped one-to-one to a Purchase Invoice Item field (field maps)

# directions
PULL = "pull"
PUSH = "push"
BOTH = frozenset({PULL, PUSH})
PULL_ONLY = frozenset({PULL})

# kinds of Purchase Invoice field, for the canonical ERPNext view
TEXT = "text"
DATE = "date"
INT = "int"
FLOAT = "float"
DATETIME = "datetime"

#: A plain SQL identifier: a column name from the settings goes into SQL (backticked) only
#: when it is one and is on the portal's column list (identifiers cannot be parameters).
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: The ERPNext view's key of a Purchase Invoice Item field a line column maps to (`items.<field>`),
#: and the portal view's key of that line column (`lines.<column>`).
ITEM_GROUP_PREFIX = "items."
LINE_KEY_PREFIX = "lines."


def _same(value):
	return value


def _text(value) -> str:
	return value or ""


def _stripped(value) -> str:
	return str(value or "").strip()


def _stripped_or_none(value) -> str | None:
	return (value or "").strip() or None


def _int(value) -> int:
	return int(value or 0)


def date_text(value) -> str | None:
	"""ISO date of a date or datetime ('2026-11-21'), else None."""
	if isinstance(value, datetime):
		return value.date().isoformat()
	if isinstance(value, date):
		return value.isoformat()
	return None


@dataclass(frozen=True)
class Column:
	"""One portal column the sync reads (see the module's docstring).

	`key` names it in records, views and snapshots (the portal column's name, or a derived
	name such as `invoice_date`); `select` is its SQL expression (default: the column;
	'' for a derived column computed from others by `value`); `read` turns the database
	value into the record's value; `value` gives the canonical, JSON-ready value compared
	and hashed (default: the record's value as read); `erpnext_field` is the Purchase Invoice
	field it fills one-to-one (its `groups` then name that field), `erpnext_kind` its type.

	A column from a field map of O2O Sync Settings (`field_maps.build_registry`) is `mapped`,
	carries the ERPNext field's `label`, whether it `allow_on_submit`, and its converters:
	`to_erpnext(raw)` (the record's value into the field's; ValueError names what is wrong)
	and `to_portal(value)` (the field's value into the column's type and length, for the push;
	ValueError when it cannot hold it).
	"""

	key: str
	table: str
	role: str
	groups: tuple[str, ...] = ()
	erpnext_field: str | None = None
	erpnext_kind: str = TEXT
	directions: frozenset = PULL_ONLY
	select: str | None = None
	read: Callable[[Any], Any] = _same
	value: Callable[[Any], Any] | None = None
	label: str = ""
	allow_on_submit: bool = False
	mapped: bool = False
	to_erpnext: Callable[[Any], Any] | None = None
	to_portal: Callable[[Any], Any] | None = None

	@property
	def view_key(self) -> str:
		"""The column's key in the portal view (`lines.<key>` for a mapped line column)."""
		return LINE_KEY_PREFIX + self.key if self.role == LINE_FIELD else self.key

	@property
	def compared(self) -> bool:
		"""True when the column is part of the portal view (hashed and diffed)."""
		return self.role != KEY


def _dt(column: str, alias: str) -> str:
	"""SQL that reads a DATETIME column as NULL when it is zero or invalid (contract, "Tables")."""
	return f"IF({alias}{column} > '1000-01-01', {alias}{column}, NULL) AS {column}"


def _dt_column(key: str, table: str = REQUISITIONS) -> "Column":
	alias = "pr." if table == REQUISITIONS else ""
	return Column(key, table, KEY, select=_dt(key, alias))


def _money_column(key: str, role: str) -> "Column":
	# FLOAT money at full stored precision, rounded half-up to the paisa (contract, "Tables");
	# NULL stays None (never ₹0) and reading never raises: the spec refuses the invoice by name
	return Column(key, ORDER_ITEMS, role, select=f"{key} + 0 AS {key}", read=float_money, value=str)


REGISTRY: tuple[Column, ...] = (
	# ---- purchase_requisitions
	Column("id", REQUISITIONS, KEY, directions=BOTH),
	Column("entity", REQUISITIONS, HEADER, groups=("company",), read=_stripped, value=_stripped),
	Column("order_name", REQUISITIONS, KEY, read=_text),
	Column("order_code", REQUISITIONS, KEY, directions=BOTH, read=_stripped),
	Column("address", REQUISITIONS, KEY, read=_text),
	Column(
		"remark",
		REQUISITIONS,
		HEADER,
		groups=("remarks",),
		erpnext_field="remarks",
		directions=BOTH,
		read=_text,
	),
	Column(
		"invoice_number",
		REQUISITIONS,
		HEADER,
		groups=("bill_no",),
		erpnext_field="bill_no",
		directions=BOTH,
		read=_stripped_or_none,
		value=_text,
	),
	_dt_column("invoice_generated_at"),
	_dt_column("created_at"),
	_dt_column("updated_at"),
	Column(
		"invoice_date",  # derived: the date of invoice_generated_at, else created_at (contract, "Pull")
		REQUISITIONS,
		HEADER,
		groups=("bill_date", "posting_date"),
		erpnext_kind=DATE,
		select="",
	),
	Column(
		"delivery_date",
		REQUISITIONS,
		HEADER,
		groups=("due_date",),
		erpnext_kind=DATE,
		select=_dt("delivery_date", "pr."),
		value=date_text,
	),
	Column("is_invoice_cancel", REQUISITIONS, HEADER, directions=BOTH, read=_int),
	_dt_column("invoice_cancel_date"),
	Column("is_delete", REQUISITIONS, HEADER, read=_int),
	Column("credit_note_number", REQUISITIONS, KEY, read=_text),
	Column("freight_cost", REQUISITIONS, HEADER, groups=("items", "taxes"), value=_stripped),
	Column("currency_id", REQUISITIONS, HEADER, groups=("items", "taxes")),
	Column(
		"order_status",
		REQUISITIONS,
		STATUS,
		erpnext_field="procureuat_order_status",
		erpnext_kind=INT,
	),
	Column(
		"acknowledgement",
		REQUISITIONS,
		STATUS,
		erpnext_field="procureuat_acknowledgement",
		erpnext_kind=INT,
	),
	Column("finance_status", REQUISITIONS, KEY, directions=frozenset({PUSH})),
	# ---- purchase_order_items (the view's `lines`, in this order)
	Column("id", ORDER_ITEMS, LINE, directions=BOTH),
	Column("purchase_order_id", ORDER_ITEMS, KEY),
	Column("vendor_id", ORDER_ITEMS, KEY, directions=BOTH),
	Column("product_id", ORDER_ITEMS, LINE, directions=BOTH),
	Column("quantity", ORDER_ITEMS, LINE, directions=BOTH),
	Column("unit_rate", ORDER_ITEMS, LINE, directions=BOTH, value=_stripped),
	Column("uom", ORDER_ITEMS, LINE, directions=BOTH, value=_text),
	Column("gst_id", ORDER_ITEMS, KEY),
	_money_column("cost", LINE),
	_money_column("gst_amt", LINE),
	_money_column("total_amt", KEY),
	_dt_column("created_at", ORDER_ITEMS),
	_dt_column("updated_at", ORDER_ITEMS),
)


# ---------------------------------------------------------------- the registry's parts


def header_columns(registry: Iterable[Column] = REGISTRY) -> list[Column]:
	"""The `purchase_requisitions` columns, in registry order."""
	return [c for c in registry if c.table == REQUISITIONS]


def line_columns(registry: Iterable[Column] = REGISTRY) -> list[Column]:
	"""The `purchase_order_items` columns, in registry order."""
	return [c for c in registry if c.table == ORDER_ITEMS]


def groups_by_column(registry: Iterable[Column] = REGISTRY) -> dict[str, tuple[str, ...]]:
	"""Which Purchase Invoice field groups a change of each compared header column touches;
	`lines` (every line column) touches items and taxes."""
	groups = {c.key: c.groups for c in header_columns(registry) if c.compared}
	groups["lines"] = ("items", "taxes")
	groups.update({c.view_key: c.groups for c in line_columns(registry) if c.role == LINE_FIELD})
	return groups


def erpnext_line_fields(registry: Iterable[Column] = REGISTRY) -> dict[str, str]:
	"""Purchase Invoice Item fields mapped line columns fill, with their kind, by view key
	(`items.<field>`): the ERPNext view lists each as `[[procureuat_item_id, value], ...]`."""
	return {
		ITEM_GROUP_PREFIX + c.erpnext_field: c.erpnext_kind
		for c in line_columns(registry)
		if c.role == LINE_FIELD and c.erpnext_field
	}


def status_columns(registry: Iterable[Column] = REGISTRY) -> tuple[str, ...]:
	"""Keys of the status columns: a submitted Purchase Invoice takes these (contract, "Pull")."""
	return tuple(c.key for c in header_columns(registry) if c.role == STATUS)


def erpnext_header_fields(registry: Iterable[Column] = REGISTRY) -> dict[str, str]:
	"""Purchase Invoice header fields the pull maps, with their kind (TEXT, DATE, INT), in the
	order the ERPNext view lists them; status fields (allow-on-submit) are left out."""
	fields = {}
	for c in header_columns(registry):
		if c.role == HEADER:
			for group in c.groups:
				if group not in ("items", "taxes", "company"):
					fields[group] = c.erpnext_kind
	return fields


def _select_list(columns: list[Column], alias: str) -> str:
	parts = []
	for c in columns:
		if c.select == "":
			continue
		parts.append(c.select or f"{alias}{c.key}")
	return ", ".join(parts)


def header_select(registry: Iterable[Column] = REGISTRY) -> str:
	"""SELECT list of `purchase_requisitions` (aliased `pr`) for every header column."""
	return _select_list(header_columns(registry), "pr.")


def line_select(registry: Iterable[Column] = REGISTRY) -> str:
	"""SELECT list of `purchase_order_items` (no alias) for every line column."""
	return _select_list(line_columns(registry), "")


HEADER_SELECT = header_select()
LINE_SELECT = line_select()


# ---------------------------------------------------------------- rows into records

_INVOICE_FIELDS = frozenset(PortalInvoice.__dataclass_fields__)
_LINE_FIELDS = frozenset(PortalLine.__dataclass_fields__)


def _record_values(row: dict, columns: list[Column], typed: frozenset) -> tuple[dict, dict]:
	values, extra = {}, {}
	for c in columns:
		if c.select == "":
			continue
		(values if c.key in typed else extra)[c.key] = c.read(row.get(c.key))
	return values, extra


def invoice_from_row(row: dict, registry: Iterable[Column] = REGISTRY) -> PortalInvoice:
	"""A `PortalInvoice` (no lines yet) from a row read with `header_select`; a registry column
	without a typed field of its own lands in `extra`. `change_ts` is kept when the row has it."""
	values, extra = _record_values(row, header_columns(registry), _INVOICE_FIELDS)
	return PortalInvoice(**values, change_ts=row.get("change_ts"), extra=extra)


def line_from_row(row: dict, registry: Iterable[Column] = REGISTRY) -> PortalLine:
	"""A `PortalLine` from a row read with `line_select` (money rounded to the paisa)."""
	values, extra = _record_values(row, line_columns(registry), _LINE_FIELDS)
	return PortalLine(**values, extra=extra)


def value_of(record, key: str):
	"""A registry column's value on a record: its typed field, else its `extra` entry."""
	extra = getattr(record, "extra", None) or {}
	return extra[key] if key in extra else getattr(record, key, None)


# ---------------------------------------------------------------- the portal view


def _view_value(c: Column, record):
	if c.key == "invoice_date":
		return date_text(record.invoice_generated_at or record.created_at)
	raw = value_of(record, c.key)
	return c.value(raw) if c.value else raw


def portal_view(inv: PortalInvoice, registry: Iterable[Column] = REGISTRY) -> dict:
	"""The portal columns o2o_sync compares, canonical and JSON-ready, for hashing and diffs:
	every compared header column by key, and `lines` as one list per line (ordered by line
	id) of the compared line columns' values in registry order."""
	registry = tuple(registry)
	view = {c.key: _view_value(c, inv) for c in header_columns(registry) if c.compared}
	line_cols = [c for c in line_columns(registry) if c.compared and c.role != LINE_FIELD]
	lines = sorted(inv.lines, key=lambda li: li.id)
	view["lines"] = [[_view_value(c, line) for c in line_cols] for line in lines]
	for c in line_columns(registry):
		if c.role == LINE_FIELD:
			view[c.view_key] = [[line.id, _view_value(c, line)] for line in lines]
	return view


def view_hash(view: dict) -> str:
	"""sha256 hex of a view's canonical JSON (sorted keys, no spaces)."""
	text = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
	return hashlib.sha256(text.encode()).hexdigest()


def erpnext_values(inv: PortalInvoice, registry: Iterable[Column] = REGISTRY) -> tuple[dict, dict]:
	"""The one-to-one Purchase Invoice fields of an invoice: `(header, status)` dicts by
	fieldname (e.g. `{"bill_no": ..., "remarks": ...}`, `{"procureuat_order_status": ...}`).
	A mapped column's value is converted to its field's type (`Column.to_erpnext`); raises
	MappedValueError naming the column when the portal's value does not fit the field."""
	header, status = {}, {}
	for c in header_columns(registry):
		if c.erpnext_field and PULL in c.directions:
			target = status if c.role == STATUS else header
			target[c.erpnext_field] = erpnext_value(c, inv)
	return header, status


class MappedValueError(ValueError):
	"""A portal value a mapped field cannot hold; `column` names the portal column."""

	def __init__(self, message: str, column: str):
		super().__init__(message)
		self.column = column


def erpnext_value(c: Column, record):
	"""The Purchase Invoice (Item) field's value of column `c` on a record (a mapped column's
	converted by `Column.to_erpnext`); raises MappedValueError naming the column."""
	if c.to_erpnext is not None:
		try:
			return c.to_erpnext(value_of(record, c.key))
		except ValueError as e:
			raise MappedValueError(f"{c.key} {e} (mapped to {c.erpnext_field})", c.key) from None
	return _view_value(c, record) if c.role == HEADER else value_of(record, c.key)


def line_values(line: PortalLine, registry: Iterable[Column] = REGISTRY) -> dict:
	"""The Purchase Invoice Item fields mapped line columns fill for one line, by fieldname;
	raises MappedValueError naming the column when the portal's value does not fit the field."""
	return {
		c.erpnext_field: erpnext_value(c, line)
		for c in line_columns(registry)
		if c.role == LINE_FIELD and PULL in c.directions
	}
