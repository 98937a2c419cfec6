# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""bench commands of o2o_sync (Frappe collects `commands` from `<app>.commands`)."""

import click
from frappe.commands import get_site, pass_context

from o2o_sync.constants import SETTINGS


@click.command("o2o-demo-portal")
@click.option("--invoices", type=int, default=40, show_default=True, help="How many invoices to seed")
@click.option(
	"--database", default="procureuat_demo", show_default=True, help="Portal database to (re)create"
)
@click.option("--company", help=f"ERPNext Company to map the demo entity to in {SETTINGS}")
@click.option(
	"--db-root-username",
	"--mariadb-root-username",
	help="MariaDB admin user (default: root_login from the config, else root)",
)
@click.option(
	"--db-root-password",
	"--mariadb-root-password",
	help="MariaDB admin password (default: root_password from the config, else empty)",
)
@pass_context
def o2o_demo_portal(context, invoices, database, company, db_root_username, db_root_password):
	"""Create a demo ProcureUAT portal database with invoices, and a Database Connection to it.

	The database lives on the site's own MariaDB server and is dropped first when it exists.
	The connection logs in as a MariaDB user that may only use that database; the admin login
	is used for this command only.
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
			db_root_password=db_root_password,
			map_company=company,
		)
	except frappe.ValidationError as e:
		raise click.ClickException(frappe.utils.strip_html(str(e))) from None
	except pymysql.MySQLError as e:  # e.g. access denied for the admin login
		raise click.ClickException(f"MariaDB refused: {e}") from None
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


commands = [o2o_demo_portal]
