# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""O2O Sync Settings: what the sync does and how portal entities map onto ERPNext companies.

`validate` collects every problem it finds and throws them together, each naming its row, so
an administrator fixes a whole form in one round.
"""

import re

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, cstr, escape_html

from o2o_sync.constants import ITEM
from o2o_sync.o2o_sync.field_map_settings import field_map_problems
from o2o_sync.o2o_sync.field_values import check_field_values

# A GST invoice number is PREFIX/YY-YY/NNNN and may be 16 characters at most (rule 46), so the
# prefix has 5; '/' separates the parts and cannot be in it.
INVOICE_PREFIX_MAX_LENGTH = 5
INVOICE_PREFIX_RE = re.compile(r"[A-Za-z0-9-]+")
PULL_BATCH_SIZE_RANGE = (1, 5000)

# 2-digit state code, 10-character PAN, entity number, 'Z', check character
GSTIN_RE = re.compile(r"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]")
GSTIN_CODE_POINTS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

GST_ACCOUNT_TYPES = ("Tax", "Chargeable")
GST_ACCOUNT_FIELDS = ("cgst_account", "sgst_account", "igst_account")


class O2OSyncSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from o2o_sync.o2o_sync.doctype.o2o_sync_entity.o2o_sync_entity import O2OSyncEntity
		from o2o_sync.o2o_sync.doctype.o2o_sync_field_map.o2o_sync_field_map import O2OSyncFieldMap
		from o2o_sync.o2o_sync.doctype.o2o_sync_notify_user.o2o_sync_notify_user import O2OSyncNotifyUser

		conflict_strategy: DF.Literal[
			"Hold for review", "ProcureUAT wins", "ERPNext wins", "Latest edit wins"
		]
		database_connection: DF.Link | None
		default_item: DF.Link | None
		enabled: DF.Check
		entities: DF.Table[O2OSyncEntity]
		field_maps: DF.Table[O2OSyncFieldMap]
		freight_item: DF.Link | None
		invoice_prefix: DF.Data | None
		last_pull_at: DF.Datetime | None
		last_pull_summary: DF.SmallText | None
		log_retention_days: DF.Int
		notify_users: DF.TableMultiSelect[O2OSyncNotifyUser]
		portal_user_id: DF.Int
		pull_batch_size: DF.Int
		pull_cursor_id: DF.Int
		pull_cursor_updated_at: DF.Datetime | None
		pull_from_date: DF.Date | None
		submit_pulled_invoices: DF.Check
		supplier_group: DF.Link | None
	# end: auto-generated types

	def validate(self):
		"""Check the whole form; throw one message listing every problem.

		Values saved from the console or REST are first read as the form gives them (an entity
		id as a number, a batch size as text, a check as "true"; `field_values`), or refused.
		"""
		check_field_values(self, _("Invalid O2O Sync Settings"))
		problems = []
		self.validate_general(problems)
		self.validate_items(problems)
		self.validate_entities(problems)
		self.validate_field_maps(problems)
		if problems:
			frappe.throw(
				_("Please correct the following:")
				+ "<ul>"
				+ "".join(f"<li>{problem}</li>" for problem in problems)
				+ "</ul>",
				title=_("Invalid O2O Sync Settings"),
			)

	def validate_field_maps(self, problems: list[str]):
		"""Field maps (issue 12): the rules are `field_map_rules.validate`'s, the portal's columns
		read live when the connection answers (`field_map_settings.field_map_problems`)."""
		if not self.get("field_maps"):
			return
		found, live = field_map_problems(self)
		if not live:
			note = _(
				"The portal did not answer: field map columns were checked against the contract's column"
				" list, not the live portal"
			)
			if found:
				problems.append(escape_html(note))
			else:
				frappe.msgprint(note, indicator="orange", alert=True)
		problems.extend(escape_html(p) for p in found)

	def validate_general(self, problems: list[str]):
		"""Database connection when enabled, invoice prefix, batch size and log retention."""
		if self.enabled and not self.database_connection:
			problems.append(_("Database Connection is required to enable the sync"))

		self.invoice_prefix = cstr(self.invoice_prefix).strip()
		if self.invoice_prefix:
			if len(self.invoice_prefix) > INVOICE_PREFIX_MAX_LENGTH:
				problems.append(
					_(
						"Invoice Prefix '{0}' is {1} characters long; an invoice number PREFIX/YY-YY/NNNN "
						"may have 16, so the prefix may have {2}"
					).format(
						escape_html(self.invoice_prefix), len(self.invoice_prefix), INVOICE_PREFIX_MAX_LENGTH
					)
				)
			if not INVOICE_PREFIX_RE.fullmatch(self.invoice_prefix):
				problems.append(
					_("Invoice Prefix '{0}' may only contain letters, digits and '-'").format(
						escape_html(self.invoice_prefix)
					)
				)

		low, high = PULL_BATCH_SIZE_RANGE
		if not low <= cint(self.pull_batch_size) <= high:
			problems.append(_("Pull Batch Size must be between {0} and {1}").format(low, high))

		if cint(self.log_retention_days) < 1:
			problems.append(_("Log Retention (days) must be at least 1"))

	def validate_items(self, problems: list[str]):
		"""Default and freight items must be usable, non-stock items (pulled lines have no receipt)."""
		for fieldname in ("default_item", "freight_item"):
			item_code = self.get(fieldname)
			if not item_code:
				continue
			label = _(self.meta.get_label(fieldname))
			item = frappe.db.get_value(
				ITEM, item_code, ["is_stock_item", "disabled", "has_variants"], as_dict=True
			)
			if not item:
				problems.append(_("{0} '{1}' does not exist").format(label, escape_html(item_code)))
				continue
			if item.is_stock_item:
				problems.append(
					_("{0} '{1}' is a stock item; it must be a non-stock item").format(label, item_code)
				)
			if item.disabled:
				problems.append(_("{0} '{1}' is disabled").format(label, item_code))
			if item.has_variants:
				problems.append(
					_("{0} '{1}' is a template item; choose one of its variants").format(label, item_code)
				)

	def validate_entities(self, problems: list[str]):
		"""Each entity row: unique id, well-formed GSTIN, accounts and cost center of its own company."""
		seen = {}
		for row in self.entities:
			row.entity_id = cstr(row.entity_id).strip()
			row.company_gstin = cstr(row.company_gstin).strip().upper()
			where = _("Row {0} (entity {1})").format(row.idx, escape_html(row.entity_id))

			if not row.entity_id.isdigit():
				problems.append(_("{0}: Entity ID must be the portal's numeric entity id").format(where))
			if row.entity_id in seen:
				problems.append(
					_("{0}: Entity ID {1} is already mapped in row {2}").format(
						where, escape_html(row.entity_id), seen[row.entity_id]
					)
				)
			else:
				seen[row.entity_id] = row.idx

			if row.company_gstin and (gstin_problem := get_gstin_problem(row.company_gstin)):
				problems.append(
					_("{0}: Company GSTIN '{1}' {2}").format(
						where, escape_html(row.company_gstin), gstin_problem
					)
				)

			for fieldname in (*GST_ACCOUNT_FIELDS, "expense_account"):
				if account := row.get(fieldname):
					label = _(row.meta.get_label(fieldname))
					problems.extend(
						f"{where}: {problem}"
						for problem in get_account_problems(
							account, label, row.company, fieldname in GST_ACCOUNT_FIELDS
						)
					)

			if row.cgst_account and row.cgst_account == row.sgst_account:
				problems.append(
					_("{0}: CGST Account and SGST Account must be different accounts").format(where)
				)

			if row.cost_center:
				cost_center = frappe.db.get_value(
					"Cost Center", row.cost_center, ["company", "is_group", "disabled"], as_dict=True
				)
				if not cost_center:
					problems.append(_("{0}: Cost Center '{1}' does not exist").format(where, row.cost_center))
				else:
					if cost_center.company != row.company:
						problems.append(
							_("{0}: Cost Center '{1}' belongs to company {2}, not {3}").format(
								where, row.cost_center, cost_center.company, row.company
							)
						)
					if cost_center.is_group:
						problems.append(
							_("{0}: Cost Center '{1}' is a group; choose a cost center under it").format(
								where, row.cost_center
							)
						)
					if cost_center.disabled:
						problems.append(
							_("{0}: Cost Center '{1}' is disabled").format(where, row.cost_center)
						)


def get_account_problems(account: str, label: str, company: str, is_gst_account: bool) -> list[str]:
	"""What makes `account` unusable as `label` of `company`, as messages (empty when it is fine)."""
	details = frappe.db.get_value(
		"Account", account, ["company", "is_group", "account_type", "disabled"], as_dict=True
	)
	if not details:
		return [_("{0} '{1}' does not exist").format(label, account)]

	problems = []
	if details.company != company:
		problems.append(
			_("{0} '{1}' belongs to company {2}, not {3}").format(label, account, details.company, company)
		)
	if details.is_group:
		problems.append(_("{0} '{1}' is a group account; choose a ledger under it").format(label, account))
	if details.disabled:
		problems.append(_("{0} '{1}' is disabled").format(label, account))
	if is_gst_account and details.account_type not in GST_ACCOUNT_TYPES:
		problems.append(
			_("{0} '{1}' has Account Type '{2}'; a GST account must be of type {3}").format(
				label, account, details.account_type or "", " or ".join(GST_ACCOUNT_TYPES)
			)
		)
	return problems


def gstin_check_character(first_14: str) -> str:
	"""The GSTIN check character for the first 14 characters (mod-36 Luhn, as the GST network computes it)."""
	modulus = len(GSTIN_CODE_POINTS)
	total = 0
	for position, char in enumerate(first_14):
		product = GSTIN_CODE_POINTS.index(char) * (2 if position % 2 else 1)
		total += product // modulus + product % modulus
	return GSTIN_CODE_POINTS[(modulus - total % modulus) % modulus]


def get_gstin_problem(gstin: str) -> str | None:
	"""Why `gstin` is not a well-formed GSTIN (a sentence fragment), or None when it is."""
	if not GSTIN_RE.fullmatch(gstin):
		return _(
			"is not a GSTIN: 15 characters, a 2-digit state code, a 10-character PAN, "
			"an entity character, 'Z' and a check character"
		)
	if gstin[-1] != gstin_check_character(gstin[:14]):
		return _("has a wrong check character (a typing mistake?)")
	return None
