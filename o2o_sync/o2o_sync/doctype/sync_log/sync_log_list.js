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
		o2o_sync.desk_retry.add_list_action(listview, "o2o_sync.sync.desk_retry.retry_sync_logs");
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
