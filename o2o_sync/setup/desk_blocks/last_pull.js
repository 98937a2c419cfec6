// The "Last pull" block of the O2O Sync workspace (a Custom HTML Block; Frappe runs this with
// `root_element`, the block's shadow root). Data: o2o_sync.sync.desk_status.last_pull_status.
const $el = (key) => root_element.querySelector(`[data-o2o="${key}"]`);
const text = (key, value) => {
	const el = $el(key);
	if (el) el.textContent = value;
};
const when = (value) =>
	value
		? `${frappe.datetime.str_to_user(value)} (${frappe.datetime.prettyDate(value)})`
		: __("never");

frappe
	.xcall("o2o_sync.sync.desk_status.last_pull_status")
	.then((status) => {
		text("last-pull-at", when(status.last_pull_at));
		text("summary", status.last_pull_summary || __("No pull has finished yet"));
		text("interrupted", status.interrupted || "");
		const fill = status.backfill;
		text(
			"backfill",
			fill
				? __("Backfill {0}: {1}; parts {2} of {3} done; invoices {4} of {5} read", [
						fill.name,
						__(fill.status),
						fill.parts_done,
						fill.parts,
						fill.read,
						fill.total,
				  ])
				: ""
		);
		const pill = $el("portal");
		const states = {
			true: ["green", __("Portal answered")],
			false: ["red", __("Portal did not answer")],
			null: ["gray", __("Portal not asked yet")],
		};
		const [color, label] = states[String(status.portal_answered)] || states.null;
		pill.className = `indicator-pill ${color}`;
		pill.textContent = label;
		pill.dataset.answered = String(status.portal_answered);
		text(
			"portal-message",
			status.portal_checked_at
				? `${when(status.portal_checked_at)}: ${status.portal_message || ""}`
				: status.portal_message || ""
		);
	})
	.catch(() => text("summary", __("Not permitted")));
