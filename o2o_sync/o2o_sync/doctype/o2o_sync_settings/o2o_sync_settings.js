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

	onload() {
		o2o_sync.settings.listen_to_pull();
	},

	refresh(frm) {
		o2o_sync.settings.show_last_run(frm);
		o2o_sync.settings.add_buttons(frm);
	},
});

frappe.provide("o2o_sync.settings");

// The operator's desk on O2O Sync Settings: Pull now (a background job, with a realtime progress
// bar and the summary for the user who started it), Test Connection, and the last run at the top.
Object.assign(o2o_sync.settings, {
	PULL_EVENT: "o2o_sync_pull_progress",
	PULL_TITLE: __("Pulling from ProcureUAT"),

	add_buttons(frm) {
		if (!o2o_sync.is_manager()) return;
		frm.add_custom_button(__("Pull now"), () => o2o_sync.settings.pull_now(frm));
		frm.add_custom_button(__("Test Connection"), () => o2o_sync.settings.test_connection(frm));
	},

	show_last_run(frm) {
		if (!frm.doc.last_pull_at) {
			frm.dashboard.set_headline_alert(__("No pull has finished yet."), "blue");
			return;
		}
		const when = frappe.datetime.str_to_user(frm.doc.last_pull_at);
		const summary = frappe.utils.escape_html(frm.doc.last_pull_summary || "");
		const failed = /\bfailed ([1-9]\d*)/.test(frm.doc.last_pull_summary || "");
		frm.dashboard.set_headline_alert(
			`<span class="o2o-last-run">${__("Last pull {0} ({1}): {2}", [
				when,
				frappe.datetime.prettyDate(frm.doc.last_pull_at),
				summary,
			])}</span>`,
			failed ? "orange" : "green"
		);
	},

	pull_now(frm) {
		frappe.call({ method: "o2o_sync.sync.desk.enqueue_pull", type: "POST" }).then((r) => {
			const result = r.message || {};
			if (result.status === "queued") {
				frappe.show_progress(
					o2o_sync.settings.PULL_TITLE,
					0,
					1,
					__("Queued; waiting for a background worker…")
				);
			} else {
				frappe.msgprint({
					title: __("Pull now"),
					indicator: "orange",
					message: frappe.utils.escape_html(
						result.message || __("A pull is already running.")
					),
				});
			}
		});
	},

	listen_to_pull() {
		if (o2o_sync.settings.listening) return;
		o2o_sync.settings.listening = true;
		frappe.realtime.on(o2o_sync.settings.PULL_EVENT, (data) =>
			o2o_sync.settings.on_pull_event(data || {})
		);
	},

	on_pull_event(data) {
		const title = o2o_sync.settings.PULL_TITLE;
		if (data.stage === "batch" || data.stage === "continued") {
			const total = data.limit || Math.max(data.read, 1) * 2;
			frappe.show_progress(
				title,
				data.read,
				total,
				(data.stage === "continued"
					? __("Going on in another background job (a job's time is bounded). ")
					: "") +
					__("Batch {0}: invoices read {1}, created {2}, updated {3}, failed {4}", [
						data.batches,
						data.read,
						data.created,
						data.updated,
						data.failed,
					])
			);
			return;
		}
		if (data.stage === "done") {
			const counts = data.counts || {};
			const dialog = frappe.show_progress(title, 1, 1, data.summary || "");
			dialog.set_title(__("Pull finished"));
			dialog.$wrapper.attr("data-o2o-pull", "done");
			frappe.show_alert({
				message: __("Pull finished: created {0}, updated {1}, failed {2}", [
					counts.created || 0,
					counts.updated || 0,
					counts.failed || 0,
				]),
				indicator: counts.failed ? "orange" : "green",
			});
		} else {
			frappe.hide_progress();
			frappe.msgprint({
				title: data.stage === "busy" ? __("Pull not run") : __("Pull failed"),
				indicator: data.stage === "busy" ? "orange" : "red",
				message: frappe.utils.escape_html(data.message || ""),
			});
		}
		if (cur_frm && cur_frm.doctype === "O2O Sync Settings") cur_frm.reload_doc();
	},

	test_connection(frm) {
		frappe
			.call({
				method: "o2o_sync.sync.desk.test_database_connection",
				type: "POST",
				freeze: true,
				freeze_message: __("Testing the connection to ProcureUAT…"),
			})
			.then((r) => {
				const result = r.message || {};
				const lines = [frappe.utils.escape_html(result.message || "")];
				if (result.ok) {
					lines.push(
						__("Latency {0} ms, server {1}", [
							result.latency_ms,
							frappe.utils.escape_html(result.server_version || ""),
						])
					);
				}
				frappe.msgprint({
					title: result.ok ? __("Connection OK") : __("Connection failed"),
					indicator: result.ok ? "green" : "red",
					message: lines.join("<br>"),
				});
			});
	},
});

// The pull cursor's safety nets (o2o_sync/sync/desk.py): Rescan from date moves the cursor of the
// settings' Database Connection back and pulls; Reconcile now compares the portal with the Sync
// Mappings and applies what the cursor missed. Both run as background jobs; managers only.
frappe.ui.form.on("O2O Sync Settings", {
	refresh(frm) {
		if (!o2o_sync.is_manager() || frm.is_new()) return;
		if (frappe.model.can_write(frm.doctype)) {
			// moving the cursor back needs write permission on the settings, as the server checks
			frm.add_custom_button(
				__("Rescan from date"),
				() => o2o_sync.settings.rescan_from_date(frm),
				__("Cursor")
			);
		}
		frm.add_custom_button(
			__("Reconcile now"),
			() => o2o_sync.settings.reconcile_now(frm),
			__("Cursor")
		);
	},
});

