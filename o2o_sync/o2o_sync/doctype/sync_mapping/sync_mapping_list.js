// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Sync Mapping"] = {
	add_fields: ["status", "purchase_invoice", "origin"],
	// sync the selected Failed / Pending mappings again, as background jobs
	onload(listview) {
		o2o_sync.desk_retry.add_list_action(listview, "o2o_sync.sync.desk_retry.retry_mappings");
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
