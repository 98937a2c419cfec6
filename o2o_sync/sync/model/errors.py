"""Errors raised by the sync engine and the ProcureUAT client.

Messages never contain a password, key, passphrase or connection string: they are
shown to desk users and written to Sync Log rows as they are.
"""


class O2OSyncError(Exception):
	"""Base class of every error the engine raises on purpose."""


class ProcureUATConnectionError(O2OSyncError):
	"""The portal could not be reached; `reason` is a short machine-readable code."""

	reason = "connection"


class BastionUnreachable(ProcureUATConnectionError):
	reason = "bastion_unreachable"


class HostKeyMismatch(ProcureUATConnectionError):
	reason = "host_key_mismatch"


class SSHAuthFailed(ProcureUATConnectionError):
	reason = "ssh_auth_refused"


class DatabaseRefused(ProcureUATConnectionError):
	reason = "database_refused"


class InvoiceError(O2OSyncError):
	"""One invoice cannot be synced; the rest of the batch carries on.

	`invoice` names the document (portal requisition id, or Purchase Invoice name),
	`field` the field at fault and `line` the portal line id or ERPNext row index.
	"""

	def __init__(self, message: str, *, invoice=None, field: str | None = None, line=None):
		super().__init__(message)
		self.invoice = invoice
		self.field = field
		self.line = line


class AmbiguousSupplier(InvoiceError):
	"""Two or more Suppliers match one portal vendor; a person must link one."""


class NeedsAttention(InvoiceError):
	"""The change is held for a person (conflict, paid invoice cancelled on the portal...)."""


class HostKeyNotConfigured(HostKeyMismatch):
	"""No (valid) bastion host key is configured, so the bastion cannot be verified.

	A HostKeyMismatch, so callers that handle a wrong key handle this too; its own
	`reason` lets the desk tell the admin to use "Fetch host key".
	"""

	reason = "host_key_not_configured"


class TransientError(O2OSyncError):
	"""A failure that is not about one invoice: ERPNext's database lost the connection,
	deadlocked, timed out waiting for a lock or rolled the whole transaction back under the
	engine (its savepoint no longer exists), or the worker is going away.

	The pull rolls back the batch it was in (nothing of it is claimed: no count, no Sync Log
	row, no cursor move), retries it with backoff, and after the last attempt stops the run
	leaving the cursor where it was (`pull_run.PullRun`). `reason` is the short text of the
	underlying error, for the Sync Log; it never holds a secret.
	"""

	reason = "transient"
