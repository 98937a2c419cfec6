// Copyright (c) 2026, o2o_sync developers and contributors
// For license information, please see license.txt

frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Sync Log per Day"] = {
	method: "o2o_sync.o2o_sync.dashboard_chart_source.sync_log_per_day.sync_log_per_day.get",
	filters: [
		{
			fieldname: "days",
			label: __("Days"),
			fieldtype: "Int",
			default: 30,
		},
	],
};
