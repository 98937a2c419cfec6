"""The app's own Frappe tests (bench tier), and portal helpers the fast tier shares.

Importing this package on a site, which only the app's own test modules do, opts them in to
inline jobs: the doc events then run the push jobs inside the submit (`scope.run_jobs_now`),
so a test reads the portal right after it. Every other test run (ERPNext's, another app's;
plain `frappe.flags.in_test`) queues the jobs after the caller commits, as production does.
"""

from o2o_sync.constants import RUN_JOBS_NOW_FLAG

try:
	import frappe
except ImportError:  # the fast tier (no Frappe) imports the portal helpers of this package
	frappe = None


def inline_jobs(on: bool = True) -> None:
	"""Run the doc events' jobs inline (`on`) or queue them after commit as in production."""
	frappe.flags[RUN_JOBS_NOW_FLAG] = bool(on)


if frappe is not None:
	try:
		inline_jobs()
	except RuntimeError:  # imported outside a site (no `frappe.local` yet): nothing to opt in
		pass
