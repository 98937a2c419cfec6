// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Sync Log"] = {
	add_fields: ["status", "direction", "operation", "reference_doctype", "summary"],
	// the name is a random hash: the summary (the message's first line) is the row's title
	hide_name_column: true,
	formatters: {
		// 0 means "no portal invoice" (a run, a connection test): show nothing
		procureuat_id(value) {
			return cint(value) ? String(value) : "";
		},
	},
	onload(listview) {
		if (!(frappe.user.has_role("Accounts Manager") || frappe.user.has_role("System Manager")))
			return;
		listview.page.add_actions_menu_item(__("Retry"), () => {
			const names = listview.get_checked_items(true);
			if (!names.length) return;
			frappe
				.call({
					method: "o2o_sync.sync.desk_retry.retry_sync_logs",
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
					listview.clear_checked_items();
					listview.refresh();
				});
		});
	},
	get_indicator(doc) {
		const colors = {
			Success: "green",
			Failed: "red",
			Skipped: "gray",
			Conflict: "orange",
		};
		if (colors[doc.status]) {
			return [__(doc.status), colors[doc.status], `status,=,${doc.status}`];
		}
	},
};
