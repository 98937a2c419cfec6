"""Every whitelisted method of the app that changes something accepts POST only (issue 7,
"Security"), checked from the source without Frappe: a method a GET may call can be
triggered by a link or an image on any page a logged-in user opens.

The bench test `o2o_sync.tests.test_security` checks the same at run time, with the roles
and the document permissions.
"""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "o2o_sync"

#: whitelisted methods that only read, and may stay GET (a new one is added here on purpose)
READ_ONLY = {
	"o2o_sync/o2o_sync/doctype/database_connection/database_connection.py:fetch_host_key",
	"o2o_sync/sync/desk_status.py:status_card",
	"o2o_sync/sync/desk_status.py:activity_card",
	"o2o_sync/sync/desk_status.py:last_pull_status",
	"o2o_sync/sync/desk_status.py:unpushed_card",
	"o2o_sync/o2o_sync/dashboard_chart_source/sync_log_per_day/sync_log_per_day.py:get",
	"o2o_sync/sync/resolution.py:get_conflict",
	"o2o_sync/sync/resolution.py:list_conflicts",
	"o2o_sync/sync/status.py:sync_status",
	"o2o_sync/sync/backfill_state.py:backfill_progress",
}


def _whitelist_calls():
	"""(where, decorator) of each function decorated with `frappe.whitelist` in the app."""
	for path in sorted(APP.rglob("*.py")):
		for node in ast.walk(ast.parse(path.read_text())):
			if not isinstance(node, ast.FunctionDef):
				continue
			for decorator in node.decorator_list:
				target = decorator.func if isinstance(decorator, ast.Call) else decorator
				if isinstance(target, ast.Attribute) and target.attr == "whitelist":
					yield f"{path.relative_to(APP.parent)}:{node.name}", decorator


def _methods(decorator) -> list[str] | None:
	if isinstance(decorator, ast.Call):
		for keyword in decorator.keywords:
			if keyword.arg == "methods":
				return ast.literal_eval(keyword.value)
	return None  # Frappe's default: GET, POST, PUT, DELETE


def test_state_changing_whitelisted_methods_are_post_only():
	found = dict(_whitelist_calls())
	assert "o2o_sync/sync/desk.py:enqueue_pull" in found
	assert READ_ONLY <= set(found)
	not_post_only = sorted(
		where
		for where, decorator in found.items()
		if where not in READ_ONLY and _methods(decorator) != ["POST"]
	)
	assert not not_post_only, "whitelisted methods a GET may call:\n" + "\n".join(not_post_only)


#: the one method open to guests: the portal's signed webhook (issue 13), whose signature is
#: its authentication; it must stay POST only and rate-limited
SIGNED_FOR_GUESTS = {"o2o_sync/api.py:portal_changed"}


def _rate_limited(where: str) -> bool:
	path, name = where.split(":")
	for node in ast.walk(ast.parse((APP.parent / path).read_text())):
		if isinstance(node, ast.FunctionDef) and node.name == name:
			return any(
				isinstance(d, ast.Call) and getattr(d.func, "id", getattr(d.func, "attr", "")) == "rate_limit"
				for d in node.decorator_list
			)
	return False


def test_no_whitelisted_method_is_open_to_guests_but_the_signed_webhook():
	open_to_guests = set()
	for where, decorator in _whitelist_calls():
		if isinstance(decorator, ast.Call) and any(k.arg == "allow_guest" for k in decorator.keywords):
			open_to_guests.add(where)
	assert open_to_guests == SIGNED_FOR_GUESTS
	for where in SIGNED_FOR_GUESTS:
		assert _rate_limited(where), where
		assert _methods(dict(_whitelist_calls())[where]) == ["POST"], where
