# The table of contents of o2o_sync: what Frappe runs, and where it lives. Frappe reads every public
# name of this module as a hook, so the DocType names come in under a private alias.
import o2o_sync.constants as _c

app_name = "o2o_sync"
app_title = "O2O Sync"
app_publisher = "o2o_sync developers"
app_description = "Two-way sync of ERPNext Purchase Invoices with the ProcureUAT procurement portal"
app_email = "dev@o2o-sync.local"
app_license = "mit"

# Apps
# ------------------

required_apps = ["frappe/erpnext"]

# Installation
# ------------
# custom fields on Purchase Invoice / Item / Supplier and the `rate` precision property setter

# and the operator's desk records: the workspace's "Last pull" block, the Sync Log list's columns
after_install = ["o2o_sync.setup.install.after_install", "o2o_sync.setup.desk_blocks.install_desk"]
after_migrate = ["o2o_sync.setup.install.after_migrate", "o2o_sync.setup.desk_blocks.install_desk"]

# Uninstallation
# ------------

before_uninstall = "o2o_sync.setup.install.before_uninstall"

# Desk
# ----

# what the app's forms and lists share (o2o_sync.is_manager, Retry): a plain file, no build needed
app_include_js = ["/assets/o2o_sync/js/o2o_sync_desk.js"]
doctype_js = {_c.PURCHASE_INVOICE: "public/js/purchase_invoice.js"}
# the companies the sync acts on, so the form shows nothing of it on another company's invoice
extend_bootinfo = "o2o_sync.sync.scope.extend_bootinfo"

# The app's own records that point at a Purchase Invoice must not stop a person (or the sync,
# deleting a draft the portal deleted) from deleting it.
ignore_links_on_delete = [_c.SYNC_LOG, _c.SYNC_MAPPING]

# Document Events
# ---------------
# Push (ERPNext to ProcureUAT) and payment state (contract, "Push"): o2o_sync/sync/events.py decides
# and enqueues the jobs of o2o_sync/sync/jobs.py

doc_events = {
	# its log retention is the days Frappe's Log Settings keeps Sync Log rows
	_c.SETTINGS: {"on_update": "o2o_sync.o2o_sync.doctype.sync_log.sync_log.register_retention"},
	_c.PURCHASE_INVOICE: {
		"on_submit": "o2o_sync.sync.events.purchase_invoice_on_submit",
		"on_cancel": "o2o_sync.sync.events.purchase_invoice_on_cancel",
	},
	_c.PAYMENT_ENTRY: {
		"on_submit": "o2o_sync.sync.events.settlement_changed",
		"on_cancel": "o2o_sync.sync.events.settlement_changed",
	},
	_c.JOURNAL_ENTRY: {
		"on_submit": "o2o_sync.sync.events.settlement_changed",
		"on_cancel": "o2o_sync.sync.events.settlement_changed",
	},
}

# Scheduled Tasks
# ---------------
# o2o_sync/sync/scheduler.py; each acts only while O2O Sync Settings is enabled

scheduler_events = {
	# pull from the portal
	"hourly_long": ["o2o_sync.sync.scheduler.scheduled_sync_from_external"],
	# compare the portal with the Sync Mappings: apply what the cursor missed
	"daily_long": ["o2o_sync.sync.scheduler.scheduled_reconcile"],
	# tell the settings' users of invoices failing for more than a day (and of new conflicts)
	"daily": ["o2o_sync.sync.scheduler.notify_held_mappings"],
	"cron": {
		# a minute's latency: one cheap portal question, the incremental pull only when it says yes
		"* * * * *": ["o2o_sync.sync.scheduler.probe_portal_changes"],
		# ERPNext changes outstanding amounts without firing the invoice's events: catch up
		"*/15 * * * *": [
			"o2o_sync.sync.scheduler.reconcile_payment_states",
			# pushes still Pending after a lost job or an unreachable portal
			"o2o_sync.sync.scheduler.retry_pending_pushes",
		],
	},
}

# Log clearing
# ------------
# Frappe's Log Settings clears Sync Log rows after these days (O2O Sync Settings' log retention
# once saved), keeping Failed and Conflict rows of unresolved invoices (`SyncLog.clear_old_logs`)

default_log_clearing_doctypes = {_c.SYNC_LOG: 30}
