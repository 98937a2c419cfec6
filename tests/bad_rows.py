"""A corpus of broken and hostile portal rows (contract, "Tables": the portal's legacy habits).

Each `Case` is the rows to put on the portal (one invoice of the mapped entity unless its
header says otherwise) and what the pull must make of it: for each vendor slice, one Sync Log
row, Failed with a message naming the requisition, the line where there is one and the
column, or Success where the input is legal (then what ERPNext must hold). Whatever a case
holds, the rest of the batch carries on. `test_bad_rows.py` runs every case through the
in-memory portal and the whole corpus through the real MariaDB behind a real sshd.

Grow it with every bug: add a `Case` (a name, its lines and header columns, the vendors it
needs, what it must end in).

Vendors: lines name one by key: "same" (GSTIN in Maharashtra, like the company), "other"
(Karnataka), "unregistered" (no GSTIN), a key of the case's own `vendors`, "unknown" (an id
no `vendors` row has) or None (a NULL `vendor_id`).
"""

from dataclasses import dataclass, field

from o2o_sync.constants import FAILED, SKIPPED, SUCCESS
from o2o_sync.setup.portal_rows import ZERO_DATETIME

#: Portal entity mapped to the test Company, and one that is not mapped.
ENTITY, UNMAPPED_ENTITY = "1", "9"
#: The vendors every world has, in this order: key -> (name, code, GSTIN).
BASE_VENDORS = {
	"same": ("Sharma Traders", "V001", "27AAAPS1234A1Z5"),
	"other": ("Kaveri Supplies", "V002", "29AAAPK1234A1Z5"),
	"unregistered": ("Gupta Kirana", "V003", None),
}
#: A `vendor_id` no `vendors` row has.
UNKNOWN_VENDOR_ID = 999

SQL = "'; DROP TABLE vendors; --"
HTML = "<script>alert(1)</script>"
DEVANAGARI = "शर्मा ट्रेडर्स 🚚"
LONG_TEXT = ("Remark " * 3000)[:20_000]  # 20,000 characters: `remark` is TEXT


@dataclass(frozen=True)
class Expect:
	"""What one vendor slice of a case ends in: one Sync Log row of `status`; when Failed, its
	message names `column` and, when `line` is not None, the case's line at that index. When
	Success, optionally the Supplier's name, the Purchase Invoice's remarks, bill_no and net
	total (rupees, text) ERPNext must hold."""

	vendor: str | None = "same"
	status: str = FAILED
	column: str | None = None
	line: int | None = 0
	supplier: str | None = None
	remarks: str | None = None
	bill_no: str | None = None
	net_total: str | None = None


@dataclass(frozen=True)
class Case:
	"""One bad (or merely strange) portal invoice: `lines` (dicts of `purchase_order_items`
	columns over `DEFAULT_LINE`, `vendor` a key, see the module's docstring), `header` (`purchase_requisitions`
	columns over the defaults), `vendors` it adds (key -> (name, code, GSTIN)), `expect`
	(one per vendor slice)."""

	name: str
	lines: tuple[dict, ...] = ({},)
	header: dict = field(default_factory=dict)
	vendors: dict = field(default_factory=dict)
	expect: tuple[Expect, ...] = ()


#: A line's columns unless the case says otherwise: ₹100.00 + 18 % GST of vendor "same".
DEFAULT_LINE = {"vendor": "same", "quantity": 1, "cost": "100.00", "gst_amt": "18.00"}


def line(vendor: str | None = "same", **columns) -> dict:
	"""A line dict of a case: `DEFAULT_LINE` with `vendor` and `columns` on top."""
	return {**DEFAULT_LINE, "vendor": vendor, **columns}


def failed(column: str, line: int | None = 0, vendor: str | None = "same") -> tuple[Expect, ...]:
	return (Expect(vendor, FAILED, column, line),)


def success(vendor: str | None = "same", **ok) -> tuple[Expect, ...]:
	return (Expect(vendor, SUCCESS, line=None, **ok),)


