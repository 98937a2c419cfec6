"""The safety net behind the cursor: reconciliation of the portal's invoices with the Sync
Mappings over a window of change time, and the rescan of the cursor from a date (contract,
"Pull": nothing is lost, nothing duplicated).

The cursor can only miss a row the portal dated behind it (an application server whose
clock runs late, a transaction committed long after it stamped `updated_at`). The
reconciliation reads every invoice changed since `since` in pages with its own in-memory
cursor (the saved one is neither read nor moved), each page costing the pull's statements
(headers, lines; vendors only when something is to apply), compares each vendor slice's
portal hash with its Sync Mapping's, and applies what differs through the pull's own path
(`PullEngine.slices`, each page a unit retried on failures not about one invoice). It
writes one Sync Log row saying what it found.

`engine` is a `pull.PullEngine` (duck-typed here, so the engine's modules import no cycle).
"""

import time
from collections import Counter
from datetime import date, datetime
from functools import partial

from o2o_sync.sync.model import columns
from o2o_sync.sync.model import mapping as m
from o2o_sync.sync.model.port import FAILED, SUCCESS

#: Sync Log operations of this module.
RECONCILE = "Reconcile"
RESCAN = "Rescan"


def _missed(engine, invoices) -> tuple[list, set]:
	"""(invoices with a slice to apply, the (requisition, vendor) keys to apply): slices of a
	mapped entity with no Sync Mapping, or whose portal hash differs from the mapping's. A
	mapping in Failed is left to the pull's retry of failed invoices (every run)."""
	slices = [
		(inv, part, (part.id, m.slice_vendor_id(part)))
		for inv in invoices
		if inv.entity in engine.settings.entities
		for part in m.split_by_vendor(inv)
	]
	mappings = engine.port.get_mappings([key for _inv, _part, key in slices]) if slices else {}
	keys, ids = set(), set()
	for inv, part, key in slices:
		record = mappings.get(key)
		if record is not None and record.status == FAILED:
			continue
		if record is None or record.portal_hash != columns.view_hash(
			columns.portal_view(part, engine.registry)
		):
			keys.add(key)
			ids.add(inv.id)
	return [inv for inv in invoices if inv.id in ids], keys


def _page(engine, batch, seen) -> tuple[int, int]:
	"""Compare one page and apply what differs; returns (slices of mapped entities, missed)."""
	engine.dates.read(batch)
	invoices, keys = _missed(engine, batch.invoices)
	if keys:
		engine.slices.process(invoices, seen, only=keys)
	n_slices = sum(
		len(m.split_by_vendor(inv)) for inv in batch.invoices if inv.entity in engine.settings.entities
	)
	return n_slices, len(keys)


def reconcile(engine, since: datetime, after=None, deadline: float | None = None) -> dict:
	"""Compare every portal invoice changed since `since` with its Sync Mappings; apply what
	the cursor missed.

	Args: `engine`, a `PullEngine`; `since`, the window's start on the portal's change time
	(naive Asia/Kolkata; the settings' cut-over date still applies); `after`, the (change
	time, requisition id) a reconciliation stopped at goes on from (None: `since`);
	`deadline`, a `time.monotonic()` value past which no page is started (at least one is).
	Returns `{"resume": (change time, requisition id) to go on from, or None when done, "read", "slices", "missed", "batches", "created", "updated", "unchanged",
	"cancelled", "failed", "linked", "conflict", "deleted"}`: portal invoices read, their
	vendor slices of mapped entities, slices that differed from their mapping (or had none),
	pages, and what applying the missed ones did. Writes one "Reconcile" Sync Log row.
	Raises ProcureUATConnectionError when the portal is unreachable, TransientError when
	ERPNext's database kept failing (see `pull_run`).
	"""
	started = time.monotonic()
	seen: set[tuple[int, int]] = set()
	found = Counter()
	engine.cursor = engine.port.get_cursor()  # named, never moved, should it stop
	engine.stopping = (RECONCILE, RECONCILE)
	after = tuple(after) if after else (since, 0)
	size = max(1, int(engine.settings.pull_batch_size or 200))
	entities = set(engine.settings.entities)
	resume = None
	while True:
		if found["batches"] and deadline is not None and time.monotonic() >= deadline:
			resume = after
			break
		batch = engine.client.fetch_invoice_batch(after, size, entities, from_date=engine.settings.from_date)
		if not batch.rows_read:
			break
		n_slices, n_missed = engine.unit(partial(_page, engine, batch, seen), seen)
		found.update(read=batch.rows_read, slices=n_slices, missed=n_missed, batches=1)
		after = batch.last_key
		if batch.rows_read < size:
			break
	applied = {k: v for k, v in engine.counts.items() if v and k != "unchanged"}
	result = (
		{"resume": resume}
		| {k: found[k] for k in ("read", "slices", "missed", "batches")}
		| dict(engine.counts)
	)
	engine.tally.log(
		RECONCILE,
		FAILED if engine.counts["failed"] else SUCCESS,
		("Reconcile, stopped at its time budget and continued in another job, " if resume else "Reconcile ")
		+ f"since {since:%Y-%m-%d %H:%M:%S}: {found['read']} invoice(s) read, {found['slices']}"
		f" compared, {found['missed']} missed by the cursor"
		+ (f", applied: {', '.join(f'{k} {v}' for k, v in applied.items())}" if applied else ""),
		duration_ms=int((time.monotonic() - started) * 1000),
	)
	engine.tally.flush()
	return result


def rescan_from(engine, from_date: date, user: str | None = None) -> tuple:
	"""Move the pull cursor back to the start of `from_date` (portal time), so the next run
	re-reads every invoice changed since; never forward (a cursor already earlier stays).
	Idempotent: what is re-read and unchanged is skipped by hash, nothing is duplicated.

	Args: `engine`, a `PullEngine`; `from_date`, a date; `user`, who asked (for the log).
	Returns the cursor now saved, (change time or None, requisition id). Commits, with one
	"Rescan" Sync Log row.
	"""
	ts, requisition_id = engine.port.get_cursor()
	target = datetime.combine(from_date, datetime.min.time())
	if ts is not None and target < ts:
		engine.port.save_cursor(target, 0)
		message = f"Pull cursor moved back from {ts:%Y-%m-%d %H:%M:%S} (requisition {requisition_id}) to {target:%Y-%m-%d %H:%M:%S}"
		ts, requisition_id = target, 0
	else:
		where = f"{ts:%Y-%m-%d %H:%M:%S}" if ts else "the start"
		message = f"Pull cursor left at {where}: it is not after {target:%Y-%m-%d %H:%M:%S}"
	engine.tally.log(RESCAN, SUCCESS, message + (f" (asked by {user})" if user else ""))
	engine.tally.flush()
	return ts, requisition_id
