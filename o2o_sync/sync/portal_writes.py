"""What the push writes to the portal (contract, "Push" and `invoice_counter`).

`PortalWrites` is a mixin of `procureuat_client.ProcureUATClient`: it needs the client's
`conn` (a pymysql connection, autocommit; opened by `open()`), `close()`, `query_count`
and `_query(sql, params)`. Only the columns named in `REQUISITION_COLUMNS` and
`LINE_WRITE_COLUMNS` are ever written; column names are checked against them before any
SQL is built, values always go as parameters.
"""

import time
from datetime import datetime

import pymysql

from .errors import InvoiceError
from .portal_reads import placeholders

#: `purchase_requisitions` columns the push may write; anything else is a programming
#: error, never SQL.
REQUISITION_COLUMNS = frozenset(
	"""entity subentity_id order_name order_code delivery_date validity_date address remark acknowledgement
	order_status finance_status is_delete status gst_percentage invoice_series invoice_number invoice_generated
	invoice_generated_at is_invoice_cancel invoice_cancel_date credit_note_number freight_rate freight_cost
	requisition_at requisition_by created_by updated_by created_at updated_at vendor_created is_new_invoice
	category currency_id clone_id reason_id approved_by rejected_by gru_ack amend_no reason transportation_mode
	vehicle_no challan_number is_visible_header""".split()
)
#: `purchase_order_items` columns the push may write.
LINE_WRITE_COLUMNS = frozenset(
	"""vendor_id product_id category_id subcategory_id brand_id product_type gst_id image quantity unit_rate uom
	unit unit_type cost gst_amt total_amt status vendor_approve created_at updated_at created_by updated_by""".split()
)
#: MySQL errors of a transaction that may simply be tried again: lock wait timeout, deadlock.
RETRYABLE_ERRORS = (1205, 1213)
WRITE_ATTEMPTS = 5


def check_columns(values: dict, allowed: frozenset) -> None:
	"""Raise ValueError naming every key of `values` that is not in `allowed`."""
	unknown = set(values) - allowed
	if unknown:
		raise ValueError(f"not a portal column: {', '.join(sorted(unknown))}")


def invoice_number_text(prefix: str, financial_year: str, number: int) -> str:
	"""`PREFIX/YY-YY/NNNN`, the number zero-padded to four digits (contract, `invoice_counter`)."""
	return f"{prefix}/{financial_year}/{number:04d}"


def check_same_financial_year(order_code: str, invoice_number: str, financial_year: str) -> None:
	"""Refuse to move a row's invoice number into another financial year (contract, "Push":
	an amendment may not). `invoice_number` 'PREFIX/YY-YY/NNNN' ('' or another shape passes);
	`financial_year` 'YY-YY' of the amendment's posting date. Raises InvoiceError(field='posting_date').
	"""
	parts = invoice_number.split("/")
	if len(parts) == 3 and parts[1] != financial_year:
		raise InvoiceError(
			f"{order_code}: an amendment may not move invoice {invoice_number} from financial year "
			f"{parts[1]} into {financial_year}",
			invoice=order_code,
			field="posting_date",
		)


