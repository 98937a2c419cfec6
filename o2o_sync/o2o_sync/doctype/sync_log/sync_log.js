// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Sync Log", {
	refresh(frm) {
		frm.disable_save();
		o2o_sync.sync_log.add_retry_button(frm);

		if (frm.doc.reference_doctype && frm.doc.reference_name) {
			frm.add_custom_button(__("Show Related Logs"), () => {
				frappe.set_route("List", "Sync Log", {
					reference_doctype: frm.doc.reference_doctype,
					reference_name: frm.doc.reference_name,
				});
			});
		} else if (frm.doc.procureuat_id) {
			frm.add_custom_button(__("Show Related Logs"), () => {
				frappe.set_route("List", "Sync Log", { procureuat_id: frm.doc.procureuat_id });
			});
		}
	},
});

frappe.provide("o2o_sync.sync_log");

// Retry: run a failed row's operation again as a background job (o2o_sync.sync.desk_retry).
o2o_sync.sync_log.add_retry_button = (frm) => {
	if (frm.doc.status !== "Failed" || !o2o_sync.is_manager()) return;
	frm.add_custom_button(__("Retry"), () =>
		o2o_sync.desk_retry.run("o2o_sync.sync.desk_retry.retry_sync_logs", [frm.doc.name])
	);
};
