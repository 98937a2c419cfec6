// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.provide("o2o_sync.database_connection");

o2o_sync.database_connection.method = (name) =>
	`o2o_sync.o2o_sync.doctype.database_connection.database_connection.${name}`;

frappe.ui.form.on("Database Connection", {
	onload(frm) {
		// these are credentials for another system, not user passwords: don't send them to
		// the password strength checker on every keystroke
		["password", "ssh_private_key", "ssh_key_passphrase"].forEach((fieldname) => {
			frm.get_field(fieldname)?.disable_password_checks?.();
		});
	},

	refresh(frm) {
		if (frm.is_new()) return;

		const actions = o2o_sync.database_connection;
		frm.add_custom_button(__("Test Connection"), () => actions.test_connection(frm));
		if (frm.doc.use_ssh_tunnel && frm.doc.ssh_host) {
			frm.add_custom_button(__("Fetch host key"), () => actions.fetch_host_key(frm));
		}
	},
});

o2o_sync.database_connection.test_connection = function (frm) {
	frappe.call({
		method: o2o_sync.database_connection.method("test_connection"),
		args: { connection: frm.doc.name },
		freeze: true,
		freeze_message: __("Connecting to {0}…", [frm.doc.name]),
		callback(r) {
			const result = r.message || {};
			const ok = result.success ?? result.ok ?? false;
			const rows = [];
			const add = (label, value) => {
				if (value === undefined || value === null || value === "") return;
				rows.push(
					`<tr><th style="width: 40%">${label}</th><td>${frappe.utils.escape_html(
						String(value)
					)}</td></tr>`
				);
			};
			const as_list = (value) => {
				if (Array.isArray(value)) return value.join(", ");
				if (value && typeof value === "object") return Object.keys(value).join(", ");
				return value;
			};

			add(__("Latency"), result.latency_ms != null ? `${result.latency_ms} ms` : null);
			add(__("Server Version"), result.server_version);
			add(__("Tables Present"), as_list(result.tables_present));
			const missing = result.missing_tables ?? result.tables_missing;
			if (ok && Array.isArray(missing) && !missing.length) {
				add(__("Tables"), __("All the tables o2o_sync reads are present"));
			} else {
				add(__("Tables Missing"), as_list(missing));
			}
			add(__("Message"), result.message);
			if (!ok) add(__("Reason"), result.reason ?? result.error);

			frappe.msgprint({
				title: ok ? __("Connection Successful") : __("Connection Failed"),
				indicator: ok ? "green" : "red",
				message: rows.length
					? `<table class="table table-bordered table-sm">${rows.join("")}</table>`
					: ok
					? __("Connected.")
					: __("The connection failed."),
			});
		},
	});
};

o2o_sync.database_connection.fetch_host_key = function (frm) {
	frappe.call({
		method: o2o_sync.database_connection.method("fetch_host_key"),
		args: { connection: frm.doc.name },
		freeze: true,
		freeze_message: __("Asking {0} for its host key…", [frm.doc.ssh_host]),
		callback(r) {
			const key = r.message;
			if (!key || !key.key_line) return;

			const esc = frappe.utils.escape_html;
			let status = "";
			if (key.matches_stored) {
				status = `<p class="text-success">${__("This is the host key already accepted.")}</p>`;
			} else if (key.stored_key_line) {
				status = `<p class="text-danger"><b>${__(
					"This key differs from the accepted one. Accept it only if the bastion's key was deliberately changed."
				)}</b></p>`;
			}

			const dialog = new frappe.ui.Dialog({
				title: __("SSH Host Key of {0}", [frm.doc.ssh_host]),
				size: "large",
				fields: [
					{
						fieldtype: "HTML",
						fieldname: "key_html",
						options: `
							${status}
							<p>${__("Key type")}: <b>${esc(key.key_type || "")}</b></p>
							<p>${__("Fingerprint")}: <code>${esc(key.fingerprint || "")}</code></p>
							<pre style="white-space: pre-wrap; word-break: break-all">${esc(key.key_line)}</pre>
							<p class="text-muted">${__(
								"Compare the fingerprint with the one your server administrator reads on the bastion (ssh-keygen -lf on its host key). Accept only if they are identical."
							)}</p>`,
					},
				],
				primary_action_label: __("Accept host key"),
				primary_action() {
					frappe.call({
						method: o2o_sync.database_connection.method("accept_host_key"),
						args: { connection: frm.doc.name, key_line: key.key_line },
						freeze: true,
						callback(res) {
							dialog.hide();
							frappe.show_alert({
								message: __("Host key {0} accepted", [res.message?.fingerprint || ""]),
								indicator: "green",
							});
							frm.reload_doc();
						},
					});
				},
			});
			dialog.show();
		},
	});
};
