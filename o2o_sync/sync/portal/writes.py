"""What the push writes to the portal (contract, "Push" and `invoice_counter`).

`PortalWrites` is a mixin of `procureuat_client.ProcureUATClient`: it needs the client's
`config` (its `database`), `conn` (a pymysql connection, autocommit; opened by `open()`),
`close()`, `query_count`, `_query(sql, params)` and `registry`. Only the columns named in
`REQUISITION_COLUMNS` and `LINE_WRITE_COLUMNS`, and those the registry's field maps push
(`pushed_keys`), are ever written; column names are checked against them before any
SQL is built, values always go as parameters.

Pushes of one invoice are serialised across processes and hosts by a named lock on the
portal's server (`GET_LOCK`, see `push_lock_name`), so a push, its 15-minute retry and the
button running at once write one row and take one number; a connection lost anywhere in
the write (MySQL client errors, the SSH tunnel under it) is a ProcureUATConnectionError: the
portal rolled the transaction back (or it had committed whole), so a retry is idempotent.

Time limits (issue 13): the session carries its own lock wait, statement and idle limits
(`client.session_limits_sql`), so no session of the sync holds the `invoice_counter` row lock
or a push lock past them; a push that waits past them (the named lock, a row lock, a
statement) raises PushBusy: nothing was written, and the invoice stays Pending for the retry.
"""

import hashlib
import time

import pymysql

from o2o_sync.sync.model.columns import IDENTIFIER, ORDER_ITEMS, REQUISITIONS
from o2o_sync.sync.model.errors import InvoiceError, ProcureUATConnectionError
from o2o_sync.sync.model.field_maps import pushed_columns
from o2o_sync.sync.portal.reads import placeholders

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
#: MySQL errors of a transaction that may simply be tried again at once: deadlock.
RETRYABLE_ERRORS = (1213,)
#: MySQL/MariaDB errors of a push that waited past the session's limits: lock wait timeout
#: (1205, `innodb_lock_wait_timeout`), statement time limit (1969, `max_statement_time`), and
#: deadlocks still there after every attempt (1213). The push stays Pending (PushBusy).
BUSY_ERRORS = frozenset({1205, 1213, 1969})
WRITE_ATTEMPTS = 5
#: MySQL/MariaDB errors meaning the connection is gone: client side (2006 server gone away,
#: 2013 lost during a query, 2014 out of sync, 2055 lost at a system error, 0 closed) and
#: server side (1927 connection killed, 1053 server shutting down, 4031 idle disconnect).
CONNECTION_LOST_ERRORS = frozenset({2006, 2013, 2014, 2055, 0, 1927, 1053, 4031})
#: Seconds a push waits at most for another push of the same invoice (or of its amendment
#: chain) to finish before it gives up and stays Pending for the retry; never more than the
#: session's own lock wait limit (`ConnectionConfig.lock_wait_timeout`), so the wait also
#: ends before the statement time limit would interrupt it.
PUSH_LOCK_TIMEOUT_SECONDS = 30
#: MariaDB's longest user-level lock name.
LOCK_NAME_LENGTH = 64


class PushBusy(ProcureUATConnectionError):
	"""The push waited past its limits: another push of the same invoice held the portal's
	lock for the whole wait, or a row lock (`invoice_counter`) or a statement outlasted the
	session's limits. Nothing was written; the invoice stays Pending and is pushed again by
	the retry, which goes on to the next invoice."""

	reason = "push_busy"


def connection_lost(error: BaseException) -> bool:
	"""True when `error` means the portal connection, or the SSH tunnel under it, is gone:
	a pymysql OperationalError/InterfaceError with a code in `CONNECTION_LOST_ERRORS` (an
	InterfaceError without one: the connection was closed), a socket error, or a paramiko /
	sshtunnel failure."""
	if isinstance(error, pymysql.err.InterfaceError | pymysql.err.OperationalError):
		code = error.args[0] if error.args else None
		return code in CONNECTION_LOST_ERRORS or (
			code is None and isinstance(error, pymysql.err.InterfaceError)
		)
	if isinstance(error, OSError | EOFError):
		return True
	return type(error).__module__.split(".")[0] in ("paramiko", "sshtunnel")


def push_lock_name(database: str, root: str) -> str:
	"""The portal-side lock of one invoice's pushes: `o2o_push:<database>:<root>`, `root` being
	the first invoice of the amendment chain (its `order_code` is the row's, or was); hashed
	when longer than MariaDB's 64 characters."""
	name = f"o2o_push:{database}:{root}"
	if len(name) <= LOCK_NAME_LENGTH:
		return name
	return "o2o_push:" + hashlib.sha1(name.encode()).hexdigest()


