// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Purchase Invoice", {
	refresh(frm) {
		o2o_sync.purchase_invoice.set_sync_indicator(frm);
		if (frm.is_new()) return;
		// an invoice of a company O2O Sync Settings does not map: the sync leaves it alone
		if (!o2o_sync.purchase_invoice.touched_by_sync(frm)) return;

		frm.add_custom_button(
			__("Sync Log"),
			() => frappe.set_route("List", "Sync Log", { reference_name: frm.doc.name }),
			__("View")
		);

		if (frm.doc.docstatus === 1 && o2o_sync.is_manager()) {
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

frappe.provide("o2o_sync.purchase_invoice");

// The sync status as a pill in the form's header, under the title (the row of the title and the
// document's own status has no room for it beside the buttons):
// "ProcureUAT: Synced · <portal invoice number>", a link to the invoice's Sync Mapping.
o2o_sync.purchase_invoice.COLORS = {
	"Not Synced": "gray",
	Pending: "orange",
	Synced: "green",
	Failed: "red",
	Conflict: "purple",
};

// The companies mapped in O2O Sync Settings (`frappe.boot.o2o_sync_companies`, see
// o2o_sync/sync/scope.py); an invoice of another one shows nothing of the sync unless it was
// synced before its company was unmapped.
o2o_sync.purchase_invoice.touched_by_sync = function (frm) {
	const companies = frappe.boot.o2o_sync_companies || [];
	return (
		companies.includes(frm.doc.company) ||
		Boolean(frm.doc.o2o_sync_status) ||
		Boolean(frm.doc.procureuat_id)
	);
};

o2o_sync.purchase_invoice.set_sync_indicator = function (frm) {
	const $sub_heading = frm.page.$title_area.find(".sub-heading");
	frm.page.wrapper.find(".o2o-sync-indicator").remove();
	const status = frm.doc.o2o_sync_status;
	if (frm.is_new() || !status) {
		if (!$sub_heading.children().length) $sub_heading.addClass("hide");
		return;
	}

	const number = frm.doc.procureuat_invoice_number;
	const label = number
		? __("ProcureUAT: {0} · {1}", [__(status), number])
		: __("ProcureUAT: {0}", [__(status)]);
	const color = o2o_sync.purchase_invoice.COLORS[status] || "gray";
	const $pill = $(
		`<a class="indicator-pill whitespace-nowrap o2o-sync-indicator ${color}" style="margin-top: 4px"></a>`
	)
		.attr("data-sync-status", status)
		.attr("title", __("Sync Log of {0}", [frm.doc.name]))
		.attr("href", `/app/sync-log?reference_name=${encodeURIComponent(frm.doc.name)}`)
		.append($("<span></span>").text(label))
		.data("invoice", frm.doc.name);
	$sub_heading.removeClass("hide").append($pill);

	if (!frappe.model.can_read("Sync Mapping")) return;
	frappe.db.get_value("Sync Mapping", { purchase_invoice: frm.doc.name }, "name").then((r) => {
		const mapping = r.message && r.message.name;
		if (!mapping || frm.doc.name !== $pill.data("invoice")) return;
		$pill
			.attr("href", `/app/sync-mapping/${encodeURIComponent(mapping)}`)
			.attr("title", __("Sync Mapping {0}", [mapping]))
			.attr("data-sync-mapping", mapping);
	});
};
