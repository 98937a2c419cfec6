"""The port's rules, without Frappe: Supplier naming, what an update touches and keeps,
Item Tax Templates, the push's GST and what is payable."""

from datetime import date
from decimal import Decimal as D

import pytest

from o2o_sync.sync.model import gst, rules
from o2o_sync.sync.model.records import ExpectedTotals, InvoiceSpec, SpecLine, Vendor


def spec(**header):
	fields = {
		"bill_no": "AGO2O/26-27/0046",
		"bill_date": date(2026, 11, 20),
		"posting_date": date(2026, 11, 20),
		"due_date": None,
		"remarks": "",
	}
	fields.update(header)
	return InvoiceSpec(
		company="O2O Test Co",
		supplier="Sharma Traders",
		header=fields,
		tracking={"procureuat_id": 1042},
		gst_split=gst.INTRA_STATE,
		tax_accounts={"cgst": "CGST - O2O", "sgst": "SGST - O2O"},
		items=[
			SpecLine(7, "TEA", "ProcureUAT product 501", 7, D("14.285714"), D("100.00"), D("18"), D("18.00"))
		],
		expected=ExpectedTotals(D("100.00"), D("18.00"), D("0.01")),
	)


# ---------------------------------------------------------------- Supplier naming


@pytest.mark.parametrize(
	"code,taken,name",
	[
		("ST01", False, "Sharma Traders"),
		("ST01", True, "Sharma Traders - ST01"),
		("", True, "Sharma Traders - 17"),
		("", False, "Sharma Traders"),
	],
)
def test_a_new_supplier_takes_the_vendor_name_else_name_and_code_else_name_and_id(code, taken, name):
	vendor = Vendor(id=17, name="Sharma Traders", code=code, gstn="27AAAPS1234A1Z5")
	assert rules.supplier_name_for(vendor, taken) == name


# ---------------------------------------------------------------- updating a draft


def test_an_update_sets_only_the_header_fields_of_its_groups_and_never_none():
	s = spec(remarks="new note", due_date=None)
	assert rules.header_updates(s, {"remarks", "due_date", "items"}) == {"remarks": "new note"}
	assert rules.header_updates(s, {"bill_date", "posting_date"}) == {
		"bill_date": date(2026, 11, 20),
		"posting_date": date(2026, 11, 20),
	}
	assert rules.header_updates(s, {"company"}) == {"company": "O2O Test Co"}
	assert rules.header_updates(s, set()) == {}


def test_an_items_change_rewrites_the_gst_rows_too():
	assert rules.updates_items({"items"}) and not rules.updates_items({"taxes", "remarks"})
	assert rules.rewrites_gst_rows({"items"}) and rules.rewrites_gst_rows({"taxes"})
	assert not rules.rewrites_gst_rows({"bill_no", "company"})


def test_a_matched_item_row_keeps_its_cost_centre_and_expense_account():
	values = {"item_code": "TEA", "qty": 3, "cost_center": "Main - O2O", "expense_account": "Pantry - O2O"}
	assert rules.item_update_values(values) == {"item_code": "TEA", "qty": 3}
	assert set(rules.KEPT_ITEM_FIELDS) == {"cost_center", "expense_account"}


def test_rows_match_by_portal_item_id_and_the_freight_row_by_its_item():
	assert rules.item_row_key(7, "TEA") == 7
	assert rules.item_row_key(None, "FREIGHT") == ("freight", "FREIGHT")
	assert rules.item_row_key(0, "FREIGHT") == ("freight", "FREIGHT")
	assert rules.item_row_key(None, "FREIGHT") != rules.item_row_key(None, "TEA")


# ---------------------------------------------------------------- Item Tax Templates


def test_a_slab_template_splits_within_a_state_and_not_across():
	accounts = {"cgst": "CGST", "sgst": "SGST", "igst": "IGST"}
	assert rules.item_tax_template_title(gst.INTRA_STATE, D("18")) == "O2O GST 18% Intra-State"
	assert rules.item_tax_template_title(gst.INTER_STATE, D("7.5")) == "O2O GST 7.5% Inter-State"
	assert rules.item_tax_template_rates(gst.INTRA_STATE, D("5"), accounts) == [
		("CGST", D("2.5")),
		("SGST", D("2.5")),
	]
	assert rules.item_tax_template_rates(gst.INTER_STATE, D("5"), accounts) == [("IGST", D("5"))]


