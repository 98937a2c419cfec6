"""The pull moves past what it applied (issue 13): no overlap re-read behind the cursor, a
limited run and a run stopped at its time budget each make progress, thousands of rows
sharing one change time (a bulk update on the portal) are read once, and an edit landing in
the cursor's own second is not missed.

Engine tier: the in-memory ERPNext port and portal (proven equal to the real ones).
"""

import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta

import pytest
from decisions_world import World, counts_of

from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.reconcile import reconcile
from o2o_sync.sync.model.port import SYNCED

BULK = 3000


@pytest.fixture
def w() -> World:
	return World()


@pytest.fixture
def big(monkeypatch) -> World:
	"""A world for thousands of invoices: the in-memory doubles' snapshots (a deep copy of the
	whole store per savepoint and per portal transaction) are left out, as nothing in these
	tests fails and rolls back; every other rule of the doubles holds."""
	world = World()

	@contextmanager
	def atomic():
		yield

	monkeypatch.setattr(world.port, "atomic", atomic)
	monkeypatch.setattr(world.port, "_begin", lambda: None)
	monkeypatch.setattr(world.portal, "_transaction", nullcontext)
	return world


def bulk_update(w: World, n: int):
	"""`n` invoices, then one UPDATE on the portal stamping all of them (and their lines) with
	the same `updated_at`, a second the portal's clock has since left. Returns (that time, ids)."""
	ids = [w.invoice() for _ in range(n)]
	t = w.portal.clock()
	for row in w.portal.requisitions.values():
		row["updated_at"] = t
	for line in w.portal.lines.values():
		line["updated_at"] = t
	w.portal.clock()
	return t, ids


def engine(w: World, **settings) -> PullEngine:
	return PullEngine(w.port, w.portal, w.settings.__class__(**{**w.settings.__dict__, **settings}))


def created_once(w: World, ids) -> bool:
	"""Every requisition has exactly one Synced mapping and one Purchase Invoice."""
	names = [w.mapping(rid).purchase_invoice for rid in ids]
	return (
		len(set(names)) == len(ids) == len(w.port.s.invoices)
		and all(w.mapping(rid).status == SYNCED for rid in ids)
		and all(name in w.port.s.invoices for name in names)
	)


