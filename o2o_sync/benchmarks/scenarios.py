"""The benchmark's data: what it builds on the site and in the portal before and while it measures.

On top of `environment.setup_environment()`: Items linked to the portal's products, the
registered vendors' Suppliers and the baseline's second company (`prepare`); INR defaults for
the run (`IndianDefaults`); portal invoices in interleaved rounds (`seed_invoices`, `round_windows`);
the baseline's Purchase Invoices built from the engine's own specs (`baseline_specs`,
`baseline_templates`, `baseline_doc`); pushable drafts made in ERPNext (`erp_invoice`).

Uses two private helpers of the Frappe port on purpose, so that the baseline writes the same
Item Tax Templates and GST rows as the pull: `FrappePort._template` and `FrappePort._tax_rows`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import frappe
from frappe.defaults import get_global_default, set_global_default
from frappe.utils import flt, today

from o2o_sync.constants import F_ITEM_ID, PURCHASE_INVOICE, SETTINGS
from o2o_sync.setup.erpnext_masters import make_company, make_item
from o2o_sync.setup.portal_realistic import DEFAULT_PRODUCT_IDS, seed_realistic
from o2o_sync.setup.portal_schema import db_server
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engines import get_settings, pull_settings
from o2o_sync.sync.frappe_port import FrappePort
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.records import InvoiceSpec
from o2o_sync.sync.model.spec import build_spec
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.config import ConnectionConfig

#: Portal product ids `seed_realistic` draws from (its default).
PRODUCT_IDS = DEFAULT_PRODUCT_IDS


@dataclass
class Context:
	"""What the benchmark made besides `setup_environment()`'s environment."""

	env: object
	token: str
	vendors: dict = field(default_factory=dict)  # portal vendor id -> records.Vendor
	suppliers: dict = field(default_factory=dict)  # portal vendor id -> Supplier name
	items: list = field(default_factory=list)  # Item codes linked to portal products
	base_company: str = ""
	base_accounts: dict = field(default_factory=dict)


def direct_client(env) -> ProcureUATClient:
	"""A ProcureUATClient straight to the portal database (no tunnel), open: untimed reads only."""
	server = db_server()
	return ProcureUATClient(
		ConnectionConfig(
			host=server["host"],
			port=server["port"],
			database=env.portal_db,
			username=server["user"],
			password=server["password"],
			name="benchmark-direct",
		)
	).open()


def prepare(env) -> Context:
	"""Items linked to the portal's products, the two GST-registered vendors' Suppliers, and
	the baseline's second company with the same kind of accounts. Commits."""
	token = env.abbr[2:]
	ctx = Context(env=env, token=token)
	ctx.items = [make_item(f"O2O Bench Product {pid}", product_id=pid) for pid in PRODUCT_IDS]
	client = direct_client(env)
	try:
		ctx.vendors = client.fetch_vendors(env.vendors[:2])
	finally:
		client.close()
	port = FrappePort()
	for vendor_id, vendor in ctx.vendors.items():
		ctx.suppliers[vendor_id] = port.supplier_for_vendor(vendor_id) or port.create_supplier(
			vendor, "All Supplier Groups"
		)
	ctx.base_company = make_company(f"O2O Bench Baseline {token}", f"OB{token}")
	abbr = f"OB{token}"
	ctx.base_accounts = {
		"cgst": f"CGST - {abbr}",
		"sgst": f"SGST - {abbr}",
		"igst": f"IGST - {abbr}",
		"expense": frappe.db.get_value("Company", ctx.base_company, "default_expense_account"),
		"cost_center": frappe.db.get_value("Company", ctx.base_company, "cost_center"),
	}
	frappe.db.commit()  # nosemgrep: the pull (its own commits) must see these
	return ctx