Object.assign(o2o_sync.settings, {
	rescan_from_date(frm) {
		frappe.prompt(
			[
				{
					fieldname: "from_date",
					fieldtype: "Date",
					label: __("Read the portal again from"),
					reqd: 1,
					description: __(
						"The pull cursor moves back to the start of this day (the portal's clock) and a pull starts. Invoices that did not change are skipped; nothing is created twice."
					),
				},
			],
			(values) => {
				frappe
					.call({
						method: "o2o_sync.sync.desk.rescan_from_date",
						type: "POST",
						args: { from_date: values.from_date },
						freeze: true,
					})
					.then((r) => {
						const result = r.message || {};
						if (result.status === "busy") {
							frappe.msgprint(__("A pull is running; try again when it has finished."));
							return;
						}
						frappe.show_alert({
							message: __("Pull cursor at {0}; a pull is {1}.", [
								result.cursor || __("the start"),
								(result.pull && result.pull.status) || __("queued"),
							]),
							indicator: "green",
						});
						frm.reload_doc();
					});
			},
			__("Rescan from date"),
			__("Rescan")
		);
	},

	reconcile_now(frm) {
		frappe
			.call({ method: "o2o_sync.sync.desk.reconcile_now", type: "POST", freeze: true })
			.then((r) => {
				const result = r.message || {};
				frappe.show_alert({
					message:
						result.status === "busy"
							? __("A reconciliation is already queued or running.")
							: __("Reconciliation queued: its Sync Log row says what it found."),
					indicator: result.status === "busy" ? "orange" : "green",
				});
			});
	},
});

// Parallel backfill (o2o_sync/sync/backfill.py): the portal's history read in parts, one
// long-queue job each; its progress (parts done, invoices read of those counted at its start)
// shows at the top of the form and refreshes while it runs. Managers start it; it runs as a job.
frappe.ui.form.on("O2O Sync Settings", {
	refresh(frm) {
		o2o_sync.settings.show_backfill(frm);
		if (!o2o_sync.is_manager() || frm.is_new()) return;
		frm.add_custom_button(
			__("Backfill in parallel"),
			() => o2o_sync.settings.start_backfill(frm),
			__("Cursor")
		);
	},
});

Object.assign(o2o_sync.settings, {
	BACKFILL_REFRESH_MS: 5000,

	show_backfill(frm) {
		clearTimeout(o2o_sync.settings.backfill_timer);
		frappe
			.xcall("o2o_sync.sync.backfill_state.backfill_progress")
			.then((p) => {
				if (!p || frm.doc.doctype !== "O2O Sync Settings") return;
				const running = p.status === "Running";
				const percent = p.total ? Math.floor((100 * p.read) / p.total) : running ? 0 : 100;
				const message = __(
					"Backfill {0}: {1}; parts {2} of {3} done; invoices {4} of {5} read; created {6}, failed {7}",
					[
						p.name,
						__(p.status),
						p.parts_done,
						p.parts,
						p.read,
						p.total,
						p.created,
						p.failed,
					]
				);
				frm.dashboard.progress_area?.body?.empty?.();
				frm.dashboard.add_progress(__("Backfill"), percent, message);
				const area = frm.dashboard.progress_area && frm.dashboard.progress_area.body;
				if (area) area.attr("data-o2o-backfill", p.status);
				if (running) {
					o2o_sync.settings.backfill_timer = setTimeout(() => {
						if (cur_frm === frm) o2o_sync.settings.show_backfill(frm);
					}, o2o_sync.settings.BACKFILL_REFRESH_MS);
				}
			})
			.catch(() => {});
	},

	start_backfill(frm) {
		frappe.prompt(
			[
				{
					fieldname: "from_date",
					fieldtype: "Date",
					label: __("From date (cut-over)"),
					default: frm.doc.pull_from_date,
					description: __(
						"Invoices dated before it are never pulled; kept for the runs that follow. Empty: the settings' own."
					),
				},
				{
					fieldname: "jobs",
					fieldtype: "Int",
					label: __("Parts"),
					description: __(
						"Read at once by separate background jobs on the long queue. Empty: one per long-queue worker of the bench."
					),
				},
			],
			(values) => {
				frappe
					.call({
						method: "o2o_sync.sync.desk.backfill",
						type: "POST",
						args: { from_date: values.from_date || null, jobs: values.jobs || null },
						freeze: true,
					})
					.then((r) => {
						const result = r.message || {};
						if (result.status !== "queued") {
							frappe.msgprint(
								__("A backfill or a pull is already on its way; see its progress here.")
							);
						} else {
							frappe.show_alert({
								message: __(
									"Backfill queued: it counts the portal's invoices, then its parts start."
								),
								indicator: "green",
							});
						}
						setTimeout(() => o2o_sync.settings.show_backfill(frm), 2000);
					});
			},
			__("Backfill in parallel"),
			__("Start")
		);
	},
});
