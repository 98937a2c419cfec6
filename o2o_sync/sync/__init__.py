"""The o2o_sync engine (docs/architecture.md).

Everything in this package except the Frappe side (`frappe_port/`, `engines`, `jobs`,
`scheduler`, `desk`, `events`, `sync_utils`) imports without Frappe, so the engine's tests
run anywhere.
"""
