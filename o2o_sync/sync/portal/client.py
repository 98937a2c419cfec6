"""The ProcureUAT client: the portal's MariaDB over an SSH tunnel, with parameterised SQL only.

One client per process and connection (`get_client`), reopened when it has died; its
SSH tunnel is the one per connection that all worker processes share and that outlives
jobs (`tunnel_service`: RQ forks a process per job). This module holds the connection's
lifecycle, the statement runner (`_query`), the per-process cache and the connection test;
the reads the pull makes are in `portal_reads` (`PortalReads`), the writes of the push in
`portal_writes` (`PortalWrites`), both mixed into `ProcureUATClient`. Reads follow the
contract's "Tables" section: datetimes that are zero or invalid come back as None, FLOAT
money is read at full precision (`cost + 0`) and rounded half-up to the paisa, and the
`vendors` credential columns are never selected.
"""

import threading
import time

import pymysql
import pymysql.cursors

from o2o_sync.sync.model.errors import DatabaseRefused, ProcureUATConnectionError
from o2o_sync.sync.portal.config import ConnectionConfig
from o2o_sync.sync.portal.reads import InvoiceBatch, PortalReads, placeholders
from o2o_sync.sync.portal.writes import PortalWrites, connection_lost

__all__ = [
	"CONTRACT_TABLES",
	"InvoiceBatch",
	"ProcureUATClient",
	"close_clients",
	"get_client",
	"test_connection",
]

#: Tables the contract names; `test_connection` reports which are missing.
CONTRACT_TABLES = (
	"purchase_requisitions",
	"purchase_order_items",
	"vendors",
	"entitys",
	"subentitys",
	"invoice_counter",
)


#: MariaDB's error when a statement ran past the session's `max_statement_time`.
STATEMENT_TIMEOUT_ERROR = 1969
#: Seconds before the portal's idle limit (`wait_timeout`) at which the client reconnects
#: rather than send a statement the portal may be dropping the session under.
IDLE_MARGIN_SECONDS = 5


def session_limits_sql(config: ConnectionConfig) -> str:
	"""The statement every session of the sync starts with (pymysql's `init_command`): its own
	row lock wait (`innodb_lock_wait_timeout` = `config.lock_wait_timeout`), its idle limit
	(`wait_timeout` = `config.statement_timeout`: a session left half-open by a lost host is
	closed by the portal, and its locks with it, after that long) and, on MariaDB, its statement
	time limit (`max_statement_time` = `config.statement_timeout`; in an executable comment
	MySQL skips). Seconds, whole numbers, at least 1; no parameter is user text."""
	lock_wait = max(1, int(config.lock_wait_timeout or 10))
	statement = max(1, int(config.statement_timeout or 30))
	return (
		f"SET SESSION innodb_lock_wait_timeout = {lock_wait}, SESSION wait_timeout = {statement}"
		f" /*M!, SESSION max_statement_time = {statement} */"
	)


class ProcureUATClient(PortalReads, PortalWrites):
	"""A connection to the portal database, through the bastion when configured.

	`query_count` counts statements sent, for the benchmark and tests. Reads:
	`fetch_invoice_batch`, `fetch_invoices`, `fetch_vendors` (`portal_reads`); writes:
	`write_invoice`, `cancel_invoice`, `set_finance_status` (`portal_writes`); the minute's
	probe `has_changes_after` (`portal_reads`). Every session carries the connection's own time
	limits (`session_limits_sql`; not counted in `query_count`, it is part of connecting), and a
	session idle for nearly the portal's idle limit is reopened before its next statement.
	"""

	def __init__(self, config: ConnectionConfig, shared_tunnel: bool = False):
		self.config = config
		self.shared_tunnel = shared_tunnel  # use the tunnel service shared by worker processes
		self.tunnel = None
		self.conn: pymysql.connections.Connection | None = None
		self.query_count = 0
		self._last_used = 0.0  # time.monotonic() of the last statement sent

	# ------------------------------------------------------------ lifecycle

	def open(self) -> "ProcureUATClient":
		"""Open the tunnel (if configured) and the database connection.

		Raises BastionUnreachable, HostKeyMismatch, SSHAuthFailed or DatabaseRefused;
		messages carry no secret.
		"""
		cfg = self.config
		host, port = cfg.host, int(cfg.port or 3306)
		if cfg.use_ssh_tunnel and self.shared_tunnel:
			from o2o_sync.sync.portal.tunnel_service import forget_tunnel, shared_tunnel

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
			from o2o_sync.sync.portal.tunnel import open_tunnel

			self.tunnel = open_tunnel(cfg)
			host, port = self.tunnel.local_host, self.tunnel.local_port
		self._connect_or_refuse(host, port)
		return self

	def _connect(self, host: str, port: int):
		cfg = self.config
		self._last_used = time.monotonic()
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
			init_command=session_limits_sql(cfg),
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

	def _ready(self) -> None:
		"""Open the connection when there is none, or reopen it when it was idle for nearly the
		session's idle limit (`wait_timeout`, see `session_limits_sql`): the portal closes such a
		session, and a statement sent into it would fail as a lost connection."""
		idle_limit = max(1, int(self.config.statement_timeout or 30)) - IDLE_MARGIN_SECONDS
		if self.conn is not None and time.monotonic() - self._last_used > max(1, idle_limit):
			self.close()
		if self.conn is None:
			self.open()
		self._last_used = time.monotonic()

	def _query(self, sql: str, params=()) -> list[dict]:
		"""Run one parameterised statement (opening the connection when needed); rows as dicts.

		Counts it in `query_count`. Raises ProcureUATConnectionError (and closes the client)
		when the connection was lost; other MySQL errors propagate (a statement past the
		session's `max_statement_time`: pymysql's OperationalError 1969).
		"""
		self._ready()
		self.query_count += 1
		try:
			with self.conn.cursor() as cur:
				cur.execute(sql, params)
				return list(cur.fetchall())
		except Exception as e:
			if connection_lost(e):  # the same errors as the push's transaction (`portal_writes`)
				self.close()
				code = e.args[0] if isinstance(e, pymysql.MySQLError) and e.args else type(e).__name__
				raise ProcureUATConnectionError(
					f"connection to the ProcureUAT database was lost (MySQL error {code})"
				) from None
			raise

	def server_info(self) -> dict:
		"""`{"version": str, "missing_tables": [..]}` for the connection test."""
		version = self._query("SELECT VERSION() AS v")[0]["v"]
		present = {
			r["t"]
			for r in self._query(
				"SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()"
				f" AND table_name IN ({placeholders(CONTRACT_TABLES)})",
				list(CONTRACT_TABLES),
			)
		}
		return {"version": version, "missing_tables": [t for t in CONTRACT_TABLES if t not in present]}


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
