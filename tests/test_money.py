"""Rupees from the portal's text and FLOAT money (contract, "Tables"): a strict grammar, so
an amount is read exactly or refused, never guessed, and NULL is never ₹0."""

from decimal import Decimal as D

import pytest

from o2o_sync.sync.model import money

ACCEPTED = {
	"1250.50": D("1250.50"),
	" 1,250.50 ": D("1250.50"),  # the contract's own example, with spaces around
	"1 250.50 ": D("1250.50"),  # thousands grouped by a space (portal_realistic writes these)
	"1\u00a0250.50": D("1250.50"),  # ... by a no-break space
	"125,000.50": D("125000.50"),  # western grouping
	"1,25,000.50": D("125000.50"),  # Indian grouping (lakh)
	"12,34,56,789.05": D("123456789.05"),  # Indian grouping (crore)
	"₹ 1,25,000.50": D("125000.50"),
	"₹1,000": D("1000"),
	"14.285714": D("14.285714"),  # a rate to six places
	"0": D("0"),
	"007.50": D("7.50"),
	"-5": D("-5"),  # read; whether negative is allowed is the column's rule (spec.py)
}

REFUSED = {
	"1e3": "exponent",
	"1E+3": "exponent",
	"2.5e2": "exponent",
	"0x1F": "hexadecimal",
	"0X64": "hexadecimal",
	"NaN": "finite",
	"nan": "finite",
	"Infinity": "finite",
	"-inf": "finite",
	"1,25,0.50": "grouped wrongly",  # commas in the wrong places
	"12,50": "grouped wrongly",  # a decimal comma would be misread as twelve hundred and fifty
	"1,2345": "grouped wrongly",
	"12,345,67": "grouped wrongly",
	"0,500": "grouped wrongly",
	"1 2 3": "grouped wrongly",
	"1,25 000": "grouped wrongly",  # two kinds of separator
	"1_000": "not a number",  # Python's Decimal would take it
	"१२३": "not a number",  # Devanagari digits: Python's Decimal would take them too
	"١٢٣": "not a number",
	"12 rupees": "not a number",
	"abc": "not a number",
	"+5": "not a number",
	".5": "not a number",
	"5.": "not a number",
	"1.2.3": "not a number",
	"₹": "not a number",
	"-": "not a number",
}


@pytest.mark.parametrize(("text", "amount"), ACCEPTED.items())
def test_text_amounts_in_the_grammar_are_read_exactly(text, amount):
	assert money.parse_text_number(text) == amount


@pytest.mark.parametrize(("text", "why"), REFUSED.items())
def test_text_that_could_be_misread_is_refused_with_the_reason(text, why):
	with pytest.raises(ValueError) as e:
		money.parse_text_number(text)
	assert repr(text) in str(e.value) and why in str(e.value)


def test_blank_text_and_null_are_no_number():
	for blank in (None, "", "   ", "\u00a0"):
		assert money.parse_text_number(blank) is None


def test_numbers_are_taken_as_they_are_when_finite():
	assert money.parse_text_number(5) == D(5)
	assert money.parse_text_number(0.1) == D("0.1")
	assert money.parse_text_number(D("2.50")) == D("2.50")
	for bad in (float("nan"), float("inf"), D("NaN"), D("-Infinity"), True):
		with pytest.raises(ValueError):
			money.parse_text_number(bad)


def test_paisa_never_makes_null_or_blank_into_zero_rupees():
	with pytest.raises(ValueError, match="NULL"):
		money.paisa(None)
	with pytest.raises(ValueError, match="blank"):
		money.paisa("")
	for bad in ("1e3", "0x1F", "NaN", float("nan"), D("NaN"), float("-inf")):
		with pytest.raises(ValueError):
			money.paisa(bad)
	assert money.paisa("1,25,000.505") == D("125000.51")  # half-up
	assert money.paisa(815999.6875) == D("815999.69")


def test_reading_a_float_column_never_raises():
	"""One bad row must not stop the batch: the reader keeps what it cannot read, and the
	spec refuses that invoice by name (test_bad_rows.py)."""
	assert money.float_money(815999.6875) == D("815999.69")
	assert money.float_money(None) is None
	nan = float("nan")
	assert money.float_money(nan) is nan
	assert money.float_money("abc") == "abc"


def test_long_text_is_cut_in_messages():
	text = "x" * 20_000
	with pytest.raises(ValueError) as e:
		money.parse_text_number(text)
	assert len(str(e.value)) < 200 and "20000 characters" in str(e.value)
