// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Sync Log", {
	refresh(frm) {
		frm.disable_save();

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
