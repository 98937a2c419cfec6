# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""The demo portal's rows: one buyer entity, three vendors and realistic invoices (`demo`).

The demo's portal ids (entity 9001, vendors 900001-900003, requisitions from 900001) are kept
far from a real portal's small ids, because Sync Mapping and the Supplier links key on them.
Deterministic for a given window (`DEMO_SEED`). Writes through `portal_rows` and
`portal_realistic`; imports frappe only for the GSTIN check character.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from o2o_sync.setup.portal_realistic import seed_realistic
from o2o_sync.setup.portal_rows import insert_entity, insert_invoice, insert_vendor

DEMO_ENTITY_ID = 9001
DEMO_ENTITY_NAME = "Demo Buyer Pvt Ltd"
#: Used as the entity's GSTIN when the mapped company has no GSTIN of its own (Maharashtra).
DEMO_ENTITY_GSTIN = "27AAACD2026P1ZM"
#: Requisition and vendor ids start here.
DEMO_ID_BASE = 900001
#: (name, code, first 12 characters of the GSTIN after the state code): a vendor in the entity's
#: state, one in another state, one unregistered (no GSTIN).
DEMO_VENDORS = (
	("Sharma Office Supplies", "DEMO-V1", "AABCS4321K1Z"),
	("Kaveri Industrial Traders", "DEMO-V2", "AACCK7788M1Z"),
	("Lakshmi General Stores", "DEMO-V3", None),
)
DEMO_SEED = 2026

#: Unit price ranges (rupees) of the GST-free goods the unregistered vendor sells: milk, fresh
#: vegetables, rice and pulses by the sack.
_GST_FREE_PRICES = ((20, 90), (35, 60), (200, 900))


def seed_entity_and_vendors(conn, entity_gstin: str) -> list[dict]:
	"""Insert the entity and the three vendors; returns `[{"id", "name", "gstin"}]`.

	The first vendor's GSTIN is of the entity's state (CGST + SGST), the second's of another
	state (IGST); the third has none.
	"""
	insert_entity(conn, DEMO_ENTITY_NAME, entity_gstin, id=DEMO_ENTITY_ID)
	with conn.cursor() as cur:
		cur.execute(
			"INSERT INTO subentitys (id, entity_id, name) VALUES (%s, %s, %s)",
			(1, DEMO_ENTITY_ID, "Head Office"),
		)
	from o2o_sync.o2o_sync.doctype.o2o_sync_settings.o2o_sync_settings import gstin_check_character

	state = entity_gstin[:2]
	states = (state, "29" if state != "29" else "27", None)
	vendors = []
	for offset, ((name, code, body), vendor_state) in enumerate(zip(DEMO_VENDORS, states, strict=True)):
		gstin = None
		if body and vendor_state:
			gstin = vendor_state + body + gstin_check_character(vendor_state + body)
		vendor_id = insert_vendor(conn, name, code, gstin, id=DEMO_ID_BASE + offset)
		vendors.append({"id": vendor_id, "name": name, "gstin": gstin})
	return vendors


def seed_invoices(conn, count: int, vendors: list[dict], first: datetime, last: datetime) -> list[int]:
	"""Seed `count` invoices between `first` and `last`; returns their requisition ids in order.

	About a tenth (at least one) belong to the unregistered vendor: GST-free lines only (an
	unregistered vendor may not charge GST), dated in the first days of the window and
	numbered first, ids from `DEMO_ID_BASE`, one of them with freight. The rest are
	`seed_realistic`'s invoices of the two registered vendors, with GST, continuing the ids
	and invoice numbers.
	"""
	rng = random.Random(DEMO_SEED)
	unregistered = vendors[2]["id"]
	n_unregistered = min(count, max(1, count // 10))
	span = last - first
	ids = []
	for index in range(n_unregistered):
		moment = first + span * (0.05 * index / n_unregistered) + timedelta(minutes=rng.randint(0, 300))
		lines = []
		for _position in range(rng.randint(1, 3)):
			low, high = rng.choice(_GST_FREE_PRICES)
			quantity = rng.randint(2, 60)
			rate = Decimal(rng.randint(low * 100, high * 100)) / 100
			lines.append(
				{
					"vendor_id": unregistered,
					"product_id": rng.randint(561, 580),
					"quantity": quantity,
					"cost": rate * quantity,
					"gst_amt": Decimal(0),
					"gst_id": 1,
					"unit_rate": f"{rate:.2f}",
					"uom": rng.choice(("Kg", "Ltr", "Nos")),
				}
			)
		header = {
			"order_name": f"Pantry provisions {moment:%b %Y}",
			"invoice_generated_at": moment,
			"created_at": moment - timedelta(hours=rng.randint(1, 48)),
			"updated_at": moment + timedelta(minutes=rng.randint(1, 60)),
			"subentity_id": "1",
		}
		if index == 0:
			header["id"] = DEMO_ID_BASE
		if index == min(1, n_unregistered - 1):
			header["freight_rate"] = header["freight_cost"] = "250"
		ids.append(insert_invoice(conn, DEMO_ENTITY_ID, lines, **header))

	if count > n_unregistered:
		ids += seed_realistic(
			conn,
			count - n_unregistered,
			entity_id=DEMO_ENTITY_ID,
			vendor_ids=[vendors[0]["id"], vendors[1]["id"]],
			seed=DEMO_SEED,
			start_date=first + span * 0.06,
			end_date=last,
		)
	return ids
