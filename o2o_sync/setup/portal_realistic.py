"""Realistic generated invoices in a portal database of our own, many at once.

`seed_realistic` draws invoices the way a buyer's year on the portal looks: GST slabs in
Indian B2B proportions, unit rates typed as text in the portal's habits, a few NULL
updated_at and zero delivery dates, some line amounts beyond FLOAT's exact paisa. The
demo portal and the benchmark seed with it; the tests check it (tests/test_portal_fixtures.py).

Needs PyMySQL and the standard library only; never imports frappe.
"""

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from o2o_sync.setup.portal_rows import (
	DEFAULT_INVOICE_PREFIX,
	ZERO_DATETIME,
	financial_year,
	header_row,
	insert_rows,
	max_invoice_number,
	round_paisa,
	row_value,
)

#: Portal product ids `seed_realistic` draws from when given none.
DEFAULT_PRODUCT_IDS = range(501, 561)


#: (GST rate %, weight): Indian B2B purchases are mostly 18 %, then 12 and 5 %.
_SLABS = (
	(Decimal(18), 45),
	(Decimal(12), 20),
	(Decimal(5), 18),
	(Decimal(28), 8),
	(Decimal(0), 7),
	(Decimal(3), 2),
)
#: Portal `gst_id` per slab.
_GST_IDS = {Decimal(0): 1, Decimal(5): 2, Decimal(12): 3, Decimal(18): 4, Decimal(28): 5, Decimal(3): 6}
_UOMS = ("Nos", "Nos", "Nos", "Box", "Kg", "Ltr", "Pcs", "Mtr", "Set", "Ream")
_ORDER_NAMES = (
	"Office stationery",
	"Housekeeping consumables",
	"IT peripherals",
	"Pantry supplies",
	"Electrical spares",
	"Packaging material",
	"Safety equipment",
	"Printer cartridges",
	"Furniture repair",
	"Lab consumables",
)
_ADDRESSES = (
	"Unit 4, Andheri East, Mumbai 400069",
	"Plot 22, Sector 18, Gurugram 122015",
	"No. 14, Whitefield Main Road, Bengaluru 560066",
	"Survey 112, Hinjewadi Phase 2, Pune 411057",
	"Door 7, Guindy Industrial Estate, Chennai 600032",
)


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
	"""A price between ₹`low` and ₹`high`, log-uniform (cheap items are common), in paise."""
	return round(math.exp(rng.uniform(math.log(low), math.log(high))) * 100)


def _unit_rate_text(rng: random.Random, rate: Decimal) -> str:
	plain = f"{rate:.2f}"
	roll = rng.random()
	if roll < 0.62:
		return plain
	if roll < 0.80:
		return f"{rate:,.2f}"  # '1,250.50' (plain below ₹1,000)
	if roll < 0.86:
		return f" {plain}"
	if roll < 0.92:
		return f"{rate:,.2f} ".replace(",", " ")  # '1 250.50 '
	if roll < 0.97:
		return f"{rate:.0f}" if rate == rate.to_integral_value() else plain
	return ""


