"""The port's share of a parallel backfill (`engine.pull.backfill`): a part's progress row,
Purchase Invoice names reserved ahead of a page, and the duplicate key of a master two parts
created at once reported as transient.

Why names are reserved: ERPNext names a Purchase Invoice from its naming series with
`frappe.model.naming.getseries`, a `SELECT ... FOR UPDATE` and UPDATE of the series' row in
`tabSeries`, before it validates the invoice; the row stays locked until the transaction
commits, so two parts each inserting a page would wait on each other a page at a time. A
part takes a page's names in a short transaction of its own (the same UPDATE, committed at
once) and inserts each invoice under one of them (`Document.insert(set_name=...)`). Names a
job reserved and did not use are left unused: the series has a gap of at most one page per
job, as it has after any rolled-back insert elsewhere in ERPNext.
"""

import frappe
from frappe.model.naming import (
	NamingSeries,
	get_default_naming_series,
	has_custom_parser,
	parse_naming_series,
)
from frappe.utils import cint, now_datetime

from o2o_sync.constants import PURCHASE_INVOICE

#: the child table of a backfill's parts
BACKFILL_PART = "O2O Backfill Part"
#: naming-series parts that are dates (Frappe's `parse_naming_series`)
DATE_PARTS = frozenset({"YY", "MM", "DD", "YYYY", "WW"})


def _plain_series() -> str | None:
	"""Purchase Invoice's default naming series when every part of it is text, a date or the
	counter (so a name can be made without the invoice); None otherwise (a Document Naming
	Rule, a field or a custom part: the invoice is then named by ERPNext as usual)."""
	if frappe.get_all(
		"Document Naming Rule", filters={"document_type": PURCHASE_INVOICE, "disabled": 0}, limit=1
	):
		return None
	series = get_default_naming_series(PURCHASE_INVOICE)
	if not series or "{" in series:
		return None
	series = NamingSeries(series).series  # "ACC-PINV-.YYYY.-" counts with ".#####", as ERPNext's do
	meta = frappe.get_meta(PURCHASE_INVOICE)
	for part in filter(None, series.split(".")):
		if part.startswith("#") or part in DATE_PARTS:
			continue
		if meta.has_field(part) or has_custom_parser(part):
			return None
	return series


class BackfillRows:
	"""Mixin of `FrappePort`. A port made for a backfill part sets `parallel` True."""

	#: True in a backfill part: names reserved, a master's duplicate key retried
	parallel = False

	def _name_pool(self) -> list[str]:
		if not hasattr(self, "_reserved_names"):
			self._reserved_names = []
		return self._reserved_names

	def reserve_invoice_names(self, n: int) -> None:
		"""Make sure `n` Purchase Invoice names are reserved for the page that follows, taking
		the shortfall from the naming series in a transaction of its own, committed at once
		(call between units: nothing else may be pending). Does nothing outside a backfill
		part, or when the series cannot be made without an invoice (`_plain_series`)."""
		pool = self._name_pool()
		want = int(n) - len(pool)
		if not self.parallel or want <= 0:
			return
		if not hasattr(self, "_series"):  # once per port (a job): a query and the meta
			self._series = _plain_series()
		series = self._series
		if series is None:
			return
		prefix = {}

		def first_of_block(partial_series, digits):
			prefix["name"], prefix["digits"] = partial_series, digits
			return "#" * digits

		parse_naming_series(series, number_generator=first_of_block)
		key = prefix["name"]
		row = frappe.db.sql("SELECT `current` FROM `tabSeries` WHERE `name` = %s FOR UPDATE", (key,))
		if row and row[0][0] is not None:
			start = cint(row[0][0])
			frappe.db.sql("UPDATE `tabSeries` SET `current` = `current` + %s WHERE `name` = %s", (want, key))
		else:
			start = 0
			frappe.db.sql("INSERT INTO `tabSeries` (`name`, `current`) VALUES (%s, %s)", (key, want))
		frappe.db.commit()  # nosemgrep: the reservation is a transaction of its own (see module)
		name = parse_naming_series(series, number_generator=lambda p, d: "{number}")
		pool.extend(
			name.format(number=str(k).zfill(prefix["digits"])) for k in range(start + 1, start + want + 1)
		)

	def reserved_invoice_name(self) -> str | None:
		"""The next reserved name (`reserve_invoice_names`), or None: ERPNext names it."""
		pool = self._name_pool()
		return pool.pop(0) if pool else None

	def give_back_invoice_name(self, name: str) -> None:
		"""An insert that rolled back hands its reserved name back, for the next invoice."""
		if self.parallel and name:
			self._name_pool().insert(0, name)

	def save_backfill_part(self, part: str, cursor, read: int, counts: dict, done: bool) -> None:
		"""Save a part's progress in the current transaction (committed with its page): its
		cursor ((portal change time, requisition id)), invoices read, counts and whether it is
		done, with the time of this page (the backfill's watch tells a stalled part by it)."""
		ts, requisition_id = cursor
		created, failed = int(counts.get("created", 0)), int(counts.get("failed", 0))
		frappe.db.set_value(
			BACKFILL_PART,
			part,
			{
				"cursor_ts": str(ts) if ts else None,
				"cursor_id": int(requisition_id or 0),
				"read_count": int(read),
				"created_count": created,
				"failed_count": failed,
				"other_count": max(0, sum(int(v) for v in counts.values()) - created - failed),
				"status": "Done" if done else "Running",
				"heartbeat": now_datetime(),
			},
			update_modified=False,
		)

	def duplicate_is_transient(self, error: BaseException) -> bool:
		"""In a backfill part: a duplicate key (a master another part created at the same
		moment) is not about the invoice; the page is read again, finding that master."""
		if not self.parallel:
			return False
		seen = set()
		while error is not None and id(error) not in seen:
			seen.add(id(error))
			if isinstance(error, frappe.DuplicateEntryError | frappe.UniqueValidationError):
				return True
			error = error.__cause__ or error.__context__
		return False