class IndianDefaults:
	"""INR as the site's default currency and buying price list while the benchmark runs.

	A hand-written import (the baseline) and the benchmark's own ERPNext-made invoices name
	no currency or price list, so ERPNext takes the global default currency and Buying
	Settings' price list; on a site set up for another country (ERPNext's `before_tests`
	makes a USD company and USD price lists) an INR company's invoice then fails with
	"Party Account ... currency (INR) and document currency (USD) should be same". (The
	pull names the company's currency itself.) An Indian site has INR there; this gives
	the benchmark site the same for the run and puts the old values back after.
	"""

	PRICE_LIST = "O2O Bench Buying INR"

	def __enter__(self):
		self.currency = get_global_default("currency")
		self.price_list = frappe.db.get_single_value("Buying Settings", "buying_price_list")
		if not frappe.db.exists("Price List", self.PRICE_LIST):
			frappe.get_doc(
				{
					"doctype": "Price List",
					"price_list_name": self.PRICE_LIST,
					"currency": "INR",
					"buying": 1,
					"enabled": 1,
				}
			).insert(ignore_permissions=True)
		if self.currency != "INR" or self.price_list != self.PRICE_LIST:
			print(
				f"note: default currency {self.currency} and buying price list {self.price_list} "
				f"set to INR / {self.PRICE_LIST} for the run"
			)
		set_global_default("currency", "INR")
		frappe.db.set_single_value("Buying Settings", "buying_price_list", self.PRICE_LIST)
		frappe.db.commit()  # nosemgrep: the worker must see them too
		return self

	def __exit__(self, *exc):
		frappe.db.rollback()
		set_global_default("currency", self.currency)
		frappe.db.set_single_value("Buying Settings", "buying_price_list", self.price_list)
		frappe.db.commit()  # nosemgrep


def seed_invoices(env, n, *, seed, min_lines, max_lines, **kwargs) -> list[int]:
	"""`seed_realistic` invoices of the two registered vendors in the environment's portal;
	returns their requisition ids. `kwargs` go to `seed_realistic` (dates, shares)."""
	return seed_realistic(
		env.conn,
		n,
		entity_id=env.entity_id,
		vendor_ids=env.vendors[:2],  # the unregistered vendor may not charge GST
		product_ids=list(PRODUCT_IDS),
		seed=seed,
		min_lines=min_lines,
		max_lines=max_lines,
		**kwargs,
	)


def round_windows(n_invoices: int, n_rounds: int, warmup: int):
	"""(count, start, end) of the portal invoices seeded for each round; first the warm-up's.

	The rounds take consecutive slices of seed_realistic's default dates (2 April to 20
	November 2026) with a 6-hour gap: a row's change time can be up to 5.5 hours after its
	invoice time, and each round's rows must all be newer than the cursor the previous
	round's pull left.
	"""
	first, last = datetime(2026, 4, 2), datetime(2026, 11, 20, 18, 0)
	span = (last - first) / (n_rounds + 1)
	base, extra = divmod(n_invoices, n_rounds)
	counts = [warmup] + [base + (1 if r < extra else 0) for r in range(n_rounds)]
	for r, count in enumerate(counts):
		start = first + span * r
		yield count, start, start + span - timedelta(hours=6)


# ---------------------------------------------------------------- the baseline: ERPNext alone


def baseline_specs(ctx, ids) -> tuple[list[InvoiceSpec], list[str]]:
	"""The engine's own specs of the portal invoices `ids` (every vendor slice), for the
	baseline company, and the messages of the slices `build_spec` refuses."""
	env = ctx.env
	settings = pull_settings()
	entity = m.EntityConfig(
		entity_id=str(env.entity_id),
		company=ctx.base_company,
		company_gstin=settings.entities[str(env.entity_id)].company_gstin,
		cgst_account=ctx.base_accounts["cgst"],
		sgst_account=ctx.base_accounts["sgst"],
		igst_account=ctx.base_accounts["igst"],
		expense_account=ctx.base_accounts["expense"],
		cost_center=ctx.base_accounts["cost_center"],
	)
	port = FrappePort()
	client = direct_client(env)
	try:
		invoices = client.fetch_invoices(sorted(ids))
	finally:
		client.close()
	items = port.items_for_products(list(PRODUCT_IDS))
	s = get_settings()
	default_item, freight_item = port.item_info(s.default_item), port.item_info(s.freight_item)
	specs, refused = [], []
	for inv in invoices:
		if inv.is_gone:
			continue
		for part in m.split_by_vendor(inv):
			vendor = ctx.vendors.get(m.slice_vendor_id(part))
			try:
				specs.append(
					build_spec(
						part,
						vendor=vendor,
						supplier=ctx.suppliers.get(vendor.id) if vendor else "",
						entity=entity,
						items=items,
						default_item=default_item,
						freight_item=freight_item,
					)
				)
			except InvoiceError as e:  # the pull refuses these too: neither side inserts them
				refused.append(str(e))
	return specs, refused


