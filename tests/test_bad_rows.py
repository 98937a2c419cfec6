"""Broken and hostile portal rows (`bad_rows.CASES`) through the pull: each ends in one clear
Sync Log row per vendor slice, however often the pull runs, and the rest of the batch carries on.

Every case runs alone through the in-memory portal (with a good invoice before and after it
in the same batch); the whole corpus runs at once through the real MariaDB behind a real
sshd, and must write the very Sync Log rows the in-memory portal writes. ERPNext is the
in-memory port. Contract, "Tables" (legacy habits), "Pull" (a failed invoice is retried
every run); issue 7, "Hostile and broken input".
"""

from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from bad_rows import BASE_VENDORS, CASES, DEFAULT_LINE, ENTITY, UNKNOWN_VENDOR_ID, UNMAPPED_ENTITY, Case
from inmemory_port import InMemoryPort
from inmemory_portal import InMemoryPortal

from o2o_sync.constants import FAILED, SKIPPED, SUCCESS, SYNCED
from o2o_sync.setup import portal_rows
from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.model import rules
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.records import Vendor
from o2o_sync.sync.portal.client import ProcureUATClient

COMPANY_GSTIN = "27AAACO2020A1Z5"  # Maharashtra
T0 = datetime(2026, 11, 2, 9, 0, 0)
RUNS = 3


def _settings() -> m.PullSettings:
	entity = m.EntityConfig(ENTITY, "O2O Test Co", COMPANY_GSTIN, "CGST", "SGST", "IGST", "Purchases", "Main")
	return m.PullSettings(
		default_item="SERVICES", freight_item="FREIGHT", pull_batch_size=25, entities={ENTITY: entity}
	)


def _port() -> InMemoryPort:
	port = InMemoryPort()
	port.add_item("SERVICES")
	port.add_item("FREIGHT")
	return port


class Corpus:
	"""Puts cases on one portal (`add_vendor(name, code, gstn)`, `add_invoice(entity, lines,
	**header)` and `line_ids(rid)` of either portal) and remembers their ids."""

	def __init__(self, add_vendor, add_invoice, line_ids):
		self.add_vendor, self.add_invoice, self.line_ids = add_vendor, add_invoice, line_ids
		self.vendors = {key: add_vendor(*row) for key, row in BASE_VENDORS.items()}
		self.vendors["unknown"] = UNKNOWN_VENDOR_ID
		self.placed: list[tuple[Case, int, list[int]]] = []
		self.good: list[int] = []
		self.n = 0

	def _header(self, header: dict) -> dict:
		self.n += 1
		at = T0 + timedelta(minutes=self.n)
		values = {"invoice_generated_at": at, "created_at": at, "updated_at": at}
		values["invoice_number"] = f"AGO2O/26-27/{self.n:04d}"
		values["order_code"] = f"PO-{self.n:05d}"
		return {**values, **header}

	def put(self, case: Case) -> int:
		for key, row in case.vendors.items():
			self.vendors[key] = self.add_vendor(*row)
		lines = []
		for li in case.lines:
			li = {**DEFAULT_LINE, **li}
			vendor_id = self.vendors[li.pop("vendor")] if li["vendor"] else li.pop("vendor")
			lines.append({"vendor_id": vendor_id, "product_id": None, **li})
		header = self._header(case.header)
		rid = self.add_invoice(header.pop("entity", ENTITY), lines, **header)
		self.placed.append((case, rid, self.line_ids(rid)))
		return rid

	def put_good(self) -> int:
		line = {"vendor_id": self.vendors["same"], "product_id": None, "quantity": 7}
		rid = self.add_invoice(ENTITY, [line | {"cost": "100.00", "gst_amt": "18.00"}], **self._header({}))
		self.good.append(rid)
		return rid


def in_memory_corpus() -> tuple[Corpus, InMemoryPortal]:
	portal = InMemoryPortal()
	return Corpus(portal.add_vendor, portal.add_invoice, portal.line_ids), portal


def run_pulls(port, client, runs=RUNS) -> list[dict]:
	return [PullEngine(port, client, _settings()).run() for _ in range(runs)]


def _rows_of(port, rid) -> list:
	return [e for e in port.s.logs if e.procureuat_id == rid]


