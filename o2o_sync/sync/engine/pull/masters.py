"""The pull's reads of ERPNext's masters for one run: the Supplier of a portal vendor
(contract, "Pull": Supplier), Items, payment terms and posting-date checks, each read once
per run, and the spec of a slice (`spec.build_spec`).

Part of `pull.PullEngine` (a mixin: it uses the engine's `port`, `settings`, `registry`,
`_items` and `_suppliers`).
"""

from o2o_sync.constants import F_ACKNOWLEDGEMENT, F_ORDER_STATUS, F_SYNC_STATUS, SYNCED
from o2o_sync.sync.model import spec
from o2o_sync.sync.model.errors import AmbiguousSupplier
from o2o_sync.sync.model.mapping import invoice_label
from o2o_sync.sync.model.records import InvoiceSpec, PortalInvoice, Vendor


class MasterResolution:
	"""Suppliers, Items and dates the pull resolves, cached for the run."""

	@staticmethod
	def _status_fields_of(inv: PortalInvoice) -> dict:
		"""The portal's status columns as the Purchase Invoice's allow-on-submit fields."""
		return {F_ORDER_STATUS: inv.order_status, F_ACKNOWLEDGEMENT: inv.acknowledgement}

	@staticmethod
	def _status_fields(want: InvoiceSpec) -> dict:
		"""Tracking fields and status Synced, for an invoice the pull linked."""
		return {**want.tracking, F_SYNC_STATUS: SYNCED}

	def _spec(self, inv: PortalInvoice, vendor: Vendor | None) -> InvoiceSpec:
		"""The Purchase Invoice a slice becomes, with its Supplier resolved (may create one)."""
		entity = self.settings.entities[str(inv.entity)]
		supplier = self._supplier(inv, vendor) if vendor else ""
		default_item = self._cached(("item", self.settings.default_item), self.port.item_info)
		freight_item = self._cached(("item", self.settings.freight_item), self.port.item_info)
		return spec.build_spec(
			inv,
			vendor=vendor,
			supplier=supplier,
			entity=entity,
			items=self._items,
			default_item=default_item,
			freight_item=freight_item,
			supplier_has_payment_terms=bool(
				supplier and self._cached(("terms", supplier), self.port.supplier_has_payment_terms)
			),
			registry=self.registry,
		)

	def _cached(self, key: tuple, read):
		"""`read(key[1])` once per run; None keys read nothing."""
		if key[1] is None:
			return None
		if key not in self._read_cache:
			self._read_cache[key] = read(key[1])
		return self._read_cache[key]

	def _check_posting_date(self, company: str, posting_date):
		"""The port's posting-date check, once per run for a date that passed."""
		key = ("date", (company, posting_date))
		if key not in self._read_cache:
			self.port.check_posting_date(company, posting_date)  # raises: not cached, retried next time
			self._read_cache[key] = True

	def _supplier(self, inv: PortalInvoice, vendor: Vendor) -> str:
		"""The Supplier for a vendor (contract, "Pull": Supplier): the linked one, else the one
		with the vendor's GSTIN (then linked), else a new one. Raises AmbiguousSupplier when
		two Suppliers match or the match is linked to another vendor."""
		if vendor.id in self._suppliers:
			return self._suppliers[vendor.id]
		name = self.port.supplier_for_vendor(vendor.id)
		if not name and vendor.normalized_gstin:
			candidates = self.port.suppliers_with_gstin(vendor.normalized_gstin)
			if len(candidates) > 1:
				raise AmbiguousSupplier(
					f"{invoice_label(inv)}: vendor {vendor.id} ({vendor.name}) GSTIN {vendor.normalized_gstin} matches "
					f"{len(candidates)} Suppliers ({', '.join(c[0] for c in candidates)}); link one by setting its ProcureUAT Vendor ID",
					invoice=inv.id,
					field="vendors.gstn",
				)
			if candidates:
				name, linked_vendor = candidates[0]
				if linked_vendor and linked_vendor != vendor.id:
					raise AmbiguousSupplier(
						f"{invoice_label(inv)}: vendor {vendor.id} ({vendor.name}) GSTIN {vendor.normalized_gstin} belongs to "
						f"Supplier {name}, already linked to vendor {linked_vendor}; a person must decide",
						invoice=inv.id,
						field="vendors.gstn",
					)
				self.port.link_supplier(name, vendor.id)
		if not name:
			name = self.port.create_supplier(vendor, self.settings.supplier_group)
		self._suppliers[vendor.id] = name
		return name
