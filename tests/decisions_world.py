"""The world of the fast decision tests (`test_decisions*.py`): an in-memory portal, an
in-memory ERPNext, the pull's and the push's settings, and helpers to read the outcome the
way a user would (totals, the Purchase Invoice, the Sync Mapping, the Sync Log).
"""

import copy
from datetime import date
from decimal import Decimal as D

from inmemory_port import InMemoryPort
from inmemory_portal import InMemoryPortal

from o2o_sync.sync import mapping as m
from o2o_sync.sync.engine.pull.run import PullEngine
from o2o_sync.sync.engine.push.engine import PushEngine, PushSettings
from o2o_sync.sync.model.records import PushInvoice, PushLine, PushTax

ENTITY = "1"
COMPANY = "O2O Test Co"
COMPANY_GSTIN = "27AAACO2020A1Z5"  # Maharashtra
PUSH_SETTINGS = PushSettings(invoice_prefix="O2OT", portal_user_id=9)
#: The counts of a pull run that mean something was written or held.
WRITES = ("created", "updated", "cancelled", "deleted", "linked", "conflict", "failed")


def counts_of(counts: dict) -> dict:
	"""The non-zero WRITES of a pull run's counts."""
	return {k: v for k, v in counts.items() if k in WRITES and v}


class World:
	"""One case's portal and ERPNext; vendors 'same' (Maharashtra, like the company) and
	'other' (Karnataka); Items SERVICES (the default) and FREIGHT."""

	def __init__(self):
		self.portal = InMemoryPortal()
		self.port = InMemoryPort()
		self.port.add_item("SERVICES")
		self.port.add_item("FREIGHT")
		self.vendors = {
			"same": self.portal.add_vendor("Sharma Traders", "V001", "27AAAPS1234A1Z5"),
			"other": self.portal.add_vendor("Kaveri Supplies", "V002", "29AAAPK1234A1Z5"),
		}
		self.settings = m.PullSettings(
			default_item="SERVICES",
			freight_item="FREIGHT",
			pull_batch_size=25,
			entities={
				ENTITY: m.EntityConfig(
					ENTITY, COMPANY, COMPANY_GSTIN, "CGST", "SGST", "IGST", "Purchases", "Main"
				)
			},
		)
		# the push stamps `updated_at` with the portal's clock, as the portal's own edits are
		self.pusher = PushEngine(self.port, self.portal, PUSH_SETTINGS, clock=self.portal.clock)

	# -- the pull
	def pull(self, **settings) -> dict:
		"""Run the pull (with `settings` changed on top of the world's); returns its counts."""
		if settings:
			self.settings = m.PullSettings(**{**self.settings.__dict__, **settings})
		return PullEngine(self.port, self.portal, self.settings).run()

	def line(self, vendor="same", quantity=1, cost="100.00", gst_amt="18.00", **columns) -> dict:
		return {
			"vendor_id": self.vendors[vendor],
			"quantity": quantity,
			"cost": cost,
			"gst_amt": gst_amt,
			**columns,
		}

	def invoice(self, *lines, **columns) -> int:
		"""A portal invoice of the mapped entity (one ₹100 + ₹18 line by default)."""
		return self.portal.add_invoice(ENTITY, list(lines or [self.line()]), **columns)

	# -- ERPNext's side
	def mapping(self, rid, vendor="same"):
		return self.port.s.mappings[(rid, self.vendors[vendor])]

	def name(self, rid, vendor="same") -> str:
		return self.mapping(rid, vendor).purchase_invoice

	def doc(self, rid, vendor="same") -> dict:
		return self.port.s.invoices[self.name(rid, vendor)]

	def totals(self, rid, vendor="same") -> tuple[D, D]:
		"""(net total, GST total) of the Purchase Invoice as ERPNext computes them."""
		state = self.port.get_invoice(self.name(rid, vendor))
		return state.net_total, state.gst_total

	def logs(self, status=None, operation=None) -> list[str]:
		"""Sync Log messages, optionally of one status and operation."""
		return [e.message for e in self.port.logs_of(status, operation)]

	def rerun_changes_nothing(self):
		"""Run the pull again: nothing is written or held, on either side (contract, "Both directions")."""
		before = copy.deepcopy((self.port.s.invoices, self.port.s.mappings, self.portal.requisitions))
		counts = self.pull()
		assert {k: counts[k] for k in WRITES} == dict.fromkeys(WRITES, 0), counts
		assert (self.port.s.invoices, self.port.s.mappings, self.portal.requisitions) == before

	# -- the push
	def push_invoice(self, name="ACC-PINV-2026-00001", chain=None, posting=date(2026, 11, 20), **fields):
		"""Put a submitted Purchase Invoice of vendor 'same' in ERPNext, ready to push:
		7 × TEA (₹100.00 + 18 % GST) and 2 × SUGAR (₹50.00 + 5 % GST), grand total ₹170.50."""
		values = dict(
			name=name,
			chain=chain or [name],
			company=COMPANY,
			entity_id=ENTITY,
			supplier="Sharma Traders",
			supplier_name="Sharma Traders",
			vendor_id=self.vendors["same"],
			supplier_address="Plot 12, MIDC, Pune",
			remarks="Pantry supplies",
			bill_no="ST/889",
			posting_date=posting,
			currency="INR",
			is_return=False,
			lines=[
				PushLine(1, "TEA", D("7"), D("14.285714"), D("100.00"), D("18.00"), D("18"), 501, "Nos"),
				PushLine(2, "SUGAR", D("2"), D("25"), D("50.00"), D("2.50"), D("5"), 502, "Kg"),
			],
			taxes=[
				PushTax(1, "CGST - O2O", "On Net Total", "gst"),
				PushTax(2, "SGST - O2O", "On Net Total", "gst"),
			],
			grand_total=D("170.50"),
		)
		values.update(fields)
		self.port.add_push_invoice(PushInvoice(**values))
		return name

	def portal_rows(self) -> list[dict]:
		"""Every `purchase_requisitions` row, by id."""
		return [self.portal.row(i) for i in sorted(self.portal.requisitions)]
