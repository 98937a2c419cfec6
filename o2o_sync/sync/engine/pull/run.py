"""The pull's run: passes over the portal in pages on the cursor, and what a run does when
something fails that is not about one invoice (contract, "Pull": the cursor never passes an
invoice that was not applied).

`PullEngine` is the run: it holds the objects that do the rest and calls them, each with the
state it owns: `slices.SliceSync` (one vendor slice in its savepoint), `decisions.
InvoiceDecisions` (what happens to one invoice), `masters.Masters` (Suppliers, Items and dates
cached for the run), `tally.Tally` (counts and Sync Log rows), `dates.DateReports` (dates the
cursor cannot trust).

- **Units.** Each page is one unit: its invoices applied (a savepoint each), the cursor
  moved and its Sync Log rows written, then one commit. A failure that is not about one
  invoice (ERPNext's database lost the connection, deadlocked, timed out on a lock, rolled
  the transaction back under the engine, the worker stopping: `port.is_transient`) rolls
  the whole unit back (`port.rollback`), forgets what it counted and logged, and retries it
  after 1, 2, 4 seconds (`transient_retries` attempts more). After the last one the run stops
  with one Failed "Pull Run" Sync Log row saying why, the cursor where it was, and raises
  `TransientError`: the next run retries.
- **Time.** The cursor is on the portal's change time, read with the portal's own NOW()
  (`InvoiceBatch.portal_now`) and never compared with ERPNext's clock. A run resumes strictly
  after the cursor (no overlap): the cursor passes only seconds the portal has closed (older
  than its NOW() by `CLOSED_SECONDS`), so an edit made later in the cursor's own second cannot
  be missed; rows of a second still open are applied but re-read by the next run (unchanged,
  by hash): the guard costs the rows changed in the last seconds, not a window. A row dated
  in the future is applied but re-read until the portal's clock passes it (reported once,
  `dates`). A row a portal transaction commits late, dated behind the cursor, is the daily
  reconciliation's (`engine.reconcile`).
- **Budget.** `run(deadline=...)` stops between pages once `time.monotonic()` passes the
  deadline (at least one page per run), with everything before committed and the cursor
  after it; `finished` tells the caller to continue in another job.
- **Entities.** The cursor belongs to the Database Connection (`port.get_cursor`); an
  entity mapped after the cursor passed its invoices is read from the start (the cut-over
  date) in a backfill pass of its own, then remembered (`port.pulled_entities`).
"""

import time
from collections import Counter
from datetime import datetime, timedelta
from functools import partial

from o2o_sync.sync.engine.pull.dates import DateReports, moment_text
from o2o_sync.sync.engine.pull.decisions import InvoiceDecisions, Outcome
from o2o_sync.sync.engine.pull.masters import Masters
from o2o_sync.sync.engine.pull.refresh import refresh_outdated
from o2o_sync.sync.engine.pull.slices import SliceSync, first_cause, is_transient
from o2o_sync.sync.engine.pull.tally import COUNT_KEYS, Tally
from o2o_sync.sync.model import columns
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.errors import TransientError
from o2o_sync.sync.model.port import FAILED, ORIGIN_ERPNEXT, SKIPPED, SUCCESS, ERPNextPort

__all__ = ["CLOSED_SECONDS", "COUNT_KEYS", "Outcome", "PullEngine", "first_cause"]

#: A change-time second is closed, and the cursor may pass it, once it is older than the
#: portal's NOW() by this many seconds (DATETIME holds whole seconds; one more second covers
#: a statement that stamped NOW() just before the page was read).
CLOSED_SECONDS = 1
#: Attempts after the first at a unit that failed for a reason not about one invoice.
TRANSIENT_RETRIES = 3
#: Seconds waited before each retry of such a unit (the last repeats).
BACKOFF_SECONDS = (1, 2, 4)


def backoff_seconds(attempt: int) -> int:
	"""Seconds to wait before retry number `attempt` (0-based): 1, 2, 4, 4, ..."""
	return BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]


def cursor_for(last_key: tuple[datetime, int], portal_now: datetime | None) -> tuple[datetime, int]:
	"""The cursor a page may leave: its last (change time, requisition id) when that second is
	closed (older than the portal's NOW() by `CLOSED_SECONDS`), else `(portal_now -
	CLOSED_SECONDS, 0)`: every row before that second is applied, and the next run reads that
	second and later again, so an edit written later in a second still open (or a row dated
	in the future) is never hidden behind the cursor."""
	if portal_now is None:
		return last_key
	closed = portal_now - timedelta(seconds=CLOSED_SECONDS)
	if last_key[0] >= closed:
		return (closed, 0)
	return last_key


def _reason(error: BaseException) -> str:
	"""What failed, for the Sync Log: the error's type and text, at most 400 characters."""
	text = str(error) if isinstance(error, TransientError) else f"{type(error).__name__}: {error}"
	return text[:400]


