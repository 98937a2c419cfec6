"""Names o2o_sync uses in more than one place: DocTypes, custom fields, statuses, directions,
origins and conflict strategies. Import them from here; never repeat the string.

Frappe-free, so the engine (`o2o_sync.sync`) and its tests import it too. The values are
those of the DocTypes' Select options (`sync_log.json`, `sync_mapping.json`,
`o2o_sync_settings.json`) and of the custom fields in `o2o_sync.setup.custom_fields`.
"""

# ---------------------------------------------------------------- DocTypes

SETTINGS = "O2O Sync Settings"
SETTINGS_ENTITY = "O2O Sync Entity"
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
DEFAULT_STRATEGY = HOLD_FOR_REVIEW

# ---------------------------------------------------------------- roles

#: Roles that may run the sync by hand and settle what it holds.
MANAGER_ROLES = ("System Manager", "Accounts Manager")
