"""To the paisa both ways (issue 16), without Frappe: the sharing rule by table, each line's
CGST/SGST split, the pulled GST rows and their item-wise detail, and the pull's totals check
without a per-line tolerance."""

from decimal import Decimal as D

import pytest

from o2o_sync.sync.model import gst, money, rules
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.mapping import ItemInfo
from o2o_sync.sync.model.spec import build_spec, check_totals
from tests.test_mapping import ENTITY, FREIGHT, SERVICES, invoice, line, vendor

ACCOUNTS = ("CGST", "SGST")


def spec_of(inv, items=None):
	return build_spec(
		inv,
		vendor=vendor(),
		supplier="Vendor",
		entity=ENTITY,
		items=items or {},
		default_item=SERVICES,
		freight_item=FREIGHT,
	)


# ---------------------------------------------------------------- the largest remainder


@pytest.mark.parametrize(
	"total,weights,shares",
	[
		# quotas 6.00, 3.00, 1.00: exact
		("10.00", ["6", "3", "1"], ["6.00", "3.00", "1.00"]),
		# a third each: 3.333…; the paisa left goes to the first of the equal remainders
		("10.00", ["1", "1", "1"], ["3.34", "3.33", "3.33"]),
		# quotas 0.666…, 0.333…: 0.66 + 0.33, the paisa left to the larger remainder
		("1.00", ["2", "1"], ["0.67", "0.33"]),
		# CGST 9 % of 33.33 + 33.33 + 33.34 = 9.0001 → row ₹9.00: the rounding paisa is shared,
		# never rounded per line on its own (each line alone would give 3.00 + 3.00 + 3.00)
		("9.00", ["2.9997", "2.9997", "3.0006"], ["3.00", "3.00", "3.00"]),
		# 18 % of 10.05 three times = 1.809 each = 5.427 → row ₹5.43; per line 1.81 × 3 = 5.43
		("5.43", ["1.809", "1.809", "1.809"], ["1.81", "1.81", "1.81"]),
		# 18 % of 10.03 three times = 1.8054 each = 5.4162 → row ₹5.42; per line 1.81 × 3 = 5.43
		("5.42", ["1.8054", "1.8054", "1.8054"], ["1.81", "1.81", "1.80"]),
		# a row after a discount on the grand total: shares follow the weights, sum the row
		("17.71", ["18", "2.5"], ["15.55", "2.16"]),
		# a line at rate 0 takes nothing
		("4.50", ["0", "4.5"], ["0.00", "4.50"]),
		# nothing to share
		("0.00", ["0", "0"], ["0.00", "0.00"]),
		# no weight at all: equal parts
		("0.05", ["0", "0"], ["0.03", "0.02"]),
		("7.77", [], []),
	],
)
def test_a_total_is_shared_by_the_largest_remainder_and_adds_up_exactly(total, weights, shares):
	got = money.share_out(D(total), [D(w) for w in weights])
	assert got == [D(s) for s in shares]
	if weights:
		assert sum(got, D(0)) == D(total)


def test_shares_stay_within_a_paisa_of_their_quota_and_add_up_whatever_the_weights():
	import random

	rnd = random.Random(16)
	for _ in range(500):
		weights = [D(rnd.randint(0, 10**6)) / 1000 for _ in range(rnd.randint(1, 8))]
		total = D(rnd.randint(0, 10**7)) / 100
		shares = money.share_out(total, weights)
		assert sum(shares, D(0)) == total
		whole = sum(weights, D(0))
		for share, w in zip(shares, weights, strict=True):
			quota = total * w / whole if whole else total / len(weights)
			assert abs(share - quota) < D("0.01")


# ---------------------------------------------------------------- the push's GST per line


