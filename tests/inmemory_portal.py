"""An in-memory ProcureUAT client for the fast tests: the portal's three tables as dicts.

`InMemoryPortal` has the interface the engines use of `procureuat_client.ProcureUATClient`
(`fetch_invoice_batch`, `fetch_invoices`, `fetch_vendors`, `write_invoice`, `cancel_invoice`,
`set_finance_status`, `query_count`) with the same semantics as its SQL:

- an invoice's change time is the newest of its own `updated_at` (else `created_at`) and its
  lines' `updated_at`; pages are ordered by (change time, id), `after` exclusive;
- zero datetimes ('0000-00-00 00:00:00') read as None; FLOAT money is stored as a 32-bit
  float, as MariaDB does, and read through the column registry (rounded to the paisa);
- `write_invoice` is all or nothing, finds its row by `order_code` in the amendment chain,
  and takes numbers from `invoice_counter` (a missing counter row starts after the highest
  number already used for that prefix and financial year);
- `query_count` counts the statements the real client would send.

Rows are dicts of portal columns, made records by `columns.invoice_from_row`/`line_from_row`
(a column added to the registry works here unchanged). Helpers edit rows as the portal does.
Times come from the portal's own clock (`clock()`: five minutes later on every call, so that
the pull's cursor, not its two-minute overlap, is what finds an edit), naive Asia/Kolkata.
"""

import copy
import re
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from portal_storage import moment as _moment
from portal_storage import read_back as _read
from portal_storage import stored as _stored

from o2o_sync.setup.portal_rows import (
	DEFAULT_INVOICE_PREFIX,
	LINE_COLUMNS,
	REQUISITION_COLUMNS,
	VENDOR_COLUMNS,
	financial_year,
	header_row,
	round_paisa,
)
from o2o_sync.setup.portal_schema import SCHEMA_PATH
from o2o_sync.sync.model.columns import REGISTRY, invoice_from_row, line_from_row
from o2o_sync.sync.model.field_maps import columns_from_ddl
from o2o_sync.sync.model.records import PortalInvoice, Vendor
from o2o_sync.sync.portal.reads import EPOCH, InvoiceBatch, vendor_from_row
from o2o_sync.sync.portal.writes import (
	LINE_WRITE_COLUMNS,
	check_columns,
	check_same_financial_year,
	invoice_number_text,
	pushed_keys,
)
from o2o_sync.sync.portal.writes import REQUISITION_COLUMNS as REQUISITION_WRITE_COLUMNS

#: Column defaults of the schema (contract, "Tables"); other columns default to NULL.
REQUISITION_DEFAULTS = {
	"acknowledgement": 0,
	"order_status": 1,
	"finance_status": 0,
	"is_delete": 0,
	"gst_percentage": "5",
	"invoice_generated": 0,
	"is_invoice_cancel": 0,
	"vendor_created": 0,
	"is_new_invoice": 0,
}
LINE_DEFAULTS = {"vendor_approve": 1}
#: `information_schema`'s character_maximum_length of the TEXT types (bytes; no length in the DDL)
TEXT_LENGTHS = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295}
START = datetime(2026, 11, 2, 9, 0, 0)
STEP = timedelta(minutes=5)


def _impossible(value) -> bool:
	"""`portal_reads._impossible`: an impossible date (zero month or day, kept as text; a year
	before 1000) that is not the zero date."""
	if isinstance(value, str):
		return not value.startswith("0000-00-00")
	return isinstance(value, datetime) and value <= datetime(1000, 1, 1)


def _as_text(value) -> str:
	"""`CAST(datetime AS CHAR)`: 'YYYY-MM-DD HH:MM:SS'."""
	if isinstance(value, str):
		return value
	return f"{value.year:04d}-{value:%m-%d %H:%M:%S}"


def _leading_number(text: str) -> int:
	"""`CAST(SUBSTRING_INDEX(text, '/', -1) AS UNSIGNED)`: the last part's leading digits, else 0."""
	return int(re.match(r"\d*", text.rsplit("/", 1)[-1]).group() or 0)


