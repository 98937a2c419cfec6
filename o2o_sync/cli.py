"""bench commands for an administrator who lives in the terminal (`commands.py` lists them):

    bench --site SITE o2o-status
    bench --site SITE o2o-pull [--from-date YYYY-MM-DD] [--limit N]
    bench --site SITE o2o-backfill [--from-date YYYY-MM-DD] [--jobs N] [--wait]
    bench --site SITE o2o-push INVOICE
    bench --site SITE o2o-conflicts
    bench --site SITE o2o-resolve MAPPING --keep erpnext|procureuat [--field F ...]

Output is plain text for a person. Exit codes say whether it worked: `EXIT_OK` (0) it did;
`EXIT_FAILED` (1) it did not (the portal unreachable, an invoice failed, a resolution
refused, no such document); `EXIT_BUSY` (2) another pull holds the lock, and click's own
usage errors (a bad option) exit 2 as well. The commands run as Administrator, like every
bench command; they call what the console calls (`sync_utils`, `jobs`).

Module-level imports stay light (bench imports this for every command it runs); Frappe and
the engine are imported inside the commands.
"""

from contextlib import contextmanager

import click
from frappe.commands import get_site, pass_context

EXIT_OK, EXIT_FAILED, EXIT_BUSY = 0, 1, 2
#: width of the `o2o-pull` progress bar, in characters
BAR_WIDTH = 30


@contextmanager
def on_site(context):
	"""Connect to the command's site for the block, then disconnect; when this process is
	already connected to that site (a test runner invoking the command) use that connection."""
	import frappe

	site = get_site(context)
	if getattr(frappe.local, "site", None) == site and getattr(frappe.local, "db", None) is not None:
		yield
		return
	frappe.init(site=site)
	frappe.connect()
	try:
		yield
	finally:
		frappe.destroy()


def error_text(error: Exception) -> str:
	"""An exception as one plain line (Frappe's messages carry HTML)."""
	from frappe.utils import strip_html

	return " ".join(strip_html(str(error)).split()) or type(error).__name__


def show(data, indent: int = 0) -> list[str]:
	"""A dict / list / value as indented "key: value" lines (dicts keep their order)."""
	pad = "  " * indent
	if isinstance(data, dict):
		lines = []
		for key, value in data.items():
			label = str(key).replace("_", " ")
			if isinstance(value, dict | list | tuple) and value:
				lines.append(f"{pad}{label}:")
				lines.extend(show(value, indent + 1))
			else:
				lines.append(f"{pad}{label}: {'' if value is None else value}")
		return lines
	if isinstance(data, list | tuple):
		lines = []
		for item in data:
			if isinstance(item, dict):
				sub = show(item, indent + 1)
				lines.append(f"{pad}- {sub[0].strip()}" if sub else f"{pad}-")
				lines.extend(sub[1:])
			else:
				lines.append(f"{pad}- {item}")
		return lines
	return [f"{pad}{data}"]


def option_date(value: str | None) -> str | None:
	"""`--from-date` as "YYYY-MM-DD" (None when not given); a usage error naming the option when
	it is no date. Call on the site (Frappe's `getdate`)."""
	if not value:
		return None
	from frappe.utils import getdate

	try:
		return str(getdate(value))
	except Exception:
		raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--from-date") from None


def progress_line(counts: dict, read: int, batches: int, limit: int | None) -> str:
	"""One `o2o-pull` progress line: a bar when the limit is known, then the counts so far."""
	done = f"batch {batches}: read {read}"
	if limit:
		filled = min(BAR_WIDTH, int(BAR_WIDTH * read / limit))
		done = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {read}/{limit} read, batch {batches}"
	return (
		f"{done}; created {counts.get('created', 0)}, updated {counts.get('updated', 0)}, "
		f"failed {counts.get('failed', 0)}, conflict {counts.get('conflict', 0)}"
	)