def check_case(corpus: Corpus, case: Case, rid: int, line_ids: list[int], port: InMemoryPort) -> list[str]:
	"""What is wrong with the outcome of `case` (placed as requisition `rid`), as messages."""
	problems = []
	rows = _rows_of(port, rid)
	expected_rows = [e for e in case.expect if e.status != SKIPPED]
	if len(rows) != len(expected_rows):
		problems.append(
			f"{len(rows)} Sync Log rows, expected {len(expected_rows)}: {[r.message for r in rows]}"
		)
	for want in case.expect:
		vendor_id = corpus.vendors[want.vendor] if want.vendor else 0
		record = port.s.mappings.get((rid, vendor_id))
		if want.status == SKIPPED:
			if record is not None:
				problems.append("an unmapped entity's invoice has a Sync Mapping")
			continue
		mine = [r for r in rows if r.status == want.status]
		if len(mine) != 1:
			problems.append(f"{len(mine)} {want.status} rows for vendor {want.vendor}")
			continue
		message = mine[0].message
		if record is None:
			problems.append(f"no Sync Mapping for vendor {want.vendor}")
			continue
		if want.status == FAILED:
			named = [f"Requisition {rid}", want.column]
			if want.line is not None:
				named.append(f"line {line_ids[want.line]}")
			problems += [f"message does not name {n!r}: {message}" for n in named if n not in message]
			if (record.status, record.last_error) != (FAILED, message):
				problems.append(f"mapping {record.status} {record.last_error!r}")
			continue
		doc = port.s.invoices.get(record.purchase_invoice) or {}
		if record.status != SYNCED or not doc:
			problems.append(f"not created: mapping {record.status}, {message}")
			continue
		state = port.get_invoice(record.purchase_invoice)
		for what, value, wanted in (
			("supplier", doc.get("supplier"), want.supplier),
			("remarks", doc.get("remarks"), want.remarks),
			("bill_no", doc.get("bill_no"), want.bill_no),
			("net total", state.net_total, D(want.net_total) if want.net_total else None),
		):
			if wanted is not None and value != wanted:
				problems.append(f"{what} {str(value)[:80]!r} instead of {str(wanted)[:80]!r}")
	return problems


def check_good(corpus: Corpus, port: InMemoryPort) -> list[str]:
	problems = []
	for rid in corpus.good:
		record = port.s.mappings.get((rid, corpus.vendors["same"]))
		if record is None or record.status != SYNCED or record.purchase_invoice not in port.s.invoices:
			problems.append(
				f"good requisition {rid} was not created: {[r.message for r in _rows_of(port, rid)]}"
			)
	return problems


def skip_rows(port) -> list[str]:
	"""The entity each "Skip" Sync Log row names ('portal entity N')."""
	return [
		"portal entity " + e.message.split("portal entity ", 1)[1].split(" ", 1)[0]
		for e in port.logs_of(SKIPPED, "Skip")
	]


def _slices(case: Case, status: str) -> int:
	return sum(1 for e in case.expect if e.status == status)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_ends_in_one_clear_row_and_the_batch_goes_on(case):
	corpus, portal = in_memory_corpus()
	port = _port()
	corpus.put_good()
	rid = corpus.put(case)
	corpus.put_good()
	counts = run_pulls(port, portal)
	line_ids = corpus.placed[0][2]
	assert check_case(corpus, case, rid, line_ids, port) + check_good(corpus, port) == []
	# a failed invoice is retried and counted every run, with no new row (one per distinct failure)
	assert [c["failed"] for c in counts] == [_slices(case, FAILED)] * RUNS
	assert counts[0]["created"] == 2 + _slices(case, SUCCESS)
	# an unmapped entity: one Skipped row in each run that reads its invoice, naming the entity
	assert skip_rows(port) == [f"portal entity {UNMAPPED_ENTITY}"] * sum(1 for c in counts if c["skipped"])
	assert counts[0]["skipped"] == _slices(case, SKIPPED)


def test_a_new_row_only_when_the_failure_changes():
	corpus, portal = in_memory_corpus()
	port = _port()
	rid = corpus.put(
		Case(
			"unit_rate text",
			({"vendor": "same", "quantity": 1, "cost": "100.00", "gst_amt": "18.00", "unit_rate": "abc"},),
		)
	)
	line_id = portal.line_ids(rid)[0]

	def failed_rows():
		return [e for e in _rows_of(port, rid) if e.status == FAILED]

	assert [c["failed"] for c in run_pulls(port, portal)] == [1, 1, 1]
	assert len(failed_rows()) == 1 and "'abc'" in failed_rows()[0].message
	assert failed_rows()[0].traceback
	portal.edit_line(line_id, unit_rate="0x64")  # another cause: a new row
	assert [c["failed"] for c in run_pulls(port, portal, 2)] == [1, 1]
	assert [("'abc'" in r.message, "'0x64'" in r.message) for r in failed_rows()] == [
		(True, False),
		(False, True),
	]
	portal.edit_line(line_id, unit_rate="100.00")  # fixed: created
	assert run_pulls(port, portal, 1)[0]["created"] == 1
	assert port.s.mappings[(rid, corpus.vendors["same"])].status == SYNCED


