// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Sync Mapping"] = {
	add_fields: ["status", "purchase_invoice", "origin"],
	onload(listview) {
		if (!(frappe.user.has_role("Accounts Manager") || frappe.user.has_role("System Manager")))
			return;
		// sync the selected Failed / Pending mappings again, as background jobs
		listview.page.add_actions_menu_item(__("Retry"), () => {
			const names = listview.get_checked_items(true);
			if (!names.length) return;
			frappe
				.call({
					method: "o2o_sync.sync.desk_retry.retry_mappings",
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
			Synced: "green",
			Pending: "orange",
			Failed: "red",
			Conflict: "purple",
		};
		if (colors[doc.status]) {
			return [__(doc.status), colors[doc.status], `status,=,${doc.status}`];
		}
	},
};
