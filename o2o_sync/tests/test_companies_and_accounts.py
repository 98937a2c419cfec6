"""Settings that change, and several companies, on a real bench (issue 11).

Each pull's Item Tax Templates must carry the GST accounts of the invoice they are used on: an
entity's accounts changed, a second entity of one company on accounts of its own, an entity
remapped to another company all take effect on the next pull with no failure. Two entities
mapped to two companies each pull into their own company on their own accounts, the workspace
counts both, and the invoices of an unmapped entity or company are left alone.
"""

import secrets
from datetime import timedelta
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.constants import PURCHASE_INVOICE, SETTINGS, SYNC_MAPPING
from o2o_sync.setup.erpnext_masters import make_company, make_item, random_gstin
from o2o_sync.setup.portal_rows import db_now, insert_entity, insert_invoice
from o2o_sync.sync import desk_status
from o2o_sync.sync.jobs import push_invoice
from o2o_sync.sync.sync_utils import bulk_sync_from_external
from o2o_sync.tests.portal_edits import touch_invoice, touch_line


def tax_accounts(company: str, abbr: str, label: str) -> dict:
	"""CGST/SGST/IGST ledgers "`label` CGST - `abbr`"... of `company` under Duties and Taxes."""
	parent = frappe.db.get_value(
		"Account", {"company": company, "account_name": "Duties and Taxes", "is_group": 1}
	)
	accounts = {}
	for head in ("cgst", "sgst", "igst"):
		name = f"{label} {head.upper()} - {abbr}"
		if not frappe.db.exists("Account", name):
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": f"{label} {head.upper()}",
					"company": company,
					"parent_account": parent,
					"account_type": "Tax",
					"root_type": "Liability",
				}
			).insert(ignore_permissions=True)
		accounts[head] = name
	return accounts


def d(value) -> Decimal:
	return Decimal(str(value)).quantize(Decimal("0.01"))


