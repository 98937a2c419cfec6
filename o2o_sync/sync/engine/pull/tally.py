"""What a pull run counted and the Sync Log rows it has yet to write; committed with each unit
(`run.PullEngine.unit`) and forgotten with a unit that rolled back."""

from collections import Counter

from o2o_sync.sync.model.port import PULL, ERPNextPort, LogEntry

COUNT_KEYS = ("created", "updated", "unchanged", "cancelled", "failed", "linked", "conflict", "deleted")


class Tally:
	"""The run's counts (`COUNT_KEYS`, Purchase Invoices) and pending Sync Log rows.

	Args: `port`, the `ERPNextPort` the rows are written through.
	"""

	def __init__(self, port: ERPNextPort):
		self.port = port
		self.counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
		self.logs: list[LogEntry] = []

	def log(self, operation, status, message, *, invoice=None, reference=None, tb=None, duration_ms=0):
		"""Queue a pull Sync Log row; `invoice`, the `PortalInvoice` it is about; `reference`,
		the Purchase Invoice name; `duration_ms`, milliseconds."""
		self.logs.append(
			LogEntry(
				direction=PULL,
				operation=operation,
				status=status,
				message=message,
				reference_doctype="Purchase Invoice" if reference else None,
				reference_name=reference,
				procureuat_id=invoice.id if invoice is not None else None,
				traceback=tb,
				duration_ms=duration_ms,
			)
		)

	def flush(self):
		"""Write the queued rows and commit (the unit's end)."""
		if self.logs:
			self.port.write_logs(self.logs)
			self.logs = []
		self.port.commit()

	def mark(self) -> tuple:
		"""What `restore` goes back to: the counts and rows as they are now."""
		return Counter(self.counts), len(self.logs)

	def restore(self, mark: tuple):
		"""Forget what was counted and logged since `mark` (a unit rolled back)."""
		counts, n_logs = mark
		self.counts = counts
		del self.logs[n_logs:]
