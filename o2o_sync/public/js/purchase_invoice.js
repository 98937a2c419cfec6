// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Purchase Invoice", {
	refresh(frm) {
		if (frm.is_new()) return;

		const status = frm.doc.o2o_sync_status;
		if (status) {
			const colors = {
				"Not Synced": "gray",
				Pending: "orange",
				Synced: "green",
				Failed: "red",
				Conflict: "purple",
			};
			frm.dashboard.add_indicator(
				__("ProcureUAT: {0}", [__(status)]),
				colors[status] || "gray"
			);
		}

		frm.add_custom_button(
			__("Sync Log"),
			() => frappe.set_route("List", "Sync Log", { reference_name: frm.doc.name }),
			__("View")
		);

		if (
			frm.doc.docstatus === 1 &&
			(frappe.user.has_role("Accounts Manager") || frappe.user.has_role("System Manager"))
		) {
			frm.add_custom_button(__("Sync to ProcureUAT"), () => {
				frappe.call({
					method: "o2o_sync.sync.desk.manual_sync_invoice_to_external",
					args: { invoice_name: frm.doc.name },
					freeze: true,
					freeze_message: __("Syncing {0} to ProcureUAT…", [frm.doc.name]),
					callback(r) {
						const result = r.message;
						const message =
							typeof result === "string" ? result : result?.message || __("Done.");
						frappe.msgprint({
							title: __("Sync to ProcureUAT"),
							message: frappe.utils.escape_html(message),
						});
						frm.reload_doc();
					},
				});
			});
		}
	},
});
