"""The ERPNext port as shipped: Frappe's own API behind the engine's `port.ERPNextPort`.

Thin on purpose: every decision is the engine's (`rules`, `mapping`, `pull`, `push`);
this package only reads and writes Purchase Invoices, Suppliers, Items, Item Tax
Templates, Sync Mappings and Sync Logs the way ERPNext expects. By concern:

- `bookkeeping`: transactions, the pull cursor, Sync Mappings, Sync Logs;
- `masters`: Suppliers, Items, posting dates;
- `invoices`: Purchase Invoices;
- `tax_templates`: the pull's Item Tax Templates;
- `push_reads`: what the push reads and writes back;
- `backfill_rows`: a parallel backfill part's progress and reserved invoice names.
"""

from o2o_sync.sync.frappe_port.backfill_rows import BackfillRows
from o2o_sync.sync.frappe_port.bookkeeping import Bookkeeping, amendment_chain
from o2o_sync.sync.frappe_port.invoices import Invoices, invoice_view
from o2o_sync.sync.frappe_port.masters import Masters
from o2o_sync.sync.frappe_port.push_reads import PushReads
from o2o_sync.sync.frappe_port.tax_templates import TaxTemplates
from o2o_sync.sync.model import columns

__all__ = ["FrappePort", "FrappePushPort", "amendment_chain", "invoice_view"]


class FrappePort(Bookkeeping, BackfillRows, Masters, Invoices, TaxTemplates):
	"""`port.ERPNextPort` over Frappe; one per run (it caches Item Tax Templates).

	Args: the GST accounts of the settings (CGST/SGST/IGST of every entity): the tax rows
	on them are the invoice's GST; accounts of the specs written are added. `connection`,
	the Database Connection whose pull cursor the port keeps (default: the settings' one);
	`registry`, the run's column registry (field maps included: `engines.registry`), whose
	fields the invoice views hold and the writes set.
	"""

	def __init__(
		self,
		gst_accounts: set[str] | None = None,
		connection: str | None = None,
		registry=columns.REGISTRY,
	):
		self.gst_accounts = set(gst_accounts or ())
		self.connection = connection
		self.registry = tuple(registry)
		self._templates: dict[tuple, str] = {}
		self._template_accounts: set[str] | None = None

	def _forget_caches(self):
		"""Called when a savepoint or the transaction rolls back: Item Tax Templates made
		inside are gone, and so may be what the transaction knew (`Bookkeeping`)."""
		self._templates.clear()
		self._template_accounts = None
		self._forget_transaction()


class FrappePushPort(PushReads, FrappePort):
	"""The push side of the port (`port.ERPNextPushPort`) over Frappe.

	Args: the GST accounts of the settings; {Company: portal entity id} of the settings; the
	run's column registry (the mapped fields the push reads).
	"""

	def __init__(self, gst_accounts: set[str], entity_by_company: dict[str, str], registry=columns.REGISTRY):
		super().__init__(gst_accounts, registry=registry)
		self.entity_by_company = entity_by_company
