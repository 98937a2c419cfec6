"""The engine's decisions: the pull and the push, held states and their resolution,
reconciliation. Frappe-free; the portal client and the ERPNext port are handed to it.

May import: `o2o_sync.sync.model` and `o2o_sync.constants`.
"""
