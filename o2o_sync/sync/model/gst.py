"""GST slabs and the intra/inter-state split (contract, "Pull": GST).

A portal line stores only `cost` and `gst_amt`; the slab is the one whose tax on
`cost` is within ₹0.02 of `gst_amt` (or within the FLOAT resolution above
₹1,31,072). Same state for vendor and entity GSTIN: CGST + SGST halves; else IGST.
"""

from decimal import ROUND_HALF_UP, Decimal

from o2o_sync.sync.model.money import FLOAT_EXACT_LIMIT, PAISA, float32_resolution, share_out

#: GST slabs in percent, as notified (contract, "Pull": GST).
GST_SLABS: tuple[Decimal, ...] = tuple(
	Decimal(s) for s in ("0", "0.1", "0.25", "1.5", "3", "5", "6", "7.5", "12", "18", "28")
)
SLAB_TOLERANCE = Decimal("0.02")

INTRA_STATE = "intra"
INTER_STATE = "inter"
NO_GST = "none"


def tax_on(cost: Decimal, rate: Decimal) -> Decimal:
	"""GST in rupees on `cost` at `rate` percent, rounded half-up to the paisa."""
	return (cost * rate / 100).quantize(PAISA, rounding=ROUND_HALF_UP)


def detect_slab(cost: Decimal, gst_amt: Decimal) -> Decimal | None:
	"""Return the GST slab (percent) whose tax on `cost` matches `gst_amt`, or None.

	Both arguments are rupees rounded to the paisa. The tolerance is ₹0.02, widened
	to the FLOAT resolution of either amount above ₹1,31,072. When several slabs
	fit (tiny amounts), the closest wins, then the lower slab.
	"""
	tolerance = SLAB_TOLERANCE
	for amount in (cost, gst_amt):
		if abs(amount) > FLOAT_EXACT_LIMIT:
			tolerance = max(tolerance, float32_resolution(amount) * 2)
	best = None
	for slab in GST_SLABS:
		gap = abs(cost * slab / 100 - gst_amt)
		if gap <= tolerance and (best is None or gap < best[0]):
			best = (gap, slab)
	return best[1] if best else None


def line_shares(gst_amts: list[Decimal], split: str) -> list[dict[str, Decimal]]:
	"""Each portal line's `gst_amt` (rupees to the paisa) of one invoice by GST account kind.

	Within a state: the invoice's CGST is half its GST rounded half-up to the paisa, shared
	over the lines by the largest remainder in proportion to their `gst_amt`
	(`money.share_out`); each line's SGST is the rest of its `gst_amt`. So each line's CGST
	and SGST add up to its `gst_amt`, each is within a paisa of half of it, and the invoice's
	CGST and SGST differ by at most the odd paisa (CGST takes it). Across states IGST takes
	it all; no GST: {} per line. Returns one {'cgst', 'sgst'} / {'igst'} / {} per line.
	Contract, "Pull": totals (each account's amount is the sum of its lines' shares).
	"""
	if split == INTRA_STATE:
		half = (sum(gst_amts, Decimal(0)) / 2).quantize(PAISA, rounding=ROUND_HALF_UP)
		cgst = share_out(half, list(gst_amts))
		return [{"cgst": c, "sgst": g - c} for c, g in zip(cgst, gst_amts, strict=True)]
	if split == INTER_STATE:
		return [{"igst": g} for g in gst_amts]
	return [{} for _g in gst_amts]


def account_rate(kind: str, slab: Decimal | None) -> Decimal:
	"""The rate (percent) an account of `kind` charges at a slab: half for CGST and SGST."""
	if slab is None:
		return Decimal(0)
	return slab / 2 if kind in ("cgst", "sgst") else slab


def gst_split(vendor_gstin: str, company_gstin: str) -> str:
	"""Which GST rows apply: `INTRA_STATE` (CGST+SGST), `INTER_STATE` (IGST) or `NO_GST`.

	`vendor_gstin` '' means an unregistered vendor (no GST rows). The state is the
	GSTIN's first two digits; when the company has no GSTIN the states cannot be
	compared and IGST applies.
	"""
	vendor = (vendor_gstin or "").strip().upper()
	company = (company_gstin or "").strip().upper()
	if not vendor:
		return NO_GST
	if company and vendor[:2] == company[:2]:
		return INTRA_STATE
	return INTER_STATE


def format_rate(rate: Decimal) -> str:
	"""Slab as short text: Decimal('18') -> '18', Decimal('7.5') -> '7.5'."""
	return format(rate.normalize(), "f")
