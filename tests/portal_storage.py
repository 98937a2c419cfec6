"""How the portal's MariaDB keeps and returns a value, for the in-memory portal
(`inmemory_portal.py`), so that it stores and reads broken input as the real one does
(`test_client_parity.py`, `test_bad_rows.py`):

- FLOAT columns hold 32-bit floats; NaN, infinity and text are refused (strict SQL mode);
- integer line columns refuse text that is not a number (strict SQL mode);
- DATETIME columns keep a moment to the second; text is kept as MariaDB keeps it outside
  strict mode, as legacy rows were written: month or day 0 kept (and read back as text),
  any other impossible date (2026-02-30) stored as the zero datetime;
- the client's SELECT returns zero or invalid datetimes as NULL (`columns._dt`).
"""

import re
import struct
from datetime import date, datetime, time
from decimal import Decimal

from o2o_sync.setup.portal_rows import ZERO_DATETIME

#: FLOAT columns (stored as 32-bit floats).
FLOAT_COLUMNS = frozenset({"cost", "gst_amt", "total_amt", "total_wt"})
#: Integer line columns (a text that is not a number is refused, as strict SQL mode does).
INT_COLUMNS = frozenset({"quantity", "vendor_id", "product_id"})
#: DATETIME columns: text is stored as MariaDB stores it without strict mode (legacy rows).
DATETIME_COLUMNS = frozenset(
	"""created_at updated_at delivery_date validity_date invoice_generated_at invoice_cancel_date
	requisition_at amendment_date challan_date approved_at rejected_at""".split()
)
_DATETIME_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?")


def _stored_datetime_text(text: str):
	"""DATETIME text as MariaDB keeps it outside strict mode: a real moment as a datetime;
	month or day 0 kept as text (the client reads it back as text); anything else zero."""
	match = _DATETIME_TEXT.fullmatch(text.strip())
	if not match:
		return ZERO_DATETIME
	year, month, day, hour, minute, second = (int(x or 0) for x in match.groups())
	try:
		return datetime(year, month, day, hour, minute, second)
	except ValueError:
		pass
	if (month == 0 or day == 0) and month <= 12 and day <= 31 and hour < 24 and minute < 60 and second < 60:
		return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
	return ZERO_DATETIME


def stored(column: str, value):
	"""A value as the database keeps it: DATETIME to the second (text as MariaDB keeps it),
	FLOAT as 32 bits (NaN, infinity and text refused, as strict SQL mode does), integer
	columns refusing text that is not a number."""
	if column in FLOAT_COLUMNS and value is not None:
		try:
			number = Decimal(value.strip() if isinstance(value, str) else str(value))
		except ArithmeticError:
			number = None
		if number is None or not number.is_finite() or (isinstance(value, str) and "_" in value):
			raise ValueError(f"Incorrect double value: {value!r} for column {column}")
		return struct.unpack("f", struct.pack("f", float(number)))[0]
	if column in INT_COLUMNS and isinstance(value, str):
		if not re.fullmatch(r"\s*-?[0-9]+\s*", value):
			raise ValueError(f"Incorrect integer value: {value!r} for column {column}")
		return int(value)
	if column in DATETIME_COLUMNS and isinstance(value, str):
		return _stored_datetime_text(value)
	if isinstance(value, datetime):
		return value.replace(microsecond=0)
	if isinstance(value, date):
		return datetime.combine(value, time())
	return value


def read_back(value):
	"""A value as the client's SELECT returns it: zero or invalid datetimes (before the
	year 1000) are NULL; month or day 0 comes back as text."""
	if isinstance(value, str) and _DATETIME_TEXT.fullmatch(value) and value < "1000-01-01":
		return None
	if isinstance(value, datetime) and value <= datetime(1000, 1, 1):
		return None
	return value


def moment(value) -> datetime | None:
	"""A DATETIME value as read back, when it is a real moment; else None."""
	value = read_back(value)
	return value if isinstance(value, datetime) else None
