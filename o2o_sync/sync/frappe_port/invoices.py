"""The port's Purchase Invoices: reading them for the engine, writing what the pull decided."""

import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import cint, cstr, flt, get_datetime, get_system_timezone, getdate

from o2o_sync.constants import F_ITEM_ID, F_SYNC_STATUS, PURCHASE_INVOICE, SYNCED
from o2o_sync.sync.model import columns, gst, rules
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.port import InvoiceState
from o2o_sync.sync.model.records import InvoiceSpec, SpecLine

TAX_LABELS = {"cgst": "CGST", "sgst": "SGST", "igst": "IGST"}
#: ERPNext's flag (read by `calculate_taxes_and_totals` for every doctype; a field of Sales
#: Taxes and Charges, installed on Purchase Taxes and Charges by `setup.custom_fields`): the row
#: keeps its `item_wise_tax_detail`; an "Actual" row keeps its `tax_amount` anyway.
DONT_RECOMPUTE_TAX = "dont_recompute_tax"


def rupees(value) -> Decimal:
	"""A Frappe currency value as Decimal rupees to the paisa."""
	return Decimal(str(flt(value, 2))).quantize(Decimal("0.01"))


def _num(value) -> str:
	return f"{flt(value, 6):.6f}"


def _date(value) -> str | None:
	return str(getdate(value)) if value else None


def _canonical(value, kind: str):
	"""A field's value as the ERPNext view holds it, by its kind (`columns` TEXT, DATE, ...)."""
	if kind == columns.DATE:
		return _date(value)
	if kind == columns.DATETIME:
		return str(get_datetime(value)) if value else None
	if kind == columns.INT:
		return cint(value)
	if kind == columns.FLOAT:
		return None if value in (None, "") else _num(value)
	return cstr(value).strip()


def invoice_view(doc, registry=columns.REGISTRY) -> dict:
	"""The mapped fields of a Purchase Invoice, canonical, for the three-way merge and hashes:
	company, supplier, the header fields the column registry maps (`columns.erpnext_header_fields`),
	items and taxes; a mapped Purchase Invoice Item field (field maps) as `items.<field>`:
	`[[procureuat_item_id, value], ...]` of the rows the pull wrote."""
	view = {"company": doc.company, "supplier": doc.supplier}
	for fieldname, kind in columns.erpnext_header_fields(registry).items():
		value = doc.get(fieldname)
		view[fieldname] = cstr(value) if kind == columns.TEXT else _canonical(value, kind)
	for key, kind in columns.erpnext_line_fields(registry).items():
		field = key[len(columns.ITEM_GROUP_PREFIX) :]
		view[key] = [
			[cint(row.get(F_ITEM_ID)), _canonical(row.get(field), kind)]
			for row in doc.items
			if row.get(F_ITEM_ID)
		]
	return {
		**view,
		"items": [
			[
				row.get(F_ITEM_ID) or None,
				row.item_code,
				_num(row.qty),
				_num(row.rate),
				row.item_tax_template or None,
				row.expense_account or None,
				row.cost_center or None,
				row.get("project") or None,
			]
			for row in doc.items
		],
		"taxes": [_tax_view(t) for t in doc.taxes],
	}


def _tax_view(tax) -> list:
	"""A tax row in the ERPNext view: account, charge type, rate, and the amount when the row
	keeps its own (a pulled GST row, `dont_recompute_tax`): an edit of it is an ERPNext edit."""
	view = [tax.account_head, tax.charge_type, _num(tax.rate)]
	if tax.get(DONT_RECOMPUTE_TAX):
		view.append(_num(tax.tax_amount))
	return view


