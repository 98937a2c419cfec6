"""What the pull reads from the portal: invoice pages on the change-time cursor, invoices by
id, and vendors (contract, "Tables" and "What maps to what").

`PortalReads` is a mixin of `procureuat_client.ProcureUATClient`: it only needs the
client's `_query(sql, params) -> list[dict]`. The SELECT lists and the rows-to-records
step come from the client's column registry (`registry`: the built-in `columns.REGISTRY`, or
the run's with the settings' field maps, set by `use_registry`; `header_select`,
`line_select`, `invoice_from_row`, `line_from_row`): datetimes that are zero or invalid read as None,
FLOAT money at full precision (`cost + 0`) rounded half-up to the paisa. A pull batch
sends three statements whatever its line count: headers, lines, vendors.

Time (contract: the portal's clock is Asia/Kolkata local time, no zone stored): the page
also returns the portal's own NOW() (`InvoiceBatch.portal_now`, in the headers' statement),
so the pull can keep its cursor behind the portal's clock without comparing portal times
with ERPNext's. A change time is built only from real dates: an impossible one (zero month
or day, a year before 1000) is left out of it and named in `InvoiceBatch.date_faults`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from o2o_sync.sync.model.columns import REGISTRY, header_select, invoice_from_row, line_from_row, line_select
from o2o_sync.sync.model.records import PortalInvoice, Vendor

#: Start of the cursor when nothing was read yet.
EPOCH = datetime(1970, 1, 1)


def _real_date(column: str) -> str:
	"""SQL: true when the DATETIME `column` holds a real date (no zero month or day, from year
	1000 on: what MariaDB may store under a lax `sql_mode` besides real dates)."""
	return f"({column} > '1000-01-01' AND MONTH({column}) > 0 AND DAYOFMONTH({column}) > 0)"


def _if_real(column: str) -> str:
	"""SQL: the DATETIME `column` when it holds a real date, else NULL."""
	return f"IF({_real_date(column)}, {column}, NULL)"


def _impossible(column: str) -> str:
	"""SQL: 1 when `column` holds an impossible date that is not the zero date
	('0000-00-00 00:00:00' is the portal's habitual "no date" and reads as NULL), else 0."""
	return f"IF({column} IS NOT NULL AND {column} <> 0 AND NOT {_real_date(column)}, 1, 0)"


#: Per requisition: its lines' newest real `updated_at` and how many lines hold an impossible one.
LINE_TIMES = (
	f"SELECT purchase_order_id, MAX({_if_real('updated_at')}) AS max_updated_at,"
	f" SUM({_impossible('updated_at')}) AS bad_line_dates FROM purchase_order_items"
)
#: An invoice's change time (contract, "What maps to what"): the newest of its own
#: `updated_at` (else `created_at`) and its lines' `updated_at` (`li.max_updated_at`); only
#: real dates count (none at all: 1970-01-01, the start of the cursor).
CHANGE_TS = (
	f"CAST(GREATEST(COALESCE({_if_real('pr.updated_at')},"
	f" {_if_real('pr.created_at')}, '1970-01-01 00:00:00'),"
	" COALESCE(li.max_updated_at, '1970-01-01 00:00:00')) AS DATETIME)"
)
#: The impossible dates of an invoice, as text ('' when none): the header's `updated_at` and
#: `created_at` as stored, and the number of lines whose `updated_at` is impossible.
DATE_FAULT = (
	"CONCAT_WS('; ',"
	f" IF({_impossible('pr.updated_at')}, CONCAT('updated_at ', CAST(pr.updated_at AS CHAR)), NULL),"
	f" IF({_impossible('pr.created_at')}, CONCAT('created_at ', CAST(pr.created_at AS CHAR)), NULL),"
	" IF(li.bad_line_dates > 0, CONCAT(li.bad_line_dates, ' line(s) updated_at'), NULL))"
)
#: The `vendors` columns read; never `*`: the table holds credentials (contract, `vendors`).
VENDOR_COLUMNS = "id, name, code, gstn, status, address, email"


def placeholders(values) -> str:
	"""'%s, %s, …', one per value, for a parameterised `IN (...)` or `VALUES (...)`."""
	return ", ".join(["%s"] * len(values))


@dataclass
class InvoiceBatch:
	"""One page of the pull: invoices of mapped entities with their lines.

	`skipped` counts rows of unmapped entities by entity; `last_key` is the cursor
	position (change time, requisition id) after the page; `rows_read` counts every
	header row read, mapped or not. `portal_now` is the portal's NOW() when it read the
	page (naive Asia/Kolkata; None for an empty page): the portal's clock, which differs
	between two portals and is left out of comparing pages. `date_faults` names, by
	requisition id, the impossible dates of the page's invoices (see `DATE_FAULT`).
	"""

	invoices: list[PortalInvoice] = field(default_factory=list)
	skipped: dict[str, int] = field(default_factory=dict)
	last_key: tuple[datetime, int] | None = None
	rows_read: int = 0
	portal_now: datetime | None = field(default=None, compare=False)
	date_faults: dict[int, str] = field(default_factory=dict)


def vendor_from_row(r: dict) -> Vendor:
	"""A `Vendor` from a row read with `VENDOR_COLUMNS`: name and code trimmed, a blank GSTIN None."""
	return Vendor(
		id=r["id"],
		name=(r["name"] or "").strip(),
		code=(r["code"] or "").strip(),
		gstn=(r["gstn"] or "").strip() or None,
		status=r["status"],
		address=r["address"],
		email=r["email"],
	)


def _scope(only_entities, from_date) -> tuple[list[str], list]:
	"""WHERE conditions (on `purchase_requisitions pr`) and their parameters of the invoices
	the pull reads: generated, of `only_entities` (None: any), dated from `from_date`."""
	where = ["pr.invoice_generated = 1"]
	params: list = []
	if only_entities is not None:
		wanted = sorted({str(e).strip() for e in only_entities}) or [""]
		where.append(f"TRIM(pr.entity) IN ({placeholders(wanted)})")
		params.extend(wanted)
	if from_date:
		where.append(
			"COALESCE(IF(pr.invoice_generated_at > '1000-01-01', pr.invoice_generated_at, NULL),"
			" IF(pr.created_at > '1000-01-01', pr.created_at, NULL)) >= %s"
		)
		params.append(from_date)
	return where, params


class PortalReads:
	"""The client's reads; the class it is mixed into provides `_query(sql, params)`."""

	#: the column registry the reads select and build records with (`use_registry`)
	registry: tuple = REGISTRY

	def _query(self, sql: str, params=()) -> list[dict]:  # provided by ProcureUATClient
		raise NotImplementedError

	def use_registry(self, registry) -> None:
		"""Read (and write, `PortalWrites`) the columns of `registry` from now on: the run's
		registry with the settings' field maps (`engines.registry`). Its mapped columns' names
		were checked against the portal's column list (`field_maps.build_registry`)."""
		self.registry = tuple(registry)

	def portal_columns(self) -> list[dict]:
		"""The columns of the contract's mapped tables on the live portal (one statement on
		`information_schema`): dicts table_name, column_name, data_type, character_maximum_length."""
		return self._query(
			"SELECT table_name AS table_name, column_name AS column_name, data_type AS data_type,"
			" character_maximum_length AS character_maximum_length FROM information_schema.columns"
			" WHERE table_schema = DATABASE() AND table_name IN (%s, %s) ORDER BY table_name, ordinal_position",
			["purchase_requisitions", "purchase_order_items"],
		)

	def fetch_invoice_batch(
		self,
		after: tuple[datetime | None, int],
		limit: int,
		entities: set[str],
		from_date: date | None = None,
		only_entities: set[str] | None = None,
		id_range: tuple[int, int] | None = None,
		before: datetime | None = None,
	) -> InvoiceBatch:
		"""Read the next page of invoices by change time (contract, "What maps to what").

		Args: `after` = (change time, requisition id) already read, exclusive (None time:
		from the start); `limit` rows; `entities` = mapped portal entity ids (others are
		only counted); `from_date` = earliest invoice date to read (cut-over);
		`only_entities` = read only these entities' rows (a backfill of newly mapped
		entities; None: every entity); `id_range` = (first, last) requisition ids, inclusive
		(a part of a parallel backfill; None: all); `before` = read only invoices whose change
		time is earlier (the backfill's boundary, portal time; None: no bound).
		Returns an InvoiceBatch ordered by (change time, id), with the portal's NOW().
		Two statements, whatever the line count.
		"""
		after_ts, after_id = after
		after_ts = after_ts or EPOCH
		where, params = _scope(only_entities, from_date)
		line_where, line_params = "", []
		if id_range is not None:
			where.append("pr.id BETWEEN %s AND %s")
			line_where = " WHERE purchase_order_id BETWEEN %s AND %s"
			line_params = [int(id_range[0]), int(id_range[1])]
			params.extend(line_params)
		having = "(change_ts > %s OR (change_ts = %s AND pr.id > %s))"
		having_params = [after_ts, after_ts, after_id]
		if before is not None:
			having += " AND change_ts < %s"
			having_params.append(before)
		sql = (
			f"SELECT {header_select(self.registry)}, {CHANGE_TS} AS change_ts, {DATE_FAULT} AS date_fault,"
			" NOW() AS portal_now"
			" FROM purchase_requisitions pr"
			f" LEFT JOIN ({LINE_TIMES}{line_where} GROUP BY purchase_order_id) li ON li.purchase_order_id = pr.id"
			f" WHERE {' AND '.join(where)}"
			f" HAVING {having}"
			" ORDER BY change_ts, pr.id LIMIT %s"
		)
		rows = self._query(sql, [*line_params, *params, *having_params, int(limit)])
		batch = InvoiceBatch(rows_read=len(rows))
		if not rows:
			return batch
		batch.last_key = (rows[-1]["change_ts"], rows[-1]["id"])
		batch.portal_now = rows[-1]["portal_now"]
		batch.date_faults = {r["id"]: r["date_fault"] for r in rows if r["date_fault"]}
		mapped = [r for r in rows if str(r["entity"]).strip() in entities]
		for r in rows:
			entity = str(r["entity"]).strip()
			if entity not in entities:
				batch.skipped[entity] = batch.skipped.get(entity, 0) + 1
		batch.invoices = self._with_lines(mapped)
		return batch

	def backfill_scope(self, entities: set[str], from_date: date | None = None) -> tuple[datetime, list[int]]:
		"""What a parallel backfill reads (issue 13): the portal's NOW() less `closed_seconds`
		is its boundary, and the requisition ids of mapped `entities` (dated from `from_date`)
		whose change time is before it, ascending. Invoices changed at or after the boundary
		are the incremental pull's. One statement (the boundary from the same snapshot).

		Returns (boundary, ids); boundary is portal time (Asia/Kolkata, no zone), one second
		before the portal's NOW() so that it is a closed second (`engine.pull.run`).
		"""
		now = self._query("SELECT NOW() - INTERVAL 1 SECOND AS boundary")[0]["boundary"]
		where, params = _scope(entities, from_date)
		rows = self._query(
			f"SELECT pr.id, {CHANGE_TS} AS change_ts FROM purchase_requisitions pr"
			f" LEFT JOIN ({LINE_TIMES} GROUP BY purchase_order_id) li ON li.purchase_order_id = pr.id"
			f" WHERE {' AND '.join(where)} HAVING change_ts < %s ORDER BY pr.id",
			[*params, now],
		)
		return now, [r["id"] for r in rows]

	def vendors_of_scope(self, entities: set[str], from_date: date | None = None) -> dict[int, "Vendor"]:
		"""The vendors on the lines of mapped `entities`' invoices (dated from `from_date`):
		`{id: Vendor}`, for the backfill's first pass, which creates their Suppliers before the
		parts run in parallel. Two statements."""
		where, params = _scope(entities, from_date)
		rows = self._query(
			"SELECT DISTINCT li.vendor_id FROM purchase_order_items li"
			f" JOIN purchase_requisitions pr ON pr.id = li.purchase_order_id WHERE {' AND '.join(where)}",
			params,
		)
		return self.fetch_vendors(r["vendor_id"] for r in rows)

	def has_changes_after(self, after: tuple[datetime | None, int], from_date: date | None = None) -> bool:
		"""The minute's probe (issue 13): is there an invoice the pull would read past `after`?

		Args: `after` = the pull's cursor (change time, requisition id; None time: nothing
		read yet); `from_date` = the cut-over (rows dated before it are never pulled). True
		when a row with `invoice_generated = 1` has a change key (`CHANGE_TS`, id) past
		`after`: its own `updated_at` (else `created_at`) or a line's `updated_at` after the
		cursor's time, or at that time with a higher id. A time later than the portal's NOW()
		does not count (the cursor never passes the portal's clock; such a row is re-read by
		every pull until then, and must not start one a minute). One statement, two EXISTS
		subqueries: the pull's grouping of every line is not needed to answer it.
		"""
		after_ts, after_id = after
		after_ts = after_ts or EPOCH
		header = f"COALESCE({_if_real('pr.updated_at')}, {_if_real('pr.created_at')})"
		line = _if_real("li.updated_at")
		where, params = "pr.invoice_generated = 1", []
		if from_date:
			where += (
				" AND COALESCE(IF(pr.invoice_generated_at > '1000-01-01', pr.invoice_generated_at, NULL),"
				" IF(pr.created_at > '1000-01-01', pr.created_at, NULL)) >= %s"
			)
			params.append(from_date)

		def past(t: str) -> str:
			return f"({t} <= NOW() AND ({t} > %s OR ({t} = %s AND pr.id > %s)))"

		key = [after_ts, after_ts, int(after_id or 0)]
		rows = self._query(
			f"SELECT EXISTS(SELECT 1 FROM purchase_requisitions pr WHERE {where} AND {past(header)})"
			f" OR EXISTS(SELECT 1 FROM purchase_order_items li JOIN purchase_requisitions pr"
			f" ON pr.id = li.purchase_order_id WHERE {where} AND {past(line)}) AS changed",
			[*params, *key, *params, *key],
		)
		return bool(rows[0]["changed"])

	def fetch_invoices(self, ids: list[int]) -> list[PortalInvoice]:
		"""Invoices by requisition id with their lines (two statements), ordered by id.

		Ids with no row are left out; `invoice_generated` is not checked (the retry and the
		push re-read rows they know).
		"""
		if not ids:
			return []
		rows = self._query(
			f"SELECT {header_select(self.registry)}, {CHANGE_TS} AS change_ts FROM purchase_requisitions pr"
			f" LEFT JOIN ({LINE_TIMES} WHERE purchase_order_id IN ({placeholders(ids)}) GROUP BY purchase_order_id) li"
			" ON li.purchase_order_id = pr.id"
			f" WHERE pr.id IN ({placeholders(ids)}) ORDER BY pr.id",
			[*ids, *ids],
		)
		return self._with_lines(rows)

	def _with_lines(self, rows: list[dict]) -> list[PortalInvoice]:
		"""Records for header rows, with their lines read in one statement (ordered by line id)."""
		invoices = [invoice_from_row(r, self.registry) for r in rows]
		if not invoices:
			return invoices
		ids = [inv.id for inv in invoices]
		by_id = {inv.id: inv for inv in invoices}
		for r in self._query(
			f"SELECT {line_select(self.registry)} FROM purchase_order_items"
			f" WHERE purchase_order_id IN ({placeholders(ids)}) ORDER BY purchase_order_id, id",
			ids,
		):
			by_id[r["purchase_order_id"]].lines.append(line_from_row(r, self.registry))
		return invoices

	def fetch_vendors(self, ids) -> dict[int, Vendor]:
		"""`vendors` rows by id: `{id: Vendor}` (named columns only, never the credential
		columns); falsy ids are ignored, unknown ids left out. One statement, none for no ids."""
		ids = sorted({int(i) for i in ids if i})
		if not ids:
			return {}
		rows = self._query(f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE id IN ({placeholders(ids)})", ids)
		return {r["id"]: vendor_from_row(r) for r in rows}
