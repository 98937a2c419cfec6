"""Invoices whose snapshot predates the run's column registry (issue 12: a field map added,
changed or removed), read again once so their snapshot moves to the new version.

The pull's cursor only finds invoices the portal changed; a map added in O2O Sync Settings
must still fill the drafts (and submitted invoices whose field allows on submit) already
synced, once, and a map removed must stop being compared. `refresh_outdated` reads up to
`REFRESH_LIMIT` such Synced mappings per run, by id, and applies them as a retry does: the
snapshot is upgraded (`merge.upgrade_snapshot`: a newly mapped field the Purchase Invoice
does not hold yet reads as the portal's edit, nothing reads as ERPNext's), so a draft takes
the portal's value with one Sync Log row, and an unchanged one just saves its new snapshot.
Once a run finds none left, the port remembers the version (`refreshed_version`), and later
runs of it skip the search, which reads every Synced mapping's snapshot (0.34 s at 20,000).
"""

from o2o_sync.sync.model import merge

#: Outdated mappings read per run (the rest follow on the next runs).
REFRESH_LIMIT = 500


def refresh_outdated(engine, seen: set) -> None:
	"""Apply, once, the Synced mappings of `engine` (a `PullEngine`) whose snapshot carries
	another registry version than the engine's, not already seen by this run; commits."""
	version = merge.registry_version(engine.registry)
	if engine.port.refreshed_version() == version:  # none left: no scan of every snapshot per run
		return
	found = engine.port.mappings_outdated(version, REFRESH_LIMIT)
	if not found:
		engine.port.save_refreshed_version(version)
		return
	outdated = [r for r in found if r.key not in seen]
	if not outdated:
		return
	invoices = engine.client.fetch_invoices(sorted({r.procureuat_id for r in outdated}))
	engine.slices.process(invoices, seen, only={r.key for r in outdated}, force=True)
	engine.tally.flush()
