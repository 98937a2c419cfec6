"""Console utilities and scheduler entry points of o2o_sync.

From `bench --site SITE console`::

        from o2o_sync.sync import sync_utils

        sync_utils.test_database_connection()
        sync_utils.bulk_sync_from_external(from_date="2026-04-01")
        sync_utils.manual_sync_invoice_to_external("ACC-PINV-2026-00012")
"""

import frappe
from frappe import _
from frappe.utils import getdate, now_datetime

from .errors import ProcureUATConnectionError
from .mapping import EntityConfig, PullSettings
from .port import FAILED, PULL, LogEntry

SETTINGS = "O2O Sync Settings"
MANAGER_ROLES = ("System Manager", "Accounts Manager")


def sync_enabled() -> bool:
	"""True when O2O Sync Settings is enabled (scheduled jobs and doc events act only then)."""
	return bool(frappe.db.get_single_value(SETTINGS, "enabled"))


def get_settings():
	"""The O2O Sync Settings document (Single)."""
	return frappe.get_cached_doc(SETTINGS)


def pull_settings(settings=None) -> PullSettings:
	"""O2O Sync Settings as the engine's `PullSettings` (entities keyed by portal entity id)."""
	s = settings or frappe.get_doc(SETTINGS)
	entities = {
		str(row.entity_id).strip(): EntityConfig(
			entity_id=str(row.entity_id).strip(),
			company=row.company,
			company_gstin=(row.company_gstin or "").strip().upper(),
			cgst_account=row.cgst_account,
			sgst_account=row.sgst_account,
			igst_account=row.igst_account,
			expense_account=row.expense_account,
			cost_center=row.cost_center,
		)
		for row in s.entities
	}
	from_date = s.get("pull_from_date")
	return PullSettings(
		default_item=s.default_item,
		freight_item=s.freight_item,
		supplier_group=s.supplier_group,
		submit_pulled_invoices=bool(s.submit_pulled_invoices),
		conflict_strategy=s.conflict_strategy or "Hold for review",
		pull_batch_size=int(s.pull_batch_size or 200),
		from_date=getdate(from_date) if from_date else None,
		entities=entities,
	)


def gst_accounts(settings: PullSettings) -> set[str]:
	"""Every CGST/SGST/IGST account named in the entity mappings."""
	return {
		a for e in settings.entities.values() for a in (e.cgst_account, e.sgst_account, e.igst_account) if a
	}


def connection_config(connection: str | None = None):
	"""The `ConnectionConfig` of a Database Connection (default: the one in the settings).

	Raises frappe.ValidationError when none is configured.
	"""
	name = connection or frappe.db.get_single_value(SETTINGS, "database_connection")
	if not name:
		frappe.throw(_("Set a Database Connection in O2O Sync Settings first"))
	return frappe.get_doc("Database Connection", name).get_connection_config()


def portal_client(connection: str | None = None):
	"""The ProcureUAT client of this process, over the SSH tunnel all worker processes share
	(one per connection, reopened when it died; see `tunnel_service`)."""
	from .procureuat_client import get_client

	return get_client(connection_config(connection), shared_tunnel=True)


@frappe.whitelist()
def test_database_connection(connection: str | None = None) -> dict:
	"""Test a Database Connection the way its "Test Connection" button does.

	Returns `{"ok", "latency_ms", "server_version", "missing_tables", "message"}` or
	`{"ok": False, "reason", "message"}`; never a secret. Writes a Sync Log row.
	"""
	frappe.only_for(MANAGER_ROLES)
	from .procureuat_client import test_connection

	result = test_connection(connection_config(connection))
	_write_logs(
		[
			LogEntry(
				direction=PULL,
				operation="Test Connection",
				status="Success" if result["ok"] else FAILED,
				message=result["message"],
				reference_doctype="Database Connection",
				reference_name=connection or frappe.db.get_single_value(SETTINGS, "database_connection"),
				duration_ms=int(result.get("latency_ms") or 0),
			)
		]
	)
	return result


def _write_logs(entries):
	from .erpnext_port import FrappePort

	FrappePort().write_logs(entries)
	frappe.db.commit()  # nosemgrep: a log row must survive the request that wrote it


