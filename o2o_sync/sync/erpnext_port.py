"""The ERPNext port as shipped: Frappe's own API behind the engine's `ERPNextPort`.

Thin on purpose: every decision is the engine's; this module only reads and writes
Purchase Invoices, Suppliers, Items, Item Tax Templates, Sync Mappings and Sync Logs
the way ERPNext expects.
"""

import json
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

import frappe
from frappe.utils import cstr, flt, getdate, now_datetime

from . import gst
from .errors import InvoiceError
from .mapping import ItemInfo, tracking_fields
from .port import SYNCED, InvoiceState, LogEntry, MappingRecord

SETTINGS = "O2O Sync Settings"
MAPPING_FIELDS = (
	"name",
	"procureuat_id",
	"procureuat_vendor_id",
	"purchase_invoice",
	"origin",
	"status",
	"procureuat_invoice_number",
	"entity_id",
	"portal_hash",
	"erpnext_hash",
	"snapshot",
	"portal_updated_at",
	"last_synced_at",
	"finance_status",
	"conflict_fields",
	"last_error",
)
LOG_FIELDS = (
	"direction",
	"operation",
	"status",
	"reference_doctype",
	"reference_name",
	"procureuat_id",
	"message",
	"traceback",
	"duration_ms",
)


LOG_INT_FIELDS = ("procureuat_id", "duration_ms")  # Frappe Int columns are NOT NULL


def _dec(value) -> Decimal:
	return Decimal(str(flt(value, 2))).quantize(Decimal("0.01"))


def _num(value) -> str:
	return f"{flt(value, 6):.6f}"


def _date(value) -> str | None:
	return str(getdate(value)) if value else None


def amendment_chain(name: str) -> list[str]:
	"""`name` and every Purchase Invoice it amends, newest first (follows `amended_from`)."""
	chain = [name]
	while True:
		previous = frappe.db.get_value("Purchase Invoice", chain[-1], "amended_from")
		if not previous or previous in chain:
			return chain
		chain.append(previous)


