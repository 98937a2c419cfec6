"""The cursor never passes an invoice that was not applied: failures that are not about one
invoice (a deadlock, a lost connection, a lock wait timeout), dates the cursor cannot trust,
the cursor of each Database Connection, newly mapped entities, the reconciliation and the
rescan. In-memory portal and ERPNext (`decisions_world`); times are the portal's own clock.
"""

from datetime import timedelta

import pytest
from decisions_world import COMPANY, COMPANY_GSTIN, ENTITY, World, counts_of
from inmemory_portal import InMemoryPortal

from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.dates import PORTAL_DATE
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.reconcile import reconcile, rescan_from
from o2o_sync.sync.model.errors import TransientError
from o2o_sync.sync.model.port import FAILED, SKIPPED, SUCCESS, SYNCED


@pytest.fixture
def w():
	return World()


def engine(w, sleeps=None, **settings):
	if settings:
		w.settings = m.PullSettings(**{**w.settings.__dict__, **settings})
	sleep = (sleeps.append if sleeps is not None else None) or (lambda s: None)
	return PullEngine(w.port, w.portal, w.settings, sleep=sleep)


def pull(w, sleeps=None, **settings) -> dict:
	return engine(w, sleeps, **settings).run()


def invoices_of(w) -> dict:
	"""{requisition id: Purchase Invoice name} of every Synced mapping, checked to exist."""
	out = {}
	for rec in w.port.s.mappings.values():
		if rec.status == SYNCED:
			assert rec.purchase_invoice in w.port.s.invoices, rec
			out[rec.procureuat_id] = rec.purchase_invoice
	return out


# ---------------------------------------------------------------- failures not about one invoice


def test_a_deadlock_on_the_third_invoice_rolls_the_page_back_and_retries_it(w):
	first = [w.invoice() for _ in range(3)]
	assert counts_of(pull(w)) == {"created": 3}
	cursor = w.port.get_cursor()
	batch = [w.invoice() for _ in range(4)]
	w.portal.clock()  # the last invoice's second closes: the cursor may pass it
	w.port.fail_on("insert_invoice", nth=3)  # MariaDB rolls the transaction back under the engine
	sleeps = []
	counts = pull(w, sleeps)
	assert counts_of(counts) == {"created": 4}  # nothing counted twice, nothing Failed
	assert sleeps == [1] and w.port.rollbacks == 1
	assert sorted(invoices_of(w)) == first + batch
	assert len(w.port.s.invoices) == 7  # each invoice once: the rolled-back ones are not left behind
	created = [e.procureuat_id for e in w.port.logs_of(SUCCESS, "Create")]
	assert sorted(created) == first + batch  # no row claims an invoice that was rolled back
	assert w.port.logs_of(FAILED) == []
	assert w.port.get_cursor() > cursor and w.port.get_cursor()[1] == batch[-1]
	w.rerun_changes_nothing()


def test_a_deadlock_that_persists_stops_the_run_with_one_row_and_the_cursor_where_it_was(w):
	for _ in range(2):
		w.invoice()
	pull(w)
	cursor, n_logs = w.port.get_cursor(), len(w.port.s.logs)
	new = [w.invoice() for _ in range(30)]
	# pages of 10: the last invoice pulled (re-read behind the cursor) and 9 new, then 10 new...
	w.port.fail_on("insert_invoice", nth=12, times=None)  # ... of which the third never goes in
	sleeps = []
	with pytest.raises(TransientError) as stopped:
		pull(w, sleeps, pull_batch_size=10)
	assert sleeps == [1, 2, 4]
	assert w.port.get_cursor() > cursor  # the first page was committed with its cursor
	first_page = w.port.get_cursor()
	new_logs = w.port.s.logs[n_logs:]
	assert [(e.operation, e.status) for e in new_logs if e.operation != "Create"] == [("Pull Run", FAILED)]
	assert [e.procureuat_id for e in new_logs if e.operation == "Create"] == new[:9]  # the first page's
	message = new_logs[-1].message
	assert message.startswith("Pull stopped: ") and "Deadlock found" in message
	assert f"the cursor stays at {first_page[0]:%Y-%m-%d %H:%M:%S} (requisition {first_page[1]})" in message
	assert message.endswith("the next run retries") and str(stopped.value) == message
	assert len(invoices_of(w)) == len(w.port.s.invoices) == 11
	assert not any(rec.status == FAILED for rec in w.port.s.mappings.values())

	# the database is back: the next run takes the rest, nothing twice
	del w.port.insert_invoice  # the injected failure
	assert counts_of(pull(w, pull_batch_size=10)) == {"created": 21}
	assert len(invoices_of(w)) == len(w.port.s.invoices) == 32


