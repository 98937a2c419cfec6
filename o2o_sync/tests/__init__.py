"""The app's own Frappe tests (bench tier).

Importing this package, which only the app's own test modules do, opts them in to inline
jobs: the doc events then run the push jobs inside the submit (`scope.run_jobs_now`), so a
test reads the portal right after it. Every other test run (ERPNext's, another app's; plain
`frappe.flags.in_test`) queues the jobs after the caller commits, as production does.
"""

import frappe

from o2o_sync.sync.scope import RUN_JOBS_NOW_FLAG


def inline_jobs(on: bool = True) -> None:
	"""Run the doc events' jobs inline (`on`) or queue them after commit as in production."""
	frappe.flags[RUN_JOBS_NOW_FLAG] = bool(on)


try:
	inline_jobs()
except RuntimeError:  # imported outside a site (no `frappe.local` yet): nothing to opt in
	pass
