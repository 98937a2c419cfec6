"""Rupee amounts: parsing the portal's text and FLOAT money, rounding to the paisa.

Contract, "Tables": FLOAT money is read at full stored precision (`cost + 0`) and
rounded half-up to the paisa; above ₹1,31,072 a FLOAT cannot hold every paisa, so
such amounts reconcile within the column's resolution. Numbers stored as text follow a
strict grammar (`parse_text_number`): a text that could be misread (exponent,
hexadecimal, thousands grouped wrongly) is refused, never guessed, and NULL is never ₹0.
"""

import math
import re
import struct
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

PAISA = Decimal("0.01")
ZERO = Decimal("0")
#: Largest amount (rupees) a FLOAT column stores to the paisa: 2**17.
FLOAT_EXACT_LIMIT = Decimal(131072)
#: ERPNext's Currency columns are decimal(21,9): amounts (rupees) must stay below 10**12.
ERPNEXT_AMOUNT_LIMIT = Decimal(10**12)


def shown(value, limit: int = 60) -> str:
	"""`repr(value)` for a message, cut to `limit` characters of text (portal text can be
	20,000 characters long): "'abc…' (20000 characters)"."""
	if isinstance(value, str) and len(value) > limit:
		return f"{value[:limit]!r}… ({len(value)} characters)"
	return repr(value)


#: Thousands separators a text amount may use (one kind per number): a comma, or a space
#: (plain, no-break or narrow no-break).
_COMMA, _SPACE = ",", " "
_SPACES = frozenset(" \u00a0\u202f\u2009")
_DIGITS = re.compile(r"[0-9]+")


def _why_not(text: str) -> str:
	"""A short reason why `text` is not an amount, for the error message."""
	lowered = text.strip().lower()
	if re.search(r"nan|inf", lowered):
		return "not a finite number"
	if re.fullmatch(r"[-+]?\s*₹?\s*0x[0-9a-f]+", lowered):
		return "hexadecimal is not accepted"
	if re.fullmatch(r"[-+]?\s*₹?\s*[0-9.,]+e[-+]?[0-9]+", lowered):
		return "exponent notation is not accepted"
	if re.search(r"[0-9][,\s]+[0-9]", lowered):
		return "digits grouped wrongly: group thousands as 1,25,000.50 or 125,000.50"
	return "not a number"


def _grouped_ok(groups: list[str]) -> bool:
	"""Western (125,000) or Indian (1,25,000) grouping of an integer part split at its separator."""
	if len(groups) < 2 or not all(_DIGITS.fullmatch(g) for g in groups):
		return False
	first, middle, last = groups[0], groups[1:-1], groups[-1]
	if len(last) != 3 or first.startswith("0"):
		return False
	western = len(first) <= 3 and all(len(g) == 3 for g in middle)
	indian = len(first) <= 2 and all(len(g) == 2 for g in middle)
	return western or indian


def _parse_text(text: str) -> Decimal | None:
	"""The strict grammar of a text amount (see `parse_text_number`); ValueError otherwise."""
	s = text.strip()
	if s == "":
		return None
	body, negative = s, False
	if body.startswith("-"):
		negative, body = True, body[1:].lstrip()
	if body.startswith("₹"):
		body = body[1:].lstrip()
	if not negative and body.startswith("-"):
		negative, body = True, body[1:].lstrip()
	whole, dot, fraction = body.partition(".")
	if dot and not _DIGITS.fullmatch(fraction):
		raise ValueError(f"{shown(text)} is not an amount: {_why_not(text)}")
	if not _DIGITS.fullmatch(whole):
		separators = {_SPACE if c in _SPACES else c for c in whole if not c.isascii() or not c.isdigit()}
		if separators == {_COMMA}:
			groups = whole.split(_COMMA)
		elif separators == {_SPACE}:
			groups = re.split("[" + "".join(_SPACES) + "]", whole)
		else:
			groups = []
		if not _grouped_ok(groups):
			raise ValueError(f"{shown(text)} is not an amount: {_why_not(text)}")
		whole = "".join(groups)
	number = Decimal(whole + (("." + fraction) if dot else ""))
	return -number if negative else number


def paisa(value) -> Decimal:
	"""Round `value` (rupees: float, int, Decimal, or text in the grammar of
	`parse_text_number`) half-up to the paisa.

	Floats go through `repr` so 0.1 stays 0.1. Raises ValueError for None (a NULL amount
	is never ₹0), blank text, NaN or infinity, booleans and text that is not an amount.
	"""
	if value is None:
		raise ValueError("no amount (NULL)")
	number = parse_text_number(value)
	if number is None:
		raise ValueError(f"no amount (blank text {value!r})")
	return number.quantize(PAISA, rounding=ROUND_HALF_UP)


