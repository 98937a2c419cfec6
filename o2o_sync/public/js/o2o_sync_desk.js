// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

// What the app's forms and lists share, loaded on every desk page (hooks.py, app_include_js).
frappe.provide("o2o_sync.desk_retry");

// who may run the sync by hand and settle what it holds (constants.MANAGER_ROLES; the
// server checks again): Accounts Manager or System Manager
o2o_sync.is_manager = () =>
	frappe.user.has_role("Accounts Manager") || frappe.user.has_role("System Manager");

// Retry from the desk (Sync Log and Sync Mapping, a form's button or a list's bulk action):
// one call that queues the retry as background jobs (o2o_sync.sync.desk_retry) and says what
// it queued.

// queue `method` (the dotted path of a POST method of o2o_sync.sync.desk_retry) for `names`;
// `done(result)` after
o2o_sync.desk_retry.run = (method, names, done) =>
	frappe
		.call({
			method,
			type: "POST",
			args: { names },
			freeze: true,
			freeze_message: __("Queueing the retry…"),
		})
		.then((r) => {
			const result = r.message || {};
			frappe.msgprint({
				title: __("Retry"),
				indicator: result.skipped && result.skipped.length ? "orange" : "green",
				message: frappe.utils.escape_html(result.message || ""),
			});
			done && done(result);
		});

// the list's Actions > Retry for the checked rows
o2o_sync.desk_retry.add_list_action = (listview, method) => {
	if (!o2o_sync.is_manager()) return;
	listview.page.add_actions_menu_item(__("Retry"), () => {
		const names = listview.get_checked_items(true);
		if (!names.length) return;
		o2o_sync.desk_retry.run(method, names, () => {
			listview.clear_checked_items();
			listview.refresh();
		});
	});
};
