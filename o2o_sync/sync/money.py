"""Rupee amounts: parsing the portal's text and FLOAT money, rounding to the paisa.

Contract, "Tables": FLOAT money is read at full stored precision (`cost + 0`) and
rounded half-up to the paisa; above ₹1,31,072 a FLOAT cannot hold every paisa, so
such amounts reconcile within the column's resolution.
"""

import math
import struct
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PAISA = Decimal("0.01")
ZERO = Decimal("0")
#: Largest amount (rupees) a FLOAT column stores to the paisa: 2**17.
FLOAT_EXACT_LIMIT = Decimal(131072)


def paisa(value) -> Decimal:
	"""Round `value` (float, int, str or Decimal, rupees) half-up to the paisa.

	None becomes ₹0.00. Floats go through `repr` so 0.1 stays 0.1.
	Raises ValueError for text that is not a number.
	"""
	if value is None:
		return ZERO.quantize(PAISA)
	if isinstance(value, float):
		if not math.isfinite(value):
			raise ValueError(f"not a finite amount: {value!r}")
		value = repr(value)
	try:
		return Decimal(value).quantize(PAISA, rounding=ROUND_HALF_UP)
	except InvalidOperation:
		raise ValueError(f"not an amount: {value!r}")


def parse_text_number(text) -> Decimal | None:
	"""Parse a number the portal stores as text (`unit_rate`, `freight_cost`).

	Accepts ``1,250.50``, surrounding or inner spaces and a leading ₹; returns None for
	None or blank text. Raises ValueError for anything else.
	"""
	if text is None:
		return None
	if isinstance(text, int | float | Decimal):
		return Decimal(repr(text)) if isinstance(text, float) else Decimal(text)
	cleaned = str(text).replace(",", "").replace(" ", "").replace("\u00a0", "").replace("₹", "")
	if cleaned == "":
		return None
	try:
		number = Decimal(cleaned)
	except InvalidOperation:
		raise ValueError(f"not a number: {text!r}")
	if not number.is_finite():
		raise ValueError(f"not a number: {text!r}")
	return number


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
	"""How far a reconciled amount may be off: `per_line` (₹0.01), or the FLOAT step above ₹1,31,072.

	Contract, "Pull": totals match within ₹0.01 per line, or the FLOAT resolution.
	"""
	if abs(Decimal(str(amount))) > FLOAT_EXACT_LIMIT:
		return max(per_line, float32_resolution(amount).quantize(PAISA, rounding="ROUND_UP"))
	return per_line


def beyond_float_precision(amount) -> bool:
	"""True when a FLOAT column cannot hold `amount` (rupees) to the paisa."""
	return abs(Decimal(str(amount))) > FLOAT_EXACT_LIMIT