class PullEngine:
	"""Runs one pull (`run`), or a person's retry of some invoices (`retry`).

	Args: `port`, an `ERPNextPort`; `client`, a `portal.client.ProcureUATClient` (or
	anything with its `fetch_invoice_batch`, `fetch_invoices` and `fetch_vendors`);
	`settings`, the `mapping.PullSettings`; `clock`, the time written as `last_synced_at`
	(ERPNext's; never compared with portal times); `registry`, the column registry
	(`columns.REGISTRY`); `sleep(seconds)`, the wait between retries of a page that failed
	for a reason not about one invoice; `transient_retries`, how many such retries (0: none).
	"""

	def __init__(
		self,
		port: ERPNextPort,
		client,
		settings: m.PullSettings,
		clock=datetime.now,
		registry=columns.REGISTRY,
		sleep=time.sleep,
		transient_retries: int = TRANSIENT_RETRIES,
	):
		self.port = port
		self.client = client
		self.settings = settings
		self.clock = clock
		self.registry = tuple(registry)
		self.sleep = sleep
		self.transient_retries = max(0, int(transient_retries))
		self.tally = Tally(port)
		self.masters = Masters(port, settings, self.registry)
		self.decisions = InvoiceDecisions(port, settings, self.registry, self.masters)
		self.dates = DateReports(self.tally)
		self.slices = SliceSync(
			port, client, settings, self.registry, clock, self.masters, self.decisions, self.tally, self.dates
		)
		#: (portal change time, requisition id) the run has committed up to
		self.cursor: tuple[datetime | None, int] = (None, 0)
		#: time.monotonic() past which the run stops between pages (None: no budget)
		self.deadline = None
		#: False when the run stopped at its deadline with more to read: continue it
		self.finished = True
		#: what a stop names: the run and its Sync Log operation (reconciliation names itself)
		self.stopping = ("Pull", "Pull Run")
		self._progress = [0, 0]  # portal rows read and pages, over the run's passes (for `on_batch`)
		#: called after each committed batch with (counts so far, portal rows read, batches);
		#: the desk's progress bar and the CLI's (see `pull_progress`); None: nothing told
		self.on_batch = None

	@property
	def counts(self) -> Counter:
		"""The run's counts so far (`COUNT_KEYS`)."""
		return self.tally.counts

	# ------------------------------------------------------------ the run

	def out_of_time(self) -> bool:
		"""True once the run's deadline (`time.monotonic()` seconds) has passed."""
		return self.deadline is not None and time.monotonic() >= self.deadline

	def run(self, limit: int | None = None, deadline: float | None = None) -> dict:
		"""Pull what changed since the cursor, read newly mapped entities from the start, then
		retry failed invoices.

		Args: `limit`, the most portal invoices to read this run (None: all); `deadline`, a
		`time.monotonic()` value past which no page is started (None: no budget; at least
		one page is read): then `finished` is False, what was read is committed and the
		cursor is after it, and failed invoices are left to the run that continues it.
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
		self.deadline, self.finished = deadline, True
		self.cursor = self.port.get_cursor()
		cursor_ts = self.cursor[0]
		mapped = set(self.settings.entities)
		pulled = set(self.port.pulled_entities())
		if cursor_ts is None and pulled != mapped:  # recorded before the first page: a run
			self.unit(partial(self.port.save_pulled_entities, mapped), seen)  # killed later resumes
			pulled = mapped
		read, batches, complete = self._pass(self.cursor, limit, seen, skipped, move_cursor=True)
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
			self.unit(partial(self.port.save_pulled_entities, known), seen)
		self.finished = not (self.out_of_time() and not complete)
		if self.finished:  # what follows is the end of a run: a continuation does it
			self.unit(partial(self._retry_failed, seen), seen)
			self.unit(partial(refresh_outdated, self, seen), seen)  # field maps changed (refresh.py)
		for entity, n in sorted(skipped.items()):
			self.tally.log(
				"Skip",
				SKIPPED,
				f"{n} invoice(s) of portal entity {entity} skipped: the entity is not mapped to a Company in O2O Sync Settings",
			)
		result = dict(self.counts)
		result["skipped"] = sum(skipped.values())
		result["batches"] = batches
		self.tally.log(
			"Pull Run",
			FAILED if self.counts["failed"] else SUCCESS,
			("Pull finished: " if self.finished else "Pull stopped at its time budget, to be continued: ")
			+ ", ".join(f"{k} {v}" for k, v in result.items()),
			duration_ms=int((time.monotonic() - started) * 1000),
		)
		self.tally.flush()
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
			if self._progress[1] and self.out_of_time():
				return read, batches, False
			size = batch_size if limit is None else min(batch_size, limit - read)
			batch = self.client.fetch_invoice_batch(
				after, size, entities, from_date=self.settings.from_date, **narrowed
			)
			if not batch.rows_read:
				return read, batches, True
			moved = self.unit(partial(self._page, batch, seen, move_cursor), seen)
			if moved is not None:
				self.cursor = moved
			batches += 1
			read += batch.rows_read
			if skipped is not None:
				skipped.update(batch.skipped)
			after = batch.last_key
			self._progress = [self._progress[0] + batch.rows_read, self._progress[1] + 1]
			if self.on_batch is not None:
				self.on_batch(dict(self.counts), *self._progress)
			if batch.rows_read < size:
				return read, batches, True
		return read, batches, False

	def _page(self, batch, seen, move_cursor: bool):
		"""Apply one page; with `move_cursor`, move the cursor (never backwards, never past
		the portal's NOW()). Returns the new cursor, or None when it did not move."""
		self.dates.read(batch)
		self.slices.process(batch.invoices, seen)
		if not move_cursor:
			return None
		key = cursor_for(batch.last_key, batch.portal_now)
		if self.cursor[0] is not None and key <= self.cursor:
			return None
		self.port.save_cursor(*key)
		return key

	# ------------------------------------------------------------ retries of invoices

	def _retry_failed(self, seen: set[tuple[int, int]]):
		"""Retry the pull's own failures. A Failed mapping of an invoice ERPNext pushed is the
		push's failure (`PushEngine`, retried by the push): the pull never marks it Synced."""
		failed = [
			r
			for r in self.port.mappings_with_status(FAILED, 1000)
			if r.key not in seen and r.origin != ORIGIN_ERPNEXT
		]
		if not failed:
			return
		invoices = self.client.fetch_invoices(sorted({r.procureuat_id for r in failed}))
		self.slices.process(invoices, seen, only={r.key for r in failed}, force=True)
		self.tally.flush()

	def retry(self, requisition_ids, keys=None) -> dict:
		"""Pull these portal invoices again now, changed or not: a person's **Retry**.

		Args: `requisition_ids`, portal `purchase_requisitions.id`s; `keys`, (requisition id,
		vendor id) slices: a requisition some key names is retried for those vendors only, one
		no key names for every vendor slice (of a mapped entity). Returns this retry's counts
		(`COUNT_KEYS`). The cursor does not move. Raises ProcureUATConnectionError when the
		portal is unreachable.
		"""
		keys = {(int(k[0]), int(k[1])) for k in keys or ()}
		limited = {k[0] for k in keys}
		invoices = self.client.fetch_invoices(sorted({int(i) for i in requisition_ids}))
		whole = [inv for inv in invoices if inv.id not in limited]
		if whole:
			self.slices.process(whole, set(), force=True)
		if len(whole) < len(invoices):
			self.slices.process([inv for inv in invoices if inv.id in limited], set(), only=keys, force=True)
		self.tally.flush()
		return dict(self.counts)

	# ------------------------------------------------------------ failures not about one invoice

	def unit(self, work, seen):
		"""Run `work()` and commit it with its Sync Log rows; on a transient failure roll it
		back, forget what it counted, logged, saw and read, and try again after a backoff.

		Returns what `work` returns. Raises `TransientError` after the last attempt (see
		`_stop`); any other error as it is.
		"""
		error = None
		for attempt in range(self.transient_retries + 1):
			if attempt:
				self.sleep(backoff_seconds(attempt - 1))
			mark = (self.tally.mark(), set(seen), self.masters.mark(), set(self.dates.reported))
			self.dates.notes = {}
			try:
				out = work()
				self.tally.flush()
				return out
			except Exception as e:
				if not is_transient(self.port, e):
					raise
				error = e
			self.port.rollback()  # the whole unit: what the database kept of it is gone too
			tally_mark, seen_before, masters_mark, reported = mark
			self.tally.restore(tally_mark)
			seen.clear()
			seen.update(seen_before)
			self.masters.restore(masters_mark)
			self.dates.reported = reported
		self._stop(error)

	def _stop(self, error: BaseException):
		"""Write the one Sync Log row of a run stopped by a failure not about one invoice, and
		raise `TransientError` (the cursor stays: nothing of the failed unit was committed)."""
		ts, requisition_id = self.cursor
		where = f"{moment_text(ts)} (requisition {requisition_id})" if ts else "the start"
		what, operation = self.stopping
		message = (
			f"{what} stopped: {_reason(error)}; tried {self.transient_retries + 1} time(s), each rolled"
			f" back whole; the cursor stays at {where}; the next run retries"
		)
		self.tally.log(operation, FAILED, message)
		try:
			self.tally.flush()
		except Exception as e:  # the database is still away: the exception below says it all
			if not is_transient(self.port, e):
				raise
			self.port.rollback()
		raise TransientError(message) from error
