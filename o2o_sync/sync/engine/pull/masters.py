"""The pull's reads of ERPNext's masters for one run: the Supplier of a portal vendor
(contract, "Pull": Supplier), Items, payment terms and posting-date checks, each read once
per run, and the spec of a slice (`spec.build_spec`)."""

from o2o_sync.sync.model import spec
from o2o_sync.sync.model.errors import AmbiguousSupplier
from o2o_sync.sync.model.mapping import invoice_label
from o2o_sync.sync.model.records import InvoiceSpec, PortalInvoice, Vendor


class Masters:
	"""Suppliers, Items and dates the pull resolves, cached for the run.

	Args: `port`, the `ERPNextPort`; `settings`, the `mapping.PullSettings`; `registry`, the
	column registry the specs are built with.
	"""

	def __init__(self, port, settings, registry):
		self.port = port
		self.settings = settings
		self.registry = registry
		#: {portal vendor id: Supplier name} resolved this run
		self.suppliers: dict[int, str] = {}
		#: {portal product id: Item facts} of the page being applied (`load_items`)
		self.items = {}
		self._read_cache: dict[tuple, object] = {}  # read-only facts for this run (items, terms, dates)

	def load_items(self, product_ids) -> None:
		"""Read the Items linked to these portal product ids, for the specs that follow."""
		self.items = self.port.items_for_products(sorted(product_ids)) if product_ids else {}

	def mark(self) -> dict:
		"""What `restore` goes back to: the Suppliers resolved so far."""
		return dict(self.suppliers)

	def restore(self, mark: dict) -> None:
		"""A unit rolled back: Suppliers created in it are gone, and so may be what was read."""
		self.suppliers = mark
		self.items = {}
		self._read_cache.clear()

	def forget_suppliers_since(self, known: set[int]) -> None:
		"""An invoice's savepoint rolled back: forget the Suppliers resolved inside it (a
		Supplier created there no longer exists)."""
		for vendor_id in set(self.suppliers) - known:
			self.suppliers.pop(vendor_id, None)

	def spec(self, inv: PortalInvoice, vendor: Vendor | None) -> InvoiceSpec:
		"""The Purchase Invoice a slice becomes, with its Supplier resolved (may create one)."""
		entity = self.settings.entities[str(inv.entity)]
		supplier = self.supplier(inv, vendor) if vendor else ""
		default_item = self._cached(("item", self.settings.default_item), self.port.item_info)
		freight_item = self._cached(("item", self.settings.freight_item), self.port.item_info)
		return spec.build_spec(
			inv,
			vendor=vendor,
			supplier=supplier,
			entity=entity,
			items=self.items,
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

	def check_posting_date(self, company: str, posting_date):
		"""The port's posting-date check, once per run for a date that passed."""
		key = ("date", (company, posting_date))
		if key not in self._read_cache:
			self.port.check_posting_date(company, posting_date)  # raises: not cached, retried next time
			self._read_cache[key] = True

	def supplier(self, inv: PortalInvoice, vendor: Vendor) -> str:
		"""The Supplier for a vendor (contract, "Pull": Supplier): the linked one, else the one
		with the vendor's GSTIN (then linked), else a new one. Raises AmbiguousSupplier when
		two Suppliers match or the match is linked to another vendor."""
		if vendor.id in self.suppliers:
			return self.suppliers[vendor.id]
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
		self.suppliers[vendor.id] = name
		return name