@click.command("o2o-status")
@pass_context
def o2o_status(context):
	"""Show the sync's state: mappings by status, the last pull and push, the cursor."""
	with on_site(context):
		from o2o_sync.sync import sync_utils

		try:
			status = sync_utils.sync_status()
		except Exception as e:
			click.echo(f"Could not read the sync's state: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
	click.echo("\n".join(status_lines(status)))


@click.command("o2o-pull")
@click.option("--from-date", help="Cut-over (YYYY-MM-DD): invoices dated before it are never pulled; kept")
@click.option("--limit", type=click.IntRange(min=1), help="The most portal invoices to read this run")
@pass_context
def o2o_pull(context, from_date=None, limit=None):
	"""Pull ProcureUAT invoices into Purchase Invoices now, printing each batch.

	Exit 0 when every invoice went through, 1 when some failed (see the Sync Log) or the
	portal did not answer, 2 when another pull is running.
	"""
	with on_site(context):
		from o2o_sync.sync.jobs import run_pull
		from o2o_sync.sync.pull_progress import summary_text

		from_date = option_date(from_date)

		def on_batch(counts, read, batches):
			click.echo(progress_line(counts, read, batches, limit))

		try:
			counts = run_pull(from_date=from_date, limit=limit, on_batch=on_batch)
		except Exception as e:
			click.echo(f"Pull failed: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
	if counts.get("status") == "busy":
		click.echo("Another pull is running; try again when it has finished.", err=True)
		raise SystemExit(EXIT_BUSY)
	click.echo(f"Pull finished: {summary_text(counts)}")
	if counts.get("failed"):
		click.echo(f"{counts['failed']} invoice(s) failed: see the Sync Log.", err=True)
		raise SystemExit(EXIT_FAILED)


def backfill_line(progress: dict) -> str:
	"""A backfill's progress (`backfill_state.progress`) on one line."""
	line = (
		f"Backfill {progress['name']}: {progress['status']}, parts {progress['parts_done']} of {progress['parts']} done,"
		f" invoices {progress['read']} of {progress['total']} read, created {progress['created']},"
		f" failed {progress['failed']}"
	)
	if progress.get("finished_at"):
		line += f" (finished {when(progress['finished_at'])})"
	return line


@click.command("o2o-backfill")
@click.option("--from-date", help="Cut-over (YYYY-MM-DD): invoices dated before it are never pulled; kept")
@click.option(
	"--jobs",
	type=click.IntRange(min=1, max=64),
	help="Parts run as separate long-queue jobs (default: the bench's long-queue workers)",
)
@click.option("--wait", is_flag=True, help="Stay and print the progress every few seconds until it ends")
@pass_context
def o2o_backfill(context, from_date=None, jobs=None, wait=False):
	"""Read the portal's whole history in parallel parts, one long-queue job each, on any
	worker of the bench; the incremental pull takes over from the moment it started.

	Exit 0 when it started (with --wait: when it ended with no invoice failed), 1 when the
	portal did not answer or invoices failed, 2 when a pull or another backfill is running.
	"""
	import time

	with on_site(context):
		import frappe

		from o2o_sync.sync import backfill, backfill_state

		from_date = option_date(from_date)
		try:
			started = backfill.start_backfill(from_date=from_date, jobs=jobs)
		except Exception as e:
			click.echo(f"Backfill not started: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
		if started.get("status") in ("busy", "running"):
			why = (
				f"backfill {started['backfill']} is running"
				if started.get("backfill")
				else "a pull is running"
			)
			click.echo(f"Not started: {why}; see bench o2o-status.", err=True)
			raise SystemExit(EXIT_BUSY)
		click.echo(
			f"Backfill {started['backfill']} started: {started['total']} portal invoice(s) changed before"
			f" {started['boundary']} (portal time), in {started['parts']} part(s) on the long queue"
		)
		if not wait:
			click.echo("Follow it with: bench --site SITE o2o-status")
			return
		while True:
			time.sleep(5)
			frappe.db.rollback()  # a fresh snapshot of the parts' progress
			progress = backfill_state.progress(started["backfill"])
			click.echo(backfill_line(progress))
			if progress["status"] != "Running":
				break
	if progress["failed"]:
		click.echo(f"{progress['failed']} invoice(s) failed: see the Sync Log.", err=True)
		raise SystemExit(EXIT_FAILED)


@click.command("o2o-push")
@click.argument("invoice")
@pass_context
def o2o_push(context, invoice):
	"""Push one submitted Purchase Invoice to ProcureUAT now (a pulled one: its payment state).

	Exit 0 when it is on the portal, 1 otherwise (not submitted, refused, portal unreachable).
	"""
	with on_site(context):
		import frappe

		from o2o_sync.constants import PURCHASE_INVOICE
		from o2o_sync.sync.sync_utils import manual_sync_invoice_to_external

		if not frappe.db.exists(PURCHASE_INVOICE, invoice):
			click.echo(f"{PURCHASE_INVOICE} {invoice} not found.", err=True)
			raise SystemExit(EXIT_FAILED)
		try:
			result = manual_sync_invoice_to_external(invoice)
		except Exception as e:
			click.echo(f"Push of {invoice} failed: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
	from o2o_sync.constants import SYNCED

	status = result.get("status")
	line = f"{invoice}: {status}. {result.get('message') or ''}".strip()
	if result.get("invoice_number"):
		line += f" (portal requisition {result.get('procureuat_id')}, {result['invoice_number']})"
	if status == SYNCED:
		click.echo(line)
	else:
		click.echo(line, err=True)
		raise SystemExit(EXIT_FAILED)


def conflict_lines(conflict: dict) -> list[str]:
	"""One held mapping of `sync_utils.list_conflicts` as lines: which invoice, why it is held,
	the fields side by side (at the last sync | ProcureUAT now | ERPNext now), the actions."""
	head = f"{conflict.get('mapping')}  {conflict.get('invoice') or '(no Purchase Invoice)'}"
	head += f"  portal requisition {conflict.get('portal_id')}"
	if conflict.get("portal_invoice"):
		head += f" ({conflict['portal_invoice']})"
	lines = [head]
	if conflict.get("held_reason"):
		lines.append(f"  held: {conflict['held_reason']}")
	if conflict.get("error"):
		lines.append(f"  both sides could not be read: {conflict['error']}")
	for f in conflict.get("fields") or []:
		lines.append(
			f"  {f.get('label') or f.get('field')}: last sync {f.get('base') or '-'} | "
			f"ProcureUAT {f.get('portal') or '-'} | ERPNext {f.get('erpnext') or '-'}"
		)
	if conflict.get("actions"):
		lines.append(f"  actions: {', '.join(conflict['actions'])}")
	return lines


def when(value) -> str:
	"""A stored time as "YYYY-MM-DD HH:MM:SS" (the site's time)."""
	return str(value).replace("T", " ")[:19] if value else ""


def status_lines(status: dict) -> list[str]:
	"""`sync_utils.sync_status()` as lines a person reads at a glance."""
	status = dict(status)
	lines = []
	counts = status.pop("counts", None) or {}
	lines.append("Sync Mappings: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
	if "enabled" in status:
		lines.append(f"Enabled: {'yes' if status.pop('enabled') else 'no'}")
	pull = status.pop("last_pull", None) or {}
	if pull.get("at"):
		line = f"Last pull: {when(pull['at'])}: {pull.get('summary') or ''}".rstrip(": ")
		if pull.get("status"):
			line += f" [{pull['status']}]"
		lines.append(line)
		if pull.get("status") != "Success" and pull.get("message"):
			lines.append(f"  {pull['message']}")
	else:
		lines.append("Last pull: never")
	push = status.pop("last_push", None)
	if push:
		lines.append(
			f"Last push: {when(push.get('at'))}: {push.get('operation')} {push.get('invoice') or ''} "
			f"[{push.get('status')}] {push.get('message') or ''}".rstrip()
		)
	else:
		lines.append("Last push: never")
	if "pushes_24h" in status:
		pushes = status.pop("pushes_24h") or {}
		lines.append("Pushes (24 hours): " + ", ".join(f"{k} {v}" for k, v in pushes.items()))
	fill = status.pop("backfill", None)
	if fill:
		lines.append(backfill_line(fill))
	cursor = status.pop("cursor", None)
	if cursor:
		lines.append(
			f"Cursor: {when(cursor.get('updated_at')) or 'not set'}, requisition {cursor.get('requisition_id')}"
		)
	lines.extend(show(status))  # anything else the status holds
	return lines


@click.command("o2o-conflicts")
@pass_context
def o2o_conflicts(context):
	"""List what the sync holds for a person, with both sides' values and the actions."""
	with on_site(context):
		from o2o_sync.sync import sync_utils

		try:
			conflicts = sync_utils.list_conflicts()
		except Exception as e:
			click.echo(f"Could not list the conflicts: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
	if not conflicts:
		click.echo("No conflicts: nothing is held for a person.")
		return
	click.echo(f"{len(conflicts)} held for a person:")
	for conflict in conflicts:
		click.echo("")
		click.echo("\n".join(conflict_lines(conflict)))


@click.command("o2o-resolve")
@click.argument("mapping")
@click.option(
	"--keep",
	type=click.Choice(["erpnext", "procureuat"], case_sensitive=False),
	required=True,
	help="Which side to keep",
)
@click.option(
	"--field",
	"fields",
	multiple=True,
	help="A field to take from ProcureUAT (repeat); the rest stay ERPNext's",
)
@pass_context
def o2o_resolve(context, mapping, keep, fields):
	"""Settle a held Sync Mapping: keep ERPNext's or ProcureUAT's values (some fields from each).

	Exit 0 when it is settled, 1 when it was refused (nothing is applied then).
	"""
	keep = {"erpnext": "ERPNext", "procureuat": "ProcureUAT"}[keep.lower()]
	with on_site(context):
		import frappe

		from o2o_sync.constants import SYNC_MAPPING
		from o2o_sync.sync import sync_utils

		if not frappe.db.exists(SYNC_MAPPING, mapping):
			click.echo(f"{SYNC_MAPPING} {mapping} not found.", err=True)
			raise SystemExit(EXIT_FAILED)
		try:
			result = sync_utils.resolve_conflict(mapping, keep, fields=list(fields) or None)
		except Exception as e:
			click.echo(f"Not resolved: {error_text(e)}", err=True)
			raise SystemExit(EXIT_FAILED) from None
	result = result if isinstance(result, dict) else {"message": result}
	line = f"Resolved {mapping}: {result.get('action') or f'kept {keep}'}"
	if result.get("fields"):
		line += f" (from ProcureUAT: {', '.join(result['fields'])})"
	if result.get("status"):
		line += f"; now {result['status']}"
	click.echo(line)
	if result.get("message"):
		click.echo(result["message"])


#: the commands `commands.py` hands to bench
OPERATOR_COMMANDS = [o2o_status, o2o_pull, o2o_backfill, o2o_push, o2o_conflicts, o2o_resolve]
