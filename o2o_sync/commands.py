# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""bench commands of o2o_sync (Frappe collects `commands` from `<app>.commands`)."""

import sys

import click
from frappe.commands import get_site, pass_context

from o2o_sync.cli import OPERATOR_COMMANDS
from o2o_sync.constants import SETTINGS

#: why a password is never taken on the command line
PASSWORD_OPTION_REFUSED = (
	"{option} is no longer accepted: a password on the command line is visible to every local "
	"user (ps, /proc) and stays in the shell's history. Put root_password in site_config.json or "
	"common_site_config.json, or leave the option out and type the password when asked."
)


def _refuse_password_option(ctx, param, value):
	"""Click callback of the withdrawn `--db-root-password`: refuse any value, saying what to do."""
	if value is not None:
		raise click.UsageError(PASSWORD_OPTION_REFUSED.format(option="--db-root-password"), ctx=ctx)
	return value


def _admin_password(username: str | None) -> str | None:
	"""The MariaDB admin password for this run, never from the command line.

	None (let `demo.admin_credentials` read `root_password` from site_config.json or
	common_site_config.json, else use an empty password) when the config has one or the
	site's MariaDB accepts the login without one; otherwise, in a terminal, the password typed
	at a hidden prompt. Without a terminal, None: the command then fails with MariaDB's refusal.
	"""
	import frappe

	from o2o_sync.setup.demo import admin_credentials, admin_login_refused

	if frappe.conf.get("root_password") or not sys.stdin.isatty() or not admin_login_refused(username):
		return None
	user = admin_credentials(username)[0]
	return click.prompt(f"MariaDB password of {user}", hide_input=True)


@click.command("o2o-demo-portal")
@click.option("--invoices", type=int, default=40, show_default=True, help="How many invoices to seed")
@click.option(
	"--database", default="procureuat_demo", show_default=True, help="Portal database to (re)create"
)
@click.option("--company", help=f"ERPNext Company to map the demo entity to in {SETTINGS}")
@click.option(
	"--db-root-username",
	"--mariadb-root-username",
	help="MariaDB admin user (default: root_login from the config, else root). Its password comes "
	"from root_password in the config, else it is asked for when MariaDB wants one.",
)
@click.option(
	"--db-root-password",
	"--mariadb-root-password",
	hidden=True,
	expose_value=False,
	is_eager=True,
	callback=_refuse_password_option,
	help="Withdrawn: refused (a password on the command line is visible to every local user)",
)
@pass_context
def o2o_demo_portal(context, invoices, database, company, db_root_username):
	"""Create a demo ProcureUAT portal database with invoices, and a Database Connection to it.

	The database lives on the site's own MariaDB server and is dropped first when it exists.
	The connection logs in as a MariaDB user that may only use that database; the admin login
	is used for this command only. Its password is never taken on the command line: it is
	`root_password` from the site or common config, else asked for (hidden) in a terminal.
	"""
	import frappe
	import pymysql

	from o2o_sync.setup.demo import create_demo_portal

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		summary = create_demo_portal(
			database_name=database,
			invoices=invoices,
			db_root_username=db_root_username,
			db_root_password=_admin_password(db_root_username),
			map_company=company,
		)
	except frappe.ValidationError as e:
		raise click.ClickException(frappe.utils.strip_html(str(e))) from None
	except (
		pymysql.MySQLError
	) as e:  # e.g. access denied for the admin login (names the user, not the password)
		hint = (
			"; put root_password in the site or common config, or run the command in a terminal to be asked"
			if e.args and e.args[0] == 1045
			else ""
		)
		raise click.ClickException(f"MariaDB refused: {e}{hint}") from None
	finally:
		frappe.destroy()

	vendors = ", ".join(f"{v['id']} {v['name']} ({v['gstin'] or 'unregistered'})" for v in summary["vendors"])
	click.secho(
		f"Demo portal `{summary['database']}` on {summary['host']}:{summary['port']}: "
		f"{summary['invoices']} invoices (requisitions {summary['requisition_ids'][0]}-"
		f"{summary['requisition_ids'][1]}, {summary['invoice_dates'][0]} to {summary['invoice_dates'][1]})",
		fg="green",
	)
	click.echo(f"Entity {summary['entity_id']} (GSTIN {summary['entity_gstin']}); vendors: {vendors}")
	click.echo(
		f"Database Connection {summary['connection']!r} as MariaDB user {summary['db_user']!r}"
		+ (f" (the one {SETTINGS} uses)" if summary["connection_is_default"] else "")
		+ (f"; entity mapped to {summary['company']}" if summary["company"] else "")
	)
	click.echo("Next:")
	for step in summary["next_steps"]:
		click.echo(f"  {step}")


# the operator's commands: o2o-status, o2o-pull, o2o-backfill, o2o-push, o2o-conflicts, o2o-resolve
commands = [o2o_demo_portal, *OPERATOR_COMMANDS]
