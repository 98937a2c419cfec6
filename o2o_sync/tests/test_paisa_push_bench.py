"""The push to the paisa (issue 16; contract, "Push" columns), on a real bench.

Seeded random Purchase Invoices submitted in ERPNext (1 to 8 lines, mixed slabs by Item Tax
Template, CGST+SGST or IGST "On Net Total", item discounts, an additional discount on the
net or the grand total, rounded total on or off), some then cancelled and amended: each
portal row's lines add up to ERPNext's net total, total GST and grand total exactly, and a
rounding adjustment is named in the Sync Log.
"""

import random
import secrets
from decimal import ROUND_HALF_UP, Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.setup.erpnext_masters import make_item
from o2o_sync.sync.model import money
from o2o_sync.tests.test_paisa_bench import N_EACH_WAY, SEED, product_ids

P = Decimal("0.01")
SLABS = ("0", "5", "12", "18", "28", "0.25", "3")
POSTING = "2026-11-20"


def r2(value) -> Decimal:
	return Decimal(str(value)).quantize(P, rounding=ROUND_HALF_UP)


class TestPushToThePaisa(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2)
		cls.items = [
			make_item(f"O2O Paisa Push {token} {k}", product_id=pid)
			for k, pid in enumerate(product_ids(token, 8))
		]
		cls.suppliers = [
			frappe.get_doc(
				{
					"doctype": "Supplier",
					"supplier_name": f"Paisa Supplier {token} {k}",
					"supplier_group": "All Supplier Groups",
					"procureuat_vendor_id": vendor,
				}
			)
			.insert(ignore_permissions=True)
			.name
			for k, vendor in enumerate(cls.env.vendors[:2])
		]
		cls.templates = {}
		for split, accounts in (("intra", ("cgst", "sgst")), ("inter", ("igst",))):
			for slab in SLABS:
				rate = float(Decimal(slab) / len(accounts))
				cls.templates[split, slab] = (
					frappe.get_doc(
						{
							"doctype": "Item Tax Template",
							"title": f"Paisa {token} {slab}% {split}",
							"company": cls.env.company,
							"taxes": [{"tax_type": cls.env.accounts[a], "tax_rate": rate} for a in accounts],
						}
					)
					.insert(ignore_permissions=True)
					.name
				)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		frappe.db.delete("Amended Document Naming Settings", {"document_type": "Purchase Invoice"})
		frappe.db.commit()  # nosemgrep
		cls.env.stop()
		super().tearDownClass()

	def make_invoice(self, rnd: random.Random):
		env = self.env
		split = rnd.choice(["intra", "inter"])
		accounts = ("cgst", "sgst") if split == "intra" else ("igst",)
		items = []
		for item in rnd.sample(self.items, rnd.randint(1, 8)):
			row = {
				"item_code": item,
				"qty": rnd.randint(1, 25),
				"expense_account": env.accounts["expense"],
				"cost_center": env.accounts["cost_center"],
				"item_tax_template": self.templates[split, rnd.choice(SLABS)],
			}
			# every line below ₹1,31,072, the most a portal FLOAT holds to the paisa
			price = Decimal(rnd.randint(100, 400_000)) / 100
			if rnd.random() < 0.3:  # an item discount
				row.update(price_list_rate=float(price), discount_percentage=rnd.choice([2.5, 7, 10, 12.75]))
				row["rate"] = float(r2(price * (100 - Decimal(str(row["discount_percentage"]))) / 100))
			else:
				row["rate"] = float(price)
			items.append(row)
		doc = {
			"doctype": "Purchase Invoice",
			"company": env.company,
			"currency": "INR",
			"conversion_rate": 1,
			"supplier": self.suppliers[0 if split == "intra" else 1],
			"posting_date": POSTING,
			"set_posting_time": 1,
			"bill_no": f"PAISA/{secrets.token_hex(4)}",
			"bill_date": POSTING,
			"disable_rounded_total": 0 if rnd.random() < 0.35 else 1,
			"items": items,
			"taxes": [
				{
					"charge_type": "On Net Total",
					"account_head": env.accounts[a],
					"rate": 0,
					"description": a.upper(),
				}
				for a in accounts
			],
		}
		discount = rnd.random()
		if discount < 0.4:
			doc["apply_discount_on"] = "Net Total" if discount < 0.2 else "Grand Total"
			if rnd.random() < 0.5:
				doc["additional_discount_percentage"] = rnd.choice([1, 2.5, 5, 7.25])
			else:
				total = sum(Decimal(str(i["rate"])) * i["qty"] for i in items)
				doc["discount_amount"] = float(r2(total * rnd.randint(1, 800) / 10_000))
		pi = frappe.get_doc(doc).insert(ignore_permissions=True)
		pi.submit()
		return pi

	def differences(self, pi) -> list[str]:
		"""How the portal row of `pi` differs from ERPNext's totals (none expected)."""
		with self.env.conn.cursor() as cur:
			cur.execute(
				"SELECT cost + 0 AS cost, gst_amt + 0 AS gst_amt, total_amt + 0 AS total_amt"
				" FROM purchase_order_items i JOIN purchase_requisitions r ON r.id = i.purchase_order_id"
				" WHERE r.order_code = %s",
				(pi.name,),
			)
			lines = cur.fetchall()
		if not lines:
			return [f"{pi.name}: not on the portal ({pi.o2o_sync_status})"]
		# each line read at full FLOAT precision, rounded half-up to the paisa, then summed
		row = {
			col: sum((money.paisa(li[col]) for li in lines), Decimal(0))
			for col in ("cost", "gst_amt", "total_amt")
		}
		gst_total = sum(
			(r2(t.base_tax_amount_after_discount_amount) for t in pi.taxes),
			Decimal(0),
		)
		# an additional discount on the grand total can leave a paisa or two between ERPNext's
		# grand total and its net total plus tax rows (ERPNext books it to Round Off): the
		# portal's lines hold the net total and the tax rows, the Sync Log names the rest
		residue = r2(pi.base_grand_total) - r2(pi.taxes[-1].base_total)
		if abs(residue) > Decimal("0.05") or (residue and pi.apply_discount_on != "Grand Total"):
			return [f"{pi.name}: ERPNext leaves ₹{residue} beyond net total and taxes"]
		want = {
			"cost": r2(pi.base_net_total),
			"gst_amt": gst_total,
			"total_amt": r2(pi.base_grand_total) - residue,
		}
		if residue:
			message = frappe.db.get_value(
				"Sync Log",
				{"reference_name": pi.name, "status": "Success"},
				"message",
				order_by="creation desc",
			)
			if f"discount leaves ₹{residue}" not in message:
				return [f"{pi.name}: the Sync Log does not name the residue ₹{residue}: {message}"]
		return [
			f"{pi.name}: Σ {col} {r2(row[col])} != ERPNext {value} (discount on {pi.apply_discount_on or '-'}"
			f" {pi.discount_amount}, rounding {pi.rounding_adjustment})"
			for col, value in want.items()
			if r2(row[col]) != value
		]

	def test_random_invoices_push_to_the_paisa_amended_too(self):
		rnd = random.Random(SEED)
		invoices = [self.make_invoice(rnd) for _ in range(N_EACH_WAY)]
		diffs = [d for pi in invoices for d in self.differences(pi)]
		self.assertEqual(diffs, [])
		print(
			f"pushed {len(invoices)}: {sum(1 for pi in invoices if pi.discount_amount)} with an additional discount,"
			f" {sum(1 for pi in invoices if r2(pi.base_grand_total) != r2(pi.taxes[-1].base_total))} leaving a residue,"
			f" {sum(1 for pi in invoices if pi.rounding_adjustment)} rounded"
		)
		rounded = [pi for pi in invoices if pi.rounding_adjustment]
		self.assertTrue(rounded)
		for pi in rounded[:5]:
			message = frappe.db.get_value(
				"Sync Log",
				{"reference_name": pi.name, "status": "Success"},
				"message",
				order_by="creation desc",
			)
			self.assertIn(f"rounding adjustment ₹{r2(pi.rounding_adjustment)}", message)
		# cancel and amend 10 of them with other quantities: the amendment's row, same equality
		amended = []
		for pi in rnd.sample(invoices, 10):
			pi.reload()
			pi.cancel()
			new = frappe.copy_doc(pi)
			new.docstatus = 0
			new.amended_from = pi.name
			for row in new.items:
				row.qty = rnd.randint(1, 25)
			new.insert(ignore_permissions=True)
			new.submit()
			amended.append(new)
		self.assertEqual([d for pi in amended for d in self.differences(pi)], [])