@pytest.mark.parametrize(
	"method, aborts",
	[
		("save_mapping", True),  # while saving the Sync Mapping
		("save_cursor", True),  # at the end of the page
		("write_logs", False),  # a lock wait timeout: only the statement fails
		("insert_invoice", False),
	],
)
def test_any_database_failure_in_a_page_is_retried_whole_never_a_failed_invoice(w, method, aborts):
	ids = [w.invoice() for _ in range(3)]
	w.portal.clock()  # the last invoice's second closes: the cursor may pass it
	w.port.fail_on(method, nth=2 if method in ("save_mapping", "insert_invoice") else 1, aborts=aborts)
	counts = pull(w, [])
	assert counts_of(counts) == {"created": 3}
	assert sorted(invoices_of(w)) == ids and len(w.port.s.invoices) == 3
	assert [e.procureuat_id for e in w.port.logs_of(SUCCESS, "Create")] == ids
	assert w.port.get_cursor()[1] == ids[-1]


def test_a_failure_while_marking_an_invoice_failed_is_not_taken_for_the_invoice(w):
	bad = w.invoice(w.line(gst_amt="17.00"))  # off every GST slab: a real failure of this invoice
	good = w.invoice()
	w.port.fail_on("save_mapping", nth=1)  # the database goes away while saving its Failed mapping
	counts = pull(w, [])
	assert counts_of(counts) == {"created": 1, "failed": 1}
	assert w.mapping(bad).status == FAILED and w.name(good)
	assert len(w.port.logs_of(FAILED, "Create")) == 1  # the invoice's own failure; none for the database


# ---------------------------------------------------------------- time


def test_a_row_dated_a_day_ahead_is_pulled_reported_once_and_hides_nothing(w):
	future = w.portal.now + timedelta(days=1)
	ahead = w.invoice(updated_at=future)
	assert counts_of(pull(w)) == {"created": 1}
	assert w.port.get_cursor() <= (w.portal.now, 0)  # never past the portal's clock
	later = w.invoice()  # written now by the portal's clock, long before `future`
	assert counts_of(pull(w)) == {"created": 1}
	assert w.name(later) and w.name(ahead)
	w.portal.edit(ahead, remark="edited, still dated ahead", updated_at=future)
	assert counts_of(pull(w)) == {"updated": 1}
	for _ in range(3):
		w.rerun_changes_nothing()
	dates = w.port.logs_of(SKIPPED, PORTAL_DATE)
	assert len(dates) == 1 and dates[0].procureuat_id == ahead
	assert f"change time {future:%Y-%m-%d %H:%M:%S} is later than the portal's clock" in dates[0].message


def test_a_row_with_an_impossible_date_is_pulled_reported_once_and_stops_nothing(w):
	bad = w.invoice(updated_at="2026-00-15 10:00:00")  # month 0, kept by MariaDB outside strict mode
	good = w.invoice()
	assert counts_of(pull(w)) == {"created": 2} and w.name(good) and w.name(bad)
	assert w.port.get_cursor()[0] <= w.portal.now
	w.rerun_changes_nothing()
	later = w.invoice()
	pull(w)
	assert w.name(later)
	dates = w.port.logs_of(SKIPPED, PORTAL_DATE)
	assert len(dates) == 1 and dates[0].procureuat_id == bad
	assert "impossible date(s) on the portal (updated_at 2026-00-15 10:00:00; " in dates[0].message


def test_a_skewed_erpnext_clock_changes_nothing(w):
	"""The pull never compares portal times with ERPNext's clock (`clock` is only written)."""
	ids = [w.invoice() for _ in range(3)]
	for skew in (timedelta(minutes=10), -timedelta(minutes=10)):
		clock = lambda skew=skew: w.portal.now + skew  # noqa: E731
		PullEngine(w.port, w.portal, w.settings, clock=clock).run()
		w.portal.edit(ids[0], remark=f"edited at skew {skew}")
		counts = PullEngine(w.port, w.portal, w.settings, clock=clock).run()
		assert counts_of(counts) == {"updated": 1}
		assert w.doc(ids[0])["remarks"] == f"edited at skew {skew}"


# ---------------------------------------------------------------- the cursor of each portal, new entities


def test_each_database_connection_has_its_own_cursor(w):
	w.invoice()
	pull(w)
	cursor_a = w.port.get_cursor()
	w.port.connection = "ProcureUAT Staging"
	assert w.port.get_cursor() == (None, 0)  # another portal starts from its own cursor
	w.portal = InMemoryPortal()
	other = w.portal.add_vendor("Sharma Traders", "V001", "27AAAPS1234A1Z5")
	assert other == w.vendors["same"]
	rid = w.portal.add_invoice(ENTITY, [w.line()], id=500, invoice_number="STG/26-27/0001")
	assert counts_of(pull(w)) == {"created": 1} and w.name(rid)
	w.port.connection = "ProcureUAT"
	assert w.port.get_cursor() == cursor_a


