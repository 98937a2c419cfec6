// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Sync Mapping", {
	refresh(frm) {
		if (frm.is_new()) return;
		o2o_sync.sync_mapping_retry.add_button(frm);
		o2o_sync.sync_mapping_conflict.show(frm);

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

frappe.provide("o2o_sync.sync_mapping_retry");

// Retry a Failed (or Pending) mapping: pull it again, or push it again, as a background job.
o2o_sync.sync_mapping_retry.add_button = (frm) => {
	if (!["Failed", "Pending"].includes(frm.doc.status) || !o2o_sync.is_manager()) return;
	frm.add_custom_button(__("Retry"), () =>
		o2o_sync.desk_retry.run("o2o_sync.sync.desk_retry.retry_mappings", [frm.doc.name])
	);
};

frappe.provide("o2o_sync.sync_mapping_conflict");

// A held mapping: both sides' values side by side (the server renders the table, every value
// HTML-escaped) and the actions that apply to its state, for those who may resolve it.
o2o_sync.sync_mapping_conflict.show = (frm) => {
	const field = frm.get_field("conflict_html");
	if (frm.doc.status !== "Conflict") {
		field?.$wrapper.empty();
		return;
	}
	frappe
		.call({
			method: "o2o_sync.sync.resolution.get_conflict",
			type: "GET",
			args: { mapping: frm.doc.name },
		})
		.then((r) => {
			const held = r.message || {};
			if (!held.held) return;
			field?.$wrapper.html(held.html || "");
			if (!held.can_resolve) return;
			const group = __("Resolve");
			(held.actions || []).forEach((action) => {
				frm.add_custom_button(
					__(action),
					() => o2o_sync.sync_mapping_conflict.resolve(frm, action),
					group
				);
			});
		});
};

o2o_sync.sync_mapping_conflict.chosen_fields = (frm) =>
	frm
		.get_field("conflict_html")
		.$wrapper.find("input.o2o-take-portal:checked")
		.map((i, el) => $(el).attr("data-field"))
		.get();

o2o_sync.sync_mapping_conflict.resolve = (frm, action) => {
	const args = { mapping: frm.doc.name, action: action };
	let what = __(action);
	if (action === "Choose per field") {
		args.fields = o2o_sync.sync_mapping_conflict.chosen_fields(frm);
		if (!args.fields.length) {
			frappe.msgprint(__("Tick the fields to take from ProcureUAT in the table first."));
			return;
		}
		// named by their labels, as the table shows them (a mapped field's label, issue 12)
		const labels = frm
			.get_field("conflict_html")
			.$wrapper.find("input.o2o-take-portal:checked")
			.map((i, el) => $(el).closest("tr").find("td").first().text())
			.get();
		what = __("Take ProcureUAT's {0}, keep ERPNext's other values", [
			frappe.utils.escape_html(labels.join(", ")),
		]);
	}
	frappe.confirm(__("{0}: apply this to both sides now?", [what]), () =>
		frappe
			.call({
				method: "o2o_sync.sync.resolution.resolve_conflict",
				type: "POST",
				args: args,
				freeze: true,
				freeze_message: __("Resolving…"),
			})
			.then((r) => {
				const result = r.message || {};
				frappe.show_alert({
					message: frappe.utils.escape_html(result.message || __("Resolved")),
					indicator: "green",
				});
				frm.reload_doc();
			})
	);
};
