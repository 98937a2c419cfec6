"""The ProcureUAT client: the portal's MariaDB over an SSH tunnel, with parameterised SQL only.

One client per process and connection (`get_client`), reopened when it has died; its
SSH tunnel is the one per connection that all worker processes share and that outlives
jobs (`tunnel_service`: RQ forks a process per job). Reads follow the contract's
"Tables" section: datetimes that are zero or invalid come back as None, FLOAT money
is read at full precision (`cost + 0`) and rounded half-up to the paisa, and the
`vendors` credential columns are never selected.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import pymysql
import pymysql.cursors

from .config import ConnectionConfig
from .errors import DatabaseRefused, InvoiceError, ProcureUATConnectionError
from .money import paisa
from .records import PortalInvoice, PortalLine, Vendor

#: Tables the contract names; `test_connection` reports which are missing.
CONTRACT_TABLES = (
	"purchase_requisitions",
	"purchase_order_items",
	"vendors",
	"entitys",
	"subentitys",
	"invoice_counter",
)
EPOCH = datetime(1970, 1, 1)


def _dt(column: str, alias: str | None = None) -> str:
	"""SQL that reads a DATETIME column as NULL when it is zero or invalid."""
	return f"IF({column} > '1000-01-01', {column}, NULL) AS {alias or column.split('.')[-1]}"


HEADER_COLUMNS = ", ".join(
	[
		"pr.id",
		"pr.entity",
		"pr.order_name",
		"pr.order_code",
		"pr.address",
		"pr.remark",
		"pr.invoice_number",
		_dt("pr.invoice_generated_at"),
		_dt("pr.created_at"),
		_dt("pr.updated_at"),
		_dt("pr.delivery_date"),
		"pr.is_invoice_cancel",
		_dt("pr.invoice_cancel_date"),
		"pr.is_delete",
		"pr.credit_note_number",
		"pr.freight_cost",
		"pr.currency_id",
		"pr.order_status",
		"pr.acknowledgement",
		"pr.finance_status",
	]
)
CHANGE_TS = (
	"CAST(GREATEST(COALESCE(IF(pr.updated_at > '1000-01-01', pr.updated_at, NULL),"
	" IF(pr.created_at > '1000-01-01', pr.created_at, NULL), '1970-01-01 00:00:00'),"
	" COALESCE(li.max_updated_at, '1970-01-01 00:00:00')) AS DATETIME)"
)
LINE_COLUMNS = ", ".join(
	[
		"id",
		"purchase_order_id",
		"vendor_id",
		"product_id",
		"quantity",
		"unit_rate",
		"uom",
		"gst_id",
		"cost + 0 AS cost",
		"gst_amt + 0 AS gst_amt",
		"total_amt + 0 AS total_amt",
		_dt("created_at"),
		_dt("updated_at"),
	]
)
VENDOR_COLUMNS = "id, name, code, gstn, status, address, email"  # never `*`: credentials live here


@dataclass
class InvoiceBatch:
	"""One page of the pull: invoices of mapped entities with their lines.

	`skipped` counts rows of unmapped entities by entity; `last_key` is the cursor
	position (change time, requisition id) after the page; `rows_read` counts every
	header row read, mapped or not.
	"""

	invoices: list[PortalInvoice] = field(default_factory=list)
	skipped: dict[str, int] = field(default_factory=dict)
	last_key: tuple[datetime, int] | None = None
	rows_read: int = 0


def _placeholders(values) -> str:
	return ", ".join(["%s"] * len(values))


#: Columns the push may write; anything else is a programming error, never SQL.
REQUISITION_COLUMNS = frozenset(
	"""entity subentity_id order_name order_code delivery_date validity_date address remark acknowledgement
	order_status finance_status is_delete status gst_percentage invoice_series invoice_number invoice_generated
	invoice_generated_at is_invoice_cancel invoice_cancel_date credit_note_number freight_rate freight_cost
	requisition_at requisition_by created_by updated_by created_at updated_at vendor_created is_new_invoice
	category currency_id clone_id reason_id approved_by rejected_by gru_ack amend_no reason transportation_mode
	vehicle_no challan_number is_visible_header""".split()
)
LINE_WRITE_COLUMNS = frozenset(
	"""vendor_id product_id category_id subcategory_id brand_id product_type gst_id image quantity unit_rate uom
	unit unit_type cost gst_amt total_amt status vendor_approve created_at updated_at created_by updated_by""".split()
)


def _check_columns(values: dict, allowed: frozenset) -> None:
	unknown = set(values) - allowed
	if unknown:
		raise ValueError(f"not a portal column: {', '.join(sorted(unknown))}")


class ProcureUATClient:
	"""A connection to the portal database, through the bastion when configured.

	`query_count` counts statements sent, for the benchmark and tests.
	"""

	def __init__(self, config: ConnectionConfig, shared_tunnel: bool = False):
		self.config = config
		self.shared_tunnel = shared_tunnel  # use the tunnel service shared by worker processes
		self.tunnel = None
		self.conn: pymysql.connections.Connection | None = None
		self.query_count = 0

	# ------------------------------------------------------------ lifecycle

	def open(self) -> "ProcureUATClient":
		"""Open the tunnel (if configured) and the database connection.

		Raises BastionUnreachable, HostKeyMismatch, SSHAuthFailed or DatabaseRefused;
		messages carry no secret.
		"""
		cfg = self.config
		host, port = cfg.host, int(cfg.port or 3306)
		if cfg.use_ssh_tunnel and self.shared_tunnel:
			from .tunnel_service import forget_tunnel, shared_tunnel

			host, port = shared_tunnel(cfg)
			try:
				self.conn = self._connect(host, port)
			except pymysql.MySQLError as e:
				if not (e.args and e.args[0] in (2003, 2013)):
					self._refused(e)
				forget_tunnel(cfg)  # the tunnel died since it was last used: open a new one
				host, port = shared_tunnel(cfg)
				self._connect_or_refuse(host, port)
			return self
		if cfg.use_ssh_tunnel:
			from .tunnel import open_tunnel

			self.tunnel = open_tunnel(cfg)
			host, port = self.tunnel.local_host, self.tunnel.local_port
		self._connect_or_refuse(host, port)
		return self

	def _connect(self, host: str, port: int):
		cfg = self.config
		return pymysql.connect(
			host=host,
			port=port,
			user=cfg.username,
			password=cfg.password,
			database=cfg.database,
			charset="utf8mb4",
			autocommit=True,
			connect_timeout=max(1, int(cfg.connect_timeout or 10)),
			read_timeout=max(1, int(cfg.read_timeout or 60)),
			write_timeout=max(1, int(cfg.read_timeout or 60)),
			cursorclass=pymysql.cursors.DictCursor,
		)

	def _connect_or_refuse(self, host: str, port: int) -> None:
		try:
			self.conn = self._connect(host, port)
		except pymysql.MySQLError as e:
			self._refused(e)

	def _refused(self, error: pymysql.MySQLError):
		"""Close what was opened and raise DatabaseRefused naming the reason, not the secrets."""
		self.close()
		cfg = self.config
		code = error.args[0] if error.args else None
		reason = {
			1045: "access denied for the database user",
			1044: "access denied to the database",
			1049: "unknown database",
			2003: "database server unreachable",
			2013: "connection to the database server lost",
		}.get(code, "database refused the connection")
		raise DatabaseRefused(
			f"ProcureUAT database {cfg.database!r} on {cfg.host}:{cfg.port}: {reason} (MySQL error {code})"
		) from None

	def close(self) -> None:
		"""Close the connection and the tunnel; safe to call twice."""
		if self.conn is not None:
			try:
				self.conn.close()
			except Exception:
				pass
			self.conn = None
		if self.tunnel is not None:
			try:
				self.tunnel.close()
			except Exception:
				pass
			self.tunnel = None

	def is_alive(self) -> bool:
		"""True when the tunnel (if any) and the connection both still answer."""
		if self.conn is None:
			return False
		if self.tunnel is not None and not self.tunnel.is_active():
			return False
		try:
			self.conn.ping(reconnect=False)
			return True
		except Exception:
			return False

	def __enter__(self):
		return self.open() if self.conn is None else self

	def __exit__(self, *exc):
		self.close()

	def _query(self, sql: str, params=()) -> list[dict]:
		if self.conn is None:
			self.open()
		self.query_count += 1
		try:
			with self.conn.cursor() as cur:
				cur.execute(sql, params)
				return list(cur.fetchall())
		except (pymysql.OperationalError, pymysql.InterfaceError) as e:
			code = e.args[0] if e.args else None
			if code in (2006, 2013, 2014, 2055, 0):
				self.close()
				raise ProcureUATConnectionError(
					f"connection to the ProcureUAT database was lost (MySQL error {code})"
				)
			raise

	# ------------------------------------------------------------ reads

	def fetch_invoice_batch(
		self,
		after: tuple[datetime | None, int],
		limit: int,
		entities: set[str],
		from_date: date | None = None,
	) -> InvoiceBatch:
		"""Read the next page of invoices by change time (contract, "What maps to what").

		Args: `after` = (change time, requisition id) already read (None time: from the
		start); `limit` rows; `entities` = mapped portal entity ids (others are only
		counted); `from_date` = earliest invoice date to read (cut-over).
		Returns an InvoiceBatch. Two statements, whatever the line count.
		"""
		after_ts, after_id = after
		after_ts = after_ts or EPOCH
		where = ["pr.invoice_generated = 1"]
		params: list = []
		if from_date:
			where.append(
				"COALESCE(IF(pr.invoice_generated_at > '1000-01-01', pr.invoice_generated_at, NULL),"
				" IF(pr.created_at > '1000-01-01', pr.created_at, NULL)) >= %s"
			)
			params.append(from_date)
		sql = (
			f"SELECT {HEADER_COLUMNS}, {CHANGE_TS} AS change_ts"
			" FROM purchase_requisitions pr"
			" LEFT JOIN (SELECT purchase_order_id, MAX(IF(updated_at > '1000-01-01', updated_at, NULL)) AS max_updated_at"
			" FROM purchase_order_items GROUP BY purchase_order_id) li ON li.purchase_order_id = pr.id"
			f" WHERE {' AND '.join(where)}"
			" HAVING change_ts > %s OR (change_ts = %s AND pr.id > %s)"
			" ORDER BY change_ts, pr.id LIMIT %s"
		)
		rows = self._query(sql, [*params, after_ts, after_ts, after_id, int(limit)])
		batch = InvoiceBatch(rows_read=len(rows))
		if not rows:
			return batch
		batch.last_key = (rows[-1]["change_ts"], rows[-1]["id"])
		mapped = [r for r in rows if str(r["entity"]).strip() in entities]
		for r in rows:
			entity = str(r["entity"]).strip()
			if entity not in entities:
				batch.skipped[entity] = batch.skipped.get(entity, 0) + 1
		batch.invoices = self._with_lines(mapped)
		return batch

	def fetch_invoices(self, ids: list[int]) -> list[PortalInvoice]:
		"""Invoices by requisition id with their lines (two statements), ordered by id."""
		if not ids:
			return []
		rows = self._query(
			f"SELECT {HEADER_COLUMNS}, {CHANGE_TS} AS change_ts FROM purchase_requisitions pr"
			" LEFT JOIN (SELECT purchase_order_id, MAX(IF(updated_at > '1000-01-01', updated_at, NULL)) AS max_updated_at"
			f" FROM purchase_order_items WHERE purchase_order_id IN ({_placeholders(ids)}) GROUP BY purchase_order_id) li"
			" ON li.purchase_order_id = pr.id"
			f" WHERE pr.id IN ({_placeholders(ids)}) ORDER BY pr.id",
			[*ids, *ids],
		)
		return self._with_lines(rows)

	def _with_lines(self, rows: list[dict]) -> list[PortalInvoice]:
		invoices = [_invoice(r) for r in rows]
		if not invoices:
			return invoices
		ids = [inv.id for inv in invoices]
		by_id = {inv.id: inv for inv in invoices}
		for r in self._query(
			f"SELECT {LINE_COLUMNS} FROM purchase_order_items"
			f" WHERE purchase_order_id IN ({_placeholders(ids)}) ORDER BY purchase_order_id, id",
			ids,
		):
			by_id[r["purchase_order_id"]].lines.append(_line(r))
		return invoices

	def fetch_vendors(self, ids) -> dict[int, Vendor]:
		"""`vendors` rows by id (named columns only, never the credential columns)."""
		ids = sorted({int(i) for i in ids if i})
		if not ids:
			return {}
		rows = self._query(f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE id IN ({_placeholders(ids)})", ids)
		return {
			r["id"]: Vendor(
				id=r["id"],
				name=(r["name"] or "").strip(),
				code=(r["code"] or "").strip(),
				gstn=(r["gstn"] or "").strip() or None,
				status=r["status"],
				address=r["address"],
				email=r["email"],
			)
			for r in rows
		}

	# ------------------------------------------------------------ writes (contract, "Push")

	def write_invoice(
		self, header: dict, lines: list[dict], *, order_codes: list[str], prefix: str, financial_year: str
	) -> dict:
		"""Insert or update one invoice and its lines in one transaction.

		Args: `header`/`lines` = column values (`push.build_portal_rows`); `order_codes` =
		the Purchase Invoice's name and its amendment chain: a row carrying any of them is
		updated in place (idempotent re-push, amendment) and keeps its invoice number;
		otherwise a number `PREFIX/YY-YY/NNNN` is taken from `invoice_counter` under a row
		lock in the same transaction. Deadlocks are retried four times.
		Returns `{"requisition_id": int, "invoice_number": str, "created": bool}`.
		Raises InvoiceError when an amendment would move the invoice into another
		financial year, ProcureUATConnectionError when the portal is gone.
		"""
		_check_columns(header, REQUISITION_COLUMNS)
		for line in lines:
			_check_columns(line, LINE_WRITE_COLUMNS)
		for attempt in range(5):
			try:
				return self._write_invoice_once(header, lines, order_codes, prefix, financial_year)
			except pymysql.err.OperationalError as e:
				if e.args and e.args[0] in (1205, 1213) and attempt < 4:
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
					f" WHERE order_code IN ({_placeholders(order_codes)}) ORDER BY id LIMIT 1",
					list(order_codes),
				)
				existing = cur.fetchone()
				if existing:
					requisition_id, number = existing["id"], existing["invoice_number"] or ""
					parts = number.split("/")
					if len(parts) == 3 and parts[1] != financial_year:
						raise InvoiceError(
							f"{header['order_code']}: an amendment may not move invoice {number} from financial year "
							f"{parts[1]} into {financial_year}",
							invoice=header["order_code"],
							field="posting_date",
						)
					values = {**header, "is_invoice_cancel": 0, "invoice_cancel_date": None}
					self.query_count += 2
					cur.execute(
						f"UPDATE purchase_requisitions SET {', '.join(f'`{k}` = %s' for k in values)} WHERE id = %s",
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
						f"INSERT INTO purchase_requisitions ({', '.join(f'`{k}`' for k in values)})"
						f" VALUES ({_placeholders(values)})",
						list(values.values()),
					)
					requisition_id = cur.lastrowid
					created = True
				if lines:
					columns = ["purchase_order_id", *lines[0]]
					self.query_count += 1
					cur.executemany(
						f"INSERT INTO purchase_order_items ({', '.join(f'`{c}`' for c in columns)})"
						f" VALUES ({_placeholders(columns)})",
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
		return f"{prefix}/{financial_year}/{number:04d}"

	def cancel_invoice(self, requisition_id: int, when: datetime) -> None:
		"""Set `is_invoice_cancel = 1` and `invoice_cancel_date` (Asia/Kolkata) on a row."""
		self._query(
			"UPDATE purchase_requisitions SET is_invoice_cancel = 1, invoice_cancel_date = %s, updated_at = %s WHERE id = %s",
			(when, when, requisition_id),
		)

	def set_finance_status(self, changes: dict[int, int]) -> None:
		"""Write `finance_status` for many requisitions: one UPDATE per distinct value."""
		by_status: dict[int, list[int]] = {}
		for requisition_id, status in changes.items():
			by_status.setdefault(int(status), []).append(int(requisition_id))
		for status, ids in sorted(by_status.items()):
			self._query(
				f"UPDATE purchase_requisitions SET finance_status = %s WHERE id IN ({_placeholders(ids)})",
				[status, *ids],
			)

	def server_info(self) -> dict:
		"""`{"version": str, "missing_tables": [..]}` for the connection test."""
		version = self._query("SELECT VERSION() AS v")[0]["v"]
		present = {
			r["t"]
			for r in self._query(
				"SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()"
				f" AND table_name IN ({_placeholders(CONTRACT_TABLES)})",
				list(CONTRACT_TABLES),
			)
		}
		return {"version": version, "missing_tables": [t for t in CONTRACT_TABLES if t not in present]}


def _invoice(r: dict) -> PortalInvoice:
	return PortalInvoice(
		id=r["id"],
		entity=str(r["entity"]).strip(),
		order_name=r["order_name"] or "",
		order_code=(r["order_code"] or "").strip(),
		address=r["address"] or "",
		remark=r["remark"] or "",
		invoice_number=(r["invoice_number"] or "").strip() or None,
		invoice_generated_at=r["invoice_generated_at"],
		created_at=r["created_at"],
		updated_at=r["updated_at"],
		delivery_date=r["delivery_date"],
		is_invoice_cancel=int(r["is_invoice_cancel"] or 0),
		invoice_cancel_date=r["invoice_cancel_date"],
		is_delete=int(r["is_delete"] or 0),
		credit_note_number=r["credit_note_number"] or "",
		freight_cost=r["freight_cost"],
		currency_id=r["currency_id"],
		order_status=r["order_status"],
		acknowledgement=r["acknowledgement"],
		finance_status=r["finance_status"],
		change_ts=r.get("change_ts"),
	)


def _line(r: dict) -> PortalLine:
	return PortalLine(
		id=r["id"],
		purchase_order_id=r["purchase_order_id"],
		vendor_id=r["vendor_id"],
		product_id=r["product_id"],
		quantity=r["quantity"],
		unit_rate=r["unit_rate"],
		uom=r["uom"],
		cost=paisa(r["cost"]),
		gst_amt=paisa(r["gst_amt"]),
		total_amt=paisa(r["total_amt"]),
		updated_at=r["updated_at"],
		created_at=r["created_at"],
		gst_id=r["gst_id"],
		cost_raw=r["cost"],
		gst_amt_raw=r["gst_amt"],
	)


# ---------------------------------------------------------------- per-process cache

_clients: dict[tuple, ProcureUATClient] = {}
_lock = threading.Lock()


def get_client(config: ConnectionConfig, shared_tunnel: bool = False) -> ProcureUATClient:
	"""The process's open client for `config`, reopened when it has died.

	With `shared_tunnel`, the SSH tunnel is the one service process per connection that
	every worker process shares (`tunnel_service`): RQ forks a new process per job, and
	this keeps one SSH handshake per tunnel lifetime instead of one per job or invoice.
	"""
	key = (*config.cache_key(), shared_tunnel)
	with _lock:
		client = _clients.get(key)
		if client is not None and client.is_alive():
			return client
		if client is not None:
			client.close()
		client = ProcureUATClient(config, shared_tunnel=shared_tunnel).open()
		_clients[key] = client
		return client


def close_clients() -> None:
	"""Close every cached client (tests, and after a settings change)."""
	with _lock:
		for client in _clients.values():
			client.close()
		_clients.clear()


def test_connection(config: ConnectionConfig) -> dict:
	"""Try the connection the way the "Test Connection" button does.

	Returns `{"ok": True, "latency_ms": float, "server_version": str,
	"missing_tables": [...], "message": str}` or `{"ok": False, "reason": code,
	"message": str}`; never raises for connection problems, never shows a secret.
	"""
	started = time.monotonic()
	client = ProcureUATClient(config)
	try:
		client.open()
		info = client.server_info()
	except ProcureUATConnectionError as e:
		return {"ok": False, "reason": e.reason, "message": str(e)}
	finally:
		client.close()
	latency = round((time.monotonic() - started) * 1000, 1)
	missing = info["missing_tables"]
	message = f"Connected in {latency} ms to {info['version']}" + (
		f"; missing tables: {', '.join(missing)}" if missing else "; all contract tables present"
	)
	return {
		"ok": True,
		"latency_ms": latency,
		"server_version": info["version"],
		"missing_tables": missing,
		"tables_ok": not missing,
		"message": message,
	}