@pytest.mark.parametrize(
	"lines,rows,gst_amts",
	[
		# the case: CGST 9 % + SGST 9 % on three lines of ₹10.03: ERPNext's rows are
		# 2 × round(2.7081) = 5.42, rounding each line (1.81 × 3 = 5.43) would be a paisa off;
		# CGST's odd paisa goes to the first line, SGST's to the second
		(
			[("10.03", {}), ("10.03", {}), ("10.03", {})],
			[("9", "2.71"), ("9", "2.71")],
			["1.81", "1.81", "1.80"],
		),
		# mixed slabs by Item Tax Template (the row's own rate 0)
		(
			[
				("100.00", {"C": "9", "S": "9"}),
				("50.00", {"C": "2.5", "S": "2.5"}),
				("10.01", {"C": "14", "S": "14"}),
			],
			[("0", "11.65"), ("0", "11.65")],
			["18.00", "2.50", "2.80"],
		),
		# IGST only, an exempt line
		([("99.99", {"I": "18"}), ("45.00", {"I": "0"})], [("0", "18.00")], ["18.00", "0.00"]),
	],
)
def test_each_gst_row_is_shared_over_the_lines_and_they_add_up_to_erpnext(lines, rows, gst_amts):
	names = {"C": ACCOUNTS[0], "S": ACCOUNTS[1], "I": "IGST"}
	bases = [(D(net), {names[k]: D(r) for k, r in rates.items()}) for net, rates in lines]
	accounts = ["IGST"] if len(rows) == 1 else list(ACCOUNTS)
	gst_rows = [
		(a, rules.ON_NET_TOTAL, D(rate), D(amount)) for a, (rate, amount) in zip(accounts, rows, strict=True)
	]
	got = rules.line_gst_shares(bases, gst_rows)
	assert got == [D(g) for g in gst_amts]
	assert sum(got, D(0)) == sum((D(amount) for _rate, amount in rows), D(0))


def test_rows_not_on_net_total_are_not_shared():
	got = rules.line_gst_shares([(D("100"), {})], [("CGST - O2O", "Actual", D(0), D("9.00"))])
	assert got == [D(0)]


# ---------------------------------------------------------------- the pull's GST rows


@pytest.mark.parametrize(
	"gst_amts,split,shares",
	[
		(["18.00"], gst.INTRA_STATE, [("9.00", "9.00")]),
		(["18.01"], gst.INTRA_STATE, [("9.01", "9.00")]),  # the odd paisa to CGST
		(["0.01"], gst.INTRA_STATE, [("0.01", "0.00")]),
		# three odd lines: CGST 2.72 (half of 5.43, half-up) shared over them; each line's SGST
		# the rest: CGST and SGST of the invoice one paisa apart, not three
		(["1.81", "1.81", "1.81"], gst.INTRA_STATE, [("0.91", "0.90"), ("0.91", "0.90"), ("0.90", "0.91")]),
		(["1.81", "1.67", "0.00"], gst.INTRA_STATE, [("0.91", "0.90"), ("0.83", "0.84"), ("0.00", "0.00")]),
		(["18.01", "0.03"], gst.INTER_STATE, [("18.01",), ("0.03",)]),
		(["0.00"], gst.NO_GST, [()]),
	],
)
def test_an_invoice_gst_splits_into_accounts_that_add_up_per_line_and_stay_a_paisa_apart(
	gst_amts, split, shares
):
	got = gst.line_shares([D(g) for g in gst_amts], split)
	kinds = {gst.INTRA_STATE: ("cgst", "sgst"), gst.INTER_STATE: ("igst",), gst.NO_GST: ()}[split]
	assert got == [dict(zip(kinds, (D(v) for v in want), strict=True)) for want in shares]
	for parts, g in zip(got, gst_amts, strict=True):
		assert sum(parts.values(), D(0)) == (D(g) if kinds else D(0))
	if split == gst.INTRA_STATE:
		cgst, sgst = (sum((parts[k] for parts in got), D(0)) for k in kinds)
		assert 0 <= cgst - sgst <= D("0.01")


