# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""O2O Backfill: one parallel backfill of the portal's history (issue 13), its parts and their
progress. Written by `o2o_sync.sync.backfill` only; read in the desk, the workspace and
`bench o2o-status`."""

from frappe.model.document import Document


class O2OBackfill(Document):
	pass
