"""An in-memory ERPNext port for the engine's unit tests (the only stand-in allowed).

It keeps Purchase Invoices, Suppliers, Items and Sync Mappings in dicts, computes
totals the way ERPNext does for these invoices (amount = qty × rate rounded to the
paisa; a pulled invoice's GST rows "Actual", each the Σ of the lines' shares as
`rules.pulled_gst_rows` writes them; one keyed by hand "On Net Total", Σ amount × rate / 100
rounded once per row), and rolls back a savepoint
by restoring a deep copy. What it writes follows the engine's `rules`, as the Frappe port's.

Transactions as MariaDB keeps them: a transaction starts with the first write after a
commit; `rollback()` returns to the last commit. `fail_on` injects a failure that is not
about one invoice (a deadlock: the database rolls the whole transaction back, so the
savepoint the engine holds no longer exists). The pull cursor and the entities read from
the start are kept per Database Connection (`connection`).
"""

import copy
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.constants import F_INVOICE_NUMBER, F_ITEM_ID, F_PROCUREUAT_ID, F_SYNC_STATUS, FAILED, SYNCED
from o2o_sync.sync.model import columns, gst, rules
from o2o_sync.sync.model.errors import InvoiceError, TransientError
from o2o_sync.sync.model.mapping import ItemInfo
from o2o_sync.sync.model.port import InvoiceState, LogEntry, MappingRecord
from o2o_sync.sync.model.records import InvoiceSpec

P = Decimal("0.01")


def r2(x) -> Decimal:
	return Decimal(x).quantize(P, rounding=ROUND_HALF_UP)


@dataclass
class Store:
	invoices: dict = field(default_factory=dict)
	suppliers: dict = field(default_factory=dict)  # name -> {"tax_id", "vendor_id", "payment_terms"}
	items: dict = field(default_factory=dict)  # code -> {"is_stock", "product_id"}
	mappings: dict = field(default_factory=dict)
	cursors: dict = field(default_factory=dict)  # Database Connection -> (change time, requisition id)
	pulled: dict = field(default_factory=dict)  # Database Connection -> entity ids read from the start
	logs: list = field(default_factory=list)
	refreshed: str | None = None  # registry version no mapping is outdated for
	parts: dict = field(default_factory=dict)  # backfill part -> {"cursor", "read", "counts", "done"}
	closed_before: date | None = None
	seq: int = 0


class DatabaseAborted(Exception):
	"""What pymysql raises when the database gave up on the transaction: `args` (code, text)."""


DEADLOCK = (1213, "Deadlock found when trying to get lock; try restarting transaction")


def _text(value):
	return None if value is None else str(value)