def pushed_keys(table: str, registry) -> frozenset:
	"""The columns of `table` the client's field maps push (`columns.pushed_columns`), each a
	plain identifier (checked against the portal's column list when the registry was built)."""
	return frozenset(c.key for c in pushed_columns(table, registry) if IDENTIFIER.match(c.key))


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
		`updated_at`, never runs ahead of the portal's clock. Deadlocks are retried four times;
		a lock wait or statement past the session's limits is not (PushBusy).

		Pushes of one invoice never run at once: the transaction runs under the portal-side
		named lock of the chain's first invoice (`push_lock_name`), taken before it begins and
		released after its commit or rollback (a lost connection releases it too), so a second
		push waits and then finds the first one's row. Statements: the lock, the row lookup,
		then an update (UPDATE, DELETE of the lines) or a number (1, or 4 for a new counter
		row, plus its UPDATE) and an INSERT, one INSERT of the lines, and the release.
		Returns `{"requisition_id": int, "invoice_number": str, "created": bool}`.
		Raises ValueError for a column not in `REQUISITION_COLUMNS`/`LINE_WRITE_COLUMNS`,
		InvoiceError when an amendment would move the invoice into another financial year,
		ProcureUATConnectionError when the portal is gone or the connection is lost during
		the write (the client is closed; nothing was half-written), PushBusy when another
		push of the invoice held the lock for the whole wait (`_lock_wait`) or a row lock or
		statement outlasted the session's limits (nothing written), pymysql errors for a
		value the portal refuses (nothing is left behind: the transaction is rolled back).
		"""
		mapped = getattr(self, "registry", ())
		check_columns(header, REQUISITION_COLUMNS | pushed_keys(REQUISITIONS, mapped))
		for line in lines:
			check_columns(line, LINE_WRITE_COLUMNS | pushed_keys(ORDER_ITEMS, mapped))
		lock = push_lock_name(self.config.database, order_codes[-1])
		try:
			self._take_push_lock(lock, header["order_code"])
			try:
				for attempt in range(WRITE_ATTEMPTS):
					try:
						return self._write_invoice_once(header, lines, order_codes, prefix, financial_year)
					except pymysql.err.OperationalError as e:
						if e.args and e.args[0] in RETRYABLE_ERRORS and attempt < WRITE_ATTEMPTS - 1:
							time.sleep(0.05 * (attempt + 1))
							continue
						raise
			finally:
				self._release_push_lock(lock)
		except ProcureUATConnectionError:
			raise
		except pymysql.err.OperationalError as e:
			code = e.args[0] if e.args else None
			if code in BUSY_ERRORS:
				self.close()  # whatever the session still held goes with it
				raise PushBusy(
					f"{header['order_code']}: the portal kept a lock past the session's limits (MySQL error"
					f" {code}: lock wait {self._lock_wait()} s, statement {self.config.statement_timeout} s);"
					" nothing was written"
				) from None
			if not connection_lost(e):
				raise
			self._lost(header["order_code"], e)
		except Exception as e:
			if not connection_lost(e):
				raise
			self._lost(header["order_code"], e)

	def _lost(self, order_code: str, e: BaseException):
		"""Close the client and raise ProcureUATConnectionError for a connection lost in the write."""
		self.close()
		code = e.args[0] if getattr(e, "args", None) else type(e).__name__
		raise ProcureUATConnectionError(
			f"connection to the ProcureUAT database was lost while writing {order_code}"
			f" ({code}); the portal kept all of it or none, and the retry finds its row"
		) from e

	def _lock_wait(self) -> int:
		"""Seconds a push waits for the push lock: `PUSH_LOCK_TIMEOUT_SECONDS`, at most the
		session's lock wait limit."""
		return max(0, min(PUSH_LOCK_TIMEOUT_SECONDS, int(self.config.lock_wait_timeout or 10)))

	def _take_push_lock(self, lock: str, order_code: str) -> None:
		"""`GET_LOCK(lock, _lock_wait())` on this connection (one statement); raises PushBusy
		when it times out."""
		self._ready()
		self.query_count += 1
		wait = self._lock_wait()
		with self.conn.cursor() as cur:
			cur.execute("SELECT GET_LOCK(%s, %s) AS got", (lock, wait))
			got = cur.fetchone()["got"]
		if got != 1:
			raise PushBusy(
				f"another push of {order_code} (or of its amendment chain) held the portal's lock for {wait} s"
			)

	def _release_push_lock(self, lock: str) -> None:
		"""`RELEASE_LOCK(lock)` (one statement). A connection already gone took its lock with
		it; a release that fails closes the client, which releases the lock as well."""
		if self.conn is None:
			return
		self.query_count += 1
		try:
			with self.conn.cursor() as cur:
				cur.execute("SELECT RELEASE_LOCK(%s)", (lock,))
		except Exception:
			self.close()

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

	def rows_written_for(self, order_code: str) -> list[int]:
		"""Ids of the live (not cancelled) rows carrying `order_code`, the Purchase Invoice name
		a push writes there: what an unconfirmed push may have left (one statement)."""
		rows = self._query(
			"SELECT id FROM purchase_requisitions WHERE order_code = %s AND is_invoice_cancel = 0 ORDER BY id",
			(order_code,),
		)
		return [int(r["id"]) for r in rows]

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