class Invoices:
	"""Purchase Invoices of `FrappePort` (a mixin: `FrappePort` gives `gst_accounts`, the
	set of GST accounts of the settings, and the Item Tax Templates of `TaxTemplates`)."""

	# ------------------------------------------------------------ reading

	def _state(self, doc) -> InvoiceState:
		accounts = self._gst_heads()
		by_account: dict[str, Decimal] = {}
		for t in doc.taxes:
			if t.account_head in accounts:
				amount = rupees(t.base_tax_amount_after_discount_amount)
				by_account[t.account_head] = by_account.get(t.account_head, Decimal(0)) + amount
		gst_total = sum(by_account.values(), Decimal(0))
		has_payments = False
		if doc.docstatus == 1:
			has_payments = bool(
				frappe.db.exists(
					"Payment Ledger Entry",
					{"against_voucher_no": doc.name, "voucher_no": ["!=", doc.name], "delinked": 0},
				)
			)
		return InvoiceState(
			name=doc.name,
			docstatus=doc.docstatus,
			net_total=rupees(doc.base_net_total),
			gst_total=gst_total,
			grand_total=rupees(doc.base_grand_total),
			outstanding_amount=rupees(doc.outstanding_amount),
			has_payments=has_payments,
			view=invoice_view(doc, self.registry),
			is_return=bool(doc.is_return),
			amended_from=doc.amended_from,
			gst_by_account=by_account,
			# Frappe keeps `modified` naive in the System Settings time zone
			modified=get_datetime(doc.modified).replace(tzinfo=ZoneInfo(get_system_timezone()))
			if doc.modified
			else None,
		)

	def get_invoice(self, name):
		"""InvoiceState of a Purchase Invoice, or None when `name` is empty or no invoice."""
		if not name or not frappe.db.exists(PURCHASE_INVOICE, name):
			return None
		return self._state(frappe.get_doc(PURCHASE_INVOICE, name))

	def find_invoice_by_bill_no(self, company, supplier, bill_no):
		"""The draft or submitted Purchase Invoice of that company, supplier and bill no (the
		last modified, as `frappe.db.get_value` picks), or None. One statement: the pull asks
		it for every invoice it creates."""
		rows = frappe.db.sql(
			f"""select name from `tab{PURCHASE_INVOICE}`
			where company = %s and supplier = %s and bill_no = %s and docstatus < 2
			order by modified desc limit 1""",
			(company, supplier, bill_no),
		)
		return self.get_invoice(rows[0][0]) if rows else None

	def resolve_amended(self, name):
		"""The newest amendment of `name` (following `amended_from` forward), or None when
		`name` is no Purchase Invoice (one statement: the pull asks it for every new portal
		row's `order_code`)."""
		if not name or not frappe.db.sql(
			f"select name from `tab{PURCHASE_INVOICE}` where name = %s", (name,)
		):
			return None
		seen = {name}
		while True:
			nxt = frappe.db.get_value(
				PURCHASE_INVOICE, {"amended_from": name}, "name", order_by="creation desc"
			)
			if not nxt or nxt in seen:
				return name
			seen.add(nxt)
			name = nxt

	# ------------------------------------------------------------ rows from a spec

	def _item_row(self, spec: InvoiceSpec, item: SpecLine) -> dict:
		row = {
			"item_code": item.item_code,
			"description": item.description,
			"qty": item.qty,
			"rate": flt(item.rate, 6),
			F_ITEM_ID: item.procureuat_item_id,
			**item.extra,
		}
		if item.expense_account:
			row["expense_account"] = item.expense_account
		if item.cost_center:
			row["cost_center"] = item.cost_center
		if spec.gst_split != gst.NO_GST and item.gst_rate is not None:
			row["item_tax_template"] = self._template(
				spec.company, spec.gst_split, item.gst_rate, spec.tax_accounts
			)
		return row

	@staticmethod
	def _tax_rows(spec: InvoiceSpec) -> list[dict]:
		"""The GST rows of a spec (`rules.pulled_gst_rows`): one per account, "Actual" with the
		portal lines' amount, its item-wise tax detail written with ERPNext's own
		`dont_recompute_tax` (see `setup.custom_fields`), so ERPNext keeps both on validate:
		each line's rate and amount, totals equal to the portal's to the paisa."""
		return [
			{
				"charge_type": rules.ACTUAL,
				"account_head": row.account,
				"tax_amount": flt(row.amount, 2),
				"description": TAX_LABELS[row.kind],
				"category": "Total",
				"add_deduct_tax": "Add",
				DONT_RECOMPUTE_TAX: 1,
				"item_wise_tax_detail": json.dumps(row.item_wise, separators=(",", ":")),
			}
			for row in rules.pulled_gst_rows(spec)
		]

	def _check_templates(self, doc, spec: InvoiceSpec):
		expected = [self._item_row(spec, i).get("item_tax_template") for i in spec.items]
		for row, want in zip(doc.items, expected, strict=False):
			if (row.item_tax_template or None) != want:
				raise InvoiceError(
					f"Item {row.item_code} (row {row.idx}) got Item Tax Template {row.item_tax_template!r} instead of "
					f"{want!r}: the Item or its Item Group carries templates of its own",
					field="item_tax_template",
				)

	# ------------------------------------------------------------ writing

	def insert_invoice(self, spec: InvoiceSpec, submit: bool) -> InvoiceState:
		"""Insert a Purchase Invoice from a spec (`spec.build_spec`), submit it when asked.

		In the company's currency at rate 1 (contract: portal invoices are INR), posting
		time set, no stock update, no rounding; `due_date` only when the spec gives one.
		Raises InvoiceError when ERPNext put another Item Tax Template on a line.
		"""
		self.gst_accounts.update(spec.tax_accounts.values())
		values = {
			"doctype": PURCHASE_INVOICE,
			"company": spec.company,
			# portal invoices are in INR, the company's currency (contract: currency_id 1)
			"currency": frappe.get_cached_value("Company", spec.company, "default_currency"),
			"conversion_rate": 1,
			"supplier": spec.supplier,
			**{k: v for k, v in spec.header.items() if k != "due_date"},
			"remarks": spec.header.get("remarks") or None,
			"set_posting_time": 1,
			"update_stock": 0,
			"disable_rounded_total": 1,
			**spec.tracking,
			F_SYNC_STATUS: SYNCED,
			"items": [self._item_row(spec, item) for item in spec.items],
			"taxes": self._tax_rows(spec),
		}
		if spec.header.get("due_date") is not None:
			values["due_date"] = spec.header["due_date"]
		# built from a dict, not `frappe.new_doc`: `insert` fills the defaults of what is left
		# empty either way (`Document._set_defaults`), and a new_doc costs a second copy of them
		doc = frappe.get_doc(values)
		doc.flags.o2o_from_pull = True
		reserved = self.reserved_invoice_name()  # a backfill part's (`backfill_rows`), else None
		try:
			doc.insert(ignore_permissions=True, set_name=reserved)
			self._check_templates(doc, spec)
			if submit:
				doc.submit()
		except Exception:
			self.give_back_invoice_name(reserved)  # the savepoint takes the insert back
			raise
		self.note_invoice_status(doc.name, SYNCED)
		return self._state(doc)

	def submit_invoice(self, name):
		"""Submit a draft Purchase Invoice (ERPNext's validations apply)."""
		doc = frappe.get_doc(PURCHASE_INVOICE, name)
		doc.flags.o2o_from_pull = True
		doc.submit()

	def update_invoice(self, name, spec: InvoiceSpec, groups):
		"""Apply a portal edit's field `groups` to a draft (see `rules`): header fields, the
		items (a matched row keeps its `rules.KEPT_ITEM_FIELDS` and unmapped fields) and the
		GST rows (other tax rows kept after them).

		Raises InvoiceError when the invoice is not a draft or ERPNext put another Item Tax
		Template on a line.
		"""
		self.gst_accounts.update(spec.tax_accounts.values())
		doc = frappe.get_doc(PURCHASE_INVOICE, name)
		if doc.docstatus != 0:
			raise InvoiceError(f"{name} is submitted; only a draft can take portal edits", field="docstatus")
		self._apply_groups(doc, spec, groups)
		doc.flags.o2o_from_pull = True
		doc.save(ignore_permissions=True)
		if rules.updates_items(groups):
			self._check_templates(doc, spec)
		return self._state(doc)

	def amend_invoice(self, name, spec: InvoiceSpec):
		"""A draft amendment of cancelled invoice `name`, as ERPNext's own Amend makes it
		(`frappe.copy_doc`, `amended_from`, the amended name), with every field group of the
		spec applied as `update_invoice` does and the spec's tracking fields; the payment
		schedule is rebuilt from the new dates. Raises InvoiceError when `name` is not
		cancelled or ERPNext put another Item Tax Template on a line."""
		self.gst_accounts.update(spec.tax_accounts.values())
		old = frappe.get_doc(PURCHASE_INVOICE, name)
		if old.docstatus != 2:
			raise InvoiceError(
				f"{name} is not cancelled; only a cancelled invoice can be amended", field="docstatus"
			)
		doc = frappe.copy_doc(old)
		doc.amended_from = old.name
		doc.docstatus = 0
		for child in doc.get_all_children():
			child.docstatus = 0
		doc.set("payment_schedule", [])
		self._apply_groups(
			doc,
			spec,
			{
				rules.COMPANY_GROUP,
				rules.ITEMS_GROUP,
				rules.TAXES_GROUP,
				*spec.header,
				*(columns.ITEM_GROUP_PREFIX + f for item in spec.items for f in item.extra),
			},
		)
		doc.update({**spec.tracking, F_SYNC_STATUS: SYNCED})
		doc.flags.o2o_from_pull = True
		doc.insert(ignore_permissions=True)
		self._check_templates(doc, spec)
		self.note_invoice_status(doc.name, SYNCED)
		return self._state(doc)

	def _apply_groups(self, doc, spec: InvoiceSpec, groups):
		"""Set a draft's header fields, items and GST rows of the field `groups` from the spec."""
		for field, value in rules.header_updates(spec, groups).items():
			doc.set(field, value)
		if rules.updates_items(groups):
			existing = {}
			for row in doc.items:
				existing.setdefault(rules.item_row_key(row.get(F_ITEM_ID), row.item_code), row)
			doc.set("items", [])
			for item in spec.items:
				values = self._item_row(spec, item)
				row = existing.pop(rules.item_row_key(item.procureuat_item_id, item.item_code), None)
				if row is not None:
					# keep what the portal does not map: an accountant's cost centre, project, account
					for field in rules.PRICING_FIELDS:
						if field not in item.extra:  # a field map's value is the portal's
							row.set(field, None)
					# a mapped line field (field maps) only when its own group is taken
					row.update(
						{
							k: v
							for k, v in rules.item_update_values(values).items()
							if k not in item.extra or columns.ITEM_GROUP_PREFIX + k in groups
						}
					)
					doc.append("items", row)
				else:
					doc.append("items", values)
		for group in groups:
			if group.startswith(columns.ITEM_GROUP_PREFIX):  # a mapped line field (field maps)
				field = group[len(columns.ITEM_GROUP_PREFIX) :]
				by_line = {
					item.procureuat_item_id: item.extra for item in spec.items if item.procureuat_item_id
				}
				for row in doc.items:
					values = by_line.get(cint(row.get(F_ITEM_ID)))
					if values is not None and field in values:
						row.set(field, values[field])
		if rules.rewrites_gst_rows(groups):
			gst_heads = self._gst_heads()
			others = [t for t in doc.taxes if t.account_head not in gst_heads]
			doc.set("taxes", [])
			for tax in self._tax_rows(spec):
				doc.append("taxes", tax)
			for tax in others:
				doc.append("taxes", tax)

	def set_status_fields(self, name, fields):
		"""Write allow-on-submit fields (`procureuat_*`, `o2o_sync_status`) without touching `modified`."""
		self.note_invoice_status(name, None)  # what `insert_invoice` wrote may be changed here
		frappe.db.set_value(PURCHASE_INVOICE, name, fields, update_modified=False)

	def cancel_invoice(self, name):
		"""Cancel a submitted Purchase Invoice."""
		doc = frappe.get_doc(PURCHASE_INVOICE, name)
		doc.flags.o2o_from_pull = True
		doc.flags.ignore_permissions = True
		doc.cancel()

	def delete_invoice(self, name):
		"""Delete a draft Purchase Invoice."""
		frappe.delete_doc(PURCHASE_INVOICE, name, ignore_permissions=True, force=False)
