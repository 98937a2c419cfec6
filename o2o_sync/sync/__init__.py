"""The o2o_sync engine.

Everything in this package except `erpnext_port`, `sync_utils`, `events` and `jobs`
imports without Frappe, so the engine's tests run anywhere.
"""
