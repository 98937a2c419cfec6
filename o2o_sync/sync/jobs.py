"""Background jobs enqueued by the doc events (events.py) and the scheduler.

Each job reaches the portal over the SSH tunnel all worker processes share (one per
connection, outliving the forked job processes, reopened when it died; see
`tunnel_service`) and commits its own ERPNext bookkeeping.
"""

import frappe
from frappe.utils import now_datetime

from .push import PushEngine, PushSettings
from .sync_utils import SETTINGS, gst_accounts, portal_client, pull_settings


def push_engine() -> PushEngine:
	"""A PushEngine over the Frappe port, the cached portal client and the settings."""
	from .erpnext_port import FrappePushPort

	settings = frappe.get_doc(SETTINGS)
	pull = pull_settings(settings)
	entity_by_company = {}
	for e in pull.entities.values():
		entity_by_company.setdefault(e.company, e.entity_id)
	return PushEngine(
		FrappePushPort(gst_accounts(pull), entity_by_company),
		portal_client(),
		PushSettings(
			invoice_prefix=settings.invoice_prefix or "O2O", portal_user_id=int(settings.portal_user_id or 0)
		),
		clock=now_datetime,
	)


def push_invoice(invoice_name: str) -> dict:
	"""Job: push one submitted Purchase Invoice (see `PushEngine.push`)."""
	result = push_engine().push(invoice_name)
	frappe.db.commit()  # nosemgrep: a job commits its own bookkeeping
	return result


def cancel_invoice(invoice_name: str) -> dict:
	"""Job: mark a cancelled pushed invoice's portal row cancelled."""
	result = push_engine().cancel(invoice_name)
	frappe.db.commit()  # nosemgrep
	return result


def sync_payment_states(invoice_names: list[str] | None = None) -> dict:
	"""Job: send `finance_status` of the given (or all) mapped invoices whose state moved."""
	result = push_engine().sync_payment_states(invoice_names)
	frappe.db.commit()  # nosemgrep
	return result
