"""The pull's run: passes over the portal in pages on the cursor, and what a run does when
something fails that is not about one invoice (contract, "Pull": the cursor never passes an
invoice that was not applied).

Part of `pull.PullEngine` (a mixin: it uses the engine's `port`, `client`, `settings`,
`counts`, `_logs`, `_suppliers`, `_items`, `_read_cache`, `_process`, `_retry_failed`,
`_flush` and `_log`).

- **Units.** Each page is one unit: its invoices applied (a savepoint each), the cursor
  moved and its Sync Log rows written, then one commit. A failure that is not about one
  invoice (ERPNext's database lost the connection, deadlocked, timed out on a lock, rolled
  the transaction back under the engine, the worker stopping: `port.is_transient`) rolls
  the whole unit back (`port.rollback`), forgets what it counted and logged, and retries it
  after 1, 2, 4 seconds (`transient_retries` attempts more). After the last one the run stops
  with one Failed "Pull Run" Sync Log row saying why, the cursor where it was, and raises
  `TransientError`: the next run retries.
- **Time.** The cursor is on the portal's change time, read with the portal's own NOW()
  (`InvoiceBatch.portal_now`) and never compared with ERPNext's clock. The cursor saved is
  never later than the portal's NOW(): a row dated in the future is applied but re-read
  (unchanged, by hash) until the portal's clock passes it. Such a row (beyond
  `FUTURE_TOLERANCE`), and one with an impossible date, is reported once: one Sync Log row
  per requisition, not again while its change time stays the one its Sync Mapping holds.
- **Entities.** The cursor belongs to the Database Connection (`port.get_cursor`); an
  entity mapped after the cursor passed its invoices is read from the start (the cut-over
  date) in a backfill pass of its own, then remembered (`port.pulled_entities`).
"""

import time
from collections import Counter
from datetime import datetime, timedelta
from functools import partial

from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import ProcureUATConnectionError, TransientError
from o2o_sync.sync.model.port import FAILED, PULL, SKIPPED, SUCCESS, LogEntry

#: Seconds of portal history re-read behind the cursor on every run, so an edit made in
#: the same second as the last row read (or committed late) is not missed; unchanged
#: rows in the overlap are skipped by hash.
CURSOR_OVERLAP_SECONDS = 120
#: Attempts after the first at a unit that failed for a reason not about one invoice.
TRANSIENT_RETRIES = 3
#: Seconds waited before each retry of such a unit (the last repeats).
BACKOFF_SECONDS = (1, 2, 4)
#: How far past the portal's NOW() a change time is reported as dated in the future (a row
#: written by an application server whose clock runs a little ahead is not).
FUTURE_TOLERANCE = timedelta(minutes=5)
#: Sync Log operation of the report of a row's impossible or future date.
PORTAL_DATE = "Portal Date"


def backoff_seconds(attempt: int) -> int:
	"""Seconds to wait before retry number `attempt` (0-based): 1, 2, 4, 4, ..."""
	return BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]


def cursor_for(last_key: tuple[datetime, int], portal_now: datetime | None) -> tuple[datetime, int]:
	"""The cursor a page may leave: its last (change time, requisition id), but never later
	than the portal's NOW() (then `(portal_now, 0)`): a row dated in the future must not hide
	the rows the portal writes until its clock gets there."""
	if portal_now is not None and last_key[0] > portal_now:
		return (portal_now, 0)
	return last_key


def _text(moment: datetime | None) -> str:
	return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "the start"


def first_cause(error: BaseException) -> str:
	"""'Type: text' of the error that started it all (following `__cause__`, else
	`__context__`): a deadlock rather than the missing savepoint it left behind."""
	seen = set()
	while id(error) not in seen and (error.__cause__ or error.__context__) is not None:
		seen.add(id(error))
		error = error.__cause__ or error.__context__
	return f"{type(error).__name__}: {error}"


def _reason(error: BaseException) -> str:
	"""What failed, for the Sync Log: the error's type and text, at most 400 characters."""
	text = str(error) if isinstance(error, TransientError) else f"{type(error).__name__}: {error}"
	return text[:400]