class PortalWrites:
	"""The client's writes; see the module's docstring for what the class provides."""

	def write_invoice(
		self, header: dict, lines: list[dict], *, order_codes: list[str], prefix: str, financial_year: str
	) -> dict:
		"""Insert or update one invoice and its lines in one transaction.

		Args: `header`/`lines` = column values (`push.build_portal_rows`); `order_codes` =
		the Purchase Invoice's name and its amendment chain: a row carrying any of them is
		updated in place (idempotent re-push, amendment: its lines are replaced and its
		cancellation cleared) and keeps its invoice number; otherwise a number
		`PREFIX/YY-YY/NNNN` is taken from `invoice_counter` under a row lock in the same
		transaction. `updated_at` is the portal's own NOW() (contract: the portal's clock, Asia/
		Kolkata), never a time from ERPNext's side, so the pull's cursor, which follows
		`updated_at`, never runs ahead of the portal's clock. Deadlocks and lock wait timeouts
		are retried four times.
		Returns `{"requisition_id": int, "invoice_number": str, "created": bool}`.
		Raises ValueError for a column not in `REQUISITION_COLUMNS`/`LINE_WRITE_COLUMNS`,
		InvoiceError when an amendment would move the invoice into another financial year,
		ProcureUATConnectionError when the portal is gone, pymysql errors for a value the
		portal refuses (nothing is left behind: the transaction is rolled back).
		"""
		check_columns(header, REQUISITION_COLUMNS)
		for line in lines:
			check_columns(line, LINE_WRITE_COLUMNS)
		for attempt in range(WRITE_ATTEMPTS):
			try:
				return self._write_invoice_once(header, lines, order_codes, prefix, financial_year)
			except pymysql.err.OperationalError as e:
				if e.args and e.args[0] in RETRYABLE_ERRORS and attempt < WRITE_ATTEMPTS - 1:
					time.sleep(0.05 * (attempt + 1))
					continue
				raise

	def _write_invoice_once(self, header, lines, order_codes, prefix, financial_year):
		if self.conn is None:
			self.open()
		conn = self.conn
		conn.begin()
		try:
			with conn.cursor() as cur:
				self.query_count += 1
				cur.execute(
					"SELECT id, invoice_number FROM purchase_requisitions"
					f" WHERE order_code IN ({placeholders(order_codes)}) ORDER BY id LIMIT 1",
					list(order_codes),
				)
				existing = cur.fetchone()
				if existing:
					requisition_id, number = existing["id"], existing["invoice_number"] or ""
					check_same_financial_year(header["order_code"], number, financial_year)
					values = {**header, "is_invoice_cancel": 0, "invoice_cancel_date": None}
					self.query_count += 2
					cur.execute(
						f"UPDATE purchase_requisitions SET {', '.join(f'`{k}` = %s' for k in values)},"
						" `updated_at` = NOW() WHERE id = %s",
						[*values.values(), requisition_id],
					)
					cur.execute(
						"DELETE FROM purchase_order_items WHERE purchase_order_id = %s", (requisition_id,)
					)
					created = False
				else:
					number = self._next_invoice_number(cur, prefix, financial_year)
					values = {**header, "invoice_number": number}
					self.query_count += 1
					cur.execute(
						f"INSERT INTO purchase_requisitions ({', '.join(f'`{k}`' for k in values)}, `updated_at`)"
						f" VALUES ({placeholders(values)}, NOW())",
						list(values.values()),
					)
					requisition_id = cur.lastrowid
					created = True
				if lines:
					columns = ["purchase_order_id", *lines[0]]
					self.query_count += 1
					cur.executemany(
						f"INSERT INTO purchase_order_items ({', '.join(f'`{c}`' for c in columns)})"
						f" VALUES ({placeholders(columns)})",
						[[requisition_id, *(line[c] for c in columns[1:])] for line in lines],
					)
			conn.commit()
		except BaseException:
			try:
				conn.rollback()
			except Exception:
				self.close()
			raise
		return {"requisition_id": requisition_id, "invoice_number": number, "created": created}

	def _next_invoice_number(self, cur, prefix: str, financial_year: str) -> str:
		"""Take the next number from `invoice_counter` under a row lock (contract, `invoice_counter`).

		A missing counter row is created (INSERT ... ON DUPLICATE KEY, so two workers
		cannot race) starting after the highest number already used for that prefix/year.
		"""
		lock_sql = (
			"SELECT id, last_number FROM invoice_counter WHERE prefix = %s AND financial_year = %s FOR UPDATE"
		)
		self.query_count += 1
		cur.execute(lock_sql, (prefix, financial_year))
		row = cur.fetchone()
		if row is None:
			# A plain (non-locking) read of the highest number used: an INSERT ... SELECT
			# would share-lock purchase_requisitions rows and deadlock with other pushes.
			self.query_count += 3
			cur.execute(
				"SELECT COALESCE(MAX(CAST(SUBSTRING_INDEX(invoice_number, '/', -1) AS UNSIGNED)), 0) AS n"
				" FROM purchase_requisitions WHERE invoice_number LIKE %s",
				(f"{prefix}/{financial_year}/%",),
			)
			highest = int(cur.fetchone()["n"] or 0)
			cur.execute(
				"INSERT INTO invoice_counter (prefix, financial_year, last_number, created_at, updated_at)"
				" VALUES (%s, %s, %s, NOW(), NOW()) ON DUPLICATE KEY UPDATE id = id",
				(prefix, financial_year, highest),
			)
			cur.execute(lock_sql, (prefix, financial_year))
			row = cur.fetchone()
		number = int(row["last_number"] or 0) + 1
		cur.execute(
			"UPDATE invoice_counter SET last_number = %s, updated_at = NOW() WHERE id = %s",
			(number, row["id"]),
		)
		return invoice_number_text(prefix, financial_year, number)

	def cancel_invoice(self, requisition_id: int) -> None:
		"""Set `is_invoice_cancel = 1`, `invoice_cancel_date` and `updated_at` to the portal's
		NOW() on a row (contract, "Push": cancellation; the portal's clock). One statement."""
		self._query(
			"UPDATE purchase_requisitions SET is_invoice_cancel = 1, invoice_cancel_date = NOW(), updated_at = NOW()"
			" WHERE id = %s",
			(requisition_id,),
		)

	def set_finance_status(self, changes: dict[int, int]) -> None:
		"""Write `finance_status` (0 unpaid, 1 partly, 2 paid; contract, "Push": payment state)
		for many requisitions, `{requisition_id: status}`: one UPDATE per distinct value.
		`updated_at` is not touched."""
		by_status: dict[int, list[int]] = {}
		for requisition_id, status in changes.items():
			by_status.setdefault(int(status), []).append(int(requisition_id))
		for status, ids in sorted(by_status.items()):
			self._query(
				f"UPDATE purchase_requisitions SET finance_status = %s WHERE id IN ({placeholders(ids)})",
				[status, *ids],
			)