def seed_realistic(
	conn,
	n_invoices: int,
	*,
	entity_id: int,
	vendor_ids: list[int],
	product_ids: list[int] | None = None,
	seed: int = 1,
	min_lines: int = 1,
	max_lines: int = 6,
	start_date: datetime = datetime(2026, 4, 2),
	end_date: datetime = datetime(2026, 11, 20, 18, 0),
	null_updated_share: float = 0.08,
	zero_delivery_share: float = 0.05,
	multi_vendor_share: float = 0.02,
	mixed_slab_share: float = 0.25,
) -> list[int]:
	"""Seed `n_invoices` realistic generated invoices for `entity_id`; returns their requisition ids.

	Deterministic for a given `seed` and database state. Invoice dates (business hours)
	are spread from `start_date` to `end_date` (default 2 April to 20 November 2026, FY
	26-27) and numbered 'AGO2O/YY-YY/NNNN' in date order after the highest number already
	used. Lines: whole quantities 1-500, unit rates with paise (text, sometimes '1,250.50',
	padded or spaced, rarely ''), cost = quantity × rate, gst_amt = cost × slab rounded
	half-up to the paisa (slabs 0/5/12/18/28 %, a few 3 %), `mixed_slab_share` of invoices
	with lines of different slabs, `multi_vendor_share` with lines of two vendors (when
	more than one vendor id is given). `null_updated_share` of headers have updated_at
	NULL (lines too), `zero_delivery_share` have delivery_date '0000-00-00 00:00:00'.
	Some line amounts exceed ₹1,31,072, where FLOAT keeps no exact paisa.
	Uses two multi-row INSERTs (500 invoices take well under a second).
	"""
	if n_invoices <= 0:
		return []
	if not vendor_ids:
		raise ValueError("seed_realistic needs at least one vendor id")
	if not 1 <= min_lines <= max_lines:
		raise ValueError("need 1 <= min_lines <= max_lines")
	if end_date < start_date:
		raise ValueError("end_date is before start_date")
	rng = random.Random(seed)
	products = list(product_ids) if product_ids else list(DEFAULT_PRODUCT_IDS)
	slabs, weights = zip(*_SLABS, strict=True)

	days = (end_date.date() - start_date.date()).days
	dates = []
	for _ in range(n_invoices):
		day = datetime.combine(start_date.date() + timedelta(days=rng.randint(0, days)), datetime.min.time())
		moment = day + timedelta(hours=9, seconds=rng.randint(0, 9 * 3600 - 1))
		dates.append(min(max(moment, start_date), end_date))
	dates.sort()

	with conn.cursor() as cur:
		cur.execute("SELECT COALESCE(MAX(id), 0) AS n FROM purchase_requisitions")
		next_id = int(row_value(cur.fetchone(), "n")) + 1
		# the table's own next id, when it was moved on (the test environments' id band)
		cur.execute(
			"SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES"
			" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'purchase_requisitions'"
		)
		next_id = max(next_id, int(row_value(cur.fetchone(), "n") or 0))
	numbers: dict[str, int] = {}

	headers, lines = [], []
	for index, generated_at in enumerate(dates):
		requisition_id = next_id + index
		fy = financial_year(generated_at)
		if fy not in numbers:
			numbers[fy] = max_invoice_number(conn, DEFAULT_INVOICE_PREFIX, fy)
		numbers[fy] += 1

		lead = timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 600))
		if lead > generated_at - start_date:  # raised before start_date: keep it on or after
			lead = (generated_at - start_date) * rng.random()
		created_at = (generated_at - lead).replace(microsecond=0)
		updated_at = (
			None
			if rng.random() < null_updated_share
			else generated_at + timedelta(minutes=rng.randint(0, 90), seconds=rng.randint(0, 59))
		)
		roll = rng.random()
		if roll < zero_delivery_share:
			delivery_date = ZERO_DATETIME
		elif roll < zero_delivery_share + 0.12:
			delivery_date = None
		else:
			delivery_date = datetime.combine(
				(generated_at + timedelta(days=rng.randint(3, 21))).date(), datetime.min.time()
			)

		vendor = rng.choice(vendor_ids)
		second_vendor = None
		if len(vendor_ids) > 1 and rng.random() < multi_vendor_share:
			second_vendor = rng.choice([v for v in vendor_ids if v != vendor])
		invoice_slab = rng.choices(slabs, weights)[0]
		mixed = rng.random() < mixed_slab_share
		n_lines = rng.randint(min_lines, max_lines)
		if second_vendor is not None and n_lines < 2:
			n_lines = 2

		line_slabs = []
		for position in range(n_lines):
			slab = rng.choices(slabs, weights)[0] if mixed else invoice_slab
			size = rng.random()
			if size < 0.55:  # a few units of a catalogue item
				quantity, rate_paise = rng.randint(1, 20), _log_uniform(rng, 50, 5_000)
			elif size < 0.85:  # dozens of cheaper items
				quantity, rate_paise = rng.randint(21, 100), _log_uniform(rng, 10, 800)
			elif size < 0.97:  # bulk consumables
				quantity, rate_paise = rng.randint(101, 500), _log_uniform(rng, 5, 150)
			else:  # big-ticket lines, often beyond FLOAT's paisa (₹1,31,072)
				quantity, rate_paise = rng.randint(1, 50), _log_uniform(rng, 2_000, 20_000)
			if slab == 3 and quantity * rate_paise < 100_000:
				slab = Decimal(18)  # 3 % (gold, jewellery) only on larger lines
			line_slabs.append(slab)
			rate = Decimal(rate_paise) / 100
			cost = rate * quantity
			gst_amt = round_paisa(cost * slab / 100)
			line_updated = updated_at
			if updated_at is not None and rng.random() < 0.1:
				line_updated = updated_at + timedelta(minutes=rng.randint(1, 240))
			lines.append(
				{
					"purchase_order_id": requisition_id,
					"vendor_id": second_vendor if second_vendor is not None and position % 2 else vendor,
					"product_id": rng.choice(products),
					"category_id": rng.randint(1, 12),
					"subcategory_id": rng.randint(1, 60),
					"brand_id": rng.choice((0, 0, rng.randint(1, 40))),
					"product_type": 1,
					"gst_id": _GST_IDS[slab],
					"image": "",
					"quantity": quantity,
					"unit_rate": _unit_rate_text(rng, rate),
					"uom": rng.choice(_UOMS),
					"cost": cost,
					"gst_amt": gst_amt,
					"total_amt": cost + gst_amt,
					"status": "active",
					"vendor_approve": 1,
					"created_at": created_at,
					"updated_at": line_updated,
					"created_by": 1,
					"updated_by": 1,
				}
			)

		rates = sorted({int(s) for s in line_slabs})
		headers.append(
			header_row(
				entity_id,
				generated_at=generated_at,
				created_at=created_at,
				updated_at=updated_at,
				id=requisition_id,
				subentity_id=rng.choice((None, "", str(rng.randint(1, 9)))),
				order_name=f"{rng.choice(_ORDER_NAMES)} {generated_at:%b %Y}",
				order_code=f"PO/{fy}/{requisition_id:05d}",
				category=rng.randint(0, 12),
				delivery_date=delivery_date,
				address=rng.choice(_ADDRESSES),
				remark=rng.choice(("", "", "", "Urgent", "Deliver to stores, gate 2")),
				order_status=rng.choice((2, 2, 2, 4)),
				gst_percentage=str(rates[0] if len(rates) == 1 else rates[-1]),
				invoice_number=f"{DEFAULT_INVOICE_PREFIX}/{fy}/{numbers[fy]:04d}",
				credit_note_number=rng.choice(("", "", f"INV-{rng.randint(100, 9999)}")),
				is_new_invoice=rng.choice((0, 1)),
				transportation_mode=rng.choice(("", "Road", "Courier")),
			)
		)

	conn.begin()
	try:
		insert_rows(conn, "purchase_requisitions", list(headers[0]), headers)
		insert_rows(conn, "purchase_order_items", list(lines[0]), lines)
		conn.commit()
	except BaseException:
		conn.rollback()
		raise
	return [h["id"] for h in headers]