def test_a_newly_mapped_entity_gets_its_existing_invoices_on_the_next_run(w):
	mine = w.invoice()
	theirs = [w.portal.add_invoice("7", [w.line()]) for _ in range(3)]
	assert pull(w)["skipped"] == 3
	assert w.port.pulled_entities() == {ENTITY}
	w.invoice()  # the cursor is now past the entity's invoices
	entities = dict(w.settings.entities)
	entities["7"] = m.EntityConfig("7", COMPANY, COMPANY_GSTIN, "CGST", "SGST", "IGST", "Purchases", "Main")
	before = w.portal.query_count
	counts = pull(w, pull_batch_size=2, entities=entities)
	assert counts["created"] == 4  # the new invoice of entity 1 and entity 7's three
	assert all(w.name(rid) for rid in theirs) and w.name(mine)
	assert w.port.pulled_entities() == {ENTITY, "7"}
	# the backfill read entity 7 alone, two statements per page of 2 (headers, lines) + vendors
	assert w.portal.query_count - before <= 3 * (counts["batches"] + 1)
	w.rerun_changes_nothing()
	# unmapped again, then mapped again: read from the start again (what changed meanwhile)
	pull(w, entities={ENTITY: entities[ENTITY]})
	assert w.port.pulled_entities() == {ENTITY}


# ---------------------------------------------------------------- reconciliation and rescan


def test_reconcile_finds_what_the_cursor_missed_and_applies_it(w):
	ids = [w.invoice() for _ in range(5)]
	pull(w)
	late = w.portal.now - timedelta(hours=1)  # an application server whose clock runs an hour late
	w.portal.edit(ids[1], remark="edited, stamped late", updated_at=late)
	missed = w.invoice(updated_at=late)
	assert counts_of(pull(w)) == {}  # behind the cursor: the pull cannot see them
	before = w.portal.query_count
	result = reconcile(engine(w, pull_batch_size=2), since=w.portal.now - timedelta(days=30))
	assert (result["read"], result["slices"], result["missed"]) == (6, 6, 2)
	assert result["created"] == 1 and result["updated"] == 1
	assert w.doc(ids[1])["remarks"] == "edited, stamped late" and w.name(missed)
	assert w.portal.query_count - before <= 3 * result["batches"]  # constant per page
	row = w.port.logs_of(SUCCESS, "Reconcile")[-1].message
	assert "6 invoice(s) read, 6 compared, 2 missed by the cursor, applied: created 1, updated 1" in row
	again = reconcile(engine(w), since=w.portal.now - timedelta(days=30))
	assert again["missed"] == 0 and again["created"] == again["updated"] == 0
	w.rerun_changes_nothing()


def test_rescan_from_a_date_rereads_without_duplicating(w):
	ids = [w.invoice() for _ in range(4)]
	pull(w)
	cursor = w.port.get_cursor()
	day = (w.portal.now - timedelta(days=1)).date()
	assert rescan_from(engine(w), day, "accounts@example.com")[0] < cursor[0]
	counts = pull(w)
	assert counts["unchanged"] == 4 and counts_of(counts) == {}
	assert len(w.port.s.invoices) == 4 and sorted(invoices_of(w)) == ids
	assert w.port.get_cursor() == cursor
	assert "moved back" in w.port.logs_of(SUCCESS, "Rescan")[0].message
	# never forward
	assert rescan_from(engine(w), (w.portal.now + timedelta(days=3)).date()) == cursor


def test_a_reconciliation_that_keeps_failing_stops_with_one_row_and_moves_no_cursor(w):
	ids = [w.invoice() for _ in range(3)]
	pull(w)
	cursor = w.port.get_cursor()
	w.portal.edit(ids[0], remark="stamped late", updated_at=w.portal.now - timedelta(hours=1))
	w.port.fail_on("update_invoice", times=None)
	sleeps = []
	with pytest.raises(TransientError):
		reconcile(engine(w, sleeps), since=w.portal.now - timedelta(days=30))
	assert sleeps == [1, 2, 4] and w.port.get_cursor() == cursor
	rows = w.port.logs_of(FAILED)
	assert [(e.operation, e.message.split(":")[0]) for e in rows] == [("Reconcile", "Reconcile stopped")]
	del w.port.update_invoice
	assert reconcile(engine(w), since=w.portal.now - timedelta(days=30))["updated"] == 1


def test_a_first_run_cut_by_its_limit_needs_no_backfill_later(w):
	for _ in range(5):
		w.invoice()
	assert engine(w).run(limit=2)["created"] == 2
	assert w.port.pulled_entities() == {ENTITY}  # the cursor carries the rest from where it stopped
	before = w.portal.query_count
	assert counts_of(pull(w)) == {"created": 3}
	assert w.portal.query_count - before == 3  # one page: no second pass from the start
