"""The pull's Item Tax Templates (contract, "Pull": GST): one per company, slab,
intra/inter-state and GST accounts, found by their tax rows, made when missing."""

from decimal import Decimal

import frappe
from frappe.utils import flt

from o2o_sync.sync.model import rules
from o2o_sync.sync.model.errors import InvoiceError

ITEM_TAX_TEMPLATE = "Item Tax Template"
TEMPLATE_DETAIL = "Item Tax Template Detail"


def shown_rows(rows) -> str:
	"""Template rows as a person reads them: 'CGST - OT 9%, SGST - OT 9%'."""
	return ", ".join(f"{account} {flt(rate, 4):g}%" for account, rate in rows)


class TaxTemplates:
	"""Item Tax Templates of `FrappePort` (a mixin: `FrappePort` gives `gst_accounts`,
	`_templates`, the run's templates, and `_template_accounts`, the accounts of the pull's
	templates once read)."""

	def _template(self, company: str, split: str, rate: Decimal, accounts: dict) -> str:
		"""The Item Tax Template of one slab on these accounts (contract, "Pull": GST): a
		template the pull made for the company whose rows are exactly the slab's on
		`accounts` (whatever its title: templates of earlier versions are reused), else a new
		one titled with the accounts' digest (`rules.item_tax_template_title`). Changed GST
		accounts, or two entities of one company on accounts of their own, so get templates of
		their own. Raises InvoiceError when that title is taken by a template a person disabled
		or edited."""
		rows = rules.item_tax_template_rates(split, rate, accounts)
		key = (company, split, rate, tuple(sorted(rows)))
		if key in self._templates:
			return self._templates[key]
		name = self._matching_template(company, split, rate, rows)
		if not name:
			title = rules.item_tax_template_title(split, rate, rows)
			taken = frappe.db.get_value(ITEM_TAX_TEMPLATE, {"title": title, "company": company}, "name")
			if taken:
				raise InvoiceError(
					f"Item Tax Template {taken} is disabled or no longer holds {shown_rows(rows)}: enable or"
					" restore it, or delete it so the pull makes it again",
					field="item_tax_template",
				)
			taxes = [{"tax_type": account, "tax_rate": flt(share, 4)} for account, share in rows]
			doc = frappe.get_doc(
				{"doctype": ITEM_TAX_TEMPLATE, "title": title, "company": company, "taxes": taxes}
			)
			doc.insert(ignore_permissions=True)
			name = doc.name
		self._templates[key] = name
		return name

	@staticmethod
	def _matching_template(company: str, split: str, rate: Decimal, rows) -> str | None:
		"""The oldest enabled Item Tax Template of `company` titled for the slab whose rows are
		exactly `rows`, or None."""
		# "like": the title's '%' is a wildcard too, so the rows decide
		names = frappe.get_all(
			ITEM_TAX_TEMPLATE,
			filters={
				"company": company,
				"disabled": 0,
				"title": ["like", rules.item_tax_template_title(split, rate) + "%"],
			},
			order_by="creation asc",
			pluck="name",
		)
		if not names:
			return None
		have: dict[str, list] = {name: [] for name in names}
		for row in frappe.get_all(
			TEMPLATE_DETAIL,
			filters={"parenttype": ITEM_TAX_TEMPLATE, "parent": ["in", names]},
			fields=["parent", "tax_type", "tax_rate"],
		):
			have[row.parent].append((row.tax_type, row.tax_rate))
		return next((name for name in names if rules.template_rows_match(have[name], rows)), None)

	def _gst_heads(self) -> set[str]:
		"""The accounts whose tax rows are an invoice's GST: `gst_accounts` (the settings' and
		the specs'), and every account of an Item Tax Template the pull made, so the GST rows of
		invoices pulled before the settings' accounts changed still count as GST."""
		if getattr(self, "_template_accounts", None) is None:
			self._template_accounts = set(
				frappe.get_all(
					TEMPLATE_DETAIL,
					filters={
						"parenttype": ITEM_TAX_TEMPLATE,
						"parent": ["like", rules.TEMPLATE_TITLE_PREFIX + "%"],
					},
					pluck="tax_type",
					distinct=True,
				)
			)
		return self.gst_accounts | self._template_accounts