def test_a_limited_run_passes_thousands_of_rows_sharing_one_change_time(big):
	w = big
	t, ids = bulk_update(w, BULK)
	created = []
	for _ in range(BULK // 300):
		counts = engine(w, pull_batch_size=100).run(limit=300)
		assert counts["unchanged"] == 0  # nothing applied before is read again
		created.append(counts["created"])
	assert created == [300] * (BULK // 300)  # each call makes progress
	assert w.port.get_cursor() == (t, ids[-1])
	assert created_once(w, ids)
	assert engine(w).run(limit=300)["batches"] == 0  # strictly after the cursor: nothing to read


def test_an_unlimited_run_reads_a_bulk_update_once(big):
	w = big
	_t, ids = bulk_update(w, BULK)
	counts = engine(w, pull_batch_size=500).run()
	assert counts_of(counts) == {"created": BULK} and counts["batches"] == BULK // 500
	assert created_once(w, ids)
	again = engine(w, pull_batch_size=500).run()  # the guard costs the rows changed since: none
	assert again["batches"] == 0 and counts_of(again) == {}
	edited = ids[17]
	w.portal.edit(edited, remark="after the bulk update")
	w.portal.clock()
	after = engine(w, pull_batch_size=500).run()
	assert counts_of(after) == {"updated": 1} and after["batches"] == 1 and after["unchanged"] == 0
	assert w.doc(edited)["remarks"] == "after the bulk update"


def test_an_edit_in_a_second_still_open_is_read_again_then_passed(w):
	"""The page is read while the portal's clock is still in the rows' second: they are applied,
	the cursor stays before that second, and an edit made later in it (a lower id) is found."""
	t, ids = bulk_update(w, 40)
	w.portal.now = t  # the pull reads within the bulk update's second
	counts = engine(w, pull_batch_size=15).run()
	assert counts_of(counts) == {"created": 40}
	assert w.port.get_cursor() == (t - timedelta(seconds=1), 0)
	w.portal.edit(ids[0], remark="same second", updated_at=t)
	assert counts_of(engine(w, pull_batch_size=15).run()) == {"updated": 1}
	assert w.doc(ids[0])["remarks"] == "same second"
	w.portal.clock()  # the second closes: the next run passes it, and then reads nothing
	assert counts_of(engine(w).run()) == {}
	assert w.port.get_cursor() == (t, ids[-1])
	assert engine(w).run()["batches"] == 0
	assert created_once(w, ids)


def test_a_run_past_its_deadline_reads_one_page_and_is_continued(w):
	_t, ids = bulk_update(w, 95)
	bad = w.invoice(w.line(gst_amt="17.00"))  # off every GST slab: Failed, retried when finished
	w.portal.clock()
	runs, retried = [], []
	while True:
		e = engine(w, pull_batch_size=10)
		counts = e.run(deadline=time.monotonic() - 1)  # the budget is spent before the first page
		runs.append(counts["batches"])
		retried.append(counts["failed"])
		if e.finished:
			break
	assert runs[:-1] == [1] * 9 and runs[-1] == 1  # one page each: 96 rows in 10 pages
	assert created_once(w, ids)
	assert w.mapping(bad).status == "Failed"
	assert retried == [0] * 9 + [1]  # failed invoices are retried once the run reaches the end
	stopped = [m for m in w.logs(operation="Pull Run") if m.startswith("Pull stopped at its time budget")]
	assert len(stopped) == 9


def test_a_first_run_records_its_entities_before_its_first_page(w):
	"""A first run stopped early (killed, or at its budget) must not make the next run read the
	whole history again as a newly mapped entity's."""
	_t, ids = bulk_update(w, 30)
	e = engine(w, pull_batch_size=10)
	e.run(deadline=time.monotonic() - 1)
	assert not e.finished and w.port.pulled_entities() == set(w.settings.entities)
	counts = engine(w, pull_batch_size=10).run()
	assert counts_of(counts) == {"created": 20} and counts["unchanged"] == 0
	assert created_once(w, ids)


class JobTimeoutException(Exception):
	"""RQ's exception of a job out of time (matched by class name: the engine imports no RQ)."""


def test_rqs_job_timeout_ends_the_run_never_retried_nor_the_invoices_failure(w):
	ids = [w.invoice() for _ in range(3)]
	w.portal.clock()
	real, calls = w.port.insert_invoice, [0]

	def insert(spec, submit):
		calls[0] += 1
		if calls[0] == 2:
			raise JobTimeoutException("Task exceeded maximum timeout value (1500 seconds)")
		return real(spec, submit)

	w.port.insert_invoice = insert
	sleeps = []
	e = PullEngine(w.port, w.portal, w.settings, sleep=sleeps.append)
	with pytest.raises(JobTimeoutException):
		e.run()
	assert sleeps == [] and calls[0] == 2  # not retried as if the database had failed
	assert not any(rec.status == "Failed" for rec in w.port.s.mappings.values())
	assert w.logs("Failed") == []  # the next run says the run ended without finishing (run_marks)
	w.port.rollback()  # what Frappe's job runner does with the exception
	del w.port.insert_invoice
	assert counts_of(w.pull()) == {"created": 3}
	assert created_once(w, ids)


def test_a_reconciliation_past_its_deadline_resumes_where_it_stopped(w):
	ids = [w.invoice() for _ in range(7)]
	w.portal.clock()
	engine(w).run()
	late = w.portal.now - timedelta(hours=1)  # behind the cursor: only the reconciliation finds them
	for rid in (ids[1], ids[5]):
		w.portal.edit(rid, remark="stamped late", updated_at=late)
	since, after, parts, found = w.portal.now - timedelta(days=30), None, 0, 0
	while True:
		result = reconcile(engine(w, pull_batch_size=2), since, after=after, deadline=time.monotonic() - 1)
		parts += 1
		found += result["updated"]
		assert result["batches"] == 1  # one page per call: its budget is spent
		if result["resume"] is None:
			break
		after = result["resume"]
	assert parts == 4 and found == 2  # 7 rows in pages of 2, each page read once
	assert [w.doc(rid)["remarks"] for rid in (ids[1], ids[5])] == ["stamped late"] * 2
	rows = w.logs(operation="Reconcile")
	assert sum(r.startswith("Reconcile, stopped at its time budget") for r in rows) == 3