def baseline_templates(specs: list[InvoiceSpec]) -> dict:
	"""Item Tax Templates of the baseline company, made beforehand like a one-off setup:
	{(gst_split, gst_rate): Item Tax Template name}."""
	port = FrappePort()
	templates = {}
	for spec in specs:
		for item in spec.items:
			if spec.tax_accounts and item.gst_rate is not None:
				key = (spec.gst_split, item.gst_rate)
				if key not in templates:
					templates[key] = port._template(
						spec.company, spec.gst_split, item.gst_rate, spec.tax_accounts
					)
	return templates


def baseline_doc(spec: InvoiceSpec, templates: dict) -> dict:
	"""A Purchase Invoice as a hand-written import script would build it from a spec."""
	items = []
	for item in spec.items:
		row = {
			"item_code": item.item_code,
			"description": item.description,
			"qty": item.qty,
			"rate": flt(item.rate, 6),
			F_ITEM_ID: item.procureuat_item_id,
			"expense_account": item.expense_account,
			"cost_center": item.cost_center,
		}
		if spec.tax_accounts and item.gst_rate is not None:
			row["item_tax_template"] = templates[(spec.gst_split, item.gst_rate)]
		items.append(row)
	return {
		"doctype": PURCHASE_INVOICE,
		"company": spec.company,
		"supplier": spec.supplier,
		**spec.header,  # bill_no, bill_date, posting_date, due_date, remarks
		"remarks": spec.header.get("remarks") or None,
		"set_posting_time": 1,
		"update_stock": 0,
		"disable_rounded_total": 1,
		**spec.tracking,
		"items": items,
		"taxes": FrappePort._tax_rows(spec),  # the same GST rows as the pull ("Actual")
	}


# ---------------------------------------------------------------- the push: invoices made in ERPNext


def erp_invoice(ctx, tag: str, i: int) -> str:
	"""A draft Purchase Invoice made in ERPNext, pushable: mapped supplier and items, GST rows.
	Returns its name; `tag` and `i` make its bill_no ('TAG-token-0001')."""
	env = ctx.env
	vendor_id = env.vendors[0]  # same state as the company: CGST + SGST
	day = today()
	doc = frappe.get_doc(
		{
			"doctype": PURCHASE_INVOICE,
			"company": env.company,
			"supplier": ctx.suppliers[vendor_id],
			"bill_no": f"{tag}-{ctx.token}-{i:04d}",
			"bill_date": day,
			"posting_date": day,
			"set_posting_time": 1,
			"due_date": day,
			"update_stock": 0,
			"disable_rounded_total": 1,
			"items": [
				{
					"item_code": ctx.items[(i + k) % len(ctx.items)],
					"qty": 2 + k,
					"rate": 125.5 * (k + 1),
					"expense_account": env.accounts["expense"],
					"cost_center": env.accounts["cost_center"],
				}
				for k in range(2)
			],
			"taxes": [
				{
					"charge_type": "On Net Total",
					"account_head": env.accounts[kind],
					"rate": 9,
					"description": kind.upper(),
					"category": "Total",
					"add_deduct_tax": "Add",
				}
				for kind in ("cgst", "sgst")
			],
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def set_enabled(on: bool):
	"""Enable or disable O2O Sync Settings and commit (the doc events act only when enabled)."""
	frappe.db.set_single_value(SETTINGS, "enabled", int(on))
	frappe.db.commit()  # nosemgrep
