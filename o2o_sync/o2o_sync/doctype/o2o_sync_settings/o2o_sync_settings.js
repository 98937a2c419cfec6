// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("O2O Sync Settings", {
	setup(frm) {
		const non_stock_item = () => ({ filters: { is_stock_item: 0, disabled: 0, has_variants: 0 } });
		frm.set_query("default_item", non_stock_item);
		frm.set_query("freight_item", non_stock_item);

		const ledger_of_row = (extra) => (doc, cdt, cdn) => {
			const row = locals[cdt][cdn];
			return { filters: { company: row.company, is_group: 0, disabled: 0, ...extra } };
		};
		["cgst_account", "sgst_account", "igst_account"].forEach((fieldname) => {
			frm.set_query(
				fieldname,
				"entities",
				ledger_of_row({ account_type: ["in", ["Tax", "Chargeable"]] })
			);
		});
		frm.set_query("expense_account", "entities", ledger_of_row({}));
		frm.set_query("cost_center", "entities", ledger_of_row({}));
	},
});
