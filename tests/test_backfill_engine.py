"""Parallel backfill, the engine's side (issue 13): parts are disjoint requisition ranges that
together cover every id, each read on its own cursor; every portal invoice ends in exactly
one Purchase Invoice however the parts interleave; what changes during the backfill is the
incremental pull's, from the boundary on; a killed part resumes after its last committed page.

Engine tier: the in-memory ERPNext port and portal (proven equal to the real ones). Parts
run here one page at a time in turn, in one process; on a bench they run in real workers
(`o2o_sync/tests/test_backfill.py`).
"""

import itertools

import pytest
from decisions_world import World, counts_of

from o2o_sync.sync.engine.pull.backfill import LAST_ID, BackfillPart, PartState, plan_parts, prepare_suppliers
from o2o_sync.sync.engine.pull.run import PullEngine


class JobTimeoutException(Exception):
	"""RQ's, by name (`slices.STOPPING`)."""


@pytest.mark.parametrize(
	"ids,jobs",
	[([], 3), ([7], 4), (list(range(1, 11)), 3), (list(range(5, 1000, 7)), 2), (list(range(1, 5)), 8)],
)
def test_parts_are_disjoint_cover_every_id_and_share_the_invoices_evenly(ids, jobs):
	parts = plan_parts(ids, jobs)
	assert len(parts) == max(1, min(jobs, len(ids)))
	assert parts[0][0] == 0 and parts[-1][1] == LAST_ID
	for (_f, last, _n), (first, _l, _m) in itertools.pairwise(parts):
		assert first == last + 1  # contiguous: no id falls between two parts, none is in two
	assert sum(n for _f, _l, n in parts) == len(ids)
	for first, last, n in parts:
		assert n == sum(first <= i <= last for i in ids)
	sizes = [n for _f, _l, n in parts]
	assert max(sizes) - min(sizes) <= 1


def start(w: World, jobs: int):
	"""What `backfill.start_backfill` does, in memory: the boundary and the ids before it, the
	Suppliers first, the parts, the incremental pull's cursor at the boundary."""
	entities = set(w.settings.entities)
	boundary, ids = w.portal.backfill_scope(entities)
	engine = PullEngine(w.port, w.portal, w.settings)
	prepare_suppliers(engine, w.portal.vendors_of_scope(entities))
	w.port.save_cursor(boundary, 0)
	w.port.save_pulled_entities(entities)
	w.port.commit()
	parts = [PartState(f"part-{k}", first, last) for k, (first, last, _n) in enumerate(plan_parts(ids, jobs))]
	return boundary, ids, parts


def step(w: World, part: PartState, boundary, page: int = 4) -> bool:
	"""One job of a part that stops after one page (its deadline already passed), as a
	bounded job does; a new engine each time, as each job has. Returns True when done."""
	saved = w.port.s.parts.get(part.name)
	if saved:
		part = PartState(
			part.name, part.first_id, part.last_id, saved["cursor"], saved["read"], saved["counts"]
		)
	return BackfillPart(PullEngine(w.port, w.portal, w.settings), part, boundary, page=page).run(deadline=0)


def run_in_turn(w: World, parts, boundary, between=None) -> int:
	"""Every part one page at a time, in turn, until all are done; `between(n)` after page n."""
	done, n = set(), 0
	while len(done) < len(parts):
		for part in parts:
			if part.name not in done and step(w, part, boundary):
				done.add(part.name)
			n += 1
			if between:
				between(n)
	return n


def one_invoice_per_slice(w: World, slices: set) -> None:
	names = [m.purchase_invoice for m in w.port.s.mappings.values()]
	assert len(names) == len(set(names)) == len(w.port.s.invoices)
	assert set(w.port.s.mappings) == slices


def test_interleaved_parts_make_exactly_one_invoice_per_slice_and_count_what_they_read():
	w = World()
	ids = []
	for k in range(30):
		lines = [w.line(), w.line("other")] if k % 5 == 0 else [w.line()]
		ids.append(w.invoice(*lines))
	w.portal.clock()
	boundary, scope, parts = start(w, 3)
	assert scope == ids and len(parts) == 3
	run_in_turn(w, parts, boundary)
	slices = {(i, w.vendors["same"]) for i in ids} | {(i, w.vendors["other"]) for i in ids[::5]}
	one_invoice_per_slice(w, slices)
	saved = [w.port.s.parts[p.name] for p in parts]
	assert all(s["done"] for s in saved)
	assert sum(s["read"] for s in saved) == len(ids)
	assert sum(s["counts"]["created"] for s in saved) == len(slices)
	assert w.totals(ids[0]) == (100, 18)
	assert counts_of(w.pull()) == {}  # the incremental pull after it: nothing left, nothing twice


def test_what_changes_during_the_backfill_is_the_incremental_pulls_from_the_boundary():
	w = World()
	ids = [w.invoice() for _ in range(12)]
	w.portal.clock()
	boundary, _scope, parts = start(w, 2)
	edited, added = ids[-1], []

	def portal_changes(n):
		if n == 1:  # the last part has not reached it yet
			line = next(line for line in w.portal.lines.values() if line["purchase_order_id"] == edited)
			line["cost"], line["gst_amt"], line["updated_at"] = "250.00", "45.00", w.portal.clock()
			w.portal.requisitions[edited]["updated_at"] = w.portal.now
			added.append(w.invoice())

	run_in_turn(w, parts, boundary, between=portal_changes)
	assert (edited, w.vendors["same"]) not in w.port.s.mappings  # changed after the boundary: not the part's
	assert sum(w.port.s.parts[p.name]["read"] for p in parts) == len(ids) - 1
	w.portal.clock()
	counts = w.pull()
	assert counts_of(counts) == {"created": 2}, w.logs("Failed")  # the edited one and the new one
	one_invoice_per_slice(w, {(i, w.vendors["same"]) for i in [*ids, *added]})
	assert w.totals(edited) == (250, 45)


def test_a_killed_part_resumes_after_its_last_committed_page():
	w = World()
	ids = [w.invoice() for _ in range(10)]
	w.portal.clock()
	boundary, _scope, parts = start(w, 1)
	assert not step(w, parts[0], boundary)  # first job: one page of 4, committed
	real, calls = w.port.insert_invoice, [0]

	def killed(spec, submit):
		calls[0] += 1
		if calls[0] == 3:
			raise JobTimeoutException("Task exceeded maximum timeout value (750 seconds)")
		return real(spec, submit)

	w.port.insert_invoice = killed
	with pytest.raises(JobTimeoutException):
		step(w, parts[0], boundary)
	w.port.rollback()  # the job runner's rollback (or the connection dying with the worker)
	del w.port.insert_invoice
	assert w.port.s.parts[parts[0].name]["read"] == 4 and len(w.port.s.invoices) == 4
	while not step(w, parts[0], boundary):  # the part queued again by the watch
		pass
	assert w.port.s.parts[parts[0].name]["read"] == 10
	one_invoice_per_slice(w, {(i, w.vendors["same"]) for i in ids})


def test_the_first_pass_makes_each_vendors_supplier_once_before_any_part_runs():
	w = World()
	w.invoice(w.line(), w.line("other"))
	w.portal.clock()
	start(w, 2)
	assert sorted(s["vendor_id"] for s in w.port.s.suppliers.values()) == sorted(w.vendors.values())
	assert w.port.s.invoices == {}
