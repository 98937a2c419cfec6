"""Who may run the sync's actions: shared by the desk's entry points and the DocType
controllers (which never import an entry point)."""

import frappe
from frappe import _

from o2o_sync.constants import MANAGER_ROLES


def require_manager() -> None:
	"""Throw frappe.PermissionError unless the session user is Administrator or holds one of
	`MANAGER_ROLES` (Accounts Manager, System Manager).

	Unlike `frappe.only_for`, the check also holds under Frappe's test runner (`only_for`
	lets everyone through while `flags.in_test` is set), so the permission tests test it.
	"""
	if frappe.session.user == "Administrator" or not set(MANAGER_ROLES).isdisjoint(frappe.get_roles()):
		return
	frappe.throw(
		_("Only {0} may do this").format(" / ".join(_(role) for role in MANAGER_ROLES)),
		frappe.PermissionError,
		title=_("Not Permitted"),
	)
