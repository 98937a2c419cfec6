"""A person's Retry of failed invoices (`PullEngine.retry`) and the pull's progress per batch
(`PullEngine.on_batch`), on the in-memory portal and ERPNext (issue 8, "The operator's desk")."""

from decisions_world import World

from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.model.port import FAILED, SYNCED


def engine(w: World) -> PullEngine:
	return PullEngine(w.port, w.portal, w.settings)


def test_on_batch_reports_each_committed_batch_with_the_counts_so_far():
	w = World()
	for _ in range(60):
		w.invoice()
	seen = []
	pull = engine(w)
	pull.on_batch = lambda counts, read, batches: seen.append((counts["created"], read, batches))
	counts = pull.run()
	# 25 per batch: 25, 50, 60 read; each call after the batch's invoices were written
	assert seen == [(25, 25, 1), (50, 50, 2), (60, 60, 3)]
	assert counts["created"] == 60 and counts["batches"] == 3
	assert len(w.port.s.invoices) == 60


def test_retry_pulls_only_the_failed_slice_again_and_leaves_the_cursor():
	w = World()
	good = w.invoice()
	bad = w.invoice(w.line(gst_amt="17.00"), w.line(vendor="other"))  # one vendor's line is off-slab
	assert engine(w).run()["failed"] == 1
	assert w.mapping(bad).status == FAILED and w.mapping(bad, "other").status == SYNCED
	cursor = w.port.get_cursor()

	# fixed on the portal without moving `updated_at`: only a retry (or the next run) sees it
	[line_id] = [
		i
		for i, r in w.portal.lines.items()
		if r["purchase_order_id"] == bad and r["vendor_id"] == w.vendors["same"]
	]
	w.portal.edit_line(line_id, gst_amt="18.00", updated_at=w.portal.lines[line_id]["updated_at"])
	other_before = w.doc(bad, "other")
	counts = engine(w).retry([bad], [(bad, w.vendors["same"])])
	assert counts["created"] == 1 and counts["failed"] == 0
	assert w.mapping(bad).status == SYNCED
	assert w.totals(bad) == (100, 18)
	assert w.doc(bad, "other") == other_before  # the slice that went through is left alone
	assert w.port.get_cursor() == cursor
	assert w.mapping(good).status == SYNCED


def test_retry_of_a_requisition_no_key_names_retries_every_slice():
	w = World()
	rid = w.invoice(w.line(), w.line(vendor="other"))
	engine(w).run()
	counts = engine(w).retry([rid])
	# forced: both slices applied again, nothing changes on either side
	assert counts["failed"] == 0 and counts["created"] == 0
	assert w.mapping(rid).status == SYNCED and w.mapping(rid, "other").status == SYNCED
	w.rerun_changes_nothing()
