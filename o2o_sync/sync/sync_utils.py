"""The console's names for o2o_sync (README, "Console"): one import for everything a person runs.

From `bench --site SITE console`::

        from o2o_sync.sync import sync_utils

        sync_utils.test_database_connection()
        sync_utils.bulk_sync_from_external(from_date="2026-04-01")
        sync_utils.manual_sync_invoice_to_external("ACC-PINV-2026-00012")

Nothing is defined here: each name is the function of the module that owns it, so
`bench execute o2o_sync.sync.sync_utils.X` and `frappe.call` on that path run exactly it
(a re-exported whitelisted function stays whitelisted: Frappe checks the function object).

- desk actions, with their role checks: `desk`
- scheduler entry points: `scheduler`
- O2O Sync Settings read for the engines, and the portal client: `engines`
"""

from .desk import bulk_sync_from_external, manual_sync_invoice_to_external, test_database_connection
from .engines import (
	connection_config,
	get_settings,
	gst_accounts,
	portal_client,
	pull_settings,
	sync_enabled,
)
from .scheduler import reconcile_payment_states, retry_pending_pushes, scheduled_sync_from_external

__all__ = [
	"bulk_sync_from_external",
	"connection_config",
	"get_settings",
	"gst_accounts",
	"manual_sync_invoice_to_external",
	"portal_client",
	"pull_settings",
	"reconcile_payment_states",
	"retry_pending_pushes",
	"scheduled_sync_from_external",
	"sync_enabled",
	"test_database_connection",
]
