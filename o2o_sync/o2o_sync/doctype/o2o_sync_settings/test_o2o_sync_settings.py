# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import (
	get_gstin_problem,
	gstin_check_character,
)
from o2o_sync.setup.erpnext_masters import make_company, make_item

# the tests make their own companies, accounts and items
test_ignore = ["Company", "Account", "Cost Center", "Item", "Supplier Group", "Database Connection"]

COMPANY_A = "_O2O Test Company A"
COMPANY_B = "_O2O Test Company B"
GSTIN_A = "27AAPFU0939F1ZV"  # valid, with its check character


def get_or_make_account(company: str, account_name: str, root_type: str, **values) -> str:
	abbr = frappe.get_cached_value("Company", company, "abbr")
	name = f"{account_name} - {abbr}"
	if not frappe.db.exists("Account", name):
		parent = frappe.db.get_value(
			"Account",
			{"company": company, "is_group": 1, "root_type": root_type},
			"name",
			order_by="lft desc",
		)
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": account_name,
				"company": company,
				"parent_account": parent,
				**values,
			}
		).insert()
	return name


def leaf_cost_center(company: str) -> str:
	return frappe.db.get_value("Cost Center", {"company": company, "is_group": 0}, "name")


class TestO2OSyncSettings(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		abbrs = {COMPANY_A: "O2OA", COMPANY_B: "O2OB"}
		for company, abbr in abbrs.items():
			make_company(company, abbr)
		# make_company adds CGST, SGST and IGST ledgers of type Tax
		cls.tax = {
			company: {head: f"{head} - {abbr}" for head in ("CGST", "SGST", "IGST")}
			for company, abbr in abbrs.items()
		}
		cls.expense_a = get_or_make_account(COMPANY_A, "Procurement O2O", "Expense")
		cls.not_tax_a = get_or_make_account(COMPANY_A, "Not Tax O2O", "Liability")
		cls.service_item = make_item("_O2O Test Service")
		cls.stock_item = make_item("_O2O Test Stock Item", is_stock=1)

	def entity(self, entity_id="7", company=COMPANY_A, **values):
		return {
			"entity_id": entity_id,
			"company": company,
			"company_gstin": GSTIN_A,
			"cgst_account": self.tax[company]["CGST"],
			"sgst_account": self.tax[company]["SGST"],
			"igst_account": self.tax[company]["IGST"],
			"cost_center": leaf_cost_center(company),
			**values,
		}

	def settings(self, **values):
		doc = frappe.get_single("O2O Sync Settings")
		doc.update(
			{
				"enabled": 0,
				"database_connection": None,
				"invoice_prefix": "AGO2O",
				"pull_batch_size": 200,
				"log_retention_days": 30,
				"default_item": self.service_item,
				"freight_item": self.service_item,
				**values,
			}
		)
		doc.set("entities", values.get("entities", [self.entity()]))
		return doc

	def assert_problems(self, doc, *expected):
		with self.assertRaises(frappe.ValidationError) as raised:
			doc.save()
		message = str(raised.exception)
		for text in expected:
			self.assertIn(text, message)
		return message

	def test_valid_settings_save(self):
		doc = self.settings(
			entities=[self.entity(" 7 ", company_gstin=GSTIN_A.lower(), expense_account=self.expense_a)]
		)
		doc.save()
		self.assertEqual(doc.entities[0].entity_id, "7")
		self.assertEqual(doc.entities[0].company_gstin, GSTIN_A)

	def test_general_limits(self):
		self.assert_problems(
			self.settings(invoice_prefix="AGO2O1", pull_batch_size=0, log_retention_days=0),
			"Invoice Prefix 'AGO2O1' is 6 characters long",
			"Pull Batch Size must be between 1 and 5000",
			"Log Retention (days) must be at least 1",
		)
		self.assert_problems(self.settings(invoice_prefix="A/B"), "may only contain letters, digits and '-'")
		self.assert_problems(self.settings(pull_batch_size=5001), "Pull Batch Size")
		self.assert_problems(self.settings(enabled=1), "Database Connection is required to enable the sync")
		self.settings(invoice_prefix="AG-1", pull_batch_size=5000).save()

	def test_items_must_be_non_stock(self):
		self.assert_problems(
			self.settings(freight_item=self.stock_item),
			f"Freight Item '{self.stock_item}' is a stock item",
		)

	def test_all_entity_problems_in_one_message(self):
		message = self.assert_problems(
			self.settings(
				entities=[
					self.entity("7"),
					self.entity(
						"7",
						company_gstin="27AAPFU0939F1ZX",
						cgst_account=self.tax[COMPANY_B]["CGST"],
						igst_account=self.not_tax_a,
						cost_center=leaf_cost_center(COMPANY_B),
					),
					self.entity("x9", company_gstin="27AAPFU0939F"),
				]
			),
			"Row 2 (entity 7): Entity ID 7 is already mapped in row 1",
			"Row 2 (entity 7): Company GSTIN '27AAPFU0939F1ZX' has a wrong check character",
			f"Row 2 (entity 7): CGST Account '{self.tax[COMPANY_B]['CGST']}' belongs to company {COMPANY_B}, not {COMPANY_A}",
			f"Row 2 (entity 7): IGST Account '{self.not_tax_a}' has Account Type ''",
			f"belongs to company {COMPANY_B}, not {COMPANY_A}",
			"Row 3 (entity x9): Entity ID must be the portal's numeric entity id",
			"Row 3 (entity x9): Company GSTIN '27AAPFU0939F' is not a GSTIN",
		)
		self.assertIn("Row 2 (entity 7): Cost Center", message)

	def test_group_account_refused(self):
		group = frappe.db.get_value("Account", {"company": COMPANY_A, "is_group": 1, "root_type": "Expense"})
		self.assert_problems(
			self.settings(entities=[self.entity(expense_account=group)]),
			f"Row 1 (entity 7): Expense Account '{group}' is a group account",
		)

	def test_gstin_check_character(self):
		for gstin in ("27AAPFU0939F1ZV", "33GSPTN0741G1ZF", "29AAGCB7383J1Z4", "09AAACH7409R1ZZ"):
			self.assertEqual(gstin_check_character(gstin[:14]), gstin[-1])
			self.assertIsNone(get_gstin_problem(gstin))
		self.assertTrue(get_gstin_problem("27AAPFU0939F1ZW"))
		self.assertTrue(get_gstin_problem("27AAPFU0939F0ZV"))  # entity character cannot be 0