class PullRun:
	"""The run loop of `pull.PullEngine` (see the module's docstring)."""

	def _init_run(self, sleep=time.sleep, transient_retries: int = TRANSIENT_RETRIES):
		"""Called by the engine's constructor. `sleep(seconds)` waits between retries (tests
		pass a recorder); `transient_retries`, attempts after the first (0: none)."""
		self.sleep = sleep
		self.transient_retries = max(0, int(transient_retries))
		self._cursor: tuple[datetime | None, int] = (None, 0)
		self._time_notes: dict[int, str] = {}
		self._reported: set[int] = set()
		self._progress = [0, 0]  # portal rows read and pages, over the run's passes (for `on_batch`)
		self._stopping = ("Pull", "Pull Run")  # what a stop names: the run and its Sync Log operation

	# ------------------------------------------------------------ the run

	def run(self, limit: int | None = None) -> dict:
		"""Pull what changed since the cursor, read newly mapped entities from the start, then
		retry failed invoices.

		Args: `limit`, the most portal invoices to read this run (None: all).
		Returns the counts: created, updated, unchanged, cancelled, failed, linked,
		conflict, deleted (Purchase Invoices), plus `skipped` (invoices of unmapped
		entities) and `batches`. Raises `ProcureUATConnectionError` when the portal is
		unreachable, `TransientError` when ERPNext's database kept failing (after one Sync
		Log row); what was committed before stays, the cursor never skips an invoice.
		"""
		started = time.monotonic()
		seen: set[tuple[int, int]] = set()
		skipped = Counter()
		self._progress = [0, 0]
		self._cursor = self.port.get_cursor()
		cursor_ts = self._cursor[0]
		after = (cursor_ts - timedelta(seconds=CURSOR_OVERLAP_SECONDS), 0) if cursor_ts else (None, 0)
		mapped = set(self.settings.entities)
		pulled = set(self.port.pulled_entities())
		read, batches, complete = self._pass(after, limit, seen, skipped, move_cursor=True)
		if cursor_ts is None:  # read from the start: the cursor carries every mapped entity's history
			known = mapped
		else:
			known, new = pulled & mapped, mapped - pulled
			if complete and new:  # the cursor passed their history: read it from the start
				left = None if limit is None else limit - read
				more, more_batches, complete = self._pass((None, 0), left, seen, None, only=new)
				read, batches = read + more, batches + more_batches
				known = mapped if complete else known
		if known != pulled:
			self._unit(partial(self.port.save_pulled_entities, known), seen)

		self._unit(partial(self._retry_failed, seen), seen)
		for entity, n in sorted(skipped.items()):
			self._log(
				"Skip",
				SKIPPED,
				f"{n} invoice(s) of portal entity {entity} skipped: the entity is not mapped to a Company in O2O Sync Settings",
			)
		result = dict(self.counts)
		result["skipped"] = sum(skipped.values())
		result["batches"] = batches
		self._log(
			"Pull Run",
			FAILED if self.counts["failed"] else SUCCESS,
			"Pull finished: " + ", ".join(f"{k} {v}" for k, v in result.items()),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
		self._flush()
		return result

	def _pass(self, after, limit, seen, skipped, *, move_cursor=False, only=None) -> tuple[int, int, bool]:
		"""Read pages from `after` on and apply each as a unit.

		Args: `after`, (change time, requisition id) to read after; `limit`, the most rows
		(None: all); `skipped`, a Counter of unmapped entities' rows (None: not counted);
		`move_cursor`, save the cursor after each page; `only`, entity ids to read alone.
		Returns (rows read, pages, True when the pass reached the end).
		"""
		batch_size = max(1, int(self.settings.pull_batch_size or 200))
		entities = set(self.settings.entities)
		narrowed = {"only_entities": set(only)} if only is not None else {}
		read = batches = 0
		while limit is None or read < limit:
			size = batch_size if limit is None else min(batch_size, limit - read)
			batch = self.client.fetch_invoice_batch(
				after, size, entities, from_date=self.settings.from_date, **narrowed
			)
			if not batch.rows_read:
				return read, batches, True
			moved = self._unit(partial(self._page, batch, seen, move_cursor), seen)
			if moved is not None:
				self._cursor = moved
			batches += 1
			read += batch.rows_read
			if skipped is not None:
				skipped.update(batch.skipped)
			after = batch.last_key
			self._progress = [self._progress[0] + batch.rows_read, self._progress[1] + 1]
			if getattr(self, "on_batch", None) is not None:
				self.on_batch(dict(self.counts), *self._progress)
			if batch.rows_read < size:
				return read, batches, True
		return read, batches, False

	def _page(self, batch, seen, move_cursor: bool):
		"""Apply one page; with `move_cursor`, move the cursor (never backwards, never past
		the portal's NOW()). Returns the new cursor, or None when it did not move."""
		self._time_notes = self.time_notes(batch)
		self._process(batch.invoices, seen)
		if not move_cursor:
			return None
		key = cursor_for(batch.last_key, batch.portal_now)
		if self._cursor[0] is not None and key <= self._cursor:
			return None
		self.port.save_cursor(*key)
		return key

	# ------------------------------------------------------------ failures not about one invoice

	def _is_transient(self, error: BaseException) -> bool:
		"""True when `error` is not about one invoice but about ERPNext's database or the
		worker (`port.is_transient`). The portal's own errors are not: the caller handles them."""
		if isinstance(error, ProcureUATConnectionError):
			return False
		return isinstance(error, TransientError) or bool(self.port.is_transient(error))

	def _unit(self, work, seen):
		"""Run `work()` and commit it with its Sync Log rows; on a transient failure roll it
		back, forget what it counted, logged and saw, and try again after a backoff.

		Returns what `work` returns. Raises `TransientError` after the last attempt (see
		`_stop`); any other error as it is.
		"""
		error = None
		for attempt in range(self.transient_retries + 1):
			if attempt:
				self.sleep(backoff_seconds(attempt - 1))
			mark = (
				Counter(self.counts),
				len(self._logs),
				set(seen),
				dict(self._suppliers),
				set(self._reported),
			)
			self._time_notes = {}
			try:
				out = work()
				self._flush()
				return out
			except Exception as e:
				if not self._is_transient(e):
					raise
				error = e
			self.port.rollback()  # the whole unit: what the database kept of it is gone too
			counts, n_logs, seen_before, suppliers, reported = mark
			self.counts = counts
			del self._logs[n_logs:]
			seen.clear()
			seen.update(seen_before)
			self._suppliers = suppliers
			self._reported = reported
			self._items = {}
			self._read_cache.clear()  # facts read in the rolled-back transaction
		self._stop(error)

	def _stop(self, error: BaseException):
		"""Write the one Sync Log row of a run stopped by a failure not about one invoice, and
		raise `TransientError` (the cursor stays: nothing of the failed unit was committed)."""
		ts, requisition_id = self._cursor
		where = f"{_text(ts)} (requisition {requisition_id})" if ts else "the start"
		what, operation = self._stopping
		message = (
			f"{what} stopped: {_reason(error)}; tried {self.transient_retries + 1} time(s), each rolled"
			f" back whole; the cursor stays at {where}; the next run retries"
		)
		self._logs.append(LogEntry(direction=PULL, operation=operation, status=FAILED, message=message))
		try:
			self._flush()
		except Exception as e:  # the database is still away: the exception below says it all
			if not self._is_transient(e):
				raise
			self.port.rollback()
		raise TransientError(message) from error

	# ------------------------------------------------------------ dates the cursor cannot trust

	def time_notes(self, batch) -> dict[int, str]:
		"""`{requisition id: what is wrong with its date}` for the page's invoices dated past
		the portal's NOW() (by more than `FUTURE_TOLERANCE`) or holding an impossible date."""
		notes = {}
		now = batch.portal_now
		for inv in batch.invoices:
			if fault := batch.date_faults.get(inv.id):
				notes[inv.id] = (
					f"impossible date(s) on the portal ({fault}); its change time is taken from its"
					f" other dates ({_text(inv.change_ts)}). Fix the date on the portal."
				)
			elif now is not None and inv.change_ts is not None and inv.change_ts > now + FUTURE_TOLERANCE:
				notes[inv.id] = (
					f"change time {_text(inv.change_ts)} is later than the portal's clock ({_text(now)});"
					" the invoice is synced, but the pull's cursor stays at the portal's clock and"
					" re-reads it until then. Fix the date on the portal."
				)
		return notes

	def _report_dates(self, inv, record) -> None:
		"""One Sync Log row for an invoice with a date the cursor cannot trust, the first time
		it is applied with that change time (not again while its Sync Mapping holds it)."""
		note = self._time_notes.get(inv.id)
		if not note or inv.id in self._reported:
			return
		if record is not None and record.portal_updated_at == inv.change_ts:
			return
		self._reported.add(inv.id)
		self._log(PORTAL_DATE, SKIPPED, f"{m.invoice_label(inv)}: {note}", invoice=inv)