def test_pulled_gst_rows_are_the_lines_shares_with_each_lines_rate_in_the_item_wise_detail():
	inv = invoice(
		[
			line(1, cost="10.03", gst_amt="1.81", product_id=501),
			line(2, cost="10.03", gst_amt="1.81", product_id=502),
			line(3, cost="33.33", gst_amt="1.67", product_id=503),  # 5 %
		]
	)
	items = {pid: ItemInfo(code) for pid, code in ((501, "TEA"), (502, "SUGAR"), (503, "RICE"))}
	spec = spec_of(inv, items=items)
	rows = {row.kind: row for row in rules.pulled_gst_rows(spec)}
	# ERPNext "On Net Total" would give CGST = SGST = round(0.9027 + 0.9027 + 0.83325) = 2.64
	assert rows["cgst"].amount == D("0.91") + D("0.91") + D("0.83") == D("2.65")  # half of 5.29
	assert rows["sgst"].amount == D("0.90") + D("0.90") + D("0.84") == D("2.64")
	assert rows["cgst"].amount + rows["sgst"].amount == spec.expected.gst_total == D("5.29")
	assert rows["cgst"].item_wise == {"TEA": [9.0, 0.91], "SUGAR": [9.0, 0.91], "RICE": [2.5, 0.83]}
	assert rows["sgst"].item_wise == {"TEA": [9.0, 0.9], "SUGAR": [9.0, 0.9], "RICE": [2.5, 0.84]}
	assert spec.expected.by_account == {"CGST": D("2.65"), "SGST": D("2.64")}


# ---------------------------------------------------------------- the totals check


def test_two_decimal_input_reconciles_to_the_paisa_not_a_paisa_per_line():
	inv = invoice([line(i, cost="10.03", gst_amt="1.81") for i in range(1, 9)])
	spec = spec_of(inv)
	assert spec.expected.tolerance == 0
	net, tax = D("80.24"), D("14.48")
	by_account = {"CGST": D("7.24"), "SGST": D("7.24")}
	assert check_totals(inv, spec, net, tax, grand_total=net + tax, gst_by_account=by_account) == ""
	# ERPNext's once-per-row rounding (2 × 7.22 = 14.44) was accepted within ₹0.08: no longer
	with pytest.raises(InvoiceError, match=r"GST ₹14\.44 in ERPNext differs") as e:
		check_totals(inv, spec, net, D("14.44"))
	assert e.value.field == "gst_amt"
	with pytest.raises(
		InvoiceError, match=r"SGST ₹7\.25 in ERPNext differs from the portal lines' share ₹7\.24"
	):
		check_totals(inv, spec, net, tax, gst_by_account={**by_account, "SGST": D("7.25")})
	with pytest.raises(InvoiceError, match=r"grand total ₹94\.73 in ERPNext differs") as e:
		check_totals(inv, spec, net, tax, grand_total=D("94.73"))
	assert e.value.field == "total_amt"
	with pytest.raises(InvoiceError, match=r"net total ₹80\.25"):
		check_totals(inv, spec, D("80.25"), tax)


def test_finer_float_amounts_are_rounded_per_line_then_summed():
	# 0.005 rupees on each line: half-up per line (0.01 each), not on the sum
	inv = invoice([line(i, cost="10.005", gst_amt="1.8009") for i in range(1, 4)])
	spec = spec_of(inv)
	assert (spec.expected.net_total, spec.expected.gst_total, spec.expected.tolerance) == (
		D("30.03"),
		D("5.40"),
		0,
	)


def test_beyond_the_float_paisa_amounts_reconcile_within_its_resolution():
	inv = invoice([line(1, cost="200000.00", gst_amt="36000.00")])
	spec = spec_of(inv)
	assert spec.expected.tolerance == D("0.02")
	assert "FLOAT" in check_totals(inv, spec, D("200000.01"), D("36000.00"))
