"""Names o2o_sync uses in more than one place: DocTypes, custom fields, statuses, directions,
origins and conflict strategies. Import them from here; never repeat the string.

Frappe-free, so the engine (`o2o_sync.sync`) and its tests import it too. The values are
those of the DocTypes' Select options (`sync_log.json`, `sync_mapping.json`,
`o2o_sync_settings.json`) and of the custom fields in `o2o_sync.setup.custom_fields`.
"""

# ---------------------------------------------------------------- DocTypes

SETTINGS = "O2O Sync Settings"
SETTINGS_ENTITY = "O2O Sync Entity"
#: O2O Sync Settings' `notify_users` rows (who is told of conflicts and lasting failures)
SETTINGS_NOTIFY_USER = "O2O Sync Notify User"
DATABASE_CONNECTION = "Database Connection"
SYNC_MAPPING = "Sync Mapping"
SYNC_LOG = "Sync Log"

PURCHASE_INVOICE = "Purchase Invoice"
PURCHASE_INVOICE_ITEM = "Purchase Invoice Item"
SUPPLIER = "Supplier"
ITEM = "Item"
PAYMENT_ENTRY = "Payment Entry"
JOURNAL_ENTRY = "Journal Entry"

# ---------------------------------------------------------------- custom fields

#: Purchase Invoice: the sync's state of the invoice (Select, allow on submit)
F_SYNC_STATUS = "o2o_sync_status"
#: Purchase Invoice: `purchase_requisitions.id`
F_PROCUREUAT_ID = "procureuat_id"
#: Purchase Invoice and Supplier: `vendors.id`
F_VENDOR_ID = "procureuat_vendor_id"
#: Purchase Invoice: `purchase_requisitions.invoice_number`
F_INVOICE_NUMBER = "procureuat_invoice_number"
#: Purchase Invoice: `purchase_requisitions.order_status`
F_ORDER_STATUS = "procureuat_order_status"
#: Purchase Invoice: `purchase_requisitions.acknowledgement`
F_ACKNOWLEDGEMENT = "procureuat_acknowledgement"
#: Purchase Invoice Item: `purchase_order_items.id`
F_ITEM_ID = "procureuat_item_id"
#: Item: the portal's `product_id`
F_PRODUCT_ID = "procureuat_product_id"

# ---------------------------------------------------------------- statuses

# Sync Mapping status and the Purchase Invoice's `o2o_sync_status`
SYNCED = "Synced"
PENDING = "Pending"
FAILED = "Failed"
CONFLICT = "Conflict"
NOT_SYNCED = "Not Synced"

# Sync Log status (also FAILED and CONFLICT)
SUCCESS = "Success"
SKIPPED = "Skipped"

# ---------------------------------------------------------------- directions and origins

# Sync Log direction
PULL = "ProcureUAT to ERPNext"
PUSH = "ERPNext to ProcureUAT"

# Sync Mapping origin: which side's document it is (contract, "Entities, companies and origin")
ORIGIN_PORTAL = "ProcureUAT"
ORIGIN_ERPNEXT = "ERPNext"

# ---------------------------------------------------------------- conflict strategies

HOLD_FOR_REVIEW = "Hold for review"
PROCUREUAT_WINS = "ProcureUAT wins"
ERPNEXT_WINS = "ERPNext wins"
#: the later edit (portal `updated_at` vs ERPNext `modified`, compared in Asia/Kolkata) wins; drafts only
LATEST_EDIT_WINS = "Latest edit wins"
DEFAULT_STRATEGY = HOLD_FOR_REVIEW

# ---------------------------------------------------------------- roles

#: Roles that may run the sync by hand and settle what it holds.
MANAGER_ROLES = ("System Manager", "Accounts Manager")

# ---------------------------------------------------------------- what the sync holds for a person

# Sync Mapping `held_reason`: why a mapping is in Conflict (the Select's options, in this order)
HELD_DRAFT_EDITED = "Both sides changed the draft"
HELD_SUBMITTED_EDITED = "Portal edit of a submitted invoice"
HELD_CANCELLED_WITH_PAYMENTS = "Portal cancellation of an invoice with payments"
HELD_PUSHED_CANCELLED = "Portal cancellation of an ERPNext invoice"
HELD_OTHER_TOTALS = "Same bill no, other totals"
HELD_CANCELLED_IN_ERPNEXT = "Cancelled in ERPNext, changed on the portal"
HELD_DELETED_IN_ERPNEXT = "Deleted in ERPNext"
HELD_REASONS = (
	HELD_DRAFT_EDITED,
	HELD_SUBMITTED_EDITED,
	HELD_CANCELLED_WITH_PAYMENTS,
	HELD_PUSHED_CANCELLED,
	HELD_OTHER_TOTALS,
	HELD_CANCELLED_IN_ERPNEXT,
	HELD_DELETED_IN_ERPNEXT,
)

# what a person may do with a held mapping (buttons on the Sync Mapping form, `resolve_conflict`)
KEEP_ERPNEXT = "Keep ERPNext"
KEEP_PROCUREUAT = "Keep ProcureUAT"
CHOOSE_PER_FIELD = "Choose per field"
AMEND_FROM_PROCUREUAT = "Amend from ProcureUAT"
CANCEL_IN_ERPNEXT = "Cancel in ERPNext"
LINK_ANYWAY = "Link anyway"
CREATE_FROM_PROCUREUAT = "Create from ProcureUAT"

#: Sync Log operation of a person's resolution
OP_RESOLVE = "Resolve"

#: `frappe.flags` key by which the app's own tests (`o2o_sync/tests/__init__.py`) run the doc
#: events' jobs inline; `frappe.flags.in_test` alone (another app's tests) queues them
RUN_JOBS_NOW_FLAG = "o2o_sync_run_jobs_now"
