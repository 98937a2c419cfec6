// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Sync Log"] = {
	add_fields: ["status", "direction", "operation"],
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