def parse_text_number(text) -> Decimal | None:
	"""Parse a number the portal stores as text (`unit_rate`, `freight_cost`; contract,
	"Tables": numbers as text).

	Strict grammar: ASCII digits with an optional decimal point and fraction (``1250.50``,
	``14.285714``), surrounding spaces, a leading ₹ and a leading minus; thousands may be
	grouped with commas or spaces, western (``125,000.50``, ``1 250.50``) or Indian
	(``1,25,000.50``), one kind of separator per number. Refused (ValueError naming the
	text and why): exponents (``1e3``), hexadecimal (``0x1F``), NaN and infinity, groups in
	the wrong places (``12,50``, ``1,25,0.50``), underscores, other scripts' digits, any
	other text. Returns a Decimal (negative when the text says so: the caller decides
	whether the column allows it), or None for None and blank text. Numbers (int, float,
	Decimal) are taken as they are when finite.
	"""
	if text is None:
		return None
	if isinstance(text, bool):
		raise ValueError(f"{text!r} is not an amount")
	if isinstance(text, float):
		if not math.isfinite(text):
			raise ValueError(f"{text!r} is not an amount: not a finite number")
		return Decimal(repr(text))
	if isinstance(text, int):
		return Decimal(text)
	if isinstance(text, Decimal):
		if not text.is_finite():
			raise ValueError(f"{text!r} is not an amount: not a finite number")
		return text
	if not isinstance(text, str):
		raise ValueError(f"{shown(text)} is not an amount")
	return _parse_text(text)


def float_money(value):
	"""A FLOAT money column's value as the pull reads it (`cost + 0`): rounded half-up to
	the paisa (Decimal rupees), None for NULL, or the value unchanged when it is no finite
	number. Never raises: one bad row must not stop the batch; the spec refuses the
	invoice naming the column (`spec.py`)."""
	if value is None:
		return None
	try:
		return paisa(value)
	except ValueError:
		return value


def float32_resolution(amount) -> Decimal:
	"""Spacing (rupees) between adjacent FLOAT (IEEE single) values at `amount`.

	Returns a Decimal, e.g. ₹0.0078125 for amounts in [65536, 131072) and ₹0.015625
	in [131072, 262144): above ₹1,31,072 a FLOAT cannot keep every paisa.
	"""
	a = abs(float(amount))
	if a == 0:
		return ZERO
	# distance to the next representable float32
	bits = struct.unpack("<I", struct.pack("<f", a))[0]
	nxt = struct.unpack("<f", struct.pack("<I", bits + 1))[0]
	return Decimal(repr(nxt - struct.unpack("<f", struct.pack("<I", bits))[0]))


def amount_tolerance(amount, per_line: Decimal = PAISA) -> Decimal:
	"""How far a reconciled amount may be off: `per_line`, or the FLOAT step (rounded up to
	the paisa) above ₹1,31,072, whichever is larger.

	Contract, "Pull": totals equal to the paisa (`per_line` ₹0) for amounts a FLOAT holds to
	the paisa; within the FLOAT resolution beyond.
	"""
	if abs(Decimal(str(amount))) > FLOAT_EXACT_LIMIT:
		return max(per_line, float32_resolution(amount).quantize(PAISA, rounding="ROUND_UP"))
	return per_line


def beyond_float_precision(amount) -> bool:
	"""True when a FLOAT column cannot hold `amount` (rupees) to the paisa."""
	return abs(Decimal(str(amount))) > FLOAT_EXACT_LIMIT


def share_out(total: Decimal, weights: list[Decimal], tie_break: list | None = None) -> list[Decimal]:
	"""Share `total` (rupees to the paisa) over `weights` by the largest remainder.

	Each share starts as its quota `total × weight / Σ weights` rounded down to the paisa;
	the paise left over go, one each, to the shares with the largest remainders; on a tie to
	the one with the smaller `tie_break` value, then the earlier one. The shares add up to
	`total` exactly and each is within ₹0.01 of its quota. Weights summing to zero: shared in
	equal parts. Returns [] for no weights. Contract, "Push": a GST row's amount over the lines.
	"""
	if not weights:
		return []
	total = Decimal(total).quantize(PAISA, rounding=ROUND_HALF_UP)
	weights = [Decimal(w) for w in weights]
	whole = sum(weights, ZERO)
	if whole == 0:
		weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
	quotas = [total * w / whole for w in weights]
	shares = [q.quantize(PAISA, rounding=ROUND_FLOOR) for q in quotas]
	left = int((total - sum(shares, ZERO)) / PAISA)
	ties = tie_break or [0] * len(quotas)
	order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), ties[i], i))
	for i in order[:left]:
		shares[i] += PAISA
	return shares