class InMemoryPort:
	def __init__(self, registry=columns.REGISTRY, connection="ProcureUAT"):
		self.s = Store()
		self.commits = 0
		self.rollbacks = 0
		self.registry = tuple(registry)  # the header fields its view holds (`columns.erpnext_header_fields`)
		self.connection = connection  # the Database Connection the settings point at
		self._committed: Store | None = None  # the store as of the last commit, once a write began
		self._epoch = 0  # moves when the database aborts the transaction (savepoints gone)

	# -- transactions
	def _begin(self):
		if self._committed is None:
			self._committed = copy.deepcopy(self.s)

	@contextmanager
	def atomic(self):
		self._begin()
		saved, epoch = copy.deepcopy(self.s), self._epoch
		try:
			yield
		except BaseException as e:
			if self._epoch != epoch:  # the database rolled everything back: no savepoint to go to
				raise DatabaseAborted(1305, "SAVEPOINT o2o_x does not exist") from e
			self.s = saved
			raise

	def commit(self):
		self.commits += 1
		self._committed = None

	def rollback(self):
		self.rollbacks += 1
		if self._committed is not None:
			self.s = self._committed
		self._committed = None

	def is_transient(self, error):
		seen = set()
		while error is not None and id(error) not in seen:
			seen.add(id(error))
			if isinstance(error, DatabaseAborted | TransientError):
				return True
			error = error.__cause__ or error.__context__
		return False

	def fail_on(self, method, nth=1, times=1, error=DEADLOCK, aborts=True):
		"""From now on, the `nth` call of port `method` (and the `times` - 1 calls after it; None:
		every one) raises DatabaseAborted(`error`) before doing anything; with `aborts`, the
		database first rolls back the whole transaction, as MariaDB does on a deadlock."""
		real, calls = getattr(self, method), [0]

		def failing(*args, **kwargs):
			calls[0] += 1
			if calls[0] >= nth and (times is None or calls[0] < nth + times):
				if aborts and self._committed is not None:
					self.s, self._committed = self._committed, None
				self._epoch += aborts
				raise DatabaseAborted(*error)
			return real(*args, **kwargs)

		setattr(self, method, failing)

	def get_cursor(self):
		return self.s.cursors.get(self.connection, (None, 0))

	def save_cursor(self, ts, rid):
		self._begin()
		self.s.cursors[self.connection] = (ts, rid)

	def save_backfill_part(self, part, cursor, read, counts, done):
		self._begin()
		self.s.parts[part] = {"cursor": cursor, "read": read, "counts": dict(counts), "done": done}

	def refreshed_version(self):
		return self.s.refreshed

	def save_refreshed_version(self, version):
		self.s.refreshed = version

	def reserve_invoice_names(self, n):
		"""Names come from the store's sequence at insert: nothing to reserve in memory."""

	def pulled_entities(self):
		return set(self.s.pulled.get(self.connection, ()))

	def save_pulled_entities(self, entity_ids):
		self._begin()
		self.s.pulled[self.connection] = set(entity_ids)

	def get_mappings(self, keys):
		return {k: copy.deepcopy(self.s.mappings[k]) for k in keys if k in self.s.mappings}

	def mappings_with_status(self, status, limit):
		return [copy.deepcopy(m) for m in self.s.mappings.values() if m.status == status][:limit]

	def mappings_outdated(self, version, limit):
		return [
			copy.deepcopy(m)
			for m in self.s.mappings.values()
			if m.status == "Synced"
			and m.snapshot
			and m.snapshot.get("version") != version
			and self.s.invoices.get(m.purchase_invoice, {}).get("docstatus", 2) < 2
		][:limit]

	def save_mapping(self, record: MappingRecord):
		self._begin()
		self.s.mappings[record.key] = copy.deepcopy(record)

	def write_logs(self, entries: list[LogEntry]):
		self._begin()
		self.s.logs.extend(entries)

	# -- masters
	def add_item(self, code, is_stock=False, product_id=None):
		self.s.items[code] = {"is_stock": is_stock, "product_id": product_id}

	def add_supplier(self, name, tax_id=None, vendor_id=None, payment_terms=False):
		self.s.suppliers[name] = {"tax_id": tax_id, "vendor_id": vendor_id, "payment_terms": payment_terms}

	def supplier_for_vendor(self, vendor_id):
		return next((n for n, s in self.s.suppliers.items() if s["vendor_id"] == vendor_id), None)

	def suppliers_with_gstin(self, gstin):
		return [
			(n, s["vendor_id"])
			for n, s in self.s.suppliers.items()
			if (s["tax_id"] or "").strip().upper() == gstin
		]

	def link_supplier(self, name, vendor_id):
		self.s.suppliers[name]["vendor_id"] = vendor_id

	def create_supplier(self, vendor, supplier_group):
		name = rules.supplier_name_for(vendor, name_taken=vendor.name in self.s.suppliers)
		self.add_supplier(name, vendor.gstn, vendor.id)
		return name

	def supplier_has_payment_terms(self, supplier):
		return self.s.suppliers[supplier]["payment_terms"]

	def items_for_products(self, product_ids):
		return {
			i["product_id"]: ItemInfo(code, i["is_stock"])
			for code, i in self.s.items.items()
			if i["product_id"] in product_ids
		}

	def item_info(self, code):
		i = self.s.items.get(code)
		return ItemInfo(code, i["is_stock"]) if i else None

	def check_posting_date(self, company, posting_date):
		if self.s.closed_before and posting_date < self.s.closed_before:
			raise InvoiceError(
				f"posting date {posting_date} falls in a closed accounting period of {company}",
				field="posting_date",
			)

	# -- invoices
	def _state(self, name):
		doc = self.s.invoices[name]
		net = sum((r2(Decimal(i["qty"]) * i["rate"]) for i in doc["items"]), Decimal(0))
		by_account = {}
		for kind, account in doc["tax_accounts"].items():
			if "gst_split" in doc:  # written by the pull: "Actual" rows of the lines' shares
				shares = gst.line_shares([r2(i["gst_amt"]) for i in doc["items"]], doc["gst_split"])
				amount = sum((s.get(kind, 0) for s in shares), Decimal(0))
			else:  # keyed by hand: "On Net Total" rows, rounded once per row
				amount = r2(
					sum(
						(
							r2(Decimal(i["qty"]) * i["rate"]) * gst.account_rate(kind, i["gst_rate"]) / 100
							for i in doc["items"]
						),
						Decimal(0),
					)
				)
			by_account[account] = by_account.get(account, Decimal(0)) + amount
		gst_total = sum(by_account.values(), Decimal(0))
		return InvoiceState(
			name=name,
			docstatus=doc["docstatus"],
			net_total=net,
			gst_total=gst_total,
			grand_total=net + gst_total,
			outstanding_amount=doc.get("outstanding", net + gst_total),
			gst_by_account=by_account,
			has_payments=doc.get("paid", False),
			view=self._view(doc),
			amended_from=doc.get("amended_from"),
			modified=doc.get("modified"),  # a test sets it (aware, in the site's zone) where it matters
		)

	def _view(self, doc):
		fields = ("company", "supplier", *columns.erpnext_header_fields(self.registry))
		return (
			{k: str(doc.get(k)) if doc.get(k) is not None else None for k in fields}
			| {
				"items": [
					[
						i[F_ITEM_ID],
						i["item_code"],
						i["qty"],
						str(i["rate"]),
						str(i["gst_rate"]),
						i.get("cost_center"),
					]
					for i in doc["items"]
				],
				"taxes": sorted(doc["tax_accounts"].values()),
			}
			| {
				key: [
					[i[F_ITEM_ID], _text(i.get("extra", {}).get(key[len(columns.ITEM_GROUP_PREFIX) :]))]
					for i in doc["items"]
					if i[F_ITEM_ID]
				]
				for key in columns.erpnext_line_fields(self.registry)
			}
		)

	def find_invoice_by_bill_no(self, company, supplier, bill_no):
		for name, doc in self.s.invoices.items():
			if doc["supplier"] == supplier and doc["bill_no"] == bill_no and doc["docstatus"] < 2:
				return self._state(name)
		return None

	def resolve_amended(self, name):
		if name not in self.s.invoices:
			return None
		while True:
			nxt = next(
				(
					n
					for n, d in self.s.invoices.items()
					if d.get("amended_from") == name and d["docstatus"] < 2
				),
				None,
			)
			if not nxt:
				return name
			name = nxt

	def insert_invoice(self, spec: InvoiceSpec, submit):
		self.s.seq += 1
		name = f"ACC-PINV-{self.s.seq:05d}"
		doc = {
			"company": spec.company,
			"supplier": spec.supplier,
			**copy.deepcopy(spec.header),
			**copy.deepcopy(spec.tracking),
			"gst_split": spec.gst_split,
			"tax_accounts": dict(spec.tax_accounts),
			"items": [asdict(line) for line in spec.items],  # asdict copies
			"docstatus": 1 if submit else 0,
		}
		self.s.invoices[name] = doc
		return self._state(name)

	def submit_invoice(self, name):
		self.s.invoices[name]["docstatus"] = 1

	def update_invoice(self, name, spec, groups):
		doc = self.s.invoices[name]
		if doc["docstatus"] != 0:
			raise InvoiceError(f"{name} is not a draft", field="docstatus")
		doc.update(copy.deepcopy(rules.header_updates(spec, groups)))
		if rules.updates_items(groups):
			existing = {}
			for row in doc["items"]:
				existing.setdefault(rules.item_row_key(row.get(F_ITEM_ID), row["item_code"]), row)
			new = []
			for line in spec.items:
				values = asdict(line)
				old = existing.pop(rules.item_row_key(line.procureuat_item_id, line.item_code), None)
				if old is not None:  # a mapped line field only when its own group is taken
					kept = {
						f: v
						for f, v in old.get("extra", {}).items()
						if columns.ITEM_GROUP_PREFIX + f not in groups
					}
					values = {**old, **rules.item_update_values(values)}
					values["extra"] = {**values.get("extra", {}), **kept}
				new.append(values)
			doc["items"] = new
		for group in groups:
			if group.startswith(columns.ITEM_GROUP_PREFIX):
				field = group[len(columns.ITEM_GROUP_PREFIX) :]
				by_line = {li.procureuat_item_id: li.extra for li in spec.items if li.procureuat_item_id}
				for row in doc["items"]:
					if field in by_line.get(row[F_ITEM_ID], {}):
						row.setdefault("extra", {})[field] = by_line[row[F_ITEM_ID]][field]
		if rules.rewrites_gst_rows(groups):
			doc["tax_accounts"] = dict(spec.tax_accounts)
			doc["gst_split"] = spec.gst_split
		return self._state(name)

	def get_invoice(self, name):
		return self._state(name) if name in self.s.invoices else None

	def set_status_fields(self, name, fields):
		self.s.invoices[name].update(fields)

	def cancel_invoice(self, name):
		self.s.invoices[name]["docstatus"] = 2

	def delete_invoice(self, name):
		del self.s.invoices[name]

	def amend_invoice(self, name, spec):
		"""ERPNext's amendment: a draft copy named NAME-1 (-2, ...) with `amended_from`, the
		spec's every field group applied as `update_invoice` does."""
		old = self.s.invoices[name]
		if old["docstatus"] != 2:
			raise InvoiceError(
				f"{name} is not cancelled; only a cancelled invoice can be amended", field="docstatus"
			)
		base, n = name.rsplit("-", 1) if old.get("amended_from") else (name, "0")
		new = f"{base}-{int(n) + 1}"
		self.s.invoices[new] = {
			**copy.deepcopy(old),
			"docstatus": 0,
			"amended_from": name,
			"tax_accounts": dict(spec.tax_accounts),
			**copy.deepcopy(spec.tracking),
		}
		self.s.invoices[new].pop("modified", None)
		groups = {"company", "items", "taxes", *spec.header}
		return self.update_invoice(new, spec, groups)

	# -- helpers for tests
	def logs_of(self, status=None, operation=None):
		return [
			entry
			for entry in self.s.logs
			if (status is None or entry.status == status)
			and (operation is None or entry.operation == operation)
		]

	# -- push side
	def add_push_invoice(self, inv, outstanding=None):
		self.s.invoices[inv.name] = {
			"push": inv,
			"docstatus": 1,
			"supplier": inv.supplier,
			"bill_no": inv.bill_no,
			"items": [],
			"tax_accounts": {},
		}
		inv.outstanding_amount = inv.grand_total if outstanding is None else outstanding

	def push_invoice(self, name):
		doc = self.s.invoices.get(name)
		return copy.deepcopy(doc["push"]) if doc and "push" in doc else None

	def mapping_for_invoice(self, names):
		for name in names:
			for rec in self.s.mappings.values():
				if rec.purchase_invoice == name:
					return copy.deepcopy(rec)
		return None

	def save_push_success(self, name, record, invoice_number):
		self.save_mapping(record)
		self.s.invoices[name].update(
			{
				F_PROCUREUAT_ID: record.procureuat_id,
				F_INVOICE_NUMBER: invoice_number,
				F_SYNC_STATUS: SYNCED,
			}
		)

	def save_push_failure(self, name, record, message):
		self.s.invoices[name][F_SYNC_STATUS] = FAILED
		if record:
			record.status, record.last_error = FAILED, message
			self.save_mapping(record)

	def set_invoice_status(self, name, status):
		self.s.invoices[name][F_SYNC_STATUS] = status

	def payment_states(self, names):
		out = []
		for rec in self.s.mappings.values():
			doc = self.s.invoices.get(rec.purchase_invoice) or {}
			if "push" in doc and (names is None or rec.purchase_invoice in names):
				inv = self.s.invoices[rec.purchase_invoice]["push"]
				out.append((copy.deepcopy(rec), inv.outstanding_amount, inv.grand_total))
		return out