class TestCompaniesAndAccounts(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2).upper()
		cls.company_b = make_company(f"O2O Second Co {token}", f"B2{token}")
		cls.abbr_b = f"B2{token}"
		cls.accounts_b = {h: f"{h.upper()} - {cls.abbr_b}" for h in ("cgst", "sgst", "igst")}
		cls.company_c = make_company(f"O2O Unmapped Co {token}", f"C2{token}")
		cls.tea = make_item(f"O2O Tea {token}", product_id=501)
		cls.seconds = 0
		frappe.db.commit()  # nosemgrep: the pull commits; what it reads must be committed

	@classmethod
	def tearDownClass(cls):
		cls.env.stop()
		super().tearDownClass()

	def setUp(self):
		self.map_entities(self.entity_row(self.env.entity_id, self.env.company, self.env.accounts))

	# ------------------------------------------------------------ helpers

	@staticmethod
	def entity_row(entity_id, company, accounts, gstin=None) -> dict:
		from o2o_sync.setup.erpnext_masters import COMPANY_GSTIN

		return {
			"entity_id": str(entity_id),
			"company": company,
			"company_gstin": gstin or COMPANY_GSTIN,
			"cgst_account": accounts["cgst"],
			"sgst_account": accounts["sgst"],
			"igst_account": accounts["igst"],
		}

	@staticmethod
	def map_entities(*rows):
		settings = frappe.get_doc(SETTINGS)
		settings.set("entities", list(rows))
		settings.save(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep

	def new_entity(self, gstin: str) -> int:
		return insert_entity(self.env.conn, f"O2O Buyer {secrets.token_hex(2)}", gstin)

	def invoice(self, entity_id, vendor=0, cost="1000.00", gst_amt="180.00") -> int:
		"""A portal invoice of one 18 % line (vendor 0: same state, 1: another state)."""
		type(self).seconds += 2
		line = {"vendor_id": self.env.vendors[vendor], "quantity": 1, "cost": cost, "gst_amt": gst_amt}
		return insert_invoice(
			self.env.conn,
			entity_id,
			[line],
			updated_at=db_now(self.env.conn) + timedelta(seconds=self.seconds),
		)

	def pi_of(self, requisition_id, vendor=0):
		name = frappe.db.get_value(
			SYNC_MAPPING,
			{"procureuat_id": requisition_id, "procureuat_vendor_id": self.env.vendors[vendor]},
			"purchase_invoice",
		)
		self.assertTrue(name, f"no Purchase Invoice for requisition {requisition_id}")
		return frappe.get_doc(PURCHASE_INVOICE, name)

	def pull(self) -> dict:
		counts = bulk_sync_from_external()
		self.assertEqual(counts["failed"], 0, counts)
		return counts

	def assert_gst(self, pi, company, want: dict):
		"""`pi` is of `company`, its GST is on `want` {account: rupees} alone, and each line's Item
		Tax Template holds those accounts."""
		self.assertEqual(pi.company, company)
		self.assertEqual({t.account_head: d(t.tax_amount) for t in pi.taxes if t.tax_amount}, want)
		for row in pi.items:
			template = frappe.get_doc("Item Tax Template", row.item_tax_template)
			self.assertEqual(template.company, company)
			self.assertEqual({t.tax_type for t in template.taxes}, set(want), template.name)

	# ------------------------------------------------------------ settings that change

	def test_changed_gst_accounts_take_effect_on_the_next_pull(self):
		env, old = self.env, self.env.accounts
		intra, inter = self.invoice(env.entity_id), self.invoice(env.entity_id, vendor=1)
		self.pull()
		first = self.pi_of(intra)
		self.assert_gst(first, env.company, {old["cgst"]: d(90), old["sgst"]: d(90)})
		self.assert_gst(self.pi_of(inter, 1), env.company, {old["igst"]: d(180)})

		new = tax_accounts(env.company, env.abbr, "Input Tax")
		self.map_entities(self.entity_row(env.entity_id, env.company, new))
		intra2, inter2 = self.invoice(env.entity_id), self.invoice(env.entity_id, vendor=1)
		self.pull()
		second = self.pi_of(intra2)
		self.assert_gst(second, env.company, {new["cgst"]: d(90), new["sgst"]: d(90)})
		self.assert_gst(self.pi_of(inter2, 1), env.company, {new["igst"]: d(180)})
		self.assertNotEqual(second.items[0].item_tax_template, first.items[0].item_tax_template)

		# a portal edit of a draft pulled on the old accounts: its GST moves to the new ones, once
		with env.conn.cursor() as cur:
			cur.execute("SELECT id FROM purchase_order_items WHERE purchase_order_id = %s", (intra,))
			line_id = cur.fetchone()["id"]
		touch_line(env.conn, line_id, cost="2000.00", gst_amt="360.00")
		type(self).seconds += 2
		touch_invoice(env.conn, intra, updated_at=db_now(env.conn) + timedelta(seconds=self.seconds))
		counts = self.pull()
		self.assertEqual(counts["updated"], 1, counts)
		self.assert_gst(self.pi_of(intra), env.company, {new["cgst"]: d(180), new["sgst"]: d(180)})

		# and back: the first templates are found again, none made twice
		templates = frappe.db.count("Item Tax Template", {"company": env.company})
		self.map_entities(self.entity_row(env.entity_id, env.company, old))
		third = self.invoice(env.entity_id)
		self.pull()
		self.assertEqual(self.pi_of(third).items[0].item_tax_template, first.items[0].item_tax_template)
		self.assertEqual(frappe.db.count("Item Tax Template", {"company": env.company}), templates)

	def test_a_second_entity_of_one_company_on_accounts_of_its_own(self):
		env = self.env
		own = tax_accounts(env.company, env.abbr, "Unit 2")
		gstin = random_gstin("27")
		second = self.new_entity(gstin)
		self.map_entities(
			self.entity_row(env.entity_id, env.company, env.accounts),
			self.entity_row(second, env.company, own, gstin),
		)
		first_rid, second_rid = self.invoice(env.entity_id), self.invoice(second)
		second_inter = self.invoice(second, vendor=1)
		self.pull()
		self.assert_gst(
			self.pi_of(first_rid), env.company, {env.accounts["cgst"]: d(90), env.accounts["sgst"]: d(90)}
		)
		self.assert_gst(self.pi_of(second_rid), env.company, {own["cgst"]: d(90), own["sgst"]: d(90)})
		self.assert_gst(self.pi_of(second_inter, 1), env.company, {own["igst"]: d(180)})

	def test_a_remapped_entity_pulls_into_its_new_company_from_the_next_pull(self):
		env = self.env
		before = self.invoice(env.entity_id)
		self.pull()
		self.assertEqual(self.pi_of(before).company, env.company)

		self.map_entities(self.entity_row(env.entity_id, self.company_b, self.accounts_b))
		after = self.invoice(env.entity_id)
		self.pull()
		b = self.accounts_b
		self.assert_gst(self.pi_of(after), self.company_b, {b["cgst"]: d(90), b["sgst"]: d(90)})
		self.assertEqual(self.pi_of(before).company, env.company)  # its history stays

	# ------------------------------------------------------------ several companies

	def test_two_companies_on_their_own_accounts_and_an_unmapped_one_left_alone(self):
		env, b = self.env, self.accounts_b
		gstin_b, gstin_c = random_gstin("27"), random_gstin("27")
		entity_b, entity_c = self.new_entity(gstin_b), self.new_entity(gstin_c)
		self.map_entities(
			self.entity_row(env.entity_id, env.company, env.accounts),
			self.entity_row(entity_b, self.company_b, b, gstin_b),
		)
		pulled_before = desk_status.activity_card({"direction": "pull"})["value"]
		of_a = [self.invoice(env.entity_id), self.invoice(env.entity_id, vendor=1)]
		of_b = [self.invoice(entity_b), self.invoice(entity_b, vendor=1)]
		of_c = self.invoice(entity_c)
		counts = self.pull()
		self.assertEqual(counts["created"], 4, counts)
		self.assertGreaterEqual(counts["skipped"], 1, counts)  # entities of earlier tests too

		a = env.accounts
		self.assert_gst(self.pi_of(of_a[0]), env.company, {a["cgst"]: d(90), a["sgst"]: d(90)})
		self.assert_gst(self.pi_of(of_a[1], 1), env.company, {a["igst"]: d(180)})
		self.assert_gst(self.pi_of(of_b[0]), self.company_b, {b["cgst"]: d(90), b["sgst"]: d(90)})
		self.assert_gst(self.pi_of(of_b[1], 1), self.company_b, {b["igst"]: d(180)})
		# the unmapped entity's invoice: no Purchase Invoice, no Sync Mapping
		self.assertFalse(frappe.db.exists(SYNC_MAPPING, {"procureuat_id": of_c}))
		self.assertFalse(frappe.db.exists(PURCHASE_INVOICE, {"procureuat_id": of_c}))
		self.assertEqual(frappe.db.count(PURCHASE_INVOICE, {"company": self.company_c}), 0)

		# the workspace counts both companies' pulls
		self.assertEqual(desk_status.activity_card({"direction": "pull"})["value"] - pulled_before, 4)

	def test_an_invoice_made_in_the_second_company_goes_to_its_own_entity(self):
		env, b = self.env, self.accounts_b
		gstin_b = random_gstin("27")
		entity_b = self.new_entity(gstin_b)
		self.map_entities(
			self.entity_row(env.entity_id, env.company, env.accounts),
			self.entity_row(entity_b, self.company_b, b, gstin_b),
		)
		supplier = frappe.get_doc(
			{
				"doctype": "Supplier",
				"supplier_name": f"Company B Supplier {secrets.token_hex(2)}",
				"supplier_group": "All Supplier Groups",
				"procureuat_vendor_id": env.vendors[0],
			}
		).insert(ignore_permissions=True)
		pi = frappe.get_doc(
			{
				"doctype": PURCHASE_INVOICE,
				"company": self.company_b,
				"supplier": supplier.name,
				"currency": "INR",
				"conversion_rate": 1,
				"bill_no": f"SUP/{secrets.token_hex(3)}",
				"items": [{"item_code": self.tea, "qty": 4, "rate": 250}],
				"taxes": [
					{"charge_type": "On Net Total", "account_head": b[k], "rate": 9, "description": k.upper()}
					for k in ("cgst", "sgst")
				],
			}
		).insert(ignore_permissions=True)
		pi.submit()
		frappe.db.commit()  # nosemgrep: the push job reads the submitted invoice
		if not frappe.db.get_value(PURCHASE_INVOICE, pi.name, "procureuat_id"):
			push_invoice(pi.name)  # when the submit only queued it
		with env.conn.cursor() as cur:
			cur.execute(
				"SELECT pr.entity, SUM(li.cost + 0) AS cost, SUM(li.gst_amt + 0) AS gst"
				" FROM purchase_requisitions pr JOIN purchase_order_items li ON li.purchase_order_id = pr.id"
				" WHERE pr.order_code = %s GROUP BY pr.entity",
				(pi.name,),
			)
			rows = cur.fetchall()
		self.assertEqual(
			[(r["entity"], d(r["cost"]), d(r["gst"])) for r in rows], [(str(entity_b), d(1000), d(180))]
		)
		self.assertEqual(frappe.db.get_value(PURCHASE_INVOICE, pi.name, "o2o_sync_status"), "Synced")
