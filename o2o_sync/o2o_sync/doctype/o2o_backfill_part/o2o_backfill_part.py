# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""O2O Backfill Part: one requisition-id range of a backfill, read by its own long-queue
job with its own cursor (`o2o_sync.sync.backfill`)."""

from frappe.model.document import Document


class O2OBackfillPart(Document):
	pass
