// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Sync Mapping", {
	refresh(frm) {
		if (frm.is_new()) return;

		frm.add_custom_button(
			__("Sync Log"),
			() => frappe.set_route("List", "Sync Log", { procureuat_id: frm.doc.procureuat_id }),
			__("View")
		);
		if (frm.doc.purchase_invoice) {
			frm.add_custom_button(
				__("Purchase Invoice"),
				() => frappe.set_route("Form", "Purchase Invoice", frm.doc.purchase_invoice),
				__("View")
			);
		}
	},
});
