"""Failures that are not about one invoice, as ERPNext's database and worker raise them, and
getting a working connection back (see `port.ERPNextPort.is_transient` and `rollback`).

MariaDB error codes (https://mariadb.com/kb/en/mariadb-error-codes/) and PyMySQL's client
codes: a deadlock rolls the whole transaction back (the engine's savepoint goes with it);
a lock wait timeout fails the statement; a lost or killed connection takes the open
transaction with it. None of them says anything about the invoice being written.
"""

from contextlib import contextmanager

import frappe
import pymysql

from o2o_sync.sync.model.errors import O2OSyncError

#: Server error codes: deadlock (1213) and snapshot conflict (1020, a deadlock for Frappe),
#: lock wait timeout (1205), savepoint does not exist (1305: the transaction was rolled back
#: under it), query interrupted (1317), server shutdown (1053), connection killed (1927),
#: statement timeout (1969), error during COMMIT / ROLLBACK (1180, 1181), client idle too
#: long (4031).
SERVER_CODES = frozenset({1213, 1020, 1205, 1305, 1317, 1053, 1927, 1969, 1180, 1181, 4031})
#: Client error codes: cannot connect (2003), server has gone away (2006), lost connection
#: during a query (2013, 2055).
CLIENT_CODES = frozenset({2003, 2006, 2013, 2055})
#: Exceptions that stop a job from outside (RQ's timeout), by class name: RQ is not imported
#: here for them.
STOPPING = frozenset({"JobTimeoutException"})
#: `frappe.local.flags` key of the user-level locks this session holds (see `reconnect`).
SESSION_LOCKS = "o2o_session_locks"


def _one_is_transient(error: BaseException) -> bool:
	if isinstance(error, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
		return True
	if isinstance(error, pymysql.err.InterfaceError):  # the connection is already closed
		return True
	if isinstance(error, pymysql.err.MySQLError) and error.args:
		return error.args[0] in SERVER_CODES or error.args[0] in CLIENT_CODES
	return False


def is_transient(error: BaseException) -> bool:
	"""True when `error`, or an error it was raised from or while handling, is one of the
	database failures above. RQ's `JobTimeoutException` is not: the job is out of time, and
	retrying the batch would only be killed a minute later (see `slices.is_stopping`)."""
	seen = set()
	while error is not None and id(error) not in seen:
		seen.add(id(error))
		if _one_is_transient(error):
			return True
		error = error.__cause__ or error.__context__
	return False


def remember_session_lock(name: str) -> None:
	"""Note that this session holds the MariaDB user-level lock `name` (GET_LOCK), so that a
	new connection takes it again (`reconnect`)."""
	frappe.local.flags.setdefault(SESSION_LOCKS, set()).add(name)


def forget_session_lock(name: str) -> None:
	"""The session released lock `name`."""
	frappe.local.flags.get(SESSION_LOCKS, set()).discard(name)


@contextmanager
def session_lock(name: str, timeout: int = 0):
	"""Hold MariaDB's user-level lock `name` (`GET_LOCK`, waiting up to `timeout` seconds) on
	the site's connection: it holds across every worker and host of the bench, commits and
	rollbacks inside keep it, a lost connection (a killed worker) frees it at once, and
	`reconnect` takes it again. Yields True when taken, False when another session holds it;
	released on the way out."""
	got = frappe.db.sql("SELECT GET_LOCK(%s, %s)", (name, int(timeout)))[0][0] == 1
	if got:
		remember_session_lock(name)
	try:
		yield got
	finally:
		if got:
			forget_session_lock(name)
			try:
				frappe.db.sql("SELECT RELEASE_LOCK(%s)", (name,))
			except Exception:
				pass  # the connection is gone, and the lock went with it


def reconnect() -> None:
	"""Give `frappe.db` a new connection after the old one was lost (nothing uncommitted
	survived on it); runs the rollback callbacks the failed ROLLBACK could not, and takes
	again the user-level locks the lost session held (the pull's lock went with it).

	Raises `O2OSyncError` when another session took such a lock meanwhile: this run must stop.
	"""
	db = frappe.db
	db.before_commit.reset()
	db.after_commit.reset()
	try:
		db.close()
	except Exception:  # already closed by the driver; connect() replaces it
		pass
	db.connect()
	db.after_rollback.run()
	for name in sorted(frappe.local.flags.get(SESSION_LOCKS, ())):
		if db.sql("SELECT GET_LOCK(%s, 0)", (name,))[0][0] != 1:
			forget_session_lock(name)
			raise O2OSyncError(
				f"the database connection was lost and with it lock {name}, which another session"
				" holds now: this run stops and leaves the rest to that one"
			)


def _chain(error: BaseException):
	seen = set()
	while error is not None and id(error) not in seen:
		seen.add(id(error))
		yield error
		error = error.__cause__ or error.__context__


def is_stopping(error: BaseException) -> bool:
	"""True when `error`, or an error it came from, stops the job from outside (`STOPPING`:
	RQ's job timeout). Not transient for the pull (a retry would be killed anyway)."""
	return any(type(e).__name__ in STOPPING for e in _chain(error))


def stops_the_job(error: BaseException) -> bool:
	"""`is_transient` or `is_stopping`: what keeps a pushed invoice Pending (`jobs._portal_job`)."""
	return is_transient(error) or is_stopping(error)