def test_a_template_title_carries_a_digest_of_its_accounts():
	old = rules.item_tax_template_rates(
		gst.INTRA_STATE, D("18"), {"cgst": "Input Tax CGST - OT", "sgst": "Input Tax SGST - OT"}
	)
	new = rules.item_tax_template_rates(gst.INTRA_STATE, D("18"), {"cgst": "CGST - OT", "sgst": "SGST - OT"})
	title = rules.item_tax_template_title(gst.INTRA_STATE, D("18"), new)
	assert title.startswith("O2O GST 18% Intra-State ")
	assert len(title.rsplit(" ", 1)[1]) == rules.DIGEST_LENGTH
	# stable: the same rows in any order give the same title; other accounts another one
	assert title == rules.item_tax_template_title(gst.INTRA_STATE, D("18"), list(reversed(new)))
	assert title != rules.item_tax_template_title(gst.INTRA_STATE, D("18"), old)
	assert rules.template_digest([("CGST - OT", D("9")), ("SGST - OT", D("9"))]) == rules.template_digest(
		[("SGST - OT", 9.0), ("CGST - OT", 9.0)]
	)


def test_a_template_matches_only_the_same_accounts_at_the_same_rates():
	want = [("CGST - OT", D("9")), ("SGST - OT", D("9"))]
	assert rules.template_rows_match([("SGST - OT", 9.0), ("CGST - OT", 9.0)], want)
	assert not rules.template_rows_match([("Input Tax CGST - OT", 9.0), ("Input Tax SGST - OT", 9.0)], want)
	assert not rules.template_rows_match([("CGST - OT", 9.0)], want)
	assert not rules.template_rows_match([("CGST - OT", 9.0), ("SGST - OT", 9.0), ("IGST - OT", 0.0)], want)
	assert not rules.template_rows_match([("CGST - OT", 2.5), ("SGST - OT", 2.5)], want)
	assert rules.template_rows_match(
		[("CGST - OT", 0.125), ("SGST - OT", 0.125)],
		[("CGST - OT", D("0.25") / 2), ("SGST - OT", D("0.25") / 2)],
	)


# ---------------------------------------------------------------- the push


def test_a_line_rate_is_its_template_rates_else_the_rows_over_the_gst_rows_on_net_total():
	rows = [("CGST", "On Net Total", D("9")), ("SGST", "On Net Total", D("9"))]
	assert rules.line_gst_rate(rows, {}) == D("18")
	assert rules.line_gst_rate(rows, {"CGST": D("2.5"), "SGST": D("2.5")}) == D("5")
	assert rules.line_gst_rate(rows, {"CGST": D("0"), "SGST": D("0")}) == D("0")
	assert rules.line_gst_rate([("IGST", "Actual", D("18"))], {"IGST": D("12")}) == D("0")
	assert rules.line_gst_rate([], {"IGST": D("12")}) == D("0")


def test_the_gst_amount_is_the_rate_on_the_net_amount_unrounded():
	assert rules.gst_amount(D("100.00"), D("18")) == D("18")
	assert rules.gst_amount(D("33.33"), D("5")) == D("1.6665")


@pytest.mark.parametrize(
	"kind,is_gst,is_tds",
	[("gst", True, False), ("gst", True, True), ("tds", False, True), ("other", False, False)],
)
def test_tax_rows_are_gst_by_account_then_tds_then_other(kind, is_gst, is_tds):
	assert rules.tax_kind(is_gst, is_tds) == kind


@pytest.mark.parametrize(
	"grand,rounded,disabled,owed",
	[
		(D("170.50"), D("171"), 0, D("171")),
		(D("170.50"), D("171"), 1, D("170.50")),
		(D("170.50"), None, 0, D("170.50")),
		(D("170.50"), D("0"), 0, D("170.50")),
	],
)
def test_the_supplier_is_owed_the_rounded_total_unless_rounding_is_off_or_empty(
	grand, rounded, disabled, owed
):
	assert rules.payable(grand, rounded, disabled) == owed
