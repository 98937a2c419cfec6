"""Where O2O Sync Settings become engines: the one place that reads the settings for the sync.

Every entry point (desk actions in `desk`, background jobs in `jobs`, scheduler entry points in
`scheduler`, doc events in `events`) builds its engine here, so a setting is read, defaulted and
type-converted in one way only. Values are converted with Frappe's `cstr`/`cint`, so a settings
document, a `frappe._dict` or a plain dict from the console or REST (an `entity_id` given as an
int, a number as text) give the same engine.
"""

import frappe
from frappe import _
from frappe.utils import cint, cstr, getdate, now_datetime

from o2o_sync.constants import DATABASE_CONNECTION, DEFAULT_STRATEGY, SETTINGS
from o2o_sync.o2o_sync.field_map_settings import (
	contract_columns,
	erpnext_fields,
	field_map_rows,
	live_columns,
)
from o2o_sync.sync.engine.pull.run import TRANSIENT_RETRIES, PullEngine
from o2o_sync.sync.engine.push.engine import PushEngine, PushSettings
from o2o_sync.sync.frappe_port import FrappePort, FrappePushPort, faults
from o2o_sync.sync.model import field_maps as fm
from o2o_sync.sync.model.columns import REGISTRY
from o2o_sync.sync.model.mapping import EntityConfig, PullSettings
from o2o_sync.sync.portal.config import ConnectionConfig

#: `pull_batch_size` when the settings hold none
DEFAULT_PULL_BATCH_SIZE = 200
#: `invoice_prefix` when the settings hold none (GST invoice numbers PREFIX/YY-YY/NNNN)
DEFAULT_INVOICE_PREFIX = "O2O"
#: `reconcile_days` when the settings hold none
DEFAULT_RECONCILE_DAYS = 30


def sync_enabled() -> bool:
	"""True when O2O Sync Settings is enabled (scheduled jobs and doc events act only then)."""
	return bool(frappe.db.get_single_value(SETTINGS, "enabled"))


def get_settings():
	"""The O2O Sync Settings document (Single), from the document cache."""
	return frappe.get_cached_doc(SETTINGS)


def pull_settings(settings=None) -> PullSettings:
	"""O2O Sync Settings as the engine's `PullSettings`, entities keyed by portal entity id.

	Args: `settings`, the O2O Sync Settings document or a dict of its fields (default: the
	document, read fresh from the database). Entity ids and GSTINs are stripped (GSTINs upper
	cased), whatever type they came as; `pull_from_date` ("YYYY-MM-DD" or a date) becomes a
	`datetime.date`; a missing conflict strategy is "Hold for review", a missing batch size 200.
	"""
	s = settings or frappe.get_doc(SETTINGS)
	entities = {}
	for row in s.get("entities") or []:
		entity_id = cstr(row.get("entity_id")).strip()
		entities[entity_id] = EntityConfig(
			entity_id=entity_id,
			company=row.get("company"),
			company_gstin=cstr(row.get("company_gstin")).strip().upper(),
			cgst_account=row.get("cgst_account"),
			sgst_account=row.get("sgst_account"),
			igst_account=row.get("igst_account"),
			expense_account=row.get("expense_account"),
			cost_center=row.get("cost_center"),
		)
	from_date = s.get("pull_from_date")
	return PullSettings(
		default_item=s.get("default_item"),
		freight_item=s.get("freight_item"),
		supplier_group=s.get("supplier_group"),
		submit_pulled_invoices=bool(cint(s.get("submit_pulled_invoices"))),
		conflict_strategy=s.get("conflict_strategy") or DEFAULT_STRATEGY,
		pull_batch_size=cint(s.get("pull_batch_size")) or DEFAULT_PULL_BATCH_SIZE,
		from_date=getdate(from_date) if from_date else None,
		entities=entities,
	)


def gst_accounts(settings: PullSettings) -> set[str]:
	"""Every CGST/SGST/IGST account named in the entity mappings (the accounts whose tax rows
	the sync writes and reads as GST; any other tax row, e.g. TDS, is left alone)."""
	return {
		a for e in settings.entities.values() for a in (e.cgst_account, e.sgst_account, e.igst_account) if a
	}


def connection_config(connection: str | None = None) -> ConnectionConfig:
	"""The `ConnectionConfig` of a Database Connection, secrets decrypted (keep it in memory only).

	Args: the Database Connection name (default: the one O2O Sync Settings names).
	Raises frappe.ValidationError when none is configured, frappe.DoesNotExistError when the
	named one does not exist.
	"""
	name = connection or frappe.db.get_single_value(SETTINGS, "database_connection")
	if not name:
		frappe.throw(_("Set a Database Connection in O2O Sync Settings first"))
	return frappe.get_doc(DATABASE_CONNECTION, name).get_connection_config()


