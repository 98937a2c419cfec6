"""The console's names for o2o_sync (README, "Console"): one import for everything a person runs.

From `bench --site SITE console`::

        from o2o_sync.sync import sync_utils

        sync_utils.test_database_connection()
        sync_utils.bulk_sync_from_external(from_date="2026-04-01")
        sync_utils.backfill(from_date="2024-04-01", jobs=4)  # the history, in parallel parts
        sync_utils.manual_sync_invoice_to_external("ACC-PINV-2026-00012")
        sync_utils.rescan_from_date("2026-10-01")  # read again from a date, nothing duplicated
        sync_utils.reconcile_now(days=7)  # compare with the portal, apply what the cursor missed
        sync_utils.field_maps()  # the settings' field maps as the engine reads them

Nothing is defined here: each name is the function of the module that owns it, so
`bench execute o2o_sync.sync.sync_utils.X` and `frappe.call` on that path run exactly it
(a re-exported whitelisted function stays whitelisted: Frappe checks the function object).

- desk actions, with their role checks: `desk`
- scheduler entry points: `scheduler`
- O2O Sync Settings read for the engines, and the portal client: `engines`
- what the sync holds for a person and settling it: `resolution`; the state at a glance: `status`
"""

from o2o_sync.sync.backfill_state import backfill_progress
from o2o_sync.sync.desk import (
	backfill,
	bulk_sync_from_external,
	manual_sync_invoice_to_external,
	reconcile_now,
	rescan_from_date,
	test_database_connection,
)
from o2o_sync.sync.engines import (
	connection_config,
	field_maps,
	get_settings,
	gst_accounts,
	portal_client,
	pull_settings,
	sync_enabled,
)
from o2o_sync.sync.resolution import get_conflict, list_conflicts, resolve_conflict
from o2o_sync.sync.scheduler import (
	reconcile_payment_states,
	retry_pending_pushes,
	scheduled_sync_from_external,
)
from o2o_sync.sync.status import sync_status

__all__ = [
	"backfill",
	"backfill_progress",
	"bulk_sync_from_external",
	"connection_config",
	"field_maps",
	"get_conflict",
	"get_settings",
	"gst_accounts",
	"list_conflicts",
	"manual_sync_invoice_to_external",
	"portal_client",
	"pull_settings",
	"reconcile_now",
	"reconcile_payment_states",
	"rescan_from_date",
	"resolve_conflict",
	"retry_pending_pushes",
	"scheduled_sync_from_external",
	"sync_enabled",
	"sync_status",
	"test_database_connection",
]
