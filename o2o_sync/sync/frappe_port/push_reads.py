"""What the push reads from ERPNext and writes back on the Purchase Invoice."""

import json
from decimal import Decimal

import frappe
from frappe.utils import cstr, flt, getdate, strip_html

from o2o_sync.constants import (
	F_INVOICE_NUMBER,
	F_PROCUREUAT_ID,
	F_PRODUCT_ID,
	F_SYNC_STATUS,
	F_VENDOR_ID,
	FAILED,
	ITEM,
	PURCHASE_INVOICE,
	SUPPLIER,
	SYNCED,
)
from o2o_sync.sync.frappe_port.bookkeeping import MAPPING_FIELDS, amendment_chain
from o2o_sync.sync.frappe_port.invoices import rupees
from o2o_sync.sync.model import columns, field_maps, rules
from o2o_sync.sync.model.records import PushInvoice, PushLine, PushTax


def _rate(value) -> Decimal:
	"""A Frappe percent value (float, or JSON number) as Decimal."""
	return Decimal(str(flt(value)))


class PushReads:
	"""The push side of `FrappePushPort` (a mixin over `FrappePort`: it gives
	`gst_accounts`, `entity_by_company`, `save_mapping` and `_record`)."""

	def push_invoice(self, name):
		"""The Purchase Invoice `name` as a PushInvoice, or None when it does not exist.

		The port reads the facts; the engine's `rules` turn them into each line's GST rate
		and amount, the kind of each tax row and the amount payable.
		"""
		if not frappe.db.exists(PURCHASE_INVOICE, name):
			return None
		doc = frappe.get_doc(PURCHASE_INVOICE, name)
		gst_taxes = [t for t in doc.taxes if t.account_head in self.gst_accounts]
		gst_rows = [(t.account_head, t.charge_type, _rate(t.rate)) for t in gst_taxes]
		products = dict(
			frappe.get_all(
				ITEM,
				filters={"name": ["in", list({r.item_code for r in doc.items})]},
				fields=["name", F_PRODUCT_ID],
				as_list=True,
			)
		)
		line_maps = field_maps.pushed_columns(columns.ORDER_ITEMS, self.registry)
		bases = []
		for row in doc.items:
			item_rates = json.loads(row.item_tax_rate) if row.item_tax_rate else {}
			item_rates = {a: _rate(r) for a, r in item_rates.items() if a in self.gst_accounts}
			bases.append((rupees(row.base_net_amount), item_rates))
		# each GST row's amount (after any additional discount) shared out over the lines
		shares = rules.line_gst_shares(
			bases,
			[
				(*row, rupees(t.base_tax_amount_after_discount_amount))
				for row, t in zip(gst_rows, gst_taxes, strict=True)
			],
		)
		lines = [
			PushLine(
				idx=row.idx,
				item_code=row.item_code,
				qty=Decimal(str(flt(row.qty, 6))),
				rate=Decimal(str(flt(row.net_rate or row.rate, 6))),
				net_amount=net,
				gst_amount=share,
				gst_rate=rules.line_gst_rate(gst_rows, item_rates),
				product_id=int(products.get(row.item_code) or 0) or None,
				uom=row.uom,
				extra={c.erpnext_field: row.get(c.erpnext_field) for c in line_maps},
			)
			for row, (net, item_rates), share in zip(doc.items, bases, shares, strict=True)
		]
		taxes = [
			PushTax(
				idx=t.idx,
				account_head=t.account_head,
				charge_type=t.charge_type,
				kind=rules.tax_kind(
					t.account_head in self.gst_accounts, bool(t.get("is_tax_withholding_account"))
				),
			)
			for t in doc.taxes
		]
		payable = rules.payable(doc.grand_total, doc.get("rounded_total"), doc.get("disable_rounded_total"))
		return PushInvoice(
			name=doc.name,
			chain=amendment_chain(doc.name),
			company=doc.company,
			entity_id=self.entity_by_company.get(doc.company),
			supplier=doc.supplier,
			supplier_name=doc.supplier_name or doc.supplier,
			vendor_id=frappe.db.get_value(SUPPLIER, doc.supplier, F_VENDOR_ID) or None,
			supplier_address=strip_html(cstr(doc.get("address_display"))).strip(),
			remarks=cstr(doc.remarks),
			bill_no=cstr(doc.bill_no),
			posting_date=getdate(doc.posting_date),
			currency=doc.currency,
			is_return=bool(doc.is_return),
			lines=lines,
			taxes=taxes,
			grand_total=rupees(payable),
			outstanding_amount=rupees(doc.outstanding_amount),
			docstatus=doc.docstatus,
			extra={
				c.erpnext_field: doc.get(c.erpnext_field)
				for c in field_maps.pushed_columns(columns.REQUISITIONS, self.registry)
			},
			rounding_adjustment=rupees(payable) - rupees(doc.base_grand_total),
			discount_residue=rupees(doc.base_grand_total) - rupees(doc.taxes[-1].base_total)
			if doc.taxes
			else Decimal(0),
		)

	def save_push_success(self, name, record, invoice_number):
		"""Save the mapping; set `procureuat_id`, `procureuat_vendor_id`,
		`procureuat_invoice_number` and status Synced on the invoice (not touching `modified`)."""
		self.save_mapping(record)
		frappe.db.set_value(
			PURCHASE_INVOICE,
			name,
			{
				F_PROCUREUAT_ID: record.procureuat_id,
				F_VENDOR_ID: record.procureuat_vendor_id,
				F_INVOICE_NUMBER: invoice_number,
				F_SYNC_STATUS: SYNCED,
			},
			update_modified=False,
		)

	def save_push_failure(self, name, record, message):
		"""Mark the invoice, and its mapping when it has one, Failed with `message`."""
		if record is not None:
			record.status, record.last_error = FAILED, message
			self.save_mapping(record)
		self.set_invoice_status(name, FAILED)

	def set_invoice_status(self, name, status):
		"""Set the invoice's `o2o_sync_status` (not touching `modified`)."""
		frappe.db.set_value(PURCHASE_INVOICE, name, F_SYNC_STATUS, status, update_modified=False)

	def payment_states(self, names):
		"""[(MappingRecord, outstanding_amount, payable)] of mapped submitted invoices in
		`names` (every one when None) of the companies mapped to a portal entity
		(`entity_by_company`; a company unmapped later keeps its mappings, unsent), in one
		read; rupees to the paisa."""
		companies = sorted(c for c in self.entity_by_company if c)
		if not companies or (names is not None and not names):
			return []
		conditions = "m.purchase_invoice is not null and pi.docstatus = 1"
		conditions += f" and pi.company in ({', '.join(['%s'] * len(companies))})"
		params = list(companies)
		if names is not None:
			conditions += f" and m.purchase_invoice in ({', '.join(['%s'] * len(names))})"
			params += list(names)
		rows = frappe.db.sql(
			f"""select {", ".join("m." + f for f in MAPPING_FIELDS)},
				pi.outstanding_amount as _outstanding, pi.grand_total as _grand_total,
				pi.rounded_total as _rounded_total, pi.disable_rounded_total as _no_rounding
			from `tabSync Mapping` m join `tabPurchase Invoice` pi on pi.name = m.purchase_invoice
			where {conditions}""",
			params,
			as_dict=True,
		)
		return [
			(
				self._record(r),
				rupees(r._outstanding),
				rupees(rules.payable(r._grand_total, r._rounded_total, r._no_rounding)),
			)
			for r in rows
		]
