"""The port's masters: Suppliers, Items, and the posting dates ERPNext accepts."""

import frappe
from frappe.utils import getdate

from o2o_sync.constants import F_PRODUCT_ID, F_VENDOR_ID, ITEM, PURCHASE_INVOICE, SUPPLIER
from o2o_sync.sync.model import rules
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.mapping import ItemInfo


class Masters:
	"""Suppliers, Items and posting-date checks of `FrappePort` (a mixin)."""

	# ------------------------------------------------------------ Suppliers

	def supplier_for_vendor(self, vendor_id):
		"""The Supplier whose `procureuat_vendor_id` is `vendor_id`, or None."""
		return frappe.db.get_value(SUPPLIER, {F_VENDOR_ID: vendor_id}, "name")

	def suppliers_with_gstin(self, gstin):
		"""[(Supplier name, vendor id or None)] whose `tax_id`, trimmed and upper-cased, is `gstin`."""
		rows = frappe.db.sql(
			"""select name, procureuat_vendor_id from `tabSupplier`
			where upper(trim(tax_id)) = %s order by name""",
			(gstin.strip().upper(),),
		)
		return [(r[0], int(r[1]) if r[1] else None) for r in rows]

	def link_supplier(self, supplier, vendor_id):
		"""Set `Supplier.procureuat_vendor_id`."""
		frappe.db.set_value(SUPPLIER, supplier, F_VENDOR_ID, vendor_id)

	def supplier_name_taken(self, name: str) -> bool:
		"""True when a Supplier is named `name` or has it as its `supplier_name`."""
		return bool(frappe.db.exists(SUPPLIER, {"supplier_name": name}) or frappe.db.exists(SUPPLIER, name))

	def create_supplier(self, vendor, supplier_group):
		"""Insert a Supplier for a portal vendor, named by `rules.supplier_name_for`; returns its name.

		Its group is `supplier_group`, else Buying Settings' default, else "All Supplier Groups";
		`tax_id` the vendor's GSTIN (None when unregistered).
		"""
		doc = frappe.get_doc(
			{
				"doctype": SUPPLIER,
				"supplier_name": rules.supplier_name_for(vendor, self.supplier_name_taken(vendor.name)),
				"supplier_group": supplier_group
				or frappe.db.get_single_value("Buying Settings", "supplier_group")
				or "All Supplier Groups",
				"supplier_type": "Company",
				"tax_id": vendor.normalized_gstin or None,
				F_VENDOR_ID: vendor.id,
			}
		)
		doc.insert(ignore_permissions=True)
		return doc.name

	def supplier_has_payment_terms(self, supplier):
		"""True when the Supplier carries a Payment Terms Template."""
		return bool(frappe.db.get_value(SUPPLIER, supplier, "payment_terms"))

	# ------------------------------------------------------------ Items

	def items_for_products(self, product_ids):
		"""{portal product id: ItemInfo} of the enabled Items linked to `product_ids`."""
		rows = frappe.get_all(
			ITEM,
			filters={F_PRODUCT_ID: ["in", list(product_ids)], "disabled": 0},
			fields=["name", "is_stock_item", F_PRODUCT_ID],
		)
		return {int(r.procureuat_product_id): ItemInfo(r.name, bool(r.is_stock_item)) for r in rows}

	def item_info(self, item_code):
		"""ItemInfo of an Item, or None when no Item has that code."""
		is_stock = frappe.db.get_value(ITEM, item_code, "is_stock_item")
		return None if is_stock is None else ItemInfo(item_code, bool(is_stock))

	# ------------------------------------------------------------ posting dates

	def check_posting_date(self, company, posting_date):
		"""Refuse dates ERPNext would refuse, with the reason (contract, "Pull": never re-dated).

		Raises InvoiceError(field='posting_date'): no Fiscal Year of the company covers the
		date, it falls in a closed Accounting Period (Purchase Invoice closed), or it is on
		or before Accounts Settings' `acc_frozen_upto`.
		"""
		from erpnext.accounts.utils import get_fiscal_year

		if not get_fiscal_year(posting_date, company=company, boolean=True):
			raise InvoiceError(
				f"no Fiscal Year of {company} covers posting date {posting_date}", field="posting_date"
			)
		period = frappe.db.sql(
			"""select ap.name from `tabAccounting Period` ap
			join `tabClosed Document` cd on cd.parent = ap.name
			where ap.company = %s and cd.closed = 1 and cd.document_type = %s
			and %s between ap.start_date and ap.end_date limit 1""",
			(company, PURCHASE_INVOICE, posting_date),
		)
		if period:
			raise InvoiceError(
				f"posting date {posting_date} falls in the closed Accounting Period {period[0][0]}",
				field="posting_date",
			)
		frozen = frappe.db.get_single_value("Accounts Settings", "acc_frozen_upto")
		if frozen and getdate(posting_date) <= getdate(frozen):
			raise InvoiceError(
				f"posting date {posting_date} is on or before the accounts frozen date {getdate(frozen)}",
				field="posting_date",
			)