def test_the_same_failure_after_a_success_is_a_new_row():
	corpus, portal = in_memory_corpus()
	port = _port()
	rid = corpus.put(
		Case("no item", ({"vendor": "same", "quantity": 1, "cost": "100.00", "gst_amt": "18.00"},))
	)
	port.s.items.pop("SERVICES")  # no default item: fails on the ERPNext side
	run_pulls(port, portal, 2)
	port.add_item("SERVICES")
	assert run_pulls(port, portal, 1)[0]["created"] == 1
	portal.edit_line(portal.line_ids(rid)[0], cost=None, total_amt=None)  # the draft's update fails
	assert [c["failed"] for c in run_pulls(port, portal, 2)] == [1, 1]
	failed = [e.message for e in _rows_of(port, rid) if e.status == FAILED]
	assert len(failed) == 2 and "product_id" in failed[0] and "cost is empty (NULL)" in failed[1]


# ---------------------------------------------------------------- the real portal


@pytest.fixture
def real_corpus(portal_db, portal_config):
	conn = portal_db["conn"]
	with conn.cursor() as cur:
		cur.execute("SET SESSION sql_mode = ''")  # store legacy values as the portal has them
	portal_rows.insert_entity(conn, "O2O Buyer", COMPANY_GSTIN, id=int(ENTITY))

	def line_ids(rid):
		with conn.cursor() as cur:
			cur.execute(
				"SELECT id FROM purchase_order_items WHERE purchase_order_id = %s ORDER BY id", (rid,)
			)
			return [r["id"] for r in cur.fetchall()]

	corpus = Corpus(
		lambda name, code, gstn: portal_rows.insert_vendor(conn, name, code, gstn),
		lambda entity, lines, **header: portal_rows.insert_invoice(conn, int(entity), lines, **header),
		line_ids,
	)
	client = ProcureUATClient(portal_config).open()
	yield corpus, client, conn
	client.close()


def _place_all(corpus: Corpus):
	for case in CASES:
		corpus.put_good()
		corpus.put(case)
	corpus.put_good()


def test_the_whole_corpus_through_the_real_portal_matches_the_in_memory_one(real_corpus):
	corpus, client, conn = real_corpus
	_place_all(corpus)
	port = _port()
	counts = run_pulls(port, client)

	problems = check_good(corpus, port)
	for case, rid, line_ids in corpus.placed:
		problems += [f"{case.name}: {p}" for p in check_case(corpus, case, rid, line_ids, port)]
	assert problems == []
	failed = sum(_slices(c, FAILED) for c in CASES)
	assert [c["failed"] for c in counts] == [failed] * RUNS
	assert counts[0]["skipped"] == 1
	assert skip_rows(port) == [f"portal entity {UNMAPPED_ENTITY}"] * sum(1 for c in counts if c["skipped"])
	with conn.cursor() as cur:  # the SQL-looking text was data, never SQL
		cur.execute("SELECT COUNT(*) AS n FROM vendors")
		assert cur.fetchone()["n"] == len(corpus.vendors) - 1  # "unknown" has no row

	memory, portal = in_memory_corpus()
	_place_all(memory)
	memory_port = _port()
	assert run_pulls(memory_port, portal) == counts

	def logged(p):
		return [
			(e.operation, e.status, e.procureuat_id, e.message) for e in p.s.logs if e.operation != "Pull Run"
		]

	assert logged(memory_port) == logged(port)


@pytest.mark.parametrize(
	("name", "code", "taken"),
	[
		("<b>Acme</b>", "V1", False),
		("   ", "V1", False),
		("x" * 141, "V1", False),
		("x" * 135, "V-1234", True),
	],
)
def test_a_supplier_name_erpnext_cannot_hold_is_refused_naming_the_column(name, code, taken):
	"""Frappe refuses '<' and '>' in a name, and a Supplier's name holds 140 characters: the
	invoice fails naming `vendors.name`, in both ports alike (`rules.supplier_name_for`)."""
	with pytest.raises(InvoiceError) as e:
		rules.supplier_name_for(Vendor(id=7, name=name, code=code, gstn=None), taken)
	assert e.value.field == "vendors.name" and "vendor 7" in str(e.value)
	assert rules.supplier_name_for(Vendor(id=7, name="x" * 140, code="V1", gstn=None), False) == "x" * 140