def invoice_view(doc) -> dict:
	"""The mapped fields of a Purchase Invoice, canonical, for the three-way merge and hashes."""
	return {
		"company": doc.company,
		"supplier": doc.supplier,
		"bill_no": cstr(doc.bill_no),
		"bill_date": _date(doc.bill_date),
		"posting_date": _date(doc.posting_date),
		"due_date": _date(doc.due_date),
		"remarks": cstr(doc.remarks),
		"items": [
			[
				row.get("procureuat_item_id") or None,
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
		"taxes": [[t.account_head, t.charge_type, _num(t.rate)] for t in doc.taxes],
	}


class FrappePort:
	"""`ERPNextPort` over Frappe; one per run (it caches Item Tax Templates and settings)."""

	def __init__(self, gst_accounts: set[str] | None = None):
		self.gst_accounts = set(gst_accounts or ())
		self._templates: dict[tuple, str] = {}

	# ------------------------------------------------------------ transactions

	@contextmanager
	def atomic(self):
		"""A database savepoint; rolled back (and re-raised) on any exception."""
		savepoint = "o2o_" + frappe.generate_hash(length=10)
		frappe.db.savepoint(savepoint)
		try:
			yield
		except BaseException:
			frappe.db.rollback(save_point=savepoint)
			self._templates.clear()
			raise
		else:
			frappe.db.release_savepoint(savepoint)

	def commit(self):
		frappe.db.commit()  # nosemgrep: the scheduler's pull commits each batch it finished

	def get_cursor(self):
		row = frappe.db.get_singles_dict(SETTINGS)
		ts = row.get("pull_cursor_updated_at")
		return (frappe.utils.get_datetime(ts) if ts else None, int(row.get("pull_cursor_id") or 0))

	def save_cursor(self, updated_at, requisition_id):
		frappe.db.set_single_value(
			SETTINGS, {"pull_cursor_updated_at": updated_at, "pull_cursor_id": int(requisition_id)}
		)

	# ------------------------------------------------------------ mappings and logs

	def _record(self, row) -> MappingRecord:
		data = {k: row.get(k) for k in MAPPING_FIELDS}
		data["snapshot"] = json.loads(data["snapshot"]) if data.get("snapshot") else None
		data["finance_status"] = int(data["finance_status"] if data["finance_status"] is not None else -1)
		return MappingRecord(**data)

	def get_mappings(self, keys):
		if not keys:
			return {}
		wanted = set(keys)
		rows = frappe.get_all(
			"Sync Mapping",
			filters={"procureuat_id": ["in", sorted({k[0] for k in keys})]},
			fields=list(MAPPING_FIELDS),
		)
		out = {}
		for row in rows:
			key = (int(row.procureuat_id), int(row.procureuat_vendor_id))
			if key in wanted:
				out[key] = self._record(row)
		return out

	def mappings_with_status(self, status, limit):
		rows = frappe.get_all(
			"Sync Mapping",
			filters={"status": status},
			fields=list(MAPPING_FIELDS),
			order_by="modified asc",
			limit=limit,
		)
		return [self._record(r) for r in rows]

	def mapping_for_invoice(self, names: list[str]) -> MappingRecord | None:
		"""The Sync Mapping of the first invoice in `names` (an amendment chain, newest first) that has one."""
		rows = frappe.get_all(
			"Sync Mapping", filters={"purchase_invoice": ["in", list(names)]}, fields=list(MAPPING_FIELDS)
		)
		by_invoice = {r.purchase_invoice: r for r in rows}
		for name in names:
			if name in by_invoice:
				return self._record(by_invoice[name])
		return None

	def save_mapping(self, record: MappingRecord):
		values = {k: getattr(record, k) for k in MAPPING_FIELDS if k != "name"}
		values["snapshot"] = (
			json.dumps(record.snapshot, sort_keys=True, default=str) if record.snapshot else None
		)
		if not record.name:
			record.name = frappe.db.get_value(
				"Sync Mapping",
				{"procureuat_id": record.procureuat_id, "procureuat_vendor_id": record.procureuat_vendor_id},
				"name",
			)
		if record.name:
			frappe.db.set_value("Sync Mapping", record.name, values)
		else:
			doc = frappe.get_doc({"doctype": "Sync Mapping", **values})
			doc.insert(ignore_permissions=True)
			record.name = doc.name
		if record.purchase_invoice and frappe.db.exists("Purchase Invoice", record.purchase_invoice):
			frappe.db.set_value(
				"Purchase Invoice",
				record.purchase_invoice,
				"o2o_sync_status",
				record.status,
				update_modified=False,
			)

	def write_logs(self, entries: list[LogEntry]):
		"""Append Sync Log rows in one statement (bulk insert)."""
		if not entries:
			return
		now = now_datetime()
		user = frappe.session.user if getattr(frappe, "session", None) else "Administrator"
		fields = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", *LOG_FIELDS]
		values = [
			(
				frappe.generate_hash(length=12),
				now,
				now,
				user,
				user,
				0,
				0,
				*(
					getattr(e, f) if getattr(e, f) is not None or f not in LOG_INT_FIELDS else 0
					for f in LOG_FIELDS
				),
			)
			for e in entries
		]
		frappe.db.bulk_insert("Sync Log", fields, values)

	# ------------------------------------------------------------ masters

	def supplier_for_vendor(self, vendor_id):
		return frappe.db.get_value("Supplier", {"procureuat_vendor_id": vendor_id}, "name")

	def suppliers_with_gstin(self, gstin):
		rows = frappe.db.sql(
			"""select name, procureuat_vendor_id from `tabSupplier`
			where upper(trim(tax_id)) = %s order by name""",
			(gstin.strip().upper(),),
		)
		return [(r[0], int(r[1]) if r[1] else None) for r in rows]

	def link_supplier(self, supplier, vendor_id):
		frappe.db.set_value("Supplier", supplier, "procureuat_vendor_id", vendor_id)

	def create_supplier(self, vendor, supplier_group):
		name = vendor.name
		if frappe.db.exists("Supplier", {"supplier_name": name}) or frappe.db.exists("Supplier", name):
			name = f"{vendor.name} - {vendor.code}" if vendor.code else f"{vendor.name} - {vendor.id}"
		doc = frappe.get_doc(
			{
				"doctype": "Supplier",
				"supplier_name": name,
				"supplier_group": supplier_group
				or frappe.db.get_single_value("Buying Settings", "supplier_group")
				or "All Supplier Groups",
				"supplier_type": "Company",
				"tax_id": vendor.normalized_gstin or None,
				"procureuat_vendor_id": vendor.id,
			}
		)
		doc.insert(ignore_permissions=True)
		return doc.name

	def supplier_has_payment_terms(self, supplier):
		return bool(frappe.db.get_value("Supplier", supplier, "payment_terms"))

	def items_for_products(self, product_ids):
		rows = frappe.get_all(
			"Item",
			filters={"procureuat_product_id": ["in", list(product_ids)], "disabled": 0},
			fields=["name", "is_stock_item", "procureuat_product_id"],
		)
		return {int(r.procureuat_product_id): ItemInfo(r.name, bool(r.is_stock_item)) for r in rows}

	def item_info(self, item_code):
		is_stock = frappe.db.get_value("Item", item_code, "is_stock_item")
		return None if is_stock is None else ItemInfo(item_code, bool(is_stock))

	def check_posting_date(self, company, posting_date):
		"""Refuse dates ERPNext would refuse, with the reason (contract, "Pull": never re-dated)."""
		from erpnext.accounts.utils import get_fiscal_year

		if not get_fiscal_year(posting_date, company=company, boolean=True):
			raise InvoiceError(
				f"no Fiscal Year of {company} covers posting date {posting_date}", field="posting_date"
			)
		period = frappe.db.sql(
			"""select ap.name from `tabAccounting Period` ap
			join `tabClosed Document` cd on cd.parent = ap.name
			where ap.company = %s and cd.closed = 1 and cd.document_type = 'Purchase Invoice'
			and %s between ap.start_date and ap.end_date limit 1""",
			(company, posting_date),
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

	# ------------------------------------------------------------ invoices

	def _state(self, doc) -> InvoiceState:
		accounts = self.gst_accounts
		gst_total = sum(
			(_dec(t.base_tax_amount_after_discount_amount) for t in doc.taxes if t.account_head in accounts),
			Decimal(0),
		)
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
			net_total=_dec(doc.base_net_total),
			gst_total=gst_total,
			grand_total=_dec(doc.base_grand_total),
			outstanding_amount=_dec(doc.outstanding_amount),
			has_payments=has_payments,
			view=invoice_view(doc),
			is_return=bool(doc.is_return),
			amended_from=doc.amended_from,
		)

	def get_invoice(self, name):
		if not name or not frappe.db.exists("Purchase Invoice", name):
			return None
		return self._state(frappe.get_doc("Purchase Invoice", name))

	def find_invoice_by_bill_no(self, company, supplier, bill_no):
		name = frappe.db.get_value(
			"Purchase Invoice",
			{"company": company, "supplier": supplier, "bill_no": bill_no, "docstatus": ["<", 2]},
			"name",
		)
		return self.get_invoice(name) if name else None

	def resolve_amended(self, name):
		if not name or not frappe.db.exists("Purchase Invoice", name):
			return None
		seen = {name}
		while True:
			nxt = frappe.db.get_value(
				"Purchase Invoice", {"amended_from": name}, "name", order_by="creation desc"
			)
			if not nxt or nxt in seen:
				return name
			seen.add(nxt)
			name = nxt

	def _template(self, company: str, split: str, rate: Decimal, accounts: dict) -> str:
		"""The Item Tax Template for one slab (created when missing; contract, "Pull": GST)."""
		key = (company, split, rate)
		if key in self._templates:
			return self._templates[key]
		kind = "Intra-State" if split == gst.INTRA_STATE else "Inter-State"
		title = f"O2O GST {gst.format_rate(rate)}% {kind}"
		name = frappe.db.get_value("Item Tax Template", {"title": title, "company": company}, "name")
		if not name:
			if split == gst.INTRA_STATE:
				taxes = [
					{"tax_type": accounts["cgst"], "tax_rate": flt(rate / 2, 4)},
					{"tax_type": accounts["sgst"], "tax_rate": flt(rate / 2, 4)},
				]
			else:
				taxes = [{"tax_type": accounts["igst"], "tax_rate": flt(rate, 4)}]
			doc = frappe.get_doc(
				{"doctype": "Item Tax Template", "title": title, "company": company, "taxes": taxes}
			)
			doc.insert(ignore_permissions=True)
			name = doc.name
		self._templates[key] = name
		return name

	def _item_row(self, spec: dict, item: dict) -> dict:
		row = {
			"item_code": item["item_code"],
			"description": item["description"],
			"qty": item["qty"],
			"rate": flt(item["rate"], 6),
			"procureuat_item_id": item["procureuat_item_id"],
		}
		if item.get("expense_account"):
			row["expense_account"] = item["expense_account"]
		if item.get("cost_center"):
			row["cost_center"] = item["cost_center"]
		if spec["gst_split"] != gst.NO_GST and item["gst_rate"] is not None:
			row["item_tax_template"] = self._template(
				spec["company"], spec["gst_split"], item["gst_rate"], spec["tax_accounts"]
			)
		return row

	@staticmethod
	def _tax_rows(spec: dict) -> list[dict]:
		labels = {"cgst": "CGST", "sgst": "SGST", "igst": "IGST"}
		return [
			{
				"charge_type": "On Net Total",
				"account_head": account,
				"rate": 0,
				"description": labels[kind],
				"category": "Total",
				"add_deduct_tax": "Add",
			}
			for kind, account in spec["tax_accounts"].items()
		]

	def _check_templates(self, doc, spec):
		expected = [r.get("item_tax_template") for r in (self._item_row(spec, i) for i in spec["items"])]
		for row, want in zip(doc.items, expected, strict=False):
			if (row.item_tax_template or None) != want:
				raise InvoiceError(
					f"Item {row.item_code} (row {row.idx}) got Item Tax Template {row.item_tax_template!r} instead of "
					f"{want!r}: the Item or its Item Group carries templates of its own",
					field="item_tax_template",
				)

	def insert_invoice(self, spec, submit):
		self.gst_accounts.update(spec["tax_accounts"].values())
		doc = frappe.new_doc("Purchase Invoice")
		doc.update(
			{
				"company": spec["company"],
				# portal invoices are in INR, the company's currency (contract: currency_id 1)
				"currency": frappe.get_cached_value("Company", spec["company"], "default_currency"),
				"conversion_rate": 1,
				"supplier": spec["supplier"],
				"bill_no": spec["bill_no"],
				"bill_date": spec["bill_date"],
				"posting_date": spec["posting_date"],
				"set_posting_time": 1,
				"remarks": spec["remarks"] or None,
				"update_stock": 0,
				"disable_rounded_total": 1,
				**tracking_fields(spec),
				"o2o_sync_status": SYNCED,
			}
		)
		if spec.get("due_date"):
			doc.due_date = spec["due_date"]
		for item in spec["items"]:
			doc.append("items", self._item_row(spec, item))
		for tax in self._tax_rows(spec):
			doc.append("taxes", tax)
		doc.flags.o2o_from_pull = True
		doc.insert(ignore_permissions=True)
		self._check_templates(doc, spec)
		if submit:
			doc.submit()
		return self._state(doc)

	def submit_invoice(self, name):
		doc = frappe.get_doc("Purchase Invoice", name)
		doc.flags.o2o_from_pull = True
		doc.submit()

	def update_invoice(self, name, spec, groups):
		self.gst_accounts.update(spec["tax_accounts"].values())
		doc = frappe.get_doc("Purchase Invoice", name)
		if doc.docstatus != 0:
			raise InvoiceError(f"{name} is submitted; only a draft can take portal edits", field="docstatus")
		for field in ("company", "bill_no", "bill_date", "posting_date", "due_date", "remarks"):
			if field in groups and spec.get(field) is not None:
				doc.set(field, spec[field])
		if "items" in groups:
			existing = {}
			for row in doc.items:
				existing.setdefault(row.get("procureuat_item_id") or ("freight", row.item_code), row)
			doc.set("items", [])
			for item in spec["items"]:
				values = self._item_row(spec, item)
				row = existing.pop(item["procureuat_item_id"] or ("freight", item["item_code"]), None)
				if row is not None:
					# keep what the portal does not map: an accountant's cost centre, project, account
					for keep in ("cost_center", "expense_account"):
						values.pop(keep, None)
					row.update(values)
					doc.append("items", row)
				else:
					doc.append("items", values)
		if "taxes" in groups or "items" in groups:
			others = [t for t in doc.taxes if t.account_head not in self.gst_accounts]
			doc.set("taxes", [])
			for tax in self._tax_rows(spec):
				doc.append("taxes", tax)
			for tax in others:
				doc.append("taxes", tax)
		doc.flags.o2o_from_pull = True
		doc.save(ignore_permissions=True)
		if "items" in groups:
			self._check_templates(doc, spec)
		return self._state(doc)

	def set_status_fields(self, name, fields):
		frappe.db.set_value("Purchase Invoice", name, fields, update_modified=False)

	def cancel_invoice(self, name):
		doc = frappe.get_doc("Purchase Invoice", name)
		doc.flags.o2o_from_pull = True
		doc.flags.ignore_permissions = True
		doc.cancel()

	def delete_invoice(self, name):
		frappe.delete_doc("Purchase Invoice", name, ignore_permissions=True, force=False)


class FrappePushPort(FrappePort):
	"""The push side of the port (`port.ERPNextPushPort`) over Frappe."""

	def __init__(self, gst_accounts: set[str], entity_by_company: dict[str, str]):
		super().__init__(gst_accounts)
		self.entity_by_company = entity_by_company

	def push_invoice(self, name):
		from .push import PushInvoice, PushLine, PushTax

		if not frappe.db.exists("Purchase Invoice", name):
			return None
		doc = frappe.get_doc("Purchase Invoice", name)
		gst_rows = [t for t in doc.taxes if t.account_head in self.gst_accounts]
		products = dict(
			frappe.get_all(
				"Item",
				filters={"name": ["in", list({r.item_code for r in doc.items})]},
				fields=["name", "procureuat_product_id"],
				as_list=True,
			)
		)
		lines = []
		for row in doc.items:
			item_rates = json.loads(row.item_tax_rate) if row.item_tax_rate else {}
			rate = sum(
				(
					Decimal(str(flt(item_rates.get(t.account_head, t.rate))))
					for t in gst_rows
					if t.charge_type == "On Net Total"
				),
				Decimal(0),
			)
			net = _dec(row.base_net_amount)
			lines.append(
				PushLine(
					idx=row.idx,
					item_code=row.item_code,
					qty=Decimal(str(flt(row.qty, 6))),
					rate=Decimal(str(flt(row.net_rate or row.rate, 6))),
					net_amount=net,
					gst_amount=net * rate / 100,
					gst_rate=rate,
					product_id=int(products.get(row.item_code) or 0) or None,
					uom=row.uom,
				)
			)
		taxes = [
			PushTax(
				idx=t.idx,
				account_head=t.account_head,
				charge_type=t.charge_type,
				kind="gst"
				if t.account_head in self.gst_accounts
				else ("tds" if t.get("is_tax_withholding_account") else "other"),
			)
			for t in doc.taxes
		]
		address = frappe.utils.strip_html(cstr(doc.get("address_display"))).strip()
		return PushInvoice(
			name=doc.name,
			chain=amendment_chain(doc.name),
			company=doc.company,
			entity_id=self.entity_by_company.get(doc.company),
			supplier=doc.supplier,
			supplier_name=doc.supplier_name or doc.supplier,
			vendor_id=frappe.db.get_value("Supplier", doc.supplier, "procureuat_vendor_id") or None,
			supplier_address=address,
			remarks=cstr(doc.remarks),
			bill_no=cstr(doc.bill_no),
			posting_date=getdate(doc.posting_date),
			currency=doc.currency,
			is_return=bool(doc.is_return),
			lines=lines,
			taxes=taxes,
			grand_total=_payable(doc),
			outstanding_amount=_dec(doc.outstanding_amount),
			docstatus=doc.docstatus,
		)

	def save_push_success(self, name, record, invoice_number):
		self.save_mapping(record)
		frappe.db.set_value(
			"Purchase Invoice",
			name,
			{
				"procureuat_id": record.procureuat_id,
				"procureuat_vendor_id": record.procureuat_vendor_id,
				"procureuat_invoice_number": invoice_number,
				"o2o_sync_status": SYNCED,
			},
			update_modified=False,
		)

	def save_push_failure(self, name, record, message):
		if record is not None:
			record.status, record.last_error = "Failed", message
			self.save_mapping(record)
		self.set_invoice_status(name, "Failed")

	def set_invoice_status(self, name, status):
		frappe.db.set_value("Purchase Invoice", name, "o2o_sync_status", status, update_modified=False)

	def payment_states(self, names):
		conditions = "m.purchase_invoice is not null and pi.docstatus = 1"
		params = []
		if names is not None:
			if not names:
				return []
			conditions += f" and m.purchase_invoice in ({', '.join(['%s'] * len(names))})"
			params = list(names)
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
				_dec(r._outstanding),
				_dec(r._grand_total if r._no_rounding or not r._rounded_total else r._rounded_total),
			)
			for r in rows
		]


def _payable(doc) -> Decimal:
	"""What the supplier is owed: the rounded total unless rounding is off (ERPNext's outstanding basis)."""
	if doc.get("disable_rounded_total") or not doc.get("rounded_total"):
		return _dec(doc.grand_total)
	return _dec(doc.rounded_total)
