"""Someone is told: each new conflict, and an invoice failing for more than a day, sends a desk
notification (Notification Log, type Alert, linked to its Sync Mapping) to the users O2O Sync
Settings names in **Notify Users** (default: every enabled Accounts Manager), once.

The Sync Mapping remembers what it was told: `notified_at` (when) and `failing_since` (when
this pass first saw it Failed). `notify_held` runs after every pull (`jobs.run_pull`) and
daily (`scheduler.notify_held_mappings`); a mapping settled since (Synced, Pending) is
forgotten, so a later conflict is told again. Only mappings of companies mapped in the settings
are told of (`scope`). Times are the site's (`now_datetime`).
"""

import frappe
from frappe.utils import add_to_date, escape_html, now_datetime

from o2o_sync.constants import (
	CONFLICT,
	FAILED,
	PURCHASE_INVOICE,
	SETTINGS,
	SETTINGS_NOTIFY_USER,
	SYNC_MAPPING,
)
from o2o_sync.sync.scope import mapped_companies

#: the role told when O2O Sync Settings names nobody
DEFAULT_ROLE = "Accounts Manager"
#: how long an invoice fails before someone is told, in hours
FAILING_HOURS = 24
NOTIFICATION_LOG = "Notification Log"
TABLE = f"tab{SYNC_MAPPING}"


def recipients() -> list[str]:
	"""The enabled users O2O Sync Settings' `notify_users` names, else every enabled user with
	the role Accounts Manager (Guest never), sorted."""
	named = frappe.get_all(
		SETTINGS_NOTIFY_USER,
		filters={"parenttype": SETTINGS, "parentfield": "notify_users"},
		pluck="user",
	)
	if not named:
		named = frappe.get_all(
			"Has Role", filters={"role": DEFAULT_ROLE, "parenttype": "User"}, pluck="parent"
		)
	enabled = frappe.get_all(
		"User", filters={"name": ["in", list(set(named)) or [""]], "enabled": 1}, pluck="name"
	)
	return sorted(u for u in enabled if u != "Guest")


def _forget_settled() -> None:
	"""What the mappings remember, brought up to date before anyone is told (see the module)."""
	# from Failed to Conflict since the last pass: a new conflict, told again
	frappe.db.sql(
		f"update `{TABLE}` set notified_at = null where status = %s and failing_since is not null",
		(CONFLICT,),
	)
	frappe.db.sql(
		f"update `{TABLE}` set failing_since = null where status != %s and failing_since is not null",
		(FAILED,),
	)
	frappe.db.sql(
		f"update `{TABLE}` set notified_at = null where status not in (%s, %s) and notified_at is not null",
		(CONFLICT, FAILED),
	)


def _of_mapped_companies(rows: list) -> list:
	"""The mappings of `rows` with no invoice yet (a failed pull) or whose invoice is of a
	company mapped in O2O Sync Settings: a company unmapped later keeps its mappings, untold."""
	invoices = [r.purchase_invoice for r in rows if r.purchase_invoice]
	if not invoices:
		return rows
	companies = mapped_companies()
	of_mapped = set(
		frappe.get_all(
			PURCHASE_INVOICE,
			filters={"name": ["in", invoices], "company": ["in", sorted(companies) or [""]]},
			pluck="name",
		)
	)
	return [r for r in rows if not r.purchase_invoice or r.purchase_invoice in of_mapped]


def _label(row) -> str:
	number = f" ({row.procureuat_invoice_number})" if row.procureuat_invoice_number else ""
	invoice = f"{row.purchase_invoice}, " if row.purchase_invoice else ""
	return f"{invoice}Requisition {row.procureuat_id}{number}"


def _tell(users: list[str], row, subject: str, detail: str) -> None:
	for user in users:
		frappe.get_doc(
			{
				"doctype": NOTIFICATION_LOG,
				"for_user": user,
				"type": "Alert",
				"subject": subject,
				"email_content": detail,
				"document_type": SYNC_MAPPING,
				"document_name": row.name,
			}
		).insert(ignore_permissions=True)


def notify_held(now=None) -> dict:
	"""Tell the users of `recipients` of each new conflict and of each invoice failing for more
	than `FAILING_HOURS`, once per mapping (its `notified_at`); commits.

	Args: `now`, the site's time (default `now_datetime()`; a test passes a later one to see a
	day go by). Returns `{"conflicts": n, "failing": n, "users": [...]}`, the mappings told
	of and who was told. Subjects and texts are HTML-escaped (portal text may hold HTML).
	"""
	now = now or now_datetime()
	_forget_settled()
	frappe.db.sql(
		f"update `{TABLE}` set failing_since = %s where status = %s and failing_since is null",
		(now, FAILED),
	)
	fields = [
		"name",
		"procureuat_id",
		"procureuat_invoice_number",
		"purchase_invoice",
		"held_reason",
		"last_error",
	]
	conflicts = frappe.get_all(
		SYNC_MAPPING, filters={"status": CONFLICT, "notified_at": ["is", "not set"]}, fields=fields
	)
	failing = frappe.db.sql(
		f"""select name, procureuat_id, procureuat_invoice_number, purchase_invoice, last_error, failing_since
		from `{TABLE}` where status = %s and failing_since <= %s
			and (notified_at is null or notified_at < failing_since)""",
		(FAILED, add_to_date(now, hours=-FAILING_HOURS)),
		as_dict=True,
	)
	conflicts, failing = _of_mapped_companies(conflicts), _of_mapped_companies(failing)
	users = recipients() if conflicts or failing else []
	for row in conflicts:
		reason = row.held_reason or "both sides changed it"
		_tell(
			users,
			row,
			escape_html(f"O2O Sync: {_label(row)} held for a person: {reason}"),
			escape_html(row.last_error or ""),
		)
	for row in failing:
		first_line = (row.last_error or "").splitlines()[0] if row.last_error else ""
		_tell(
			users,
			row,
			escape_html(
				f"O2O Sync: {_label(row)} failing since {row.failing_since:%Y-%m-%d %H:%M}: {first_line}"
			),
			escape_html(row.last_error or ""),
		)
	told = [r.name for r in conflicts] + [r.name for r in failing]
	if told and users:
		frappe.db.sql(
			f"update `{TABLE}` set notified_at = %s where name in ({', '.join(['%s'] * len(told))})",
			(now, *told),
		)
	frappe.db.commit()  # nosemgrep: the notifications and what the mappings remember of them
	return {"conflicts": len(conflicts), "failing": len(failing), "users": users}


def notify_held_quietly() -> None:
	"""`notify_held` after a pull: a notification that cannot be made never fails the pull
	(the error goes to the Error Log)."""
	try:
		notify_held()
	except Exception:
		frappe.db.rollback()
		frappe.log_error(title="O2O Sync: notifications")
