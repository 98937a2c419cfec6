"""Values of O2O Sync's DocTypes as the form sends them, whatever the console or REST gave.

The form sends text for Data fields, 0/1 for checks and whole numbers for Int fields. The
console (`frappe.get_doc({...}).save()`) and the REST API (`PUT /api/resource/...`) pass
JSON's and Python's own types: an entity id as a number, a port as text, a check as
`"true"`. Frappe itself would store `"true"` as 0 and `"abc"` as 0 without a word, and code
that expects text fails on a number (`'int' object has no attribute 'strip'`).
`coerce_field_values` turns each value into the form's type or names it as refused; the
controllers' `validate` calls `check_field_values` first. A Password field's value is never
quoted in a message.
"""

import datetime
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import escape_html

#: fields whose value is text in the form
TEXT_FIELDTYPES = frozenset(
	(
		"Data",
		"Link",
		"Dynamic Link",
		"Select",
		"Small Text",
		"Text",
		"Long Text",
		"Code",
		"Password",
	)
)
COERCED_FIELDTYPES = TEXT_FIELDTYPES | {"Int", "Check", "Date"}
CHECK_TRUE = frozenset(("1", "true", "yes", "on"))
CHECK_FALSE = frozenset(("0", "false", "no", "off", ""))
#: longest piece of a refused value quoted in a message (characters)
QUOTE_LENGTH = 40


def coerce_field_values(doc) -> list[str]:
	"""Turn each field value of `doc` and of its child rows into the type the form sends, in place.

	- text fields (Data, Link, Select, Small Text, Password, ...): a number becomes its text
	  (7 and 7.0 become "7", 2.5 becomes "2.5"); True/False, lists and dicts are refused;
	- Int: a whole number stays, True/False become 1/0, 7.0 and " +7 " become 7, anything else
	  (text that is not a whole number, 2.5) is refused;
	- Check: True/False, 0/1, and "0"/"1"/"true"/"false"/"yes"/"no"/"on"/"off" in any case
	  become 1/0; anything else (2, "maybe") is refused;
	- Date: a date, a datetime (its date) or ISO text ("2026-04-01", or a datetime's text,
	  kept as its date "2026-04-01"); anything else ("01/04/2026", "2026-02-30") is refused.
	None stays None. Other field types are left to Frappe.

	Returns one message per refused value, naming the field (and row), quoting at most
	`QUOTE_LENGTH` characters of the value, HTML-escaped, and never a Password's value; an
	empty list when every value is usable. A refused value is left as it was.
	"""
	problems = []
	for row in [doc, *doc.get_all_children()]:
		for df in row.meta.fields:
			value = row.get(df.fieldname)
			if value is None or df.fieldtype not in COERCED_FIELDTYPES:
				continue
			try:
				coerced = _coerce(df.fieldtype, value)
			except ValueError as e:
				problems.append(_describe(row, df, value, str(e)))
				continue
			if coerced is not value:
				row.set(df.fieldname, coerced)
	return problems


def check_field_values(doc, title: str) -> None:
	"""Coerce `doc`'s values (`coerce_field_values`); throw one frappe.ValidationError listing
	every refused value, titled `title`, when there is any."""
	if problems := coerce_field_values(doc):
		frappe.throw(
			_("Please correct the following:")
			+ "<ul>"
			+ "".join(f"<li>{problem}</li>" for problem in problems)
			+ "</ul>",
			title=title,
		)


def _coerce(fieldtype: str, value):
	"""`value` as the form gives a field of `fieldtype`; raises ValueError saying what is expected."""
	if fieldtype in TEXT_FIELDTYPES:
		if isinstance(value, str):
			return value
		if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
			raise ValueError(_("must be text"))
		if isinstance(value, float | Decimal) and value == int(value):
			value = int(value)
		return str(value)

	if fieldtype == "Int":
		if isinstance(value, bool):
			return int(value)
		if isinstance(value, int):
			return value
		if isinstance(value, float | Decimal) and value == int(value):
			return int(value)
		text = value.strip() if isinstance(value, str) else None
		if text is not None and text.lstrip("+-").isdigit():
			return int(text)
		if text == "":
			return 0
		raise ValueError(_("must be a whole number"))

	if fieldtype == "Check":
		if isinstance(value, bool) or value in (0, 1):
			return int(value)
		if isinstance(value, str) and value.strip().lower() in CHECK_TRUE | CHECK_FALSE:
			return 1 if value.strip().lower() in CHECK_TRUE else 0
		raise ValueError(_("must be 0 or 1 (or true / false)"))

	if fieldtype == "Date":
		if isinstance(value, datetime.datetime):
			return value.date()
		if isinstance(value, datetime.date):
			return value
		if not isinstance(value, str):
			raise ValueError(_("must be a date (YYYY-MM-DD)"))
		text = value.strip()
		if not text:
			return None
		try:
			if len(text) == 10:
				return datetime.date.fromisoformat(text).isoformat()
			return datetime.datetime.fromisoformat(text).date().isoformat()
		except ValueError:
			raise ValueError(_("must be a date (YYYY-MM-DD)")) from None

	return value


def _describe(row, df, value, expected: str) -> str:
	label = _(df.label or df.fieldname)
	if df.fieldtype == "Password":
		message = _("{0} {1}").format(label, expected)
	else:
		shown = str(value)
		if len(shown) > QUOTE_LENGTH:
			shown = shown[:QUOTE_LENGTH] + "…"
		message = _("{0} {1}, not {2} ({3})").format(
			label, expected, escape_html(shown), type(value).__name__
		)
	if row.get("parentfield"):
		return _("Row {0} of {1}: {2}").format(row.idx, _(row.doctype), message)
	return message
