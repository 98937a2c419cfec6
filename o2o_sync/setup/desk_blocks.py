"""The operator's desk pieces Frappe keeps as records rather than files: the workspace's
"Last pull" Custom HTML Block, and the Sync Log list's column count.

The workspace, its number cards, its chart and the chart's source are files Frappe syncs on
`bench migrate` (`o2o_sync/o2o_sync/workspace`, `number_card`, `dashboard_chart`,
`dashboard_chart_source`); a Custom HTML Block is not, so `install_desk` (after install and
after every migrate, see hooks.py) writes it from `desk_blocks/last_pull.{html,js,css}`.
"""

import os

import frappe

from o2o_sync.constants import MANAGER_ROLES, SYNC_LOG

#: the Custom HTML Block the workspace's `custom_blocks` names
LAST_PULL_BLOCK = "O2O Sync Last Pull"
#: columns of the Sync Log list (summary, tag, status, reference, portal id, operation):
#: Frappe shows 4 on screens up to 1366 px unless List View Settings says otherwise
SYNC_LOG_LIST_COLUMNS = "6"

_HERE = os.path.join(os.path.dirname(__file__), "desk_blocks")


def _read(name: str) -> str:
	with open(os.path.join(_HERE, name), encoding="utf-8") as f:
		return f.read()


def install_last_pull_block() -> str:
	"""Create or update the "O2O Sync Last Pull" Custom HTML Block from `desk_blocks/`; visible
	to `MANAGER_ROLES`. Returns its name. Idempotent."""
	values = {
		"html": _read("last_pull.html"),
		"script": _read("last_pull.js"),
		"style": _read("last_pull.css"),
		"private": 0,
	}
	if frappe.db.exists("Custom HTML Block", LAST_PULL_BLOCK):
		doc = frappe.get_doc("Custom HTML Block", LAST_PULL_BLOCK)
		doc.update(values)
	else:
		doc = frappe.new_doc("Custom HTML Block")
		doc.name = LAST_PULL_BLOCK
		doc.update(values)
	doc.set("roles", [{"role": role} for role in MANAGER_ROLES])
	if doc.is_new():
		doc.insert(ignore_permissions=True, set_name=LAST_PULL_BLOCK)
	else:
		doc.save(ignore_permissions=True)
	return doc.name


def install_list_settings() -> None:
	"""Show the Sync Log list's reference, portal id and operation columns on every screen
	(List View Settings `total_fields`), unless an administrator already set them."""
	if frappe.db.exists("List View Settings", SYNC_LOG):
		return
	doc = frappe.new_doc("List View Settings")
	doc.name = SYNC_LOG
	doc.total_fields = SYNC_LOG_LIST_COLUMNS
	doc.insert(ignore_permissions=True, set_name=SYNC_LOG)


def install_desk() -> None:
	"""after_install / after_migrate: the records of the operator's desk (idempotent)."""
	install_last_pull_block()
	install_list_settings()
