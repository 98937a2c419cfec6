"""Desk actions: what a person runs from a form button, `frappe.call` or `bench execute`.

Each checks who may run it (one of `MANAGER_ROLES`, plus the document's own permission)
and then does what the background jobs and the engines do (`jobs`, `engines`). The console
names them through `sync_utils` (see README, "Console").
"""

import frappe

from o2o_sync.constants import (
	DATABASE_CONNECTION,
	FAILED,
	MANAGER_ROLES,
	ORIGIN_PORTAL,
	PULL,
	PURCHASE_INVOICE,
	SETTINGS,
	SUCCESS,
	SYNC_MAPPING,
	SYNCED,
)

from .engines import connection_config, push_engine
from .jobs import run_pull, write_logs_now
from .port import LogEntry


@frappe.whitelist()
def test_database_connection(connection: str | None = None) -> dict:
	"""Test a Database Connection the way its "Test Connection" button does.

	Args: the Database Connection name (default: the one O2O Sync Settings names).
	Returns `{"ok", "latency_ms", "server_version", "missing_tables", "tables_ok", "message"}` or
	`{"ok": False, "reason", "message"}`; never a secret. Writes a Sync Log row. Raises
	frappe.PermissionError without Accounts Manager / System Manager.
	"""
	frappe.only_for(MANAGER_ROLES)
	# imported here: the portal driver is loaded only when a connection is tested
	from .procureuat_client import test_connection

	result = test_connection(connection_config(connection))
	write_logs_now(
		[
			LogEntry(
				direction=PULL,
				operation="Test Connection",
				status=SUCCESS if result["ok"] else FAILED,
				message=result["message"],
				reference_doctype=DATABASE_CONNECTION,
				reference_name=connection or frappe.db.get_single_value(SETTINGS, "database_connection"),
				duration_ms=int(result.get("latency_ms") or 0),
			)
		]
	)
	return result


@frappe.whitelist()
def bulk_sync_from_external(from_date=None, limit=None) -> dict:
	"""Pull ProcureUAT invoices into Purchase Invoices now (contract, "Pull").

	Args: `from_date` ("YYYY-MM-DD", Asia/Kolkata), the cut-over: invoices dated before
	it are never pulled, and it is kept in the settings for the scheduled runs;
	`limit`, the most portal invoices to read this call.
	Returns counts `{"created", "updated", "unchanged", "cancelled", "failed", "linked",
	"conflict", "deleted", "skipped", "batches"}`, or `{"status": "busy"}` when another
	pull holds the lock. Raises ProcureUATConnectionError when the portal is unreachable
	(also written to the Sync Log), frappe.PermissionError without Accounts Manager /
	System Manager. See `jobs.run_pull`.
	"""
	frappe.only_for(MANAGER_ROLES)
	return run_pull(from_date=from_date, limit=limit)


@frappe.whitelist()
def manual_sync_invoice_to_external(invoice_name: str) -> dict:
	"""Push one Purchase Invoice to ProcureUAT now, from the console or the form's button.

	Args: the Purchase Invoice name. Returns `{"status": "Synced"|"Failed"|"Skipped",
	"message", "procureuat_id", "invoice_number"}`; a pulled invoice only has its
	payment state sent. Raises frappe.PermissionError without submit rights on the
	invoice and one of the roles Accounts Manager / System Manager.
	"""
	frappe.only_for(MANAGER_ROLES)
	frappe.has_permission(PURCHASE_INVOICE, "submit", invoice_name, throw=True)
	engine = push_engine()
	origin = frappe.db.get_value(SYNC_MAPPING, {"purchase_invoice": invoice_name}, "origin")
	if origin == ORIGIN_PORTAL:
		result = engine.sync_payment_states([invoice_name])
		outcome = {
			"status": SYNCED,
			"message": f"{invoice_name} came from ProcureUAT; payment state sent ({result})",
		}
	else:
		outcome = engine.push(invoice_name)
	frappe.db.commit()  # nosemgrep: the push's bookkeeping is committed before the answer
	return outcome
