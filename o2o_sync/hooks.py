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

after_install = "o2o_sync.setup.install.after_install"
after_migrate = "o2o_sync.setup.install.after_migrate"

# Uninstallation
# ------------

before_uninstall = "o2o_sync.setup.install.before_uninstall"

# Desk
# ----

doctype_js = {"Purchase Invoice": "public/js/purchase_invoice.js"}

# The app's own records that point at a Purchase Invoice must not stop a person (or the sync,
# deleting a draft the portal deleted) from deleting it.
ignore_links_on_delete = ["Sync Log", "Sync Mapping"]

# Document Events
# ---------------
# Push (ERPNext to ProcureUAT) and payment state (contract, "Push")

doc_events = {
	"Purchase Invoice": {
		"on_submit": "o2o_sync.sync.events.purchase_invoice_on_submit",
		"on_cancel": "o2o_sync.sync.events.purchase_invoice_on_cancel",
	},
	"Payment Entry": {
		"on_submit": "o2o_sync.sync.events.settlement_changed",
		"on_cancel": "o2o_sync.sync.events.settlement_changed",
	},
	"Journal Entry": {
		"on_submit": "o2o_sync.sync.events.settlement_changed",
		"on_cancel": "o2o_sync.sync.events.settlement_changed",
	},
}

# Scheduled Tasks
# ---------------

scheduler_events = {
	# pull from the portal
	"hourly_long": ["o2o_sync.sync.sync_utils.scheduled_sync_from_external"],
	"cron": {
		# ERPNext changes outstanding amounts without firing the invoice's events: catch up
		"*/15 * * * *": [
			"o2o_sync.sync.sync_utils.reconcile_payment_states",
			# pushes still Pending after a lost job or an unreachable portal
			"o2o_sync.sync.sync_utils.retry_pending_pushes",
		],
	},
	"weekly": ["o2o_sync.o2o_sync.doctype.sync_log.sync_log.clear_old_logs"],
}