class InMemoryPortal:
	"""The portal database in memory (see the module's docstring)."""

	def __init__(self, start: datetime = START, step: timedelta = STEP):
		self.now = start
		self.step = step
		self.requisitions: dict[int, dict] = {}
		self.lines: dict[int, dict] = {}
		self.vendors: dict[int, dict] = {}
		self.counters: dict[tuple[str, str], int] = {}  # (prefix, financial_year) -> last_number
		self._last_ids: dict[str, int] = {}
		self.query_count = 0

	# ------------------------------------------------------------ clock and storage

	def clock(self) -> datetime:
		"""The portal's time, `step` later on every call (for edits and the engines' clocks)."""
		self.now += self.step
		return self.now

	def _next_id(self, table: str) -> int:
		"""The table's next AUTO_INCREMENT id (ids are never reused, not even after a rollback)."""
		return self._last_ids.get(table, 0) + 1

	def _put(self, table: str, allowed: frozenset, values: dict, defaults: dict) -> int:
		check_columns(values, allowed | {"id"})
		rows = getattr(self, table)
		row = {**defaults, **{c: _stored(c, v) for c, v in values.items()}}
		row["id"] = row.get("id") or self._next_id(table)
		if row["id"] in rows:
			raise ValueError(f"duplicate id {row['id']} in {table}")
		self._last_ids[table] = max(self._last_ids.get(table, 0), row["id"])
		rows[row["id"]] = row
		return row["id"]

	def _update(self, table: dict, row_id: int, allowed: frozenset, values: dict) -> None:
		check_columns(values, allowed)
		if row_id not in table:
			raise LookupError(f"no row with id {row_id}")
		table[row_id].update({c: _stored(c, v) for c, v in values.items()})

	@contextmanager
	def _transaction(self):
		saved = copy.deepcopy((self.requisitions, self.lines, self.counters))
		try:
			yield
		except BaseException:
			self.requisitions, self.lines, self.counters = saved
			raise

	def _lines_of(self, requisition_ids) -> list[dict]:
		ids = set(requisition_ids)
		return sorted(
			(r for r in self.lines.values() if r["purchase_order_id"] in ids),
			key=lambda r: (r["purchase_order_id"], r["id"]),
		)

	def _line_times(self) -> dict[int, list]:
		"""`{requisition id: its lines' stored updated_at}`, read once for a page (not per row)."""
		times: dict[int, list] = {}
		for li in self.lines.values():
			times.setdefault(li["purchase_order_id"], []).append(li.get("updated_at"))
		return times

	def _change_ts(self, row: dict, line_times: dict | None = None) -> datetime:
		own = _moment(row.get("updated_at")) or _moment(row.get("created_at")) or EPOCH
		if line_times is None:
			lines = [_moment(li.get("updated_at")) for li in self._lines_of([row["id"]])]
		else:
			lines = [_moment(t) for t in line_times.get(row["id"], ())]
		return max(own, max((t for t in lines if t), default=EPOCH))

	def _selected(self, row: dict, line_times: dict | None = None) -> dict:
		return {c: _read(v) for c, v in row.items()} | {"change_ts": self._change_ts(row, line_times)}

	def _date_fault(self, row: dict, line_times: dict) -> str:
		"""`portal_reads.DATE_FAULT`: the row's impossible dates as text, '' when none."""
		parts = [f"{c} {_as_text(row[c])}" for c in ("updated_at", "created_at") if _impossible(row.get(c))]
		bad_lines = sum(_impossible(t) for t in line_times.get(row["id"], ()))
		return "; ".join(parts + ([f"{bad_lines} line(s) updated_at"] if bad_lines else []))

	# ------------------------------------------------------------ reads (portal_reads.PortalReads)

	registry = REGISTRY

	def use_registry(self, registry) -> None:
		"""Read and write the columns of `registry` (field maps); see `PortalReads.use_registry`."""
		self.registry = tuple(registry)

	def portal_columns(self) -> list[dict]:
		"""The mapped tables' columns as `information_schema` lists them (from the DDL)."""
		self.query_count += 1
		tables = columns_from_ddl(SCHEMA_PATH.read_text())
		return [
			{
				"table_name": table,
				"column_name": col.name,
				"data_type": col.data_type,
				"character_maximum_length": col.length or TEXT_LENGTHS.get(col.data_type),
			}
			for table in ("purchase_order_items", "purchase_requisitions")
			for col in tables[table].values()
		]

	def _mapped_select(self, row: dict, table: str) -> dict:
		"""A mapped column the row does not hold reads NULL, as a column of the table does."""
		return {c.key: None for c in self.registry if c.mapped and c.table == table and c.key not in row}

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
		"""Next page by (change time, id) after `after` (exclusive); see `PortalReads`.
		`portal_now` is the portal's clock as it stands (`now`, not moved by the read)."""
		after_key = (after[0] or EPOCH, after[1])
		self.query_count += 1
		rows = []
		line_times = self._line_times()
		for row in self._in_scope(only_entities, from_date):
			if id_range is not None and not id_range[0] <= row["id"] <= id_range[1]:
				continue
			key = (self._change_ts(row, line_times), row["id"])
			if key > after_key and (before is None or key[0] < before):
				rows.append((key, row))
		rows = [self._selected(r, line_times) for _key, r in sorted(rows, key=lambda kr: kr[0])[: int(limit)]]
		batch = InvoiceBatch(rows_read=len(rows))
		if not rows:
			return batch
		batch.last_key = (rows[-1]["change_ts"], rows[-1]["id"])
		batch.portal_now = self.now
		faults = {r["id"]: self._date_fault(self.requisitions[r["id"]], line_times) for r in rows}
		batch.date_faults = {i: fault for i, fault in faults.items() if fault}
		for r in rows:
			entity = str(r["entity"]).strip()
			if entity not in entities:
				batch.skipped[entity] = batch.skipped.get(entity, 0) + 1
		batch.invoices = self._with_lines([r for r in rows if str(r["entity"]).strip() in entities])
		return batch

	def _in_scope(self, only_entities, from_date):
		"""Generated requisitions of `only_entities` (None: any) dated from `from_date`."""
		wanted = None if only_entities is None else {str(e).strip() for e in only_entities}
		for row in self.requisitions.values():
			if row.get("invoice_generated") != 1:
				continue
			if wanted is not None and str(row["entity"]).strip() not in wanted:
				continue
			if from_date:
				moment = _moment(row.get("invoice_generated_at")) or _moment(row.get("created_at"))
				if moment is None or moment < datetime.combine(from_date, time()):
					continue
			yield row

	def backfill_scope(self, entities, from_date=None):
		"""See `PortalReads.backfill_scope`: (NOW() - 1 s, ids changed before it)."""
		self.query_count += 2
		boundary = self.now - timedelta(seconds=1)
		line_times = self._line_times()
		ids = [
			r["id"] for r in self._in_scope(entities, from_date) if self._change_ts(r, line_times) < boundary
		]
		return boundary, sorted(ids)

	def vendors_of_scope(self, entities, from_date=None):
		"""See `PortalReads.vendors_of_scope`."""
		self.query_count += 1
		ids = {r["id"] for r in self._in_scope(entities, from_date)}
		return self.fetch_vendors(
			{line.get("vendor_id") for line in self.lines.values() if line["purchase_order_id"] in ids}
		)

	def fetch_invoices(self, ids: list[int]) -> list[PortalInvoice]:
		"""Invoices by requisition id with their lines, ordered by id; see `PortalReads`."""
		if not ids:
			return []
		self.query_count += 1
		rows = [self._selected(self.requisitions[i]) for i in sorted(set(ids)) if i in self.requisitions]
		return self._with_lines(rows)

	def _with_lines(self, rows: list[dict]) -> list[PortalInvoice]:
		invoices = [
			invoice_from_row({**self._mapped_select(r, "purchase_requisitions"), **r}, self.registry)
			for r in rows
		]
		if not invoices:
			return invoices
		self.query_count += 1
		by_id = {inv.id: inv for inv in invoices}
		for line in self._lines_of(by_id):
			by_id[line["purchase_order_id"]].lines.append(
				line_from_row(
					{
						**self._mapped_select(line, "purchase_order_items"),
						**{c: _read(v) for c, v in line.items()},
					},
					self.registry,
				)
			)
		return invoices

	def fetch_vendors(self, ids) -> dict[int, Vendor]:
		"""`{id: Vendor}` for the known ids among `ids`; see `PortalReads`."""
		ids = sorted({int(i) for i in ids if i})
		if not ids:
			return {}
		self.query_count += 1
		return {i: vendor_from_row(self.vendors[i]) for i in ids if i in self.vendors}

	# ------------------------------------------------------------ writes (portal_writes.PortalWrites)

	def write_invoice(
		self, header: dict, lines: list[dict], *, order_codes: list[str], prefix: str, financial_year: str
	) -> dict:
		"""Insert or update one invoice and its lines, all or nothing; see `PortalWrites`."""
		header_columns = REQUISITION_WRITE_COLUMNS | pushed_keys("purchase_requisitions", self.registry)
		line_columns = LINE_WRITE_COLUMNS | pushed_keys("purchase_order_items", self.registry)
		check_columns(header, header_columns)
		for line in lines:
			check_columns(line, line_columns)
		self.query_count += 2  # the invoice's named lock (GET_LOCK), its release (one process: never busy)
		with self._transaction():
			self.query_count += 1
			existing = min(
				(r["id"] for r in self.requisitions.values() if r["order_code"] in order_codes), default=None
			)
			if existing is not None:
				number = self.requisitions[existing].get("invoice_number") or ""
				check_same_financial_year(header["order_code"], number, financial_year)
				self.query_count += 2
				values = {
					**header,
					"is_invoice_cancel": 0,
					"invoice_cancel_date": None,
					"updated_at": self.clock(),
				}
				self._update(self.requisitions, existing, header_columns, values)
				for line_id in [r["id"] for r in self._lines_of([existing])]:
					del self.lines[line_id]
				requisition_id, created = existing, False
			else:
				number = self._next_invoice_number(prefix, financial_year)
				self.query_count += 1
				values = {**header, "invoice_number": number, "updated_at": self.clock()}
				requisition_id = self._put("requisitions", header_columns, values, REQUISITION_DEFAULTS)
				created = True
			if lines:
				self.query_count += 1
				for line in lines:
					values = {**line, "purchase_order_id": requisition_id}
					self._put("lines", line_columns | {"purchase_order_id"}, values, LINE_DEFAULTS)
		return {"requisition_id": requisition_id, "invoice_number": number, "created": created}

	def _next_invoice_number(self, prefix: str, financial_year: str) -> str:
		self.query_count += 1  # the locking read
		key = (prefix, financial_year)
		if key not in self.counters:
			self.query_count += 3  # highest number used, INSERT ... ON DUPLICATE KEY, the locking read again
			start = f"{prefix}/{financial_year}/".lower()
			self.counters[key] = max(
				(
					_leading_number(r["invoice_number"])
					for r in self.requisitions.values()
					if (r.get("invoice_number") or "").lower().startswith(start)
				),
				default=0,
			)
		self.counters[key] += 1
		return invoice_number_text(prefix, financial_year, self.counters[key])

	def cancel_invoice(self, requisition_id: int) -> None:
		"""`is_invoice_cancel = 1`, `invoice_cancel_date` = `updated_at` = the portal's clock; see `PortalWrites`."""
		self.query_count += 1
		when = self.clock()
		if requisition_id in self.requisitions:
			values = {"is_invoice_cancel": 1, "invoice_cancel_date": when, "updated_at": when}
			self._update(self.requisitions, requisition_id, REQUISITION_COLUMNS, values)

	def rows_written_for(self, order_code: str) -> list[int]:
		"""Ids of live rows carrying `order_code`, one statement; see `PortalWrites`."""
		self.query_count += 1
		rows = self.requisitions.items()
		return sorted(i for i, r in rows if r.get("order_code") == order_code and not r["is_invoice_cancel"])

	def set_finance_status(self, changes: dict[int, int]) -> None:
		"""`finance_status` by requisition, one statement per distinct value; see `PortalWrites`."""
		self.query_count += len({int(s) for s in changes.values()})
		for requisition_id, status in changes.items():
			if int(requisition_id) in self.requisitions:
				self.requisitions[int(requisition_id)]["finance_status"] = int(status)

	# ------------------------------------------------------------ helpers for tests

	def add_vendor(self, name: str, code: str | None = None, gstn: str | None = None, **columns) -> int:
		"""Add a `vendors` row (status 'active', code 'V00N' from its id unless given); returns its id."""
		vendor_id = columns.pop("id", None) or self._next_id("vendors")
		code = code or f"V{vendor_id:03d}"
		address, email = (
			f"{name}, Plot 12, MIDC Industrial Area, Pune",
			f"accounts@{code.lower()}.example.com",
		)
		values = {"id": vendor_id, "name": name, "code": code, "gstn": gstn, "status": "active"}
		values |= {"address": address, "email": email, **columns}
		return self._put("vendors", VENDOR_COLUMNS, values, {})

	def add_invoice(self, entity, lines: list[dict] = (), **columns) -> int:
		"""Add a generated invoice, as `portal_rows.insert_invoice` does; returns the requisition id.

		`lines`: dicts with vendor_id, product_id, quantity, cost, gst_amt (rupees) and any other
		line column; `unit_rate` defaults to cost / quantity, `total_amt` to cost + gst_amt, the
		line times to the header's. `columns`: header columns on top of `portal_rows.header_row`;
		times default to the portal clock, `invoice_number` to the next 'AGO2O/YY-YY/NNNN'.
		"""
		now = self.clock()
		generated_at = columns.get("invoice_generated_at", now)
		header = header_row(entity, generated_at=generated_at, created_at=now, updated_at=now)
		header.update(columns)
		header.setdefault("id", self._next_id("requisitions"))
		header["order_code"] = columns.get("order_code", f"PO-{header['id']:05d}")
		if "invoice_number" not in columns:
			fy = financial_year(generated_at if isinstance(generated_at, date) else now)
			used = [
				_leading_number(r.get("invoice_number") or "")
				for r in self.requisitions.values()
				if (r.get("invoice_number") or "").startswith(f"{DEFAULT_INVOICE_PREFIX}/{fy}/")
			]
			header["invoice_number"] = f"{DEFAULT_INVOICE_PREFIX}/{fy}/{max(used, default=0) + 1:04d}"
		with self._transaction():
			requisition_id = self._put("requisitions", REQUISITION_COLUMNS, header, REQUISITION_DEFAULTS)
			for line in lines:
				self._put(
					"lines", LINE_COLUMNS, self._line_values(requisition_id, line, header), LINE_DEFAULTS
				)
		return requisition_id

	@staticmethod
	def _line_values(requisition_id: int, line: dict, header: dict) -> dict:
		cost, gst_amt, quantity = line.get("cost"), line.get("gst_amt"), line.get("quantity")
		rate = round_paisa(Decimal(str(cost)) / Decimal(quantity)) if cost is not None and quantity else None
		values = {
			"brand_id": 0,
			"image": "",
			"status": "active",
			"uom": "Nos",
			"unit_rate": None if rate is None else f"{rate}",
			"total_amt": None
			if cost is None or gst_amt is None
			else round_paisa(cost) + round_paisa(gst_amt),
			"created_at": header["created_at"],
			"updated_at": header["updated_at"],
			"created_by": header["created_by"],
			"updated_by": header["updated_by"],
		}
		return {**values, **line, "purchase_order_id": requisition_id}

	def add_line(self, requisition_id: int, **line) -> int:
		"""Add a line to an invoice on the portal (defaults as in `add_invoice`, times from the clock)."""
		when = self.clock()
		header = {**self.requisitions[requisition_id], "created_at": when, "updated_at": when}
		return self._put(
			"lines", LINE_COLUMNS, self._line_values(requisition_id, line, header), LINE_DEFAULTS
		)

	def edit(self, requisition_id: int, **columns) -> None:
		"""Edit a requisition as the portal does: set `columns`, `updated_at` to the clock unless given."""
		columns.setdefault("updated_at", self.clock())
		self._update(self.requisitions, requisition_id, REQUISITION_COLUMNS, columns)

	def edit_line(self, line_id: int, **columns) -> None:
		"""Edit a line: set `columns`, `updated_at` to the clock unless given; a new cost or gst_amt
		moves `total_amt` to their sum unless it is given."""
		row = self.lines[line_id]
		if ("cost" in columns or "gst_amt" in columns) and "total_amt" not in columns:
			cost, gst_amt = columns.get("cost", row["cost"]), columns.get("gst_amt", row["gst_amt"])
			columns["total_amt"] = round_paisa(cost) + round_paisa(gst_amt)
		columns.setdefault("updated_at", self.clock())
		self._update(self.lines, line_id, LINE_COLUMNS, columns)

	def cancel(self, requisition_id: int) -> None:
		"""Cancel the invoice on the portal (`is_invoice_cancel`, its date)."""
		when = self.clock()
		self.edit(requisition_id, is_invoice_cancel=1, invoice_cancel_date=when, updated_at=when)

	def delete(self, requisition_id: int) -> None:
		"""Soft-delete the requisition on the portal (`is_delete = 1`)."""
		self.edit(requisition_id, is_delete=1)

	def row(self, requisition_id: int) -> dict:
		"""A copy of a `purchase_requisitions` row."""
		return dict(self.requisitions[requisition_id])

	def lines_of(self, requisition_id: int) -> list[dict]:
		"""Copies of a requisition's `purchase_order_items` rows, by id."""
		return [dict(r) for r in self._lines_of([requisition_id])]

	def line_ids(self, requisition_id: int) -> list[int]:
		"""Ids of a requisition's lines, ascending."""
		return [r["id"] for r in self._lines_of([requisition_id])]
