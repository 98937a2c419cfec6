"""The in-memory portal (`inmemory_portal.py`) against the real client on the same rows.

The fast decision tests trust the in-memory portal to read and write as the ProcureUAT client
does; this proves it on a real MariaDB (no sshd: the client connects directly): the same rows
give the same pages, cursor keys, records, vendors, invoice numbers, written rows, errors and
statement counts.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from inmemory_portal import InMemoryPortal

from o2o_sync.setup.portal_rows import ZERO_DATETIME, insert_invoice, insert_vendor
from o2o_sync.sync.engine.push.engine import PushSettings, build_portal_rows
from o2o_sync.sync.model import columns
from o2o_sync.sync.model import field_maps as fm
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.records import PushInvoice, PushLine, PushTax
from o2o_sync.sync.portal.client import ProcureUATClient
from o2o_sync.sync.portal.config import ConnectionConfig

T0 = datetime(2026, 11, 2, 9, 0, 0)
H = timedelta(hours=1)
VENDORS = [("Sharma Traders", "V001", "27AAAPS1234A1Z5"), ("Kaveri Supplies", "V002", None)]


def _invoices():
	"""(entity, lines, header columns) of rows covering what the reads must agree on."""

	def line(vendor=1, quantity=1, cost="100.00", gst_amt="18.00", **columns):
		return {
			"vendor_id": vendor,
			"product_id": 5,
			"quantity": quantity,
			"cost": cost,
			"gst_amt": gst_amt,
			**columns,
		}

	def times(n, updated=None, **columns):
		return {
			"invoice_generated_at": T0,
			"created_at": T0,
			"updated_at": updated if updated is not None else T0 + n * H,
			"invoice_number": f"AGO2O/26-27/{n:04d}",
			"order_code": f"PO-{n}",
			**columns,
		}

	return [
		(1, [line(quantity=7)], times(1)),
		(1, [line(), line(2, 5, "500.00", "0")], times(2)),  # two vendors
		(1, [line(updated_at=T0 + 9 * H)], times(3)),  # a line edited after its header
		(1, [line()], times(4, updated=ZERO_DATETIME, created_at=T0 + 2 * H)),  # zero updated_at
		(9, [line()], times(5)),  # an unmapped entity
		(1, [line()], times(6, invoice_generated=0)),  # not an invoice yet
		(
			1,
			[line(cost="815999.69", gst_amt="146879.94")],  # FLOAT beyond the paisa
			times(7, delivery_date=ZERO_DATETIME, is_invoice_cancel=1, invoice_cancel_date=T0 + 7 * H),
		),
		(1, [line()], times(8, updated=T0 + 1 * H)),  # same change time as the first: by id
		(1, [line()], times(9, invoice_generated_at=datetime(2026, 10, 1), is_delete=1)),
		(1, [], times(10, freight_cost="50")),
	]


@pytest.fixture
def both(portal_db, portal_server):
	conn = portal_db["conn"]
	config = ConnectionConfig(
		host=portal_server["host"],
		port=portal_server["port"],
		database=portal_db["name"],
		username=portal_server["user"],
		password=portal_server["password"],
		name=f"parity-{portal_db['name']}",
	)
	real, fake = ProcureUATClient(config).open(), InMemoryPortal()
	for name, code, gstn in VENDORS:
		assert insert_vendor(conn, name, code, gstn) == fake.add_vendor(name, code, gstn)
	for entity, lines, header in _invoices():
		assert insert_invoice(conn, entity, lines, **header) == fake.add_invoice(entity, lines, **header)
	yield real, fake
	real.close()


def _untimed(invoices):
	"""Invoices without the times each portal stamped with its own clock (`updated_at`, the
	change time, `invoice_cancel_date`), which differ between the two portals."""
	for inv in invoices:
		inv.updated_at = inv.change_ts = inv.invoice_cancel_date = None
	return invoices


def same(real, fake, call):
	"""`call(client)` on both: equal results and equal statement counts; returns the result."""
	before = (real.query_count, fake.query_count)
	got_real, got_fake = call(real), call(fake)
	assert got_fake == got_real
	assert fake.query_count - before[1] == real.query_count - before[0]
	return got_real


@pytest.mark.parametrize("limit", [1, 3, 100])
@pytest.mark.parametrize("from_date", [None, date(2026, 11, 1)])
def test_pages_of_the_pull_are_the_same(both, limit, from_date):
	real, fake = both
	after, pages = (None, 0), 0
	while True:
		batch = same(real, fake, lambda c: c.fetch_invoice_batch(after, limit, {"1"}, from_date=from_date))
		pages += 1
		if batch.rows_read < limit:
			break
		after = batch.last_key
	assert pages >= (1 if limit == 100 else 3)


@pytest.mark.parametrize("id_range", [(0, 3), (4, 2**31 - 1)])
def test_a_backfill_parts_pages_and_its_scope_are_the_same(both, id_range):
	real, fake = both
	before, after, rows = T0 + 5 * H, (None, 0), []
	while True:
		batch = same(
			real,
			fake,
			lambda c: c.fetch_invoice_batch(
				after, 2, {"1"}, only_entities={"1"}, id_range=id_range, before=before
			),
		)
		rows += [inv.id for inv in batch.invoices]
		if batch.rows_read < 2:
			break
		after = batch.last_key
	assert rows and all(id_range[0] <= i <= id_range[1] for i in rows)
	assert all(inv.change_ts < before for inv in real.fetch_invoices(rows))
	fake.now = real._query("SELECT NOW() AS now")[0]["now"]  # one clock for the boundary
	scope = [
		same(real, fake, lambda c: c.backfill_scope({"1"})[1]),
		same(real, fake, lambda c: c.vendors_of_scope({"1"})),
	]
	assert scope[0] and scope[1]


def test_invoices_by_id_and_vendors_are_the_same(both):
	real, fake = both
	invoices = same(real, fake, lambda c: c.fetch_invoices([7, 3, 6, 99, 3]))
	assert [inv.id for inv in invoices] == [3, 6, 7]
	assert invoices[2].lines[0].cost == D("815999.69") and invoices[2].delivery_date is None
	same(real, fake, lambda c: c.fetch_invoices([]))
	vendors = same(real, fake, lambda c: c.fetch_vendors([2, 1, 99, 0, None]))
	assert sorted(vendors) == [1, 2] and vendors[2].gstn is None
	same(real, fake, lambda c: c.fetch_vendors([]))


def _rows(name="PINV-1", chain=None, posting=date(2026, 11, 20), lines=None):
	inv = PushInvoice(
		name=name,
		chain=chain or [name],
		company="O2O Test Co",
		entity_id="1",
		supplier="Sharma Traders",
		supplier_name="Sharma Traders",
		vendor_id=1,
		supplier_address="Pune",
		remarks="Pantry",
		bill_no="ST/1",
		posting_date=posting,
		currency="INR",
		is_return=False,
		lines=lines
		or [PushLine(1, "TEA", D("7"), D("14.285714"), D("100.00"), D("18.00"), D("18"), 501, "Nos")],
		taxes=[PushTax(1, "IGST", "On Net Total", "gst")],
	)
	return build_portal_rows(inv, PushSettings("O2OT", 9))


def _write(name, **kw):
	header, lines = _rows(name, **kw)
	fy = "27-28" if kw.get("posting", date(2026, 11, 20)) >= date(2027, 4, 1) else "26-27"
	return lambda c: c.write_invoice(
		header, lines, order_codes=kw.get("chain") or [name], prefix="O2OT", financial_year=fy
	)


def test_writes_are_the_same(both):
	real, fake = both
	first = same(real, fake, _write("PINV-1"))
	assert (first["invoice_number"], first["created"]) == ("O2OT/26-27/0001", True)
	second = same(real, fake, _write("PINV-2"))
	assert second["invoice_number"] == "O2OT/26-27/0002"
	again = same(real, fake, _write("PINV-1"))  # idempotent re-push
	assert (again["requisition_id"], again["created"]) == (first["requisition_id"], False)
	amended_lines = [PushLine(1, "TEA", D("3"), D("10"), D("30.00"), D("5.40"), D("18"), 501)]
	same(real, fake, lambda c: c.cancel_invoice(first["requisition_id"]))
	amended = same(real, fake, _write("PINV-1-1", chain=["PINV-1-1", "PINV-1"], lines=amended_lines))
	assert amended["invoice_number"] == "O2OT/26-27/0001"
	for c in (real, fake):
		with pytest.raises(InvoiceError) as refused:
			_write("PINV-2-1", chain=["PINV-2-1", "PINV-2"], posting=date(2027, 4, 2))(c)
		assert "may not move invoice O2OT/26-27/0002 from financial year 26-27 into 27-28" in str(
			refused.value
		)
	same(
		real, fake, lambda c: c.set_finance_status({first["requisition_id"]: 2, second["requisition_id"]: 1})
	)
	same(real, fake, lambda c: c.cancel_invoice(second["requisition_id"]))
	ids = [first["requisition_id"], second["requisition_id"]]
	invoices = same(real, fake, lambda c: _untimed(c.fetch_invoices(ids)))
	assert [(inv.order_code, inv.is_invoice_cancel, len(inv.lines)) for inv in invoices] == [
		("PINV-1-1", 0, 1),
		("PINV-2", 1, 1),
	]
	columns = "id, order_code, finance_status, is_invoice_cancel, gst_percentage"
	real_rows = real._query(
		f"SELECT {columns} FROM purchase_requisitions WHERE id IN (%s, %s) ORDER BY id", ids
	)
	assert [{k: fake.row(i)[k] for k in real_rows[0]} for i in ids] == real_rows
	# times written are each portal's own clock (the real one's NOW()), never the caller's
	stamped = real._query(
		"SELECT TIMESTAMPDIFF(SECOND, updated_at, NOW()) AS age, invoice_cancel_date = updated_at AS same"
		" FROM purchase_requisitions WHERE id = %s",
		[second["requisition_id"]],
	)[0]
	assert 0 <= stamped["age"] < 60 and stamped["same"] == 1
	assert (
		fake.row(second["requisition_id"])["invoice_cancel_date"]
		== fake.row(second["requisition_id"])["updated_at"]
	)


def test_the_counter_starts_after_the_highest_number_used(both, portal_db):
	real, fake = both
	header = {"invoice_number": "O2OT/26-27/0041", "order_code": "PO-41", "created_at": T0, "updated_at": T0}
	insert_invoice(portal_db["conn"], 1, [], **header)
	fake.add_invoice(1, [], **header)
	assert same(real, fake, _write("PINV-9"))["invoice_number"] == "O2OT/26-27/0042"


def test_rows_an_unconfirmed_push_left_are_the_same(both):
	real, fake = both
	first = same(real, fake, _write("PINV-U"))
	assert same(real, fake, lambda c: c.rows_written_for("PINV-U")) == [first["requisition_id"]]
	same(real, fake, lambda c: c.cancel_invoice(first["requisition_id"]))
	assert same(real, fake, lambda c: c.rows_written_for("PINV-U")) == []  # cancelled rows are not live
	assert same(real, fake, lambda c: c.rows_written_for("PINV-NEVER")) == []


#: Field maps (issue 12) of every kind: text both ways, a DATETIME in, a column only pushed, a line column.
MAPS = [
	fm.FieldMap(1, columns.REQUISITIONS, "vehicle_no", "vehicle_no", fm.BOTH_WAYS),
	fm.FieldMap(2, columns.REQUISITIONS, "challan_date", "challan_date", fm.TO_ERPNEXT),
	fm.FieldMap(3, columns.REQUISITIONS, "awb_number", "awb", fm.TO_PORTAL),
	fm.FieldMap(4, columns.ORDER_ITEMS, "unit", "portal_unit", fm.BOTH_WAYS),
]
ERP_FIELDS = {
	"Purchase Invoice": {
		"vehicle_no": fm.ErpField("vehicle_no", "Data", "Vehicle No"),
		"challan_date": fm.ErpField("challan_date", "Date", "Challan Date"),
		"awb": fm.ErpField("awb", "Data", "AWB"),
	},
	"Purchase Invoice Item": {"portal_unit": fm.ErpField("portal_unit", "Data", "Unit")},
}


def test_mapped_columns_are_read_and_written_the_same(both, portal_db):
	real, fake = both
	live = same(real, fake, lambda c: fm.columns_from_information_schema(c.portal_columns()))
	assert live["purchase_requisitions"]["vehicle_no"] == fm.PortalColumn("vehicle_no", "varchar", 100)
	registry = fm.build_registry(MAPS, live, ERP_FIELDS)
	assert len(registry) == len(columns.REGISTRY) + 4
	for client in (real, fake):
		client.use_registry(registry)
	line = {"vendor_id": 1, "product_id": 5, "quantity": 2, "cost": "100.00", "gst_amt": "18.00"}
	rows = [
		dict(vehicle_no=" MH12AB1234 ", challan_date=T0, awb_number="AWB-1", order_code="PO-M1"),
		dict(vehicle_no="", challan_date=ZERO_DATETIME, order_code="PO-M2"),  # zero date: NULL
	]
	ids = []
	for n, header in enumerate(rows, start=1):
		header = {
			"invoice_number": f"M/{n}",
			"invoice_generated_at": T0,
			"created_at": T0,
			"updated_at": T0,
			**header,
		}
		lines = [{**line, "unit": "Box" if n == 1 else None}]
		ids.append(insert_invoice(portal_db["conn"], 1, lines, **header))
		assert fake.add_invoice(1, lines, **header) == ids[-1]
	invoices = same(real, fake, lambda c: _untimed(c.fetch_invoices(ids)))
	first, second = invoices
	assert (
		columns.value_of(first, "vehicle_no") == " MH12AB1234 "
		and columns.value_of(first, "challan_date") == T0
	)
	assert columns.value_of(second, "challan_date") is None and "awb_number" not in first.extra
	assert (
		columns.value_of(first.lines[0], "unit") == "Box"
		and columns.value_of(second.lines[0], "unit") is None
	)
	assert same(real, fake, lambda c: c.fetch_invoice_batch((None, 0), 100, {"1"}).invoices[-1].extra) == {
		"vehicle_no": "",
		"challan_date": None,
	}
	inv = PushInvoice(
		name="PINV-M",
		chain=["PINV-M"],
		company="O2O Test Co",
		entity_id="1",
		supplier="Sharma Traders",
		supplier_name="Sharma Traders",
		vendor_id=1,
		supplier_address="Pune",
		remarks="",
		bill_no="ST/M",
		posting_date=date(2026, 11, 20),
		currency="INR",
		is_return=False,
		lines=[
			PushLine(
				1, "TEA", D("1"), D("10"), D("10.00"), D("1.80"), D("18"), 501, "Nos", {"portal_unit": "Kg"}
			)
		],
		taxes=[PushTax(1, "IGST", "On Net Total", "gst")],
		extra={"vehicle_no": "KA01", "challan_date": date(2026, 11, 19), "awb": "AWB-9"},
	)
	header, lines = build_portal_rows(inv, PushSettings("O2OT", 9), registry)
	assert (header["vehicle_no"], header["awb_number"], "challan_date" in header) == ("KA01", "AWB-9", False)
	written = same(
		real,
		fake,
		lambda c: c.write_invoice(
			header, lines, order_codes=["PINV-M"], prefix="O2OT", financial_year="26-27"
		),
	)
	rid = written["requisition_id"]
	got = real._query("SELECT vehicle_no, awb_number FROM purchase_requisitions WHERE id = %s", [rid])[0]
	assert got == {"vehicle_no": "KA01", "awb_number": "AWB-9"}
	assert {k: fake.row(rid)[k] for k in got} == got
	assert [r["unit"] for r in fake.lines_of(rid)] == ["Kg"]
	assert real._query("SELECT unit FROM purchase_order_items WHERE purchase_order_id = %s", [rid]) == [
		{"unit": "Kg"}
	]
	for client in (real, fake):  # a column no map pushes is still refused
		with pytest.raises(ValueError, match="not a portal column: weight"):
			client.write_invoice(
				{**header, "weight": "1"},
				lines,
				order_codes=["PINV-M"],
				prefix="O2OT",
				financial_year="26-27",
			)
