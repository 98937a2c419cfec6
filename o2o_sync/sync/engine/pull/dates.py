"""Portal dates the pull's cursor cannot trust (contract, "Pull"; the cursor never passes the
portal's NOW()): a change time later than the portal's clock, or an impossible date. Such a row
is synced but reported once: one Sync Log row per requisition, not again while its change time
stays the one its Sync Mapping holds."""

from datetime import datetime, timedelta

from o2o_sync.sync.engine.pull.tally import Tally
from o2o_sync.sync.model.mapping import invoice_label
from o2o_sync.sync.model.port import SKIPPED

#: How far past the portal's NOW() a change time is reported as dated in the future (a row
#: written by an application server whose clock runs a little ahead is not).
FUTURE_TOLERANCE = timedelta(minutes=5)
#: Sync Log operation of the report of a row's impossible or future date.
PORTAL_DATE = "Portal Date"


def moment_text(moment: datetime | None) -> str:
	"""A portal time as the Sync Log shows it (portal local time, Asia/Kolkata)."""
	return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "the start"


def time_notes(batch) -> dict[int, str]:
	"""`{requisition id: what is wrong with its date}` for a page's invoices dated past the
	portal's NOW() (by more than `FUTURE_TOLERANCE`) or holding an impossible date.

	Args: an `InvoiceBatch` (its `invoices`, `portal_now` and `date_faults`)."""
	notes = {}
	now = batch.portal_now
	for inv in batch.invoices:
		if fault := batch.date_faults.get(inv.id):
			notes[inv.id] = (
				f"impossible date(s) on the portal ({fault}); its change time is taken from its"
				f" other dates ({moment_text(inv.change_ts)}). Fix the date on the portal."
			)
		elif now is not None and inv.change_ts is not None and inv.change_ts > now + FUTURE_TOLERANCE:
			notes[inv.id] = (
				f"change time {moment_text(inv.change_ts)} is later than the portal's clock ({moment_text(now)});"
				" the invoice is synced, but the pull's cursor stays at the portal's clock and"
				" re-reads it until then. Fix the date on the portal."
			)
	return notes


class DateReports:
	"""The notes of the page being applied, and the requisitions already reported this run.

	Args: the run's `Tally`, which the reports are logged to.
	"""

	def __init__(self, tally: Tally):
		self.tally = tally
		self.notes: dict[int, str] = {}
		self.reported: set[int] = set()

	def read(self, batch) -> None:
		"""Take the notes of the page about to be applied (`time_notes`)."""
		self.notes = time_notes(batch)

	def report(self, inv, record) -> None:
		"""One Sync Log row for an invoice with a date the cursor cannot trust, the first time
		it is applied with that change time (not again while its Sync Mapping holds it)."""
		note = self.notes.get(inv.id)
		if not note or inv.id in self.reported:
			return
		if record is not None and record.portal_updated_at == inv.change_ts:
			return
		self.reported.add(inv.id)
		self.tally.log(PORTAL_DATE, SKIPPED, f"{invoice_label(inv)}: {note}", invoice=inv)