def portal_client(connection: str | None = None):
	"""The `ProcureUATClient` of this process, open, over the SSH tunnel all worker processes
	share (one per connection, reopened when it died; see `tunnel_service`).

	Raises ProcureUATConnectionError when the portal cannot be reached.
	"""
	# imported here: the doc events import this module on every submit and need no portal driver
	from o2o_sync.sync.portal.client import get_client

	return get_client(connection_config(connection), shared_tunnel=True)


# ---------------------------------------------------------------- field maps (issue 12)


def registry(settings=None, client=None) -> tuple:
	"""The run's column registry: the built-in `columns.REGISTRY` plus the enabled, valid field
	maps of O2O Sync Settings (`field_maps.build_registry`). Column names are checked against
	the live portal's columns when `client` answers, else the contract's."""
	maps = field_map_rows(settings)
	if not any(m.enabled for m in maps):
		return REGISTRY
	known = (live_columns(client) if client is not None else None) or contract_columns()
	return fm.build_registry(maps, known, erpnext_fields())


def field_maps() -> list[dict]:
	"""The field maps as the engine reads them (`field_maps.describe`): one dict per mapped
	column (portal_table, portal_column, erpnext_field, label, erpnext_kind, pull, push,
	allow_on_submit, view_key); maps that are disabled or invalid are not listed. Checked
	against the contract's column list (no portal connection is opened)."""
	return fm.describe(registry())


def pull_engine(settings: PullSettings | None = None) -> PullEngine:
	"""A `PullEngine` over the Frappe port, the process's portal client and `settings`
	(default: `pull_settings()`). The port keeps the cursor of the Database Connection the
	settings name; a page failing for a reason not about one invoice is tried again
	`transient_retries` times (O2O Sync Settings, default 3, 1 to 10). The run's column
	registry (`registry`: the field maps) is handed to the port, the client and the engine.
	Raises ProcureUATConnectionError when the portal is unreachable."""
	settings = settings or pull_settings()
	connection = frappe.db.get_single_value(SETTINGS, "database_connection")
	client = portal_client(connection)
	columns = registry(client=client)
	client.use_registry(columns)
	return PullEngine(
		FrappePort(gst_accounts(settings), connection=connection, registry=columns),
		client,
		settings,
		registry=columns,
		transient_retries=transient_retries(),
	)


def transient_retries() -> int:
	"""O2O Sync Settings' `transient_retries`, kept within 1 to 10; empty or 0 (an Int field
	never set reads 0): `TRANSIENT_RETRIES`."""
	return (
		min(10, max(0, cint(frappe.db.get_single_value(SETTINGS, "transient_retries")))) or TRANSIENT_RETRIES
	)


def reconcile_days(days=None) -> int:
	"""Days of portal changes the reconciliation compares: `days` when given, else O2O Sync
	Settings' `reconcile_days` (empty: `DEFAULT_RECONCILE_DAYS`), kept within 1 to 3650."""
	if days in (None, ""):
		days = frappe.db.get_single_value(SETTINGS, "reconcile_days") or DEFAULT_RECONCILE_DAYS
	return min(3650, max(1, cint(days)))


def push_engine(settings=None) -> PushEngine:
	"""A `PushEngine` over the Frappe push port, the process's portal client and the settings.

	Args: `settings`, the O2O Sync Settings document or a dict of its fields (default: the
	document, read fresh). A company mapped to several entities pushes as the first of them.
	Raises ProcureUATConnectionError when the portal is unreachable. RQ's job timeout and
	ERPNext's database failing (`faults.stops_the_job`) never mark an invoice Failed: they
	propagate, and the job keeps the invoice Pending (`jobs._portal_job`).
	"""
	settings = settings or frappe.get_doc(SETTINGS)
	pull = pull_settings(settings)
	entity_by_company = {}
	for e in pull.entities.values():
		entity_by_company.setdefault(e.company, e.entity_id)
	client = portal_client()
	columns = registry(settings if settings.get("field_maps") is not None else None, client=client)
	client.use_registry(columns)
	return PushEngine(
		FrappePushPort(gst_accounts(pull), entity_by_company, registry=columns),
		client,
		PushSettings(
			invoice_prefix=settings.get("invoice_prefix") or DEFAULT_INVOICE_PREFIX,
			portal_user_id=cint(settings.get("portal_user_id")),
		),
		clock=now_datetime,
		registry=columns,
		is_stopping=faults.stops_the_job,
	)
