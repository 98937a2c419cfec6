"""Pure mapping rules (contract, "Pull"): money, GST slabs, vendor split, spec refusals, merge."""

from datetime import datetime
from decimal import Decimal as D

import pytest

from o2o_sync.sync import mapping as m
from o2o_sync.sync.model import gst, merge, money
from o2o_sync.sync.model.errors import InvoiceError
from o2o_sync.sync.model.records import PortalInvoice, PortalLine, Vendor
from o2o_sync.sync.model.spec import build_spec

ENTITY = m.EntityConfig("7", "O2O Test Co", "27AAACO2020A1Z5", "CGST", "SGST", "IGST", "Purchases", "Main")
SERVICES = m.ItemInfo("SERVICES")
FREIGHT = m.ItemInfo("FREIGHT")


def line(id=1, vendor_id=11, cost="100.00", gst_amt="18.00", quantity=7, product_id=None):
	return PortalLine(
		id=id,
		purchase_order_id=1,
		vendor_id=vendor_id,
		product_id=product_id,
		quantity=quantity,
		unit_rate=" 1,250.50 ",
		uom="Nos",
		cost=D(cost),
		gst_amt=D(gst_amt),
		total_amt=D(cost) + D(gst_amt),
	)


def invoice(lines, **kw):
	fields = dict(
		id=1,
		entity="7",
		order_name="Order",
		order_code="REQ-1",
		address="",
		remark="Stationery",
		invoice_number="AGO2O/26-27/0046",
		invoice_generated_at=datetime(2026, 6, 3, 12, 0),
		created_at=datetime(2026, 6, 1),
		updated_at=None,
		delivery_date=datetime(2026, 6, 20),
		is_invoice_cancel=0,
		invoice_cancel_date=None,
		is_delete=0,
		credit_note_number="",
		freight_cost="0",
		currency_id=1,
		order_status=2,
		acknowledgement=1,
		finance_status=0,
	)
	fields.update(kw)
	return PortalInvoice(lines=lines, **fields)


def vendor(gstn="27AAAPV1234B1Z9"):
	return Vendor(id=11, name="Vendor", code="V11", gstn=gstn)


def spec_of(inv, v=None, **kw):
	return build_spec(
		inv,
		vendor=v or vendor(),
		supplier="Vendor",
		entity=ENTITY,
		items={},
		default_item=SERVICES,
		freight_item=FREIGHT,
		**kw,
	)


def test_float_money_rounds_half_up_to_the_paisa():
	assert money.paisa(815999.6875) == D("815999.69")
	assert money.paisa(0.125) == D("0.13")
	assert money.parse_text_number(" 1,250.50 ") == D("1250.50")
	assert money.parse_text_number("") is None
	with pytest.raises(ValueError):
		money.parse_text_number("12 rupees")


def test_float_resolution_above_one_lakh_thirty_one_thousand():
	assert money.amount_tolerance(D("1000")) == D("0.01")
	assert money.amount_tolerance(D("200000")) == D("0.02")  # FLOAT step is ₹0.015625 there
	assert money.beyond_float_precision(D("131072.01"))


@pytest.mark.parametrize(
	"cost,gst_amt,slab",
	[
		("100.00", "18.00", "18"),
		("100.00", "0.10", "0.1"),
		("1000.00", "75.00", "7.5"),
		("59.99", "0.00", "0"),
		("100.00", "2.99", "3"),
	],
)
def test_slab_detection(cost, gst_amt, slab):
	assert gst.detect_slab(D(cost), D(gst_amt)) == D(slab)


def test_gst_not_a_slab_is_refused_naming_line_and_field():
	with pytest.raises(InvoiceError) as e:
		spec_of(invoice([line(cost="100.00", gst_amt="17.00")]))
	assert e.value.field == "gst_amt" and e.value.line == 1
	assert "Requisition 1 (AGO2O/26-27/0046), line 1" in str(e.value)


def test_unregistered_vendor_cannot_charge_gst():
	with pytest.raises(InvoiceError) as e:
		spec_of(invoice([line()]), vendor(gstn=None))
	assert e.value.field == "gst_amt" and "no GSTIN" in str(e.value)
	spec = spec_of(invoice([line(gst_amt="0")]), vendor(gstn=None))
	assert spec.gst_split == gst.NO_GST and spec.tax_accounts == {}


def test_zero_quantity_and_foreign_currency_are_refused():
	with pytest.raises(InvoiceError) as e:
		spec_of(invoice([line(quantity=0)]))
	assert e.value.field == "quantity"
	with pytest.raises(InvoiceError) as e:
		spec_of(invoice([line()], currency_id=2))
	assert e.value.field == "currency_id"


def test_rate_keeps_six_places_so_qty_times_rate_is_cost():
	spec = spec_of(invoice([line(cost="100.00", gst_amt="18.00", quantity=7)]))
	item = spec.items[0]
	assert item.rate == D("14.285714")
	assert (item.rate * 7).quantize(D("0.01")) == D("100.00")


def test_same_state_splits_cgst_sgst_other_state_igst_and_freight_has_no_gst():
	intra = spec_of(invoice([line()], freight_cost=" 1,500.00"))
	assert intra.gst_split == gst.INTRA_STATE and set(intra.tax_accounts) == {"cgst", "sgst"}
	assert intra.items[-1].item_code == "FREIGHT" and intra.items[-1].gst_rate is None
	assert intra.expected.net_total == D("1600.00") and intra.expected.gst_total == D("18.00")
	inter = spec_of(invoice([line()]), vendor(gstn="29AAAPV1234B1Z9"))
	assert inter.tax_accounts == {"igst": "IGST"}


def test_two_vendors_make_two_slices():
	inv = invoice([line(1, 11), line(2, 12), line(3, 11)])
	slices = m.split_by_vendor(inv)
	assert [m.slice_vendor_id(s) for s in slices] == [11, 12]
	assert [[li.id for li in s.lines] for s in slices] == [[1, 3], [2]]


def test_due_date_is_delivery_date_unless_before_posting_or_payment_terms():
	assert spec_of(invoice([line()])).header["due_date"].isoformat() == "2026-06-20"
	early = invoice([line()], delivery_date=datetime(2026, 5, 1))
	assert spec_of(early).header["due_date"].isoformat() == "2026-06-03"
	assert spec_of(invoice([line()]), supplier_has_payment_terms=True).header["due_date"] is None


def test_three_way_merge_takes_portal_changes_and_flags_both_sided_ones():
	base_p = {"remark": "a", "invoice_number": "X", "lines": [1]}
	base_e = {"remarks": "a", "bill_no": "X", "items": [1]}
	apply, conflicts, cols = merge.three_way_merge(
		base_p, {**base_p, "remark": "b"}, base_e, {**base_e, "items": [2]}
	)
	assert apply == {"remarks"} and not conflicts and cols == ["remark"]
	apply, conflicts, _ = merge.three_way_merge(
		base_p, {**base_p, "remark": "b"}, base_e, {**base_e, "remarks": "c"}
	)
	assert conflicts == {"remarks"} and not apply
