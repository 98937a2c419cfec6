"""Parallel backfill (issue 13): the portal's history read in N parts at once, each a range of
requisition ids with its own cursor, by its own job, on any worker of the bench.

- **Boundary.** A backfill starts at a boundary B, the portal's own NOW() less one second (a
  closed second, `run.CLOSED_SECONDS`): the parts read only invoices whose change time is
  before B; the incremental pull's cursor is set to (B, 0), so everything changed from B on
  (during the backfill too) is the incremental pull's, which runs once the last part is done.
  Each invoice is therefore read by one part, or by the incremental pull after it.
- **Parts.** `plan_parts` splits the ascending requisition ids in scope into contiguous
  ranges of near-equal counts that together cover every id (the first from 0, the last to
  `LAST_ID`), so parts never share a requisition, and so never a (requisition, vendor) slice
  or its Purchase Invoice.
- **Pages.** A part reads pages of `PART_PAGE` invoices on its own (change time, requisition
  id) cursor, strictly after it; each page is a unit of the run (`PullEngine.unit`): its
  invoices applied (a savepoint each), its cursor, read count and counts saved with it, then
  one commit. A killed part loses only the page in flight and resumes after its cursor.
- **What serialises parallel inserts in ERPNext, and the way around it:** a naming series
  (`tabSeries ... FOR UPDATE` in `frappe.model.naming.getseries`) is locked from an invoice's
  naming until its transaction commits, and naming comes before validation, so two parts
  inserting Purchase Invoices would take turns a page at a time. The port reserves each
  page's names in a short transaction of its own before the page (`reserve_invoice_names`).
  Suppliers are created in a first pass before the parts start (`prepare_suppliers`); any
  other master two parts create at once (an Item Tax Template) fails one of them with a
  duplicate key, which the port reports as transient there: the page is rolled back and
  read again, finding the master the other part committed.

Frappe-free: it runs over the engine's port and the portal client.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from o2o_sync.sync.model.errors import O2OSyncError

#: Portal invoices per page of a part: small, as each page is one transaction (locks on shared
#: rows, such as a submitted invoice's GL Entry naming series, last until it commits).
PART_PAGE = 25
#: The last requisition id the last part covers: the largest INT (contract: `purchase_requisitions.id` is INT).
LAST_ID = 2**31 - 1


@dataclass
class PartState:
	"""One part as its port keeps it: `name` (the port's key), `first_id` and `last_id`
	(requisition ids, inclusive), `cursor` ((change time, requisition id) read up to; None
	time: nothing yet), `read` (portal invoices read), `counts` (created, updated, unchanged,
	failed, ... so far), `done`."""

	name: str
	first_id: int
	last_id: int
	cursor: tuple[datetime | None, int] = (None, 0)
	read: int = 0
	counts: dict | None = None
	done: bool = False


def plan_parts(ids: list[int], jobs: int) -> list[tuple[int, int, int]]:
	"""Split ascending requisition ids into at most `jobs` (at least 1) contiguous ranges of
	near-equal counts covering every id from 0 to `LAST_ID`.

	Returns [(first id, last id, invoices in the range)], one per part; a single part
	(0, LAST_ID, n) when there are fewer ids than parts would need or none at all."""
	jobs = max(1, int(jobs))
	ids = sorted(ids)
	n = min(jobs, len(ids)) or 1
	parts, start, first = [], 0, 0
	for k in range(n):
		end = (len(ids) * (k + 1)) // n  # ids[start:end] is part k
		last = LAST_ID if k == n - 1 else ids[end - 1]
		parts.append((first, last, end - start))
		first, start = last + 1, end
	return parts


def prepare_suppliers(engine, vendors: dict) -> int:
	"""The backfill's first pass: resolve (link or create) the Supplier of every vendor in
	scope, each in its own committed unit, so that parts running at once never race to
	create one (contract, "Pull": Supplier). A vendor whose Supplier is ambiguous is left to
	its invoices, which fail with the usual message naming them.

	Args: `engine`, a `run.PullEngine`; `vendors`, {vendor id: Vendor} (`vendors_of_scope`).
	Returns how many vendors have a Supplier now."""
	resolved = 0
	for vendor_id in sorted(vendors):
		try:
			engine.unit(partial(engine.masters.supplier, _NoInvoice(), vendors[vendor_id]), set())
			resolved += 1
		except O2OSyncError:
			engine.port.rollback()
	return resolved


@dataclass
class _NoInvoice:
	"""What `masters.supplier` names an invoice by (`mapping.invoice_label`), when there is
	none yet: its messages then name requisition 0."""

	id: int = 0
	invoice_number: str = ""


class BackfillPart:
	"""Reads one part of a backfill (`run`) with a `run.PullEngine`'s units, masters and
	slices, saving the part's own cursor and counts with each page.

	Args: `engine`, the `PullEngine` (its port must have `save_backfill_part` and
	`reserve_invoice_names`); `part`, the `PartState` as saved; `boundary`, the backfill's
	boundary (portal time); `page`, invoices per page.
	"""

	def __init__(self, engine, part: PartState, boundary: datetime, page: int = PART_PAGE):
		self.engine = engine
		self.part = part
		self.boundary = boundary
		self.page = max(1, int(page))
		self.base = dict(part.counts or {})

	def counts(self) -> dict:
		"""The part's counts: those saved before this run plus this run's."""
		out = dict(self.base)
		for key, value in self.engine.counts.items():
			out[key] = out.get(key, 0) + value
		return out

	def run(self, deadline: float | None = None) -> bool:
		"""Read the part's pages after its cursor until none is left or `deadline`
		(`time.monotonic()`) passes (at least one page is read).

		Returns True when the part is done (its last page committed with `done`). Raises
		`ProcureUATConnectionError` (portal unreachable) and `TransientError` (ERPNext's
		database kept failing; one Failed Sync Log row): what was committed stays."""
		engine, part = self.engine, self.part
		engine.deadline, engine.stopping = deadline, ("Backfill part", "Backfill")
		settings = engine.settings
		entities = set(settings.entities)
		seen: set[tuple[int, int]] = set()
		pages = 0
		while not part.done:
			if pages and engine.out_of_time():
				return False
			engine.port.reserve_invoice_names(self.page)
			batch = engine.client.fetch_invoice_batch(
				part.cursor,
				self.page,
				entities,
				from_date=settings.from_date,
				only_entities=entities,
				id_range=(part.first_id, part.last_id),
				before=self.boundary,
			)
			# the part's state moves once its unit committed (a unit retried reads the page again)
			part.cursor, part.read, part.done = engine.unit(partial(self._page, batch, seen), seen)
			pages += 1
		return True

	def _page(self, batch, seen) -> tuple:
		"""Apply one page and save the part's cursor, read count, counts and `done` with it.
		Returns (cursor, read, done) as saved."""
		engine, part = self.engine, self.part
		if batch.invoices:
			engine.dates.read(batch)
			engine.slices.process(batch.invoices, seen)
		cursor = batch.last_key if batch.rows_read else part.cursor
		read = part.read + batch.rows_read
		done = batch.rows_read < self.page
		engine.port.save_backfill_part(part.name, cursor, read, self.counts(), done)
		return cursor, read, done