@frappe.whitelist()
def bulk_sync_from_external(from_date=None, limit=None) -> dict:
	"""Pull ProcureUAT invoices into Purchase Invoices now (contract, "Pull").

	Args: `from_date` ("YYYY-MM-DD", Asia/Kolkata), the cut-over: invoices dated before
	it are never pulled, and it is kept in the settings for the scheduled runs;
	`limit`, the most portal invoices to read this call.
	Returns counts `{"created", "updated", "unchanged", "cancelled", "failed", "linked",
	"conflict", "deleted", "skipped", "batches"}`, or `{"status": "busy"}` when another
	pull holds the lock. Raises ProcureUATConnectionError when the portal is unreachable
	(also written to the Sync Log).
	"""
	frappe.only_for(MANAGER_ROLES)
	from frappe.utils.file_lock import LockTimeoutError
	from frappe.utils.synchronization import filelock

	from .erpnext_port import FrappePort
	from .pull import PullEngine

	if from_date:
		frappe.db.set_single_value(SETTINGS, "pull_from_date", getdate(from_date))
	settings = pull_settings()
	try:
		with filelock("o2o_sync_pull", timeout=1):
			try:
				engine = PullEngine(FrappePort(gst_accounts(settings)), portal_client(), settings)
				counts = engine.run(limit=int(limit) if limit else None)
			except ProcureUATConnectionError as e:
				frappe.db.rollback()
				_write_logs([LogEntry(direction=PULL, operation="Pull Run", status=FAILED, message=str(e))])
				raise
	except LockTimeoutError:
		return {"status": "busy"}
	frappe.db.set_single_value(
		SETTINGS,
		{
			"last_pull_at": now_datetime(),
			"last_pull_summary": ", ".join(f"{k} {v}" for k, v in counts.items()),
		},
	)
	frappe.db.commit()  # nosemgrep
	return counts


def scheduled_sync_from_external() -> dict | None:
	"""Hourly scheduler job: pull when O2O Sync Settings is enabled; returns the counts
	of `bulk_sync_from_external`, or None when the sync is disabled."""
	if not sync_enabled():
		return None
	return bulk_sync_from_external()


def reconcile_payment_states():
	"""Every 15 minutes: catch payment states the doc events missed (payment reconciliation,
	unreconcile, ...): ERPNext moves `outstanding_amount` without firing the invoice's events."""
	if not sync_enabled():
		return
	from .jobs import sync_payment_states

	return sync_payment_states(None)


def retry_pending_pushes(older_than_seconds: int = 120, limit: int = 200) -> dict:
	"""Every 15 minutes: push again submitted invoices still Pending (a lost job, a portal that
	did not answer, a crash between the portal's commit and ERPNext's). Idempotent: a row
	already written is found by `order_code` and updated.

	Returns `{"retried": n}`.
	"""
	if not sync_enabled():
		return {"retried": 0}
	from frappe.utils import add_to_date

	from .jobs import push_engine

	names = frappe.get_all(
		"Purchase Invoice",
		filters={
			"docstatus": 1,
			"o2o_sync_status": "Pending",
			"modified": ["<", add_to_date(now_datetime(), seconds=-older_than_seconds)],
		},
		pluck="name",
		limit=limit,
		order_by="modified asc",
	)
	if names:
		engine = push_engine()
		for name in names:
			try:
				engine.push(name)
			except ProcureUATConnectionError:
				break  # the portal is down: the next run tries again
			finally:
				frappe.db.commit()  # nosemgrep
	return {"retried": len(names)}


@frappe.whitelist()
def manual_sync_invoice_to_external(invoice_name: str) -> dict:
	"""Push one Purchase Invoice to ProcureUAT now, from the console or the form's button.

	Args: the Purchase Invoice name. Returns `{"status": "Synced"|"Failed"|"Skipped",
	"message", "procureuat_id", "invoice_number"}`; a pulled invoice only has its
	payment state sent. Raises frappe.PermissionError without submit rights on the
	invoice and one of the roles Accounts Manager / System Manager.
	"""
	frappe.only_for(MANAGER_ROLES)
	frappe.has_permission("Purchase Invoice", "submit", invoice_name, throw=True)
	from .jobs import push_engine

	engine = push_engine()
	origin = frappe.db.get_value("Sync Mapping", {"purchase_invoice": invoice_name}, "origin")
	if origin == "ProcureUAT":
		result = engine.sync_payment_states([invoice_name])
		outcome = {
			"status": "Synced",
			"message": f"{invoice_name} came from ProcureUAT; payment state sent ({result})",
		}
	else:
		outcome = engine.push(invoice_name)
	frappe.db.commit()  # nosemgrep
	return outcome