CASES: tuple[Case, ...] = (
	# ---- money on the lines: NULL, negative, unreadable (FLOAT columns hold numbers or NULL)
	Case("cost NULL", (line(cost=None),), expect=failed("cost")),
	Case("gst_amt NULL", (line(gst_amt=None),), expect=failed("gst_amt")),
	Case("cost and gst_amt NULL", (line(cost=None, gst_amt=None),), expect=failed("cost")),
	Case("quantity NULL", (line(quantity=None),), expect=failed("quantity")),
	Case("quantity zero", (line(quantity=0),), expect=failed("quantity")),
	Case("quantity negative", (line(quantity=-3),), expect=failed("quantity")),
	Case("cost negative", (line(cost="-100.00", gst_amt="-18.00"),), expect=failed("cost")),
	Case("gst_amt negative", (line(gst_amt="-18.00"),), expect=failed("gst_amt")),
	Case(
		"second line bad, first good",
		(line(), line(quantity=2, cost=None, gst_amt="9.00")),
		expect=failed("cost", line=1),
	),
	# ---- numbers as text: unit_rate (VARCHAR NULL)
	Case("unit_rate exponent", (line(unit_rate="1e2"),), expect=failed("unit_rate")),
	Case("unit_rate hexadecimal", (line(unit_rate="0x64"),), expect=failed("unit_rate")),
	Case("unit_rate NaN", (line(unit_rate="NaN"),), expect=failed("unit_rate")),
	Case("unit_rate Infinity", (line(unit_rate="Infinity"),), expect=failed("unit_rate")),
	Case("unit_rate text", (line(unit_rate="abc"),), expect=failed("unit_rate")),
	Case("unit_rate grouped wrongly", (line(unit_rate="1,00.00"),), expect=failed("unit_rate")),
	Case("unit_rate decimal comma", (line(unit_rate="100,00"),), expect=failed("unit_rate")),
	Case("unit_rate negative", (line(unit_rate="-100.00"),), expect=failed("unit_rate")),
	Case("unit_rate SQL", (line(unit_rate=SQL),), expect=failed("unit_rate")),
	Case("unit_rate blank", (line(unit_rate=""),), expect=success(net_total="100.00")),
	Case("unit_rate NULL", (line(unit_rate=None),), expect=success(net_total="100.00")),
	Case(
		"unit_rate Indian grouping",
		(line(cost="125000.50", gst_amt="22500.09", unit_rate="₹ 1,25,000.50"),),
		expect=success(net_total="125000.50"),
	),
	# ---- numbers as text: freight_cost (VARCHAR NOT NULL)
	Case("freight_cost exponent", header={"freight_cost": "1e3"}, expect=failed("freight_cost", None)),
	Case("freight_cost hexadecimal", header={"freight_cost": "0x1F"}, expect=failed("freight_cost", None)),
	Case(
		"freight_cost grouped wrongly",
		header={"freight_cost": "1,25,0.50"},
		expect=failed("freight_cost", None),
	),
	Case("freight_cost NaN", header={"freight_cost": "NaN"}, expect=failed("freight_cost", None)),
	Case("freight_cost text", header={"freight_cost": "fifty"}, expect=failed("freight_cost", None)),
	Case("freight_cost negative", header={"freight_cost": "-50"}, expect=failed("freight_cost", None)),
	Case(
		"freight_cost Indian grouping",
		header={"freight_cost": "₹ 1,25,000.50"},
		expect=success(net_total="125100.50"),
	),
	Case(
		"freight_cost western grouping",
		header={"freight_cost": "1,250.50"},
		expect=success(net_total="1350.50"),
	),
	Case("freight_cost blank", header={"freight_cost": ""}, expect=success(net_total="100.00")),
	# ---- GST
	Case("GST off every slab", (line(gst_amt="17.00"),), expect=failed("gst_amt")),
	Case(
		"GST from an unregistered vendor",
		(line("unregistered"),),
		expect=failed("gst_amt", vendor="unregistered"),
	),
	Case("currency not INR", header={"currency_id": 2}, expect=failed("currency_id", None)),
	# ---- dates (stored as the portal has them: its legacy rows were written without strict mode)
	Case(
		"invoice_generated_at zero, created_at given",
		header={"invoice_generated_at": ZERO_DATETIME},
		expect=success(),
	),
	Case(
		"invoice_generated_at 2026-02-30 (stored as zero)",
		header={"invoice_generated_at": "2026-02-30 10:00:00"},
		expect=success(),
	),
	Case(
		"invoice_generated_at month 0",
		header={"invoice_generated_at": "2026-00-10 10:00:00"},
		expect=failed("invoice_generated_at", None),
	),
	Case(
		"invoice_generated_at day 0",
		header={"invoice_generated_at": "2026-11-00 10:00:00"},
		expect=failed("invoice_generated_at", None),
	),
	Case(
		"invoice_generated_at and created_at zero",
		header={"invoice_generated_at": ZERO_DATETIME, "created_at": ZERO_DATETIME},
		expect=failed("invoice_generated_at", None),
	),
	Case(
		"delivery_date month 0",
		header={"delivery_date": "2026-00-00 00:00:00"},
		expect=failed("delivery_date", None),
	),
	# ---- vendors and lines
	Case("unknown vendor", (line("unknown"),), expect=failed("vendor_id", vendor="unknown")),
	Case("line without a vendor", (line(None),), expect=failed("vendor_id", vendor=None)),
	Case(
		"one good vendor, one line without a vendor",
		(line(), line(None, cost="50.00", gst_amt="9.00")),
		expect=(Expect("same", SUCCESS, line=None, net_total="100.00"), Expect(None, FAILED, "vendor_id", 1)),
	),
	Case("invoice without lines", (), expect=failed("purchase_order_items", None, vendor=None)),
	Case("unmapped entity", header={"entity": UNMAPPED_ENTITY}, expect=(Expect(None, SKIPPED, line=None),)),
	# ---- hostile text: stored and booked as it is, never run, never markup
	Case("remark of 20,000 characters", header={"remark": LONG_TEXT}, expect=success(remarks=LONG_TEXT)),
	Case("remark SQL", header={"remark": SQL}, expect=success(remarks=SQL)),
	Case("remark HTML", header={"remark": HTML}, expect=success(remarks=HTML)),
	Case("remark Devanagari and emoji", header={"remark": DEVANAGARI}, expect=success(remarks=DEVANAGARI)),
	Case("order_name SQL and HTML", header={"order_name": (SQL + HTML) * 7}, expect=success()),
	Case(
		"invoice_number HTML",
		header={"invoice_number": "<b>INV</b>/1"},
		expect=success(bill_no="<b>INV</b>/1"),
	),
	Case(
		"invoice_number longer than bill_no holds",
		header={"invoice_number": "INV/" + "9" * 251},
		expect=failed("invoice_number", None),
	),
	Case(
		"vendor name SQL",
		(line("sql"),),
		vendors={"sql": (SQL, "V-SQL", "27AAAPS0001A1Z5")},
		expect=success("sql", supplier=SQL),
	),
	Case(  # Frappe refuses '<' and '>' in a name: a person links a Supplier or renames the vendor
		"vendor name HTML",
		(line("html"),),
		vendors={"html": (HTML, "V-HTML", "27AAAPS0002A1Z5")},
		expect=failed("vendors.name", None, vendor="html"),
	),
	Case(
		"vendor name blank",
		(line("blank"),),
		vendors={"blank": ("", "V-BLANK", "27AAAPS0004A1Z5")},
		expect=failed("vendors.name", None, vendor="blank"),
	),
	Case(
		"vendor name longer than a Supplier's",
		(line("long"),),
		vendors={"long": ("Traders " * 25, "V-LONG", "27AAAPS0005A1Z5")},
		expect=failed("vendors.name", None, vendor="long"),
	),
	Case(
		"vendor name Devanagari and emoji",
		(line("hindi"),),
		vendors={"hindi": (DEVANAGARI, "V-HI", "27AAAPS0003A1Z5")},
		expect=success("hindi", supplier=DEVANAGARI),
	),
	Case(
		"unregistered vendor with an SQL name charging GST",
		(line("sql_unregistered"),),
		vendors={"sql_unregistered": (SQL + " 2", "V-SQL2", None)},
		expect=failed("gst_amt", vendor="sql_unregistered"),
	),
)
