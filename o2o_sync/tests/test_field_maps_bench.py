"""Field maps (issue 12) on a real bench: custom fields on Purchase Invoice and Purchase Invoice
Item, maps saved in O2O Sync Settings (checked against the live portal through a real sshd),
then pull, push, edits, a conflict, and adding and removing a map, read the way an accountant
would (the Purchase Invoice's fields, the portal's rows, the Sync Log, the conflict table).
"""

import secrets

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from o2o_sync.constants import SETTINGS, SYNC_LOG
from o2o_sync.o2o_sync.field_map_settings import field_map_problems
from o2o_sync.sync.model import merge
from o2o_sync.sync.sync_utils import field_maps, get_conflict
from o2o_sync.tests.conflict_world import POSTING, ConflictTestCase

CUSTOM_FIELDS = {
	"Purchase Invoice": [
		{"fieldname": "vehicle_no", "label": "Vehicle No", "fieldtype": "Data", "insert_after": "bill_date"},
		{
			"fieldname": "challan_date",
			"label": "Challan Date",
			"fieldtype": "Date",
			"insert_after": "vehicle_no",
		},
	],
	"Purchase Invoice Item": [
		{"fieldname": "portal_unit", "label": "Portal Unit", "fieldtype": "Data", "insert_after": "uom"},
	],
}
MAPS = [
	{
		"portal_table": "purchase_requisitions",
		"portal_column": "vehicle_no",
		"erpnext_field": "vehicle_no",
		"direction": "Both",
	},
	{
		"portal_table": "purchase_requisitions",
		"portal_column": "challan_date",
		"erpnext_field": "challan_date",
	},
	{
		"portal_table": "purchase_order_items",
		"portal_column": "unit",
		"erpnext_field": "portal_unit",
		"direction": "Both",
	},
]


class TestFieldMapsBench(ConflictTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		create_custom_fields(CUSTOM_FIELDS, ignore_validate=True)
		frappe.db.commit()  # nosemgrep

	@classmethod
	def tearDownClass(cls):
		settings = frappe.get_doc(SETTINGS)
		settings.set("field_maps", [])
		settings.save(ignore_permissions=True)
		for doctype, fields in CUSTOM_FIELDS.items():
			for f in fields:
				frappe.delete_doc("Custom Field", f"{doctype}-{f['fieldname']}", force=True)
		frappe.db.commit()  # nosemgrep
		super().tearDownClass()

	def set_maps(self, *rows):
		settings = frappe.get_doc(SETTINGS)
		settings.set("field_maps", [{"enabled": 1, **row} for row in rows])
		settings.save(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep

	def logs(self, rid, operation) -> list[str]:
		return frappe.get_all(
			SYNC_LOG, {"procureuat_id": rid, "operation": operation}, pluck="message", order_by="creation"
		)

	def test_saving_lists_every_problem_live_or_against_the_contract(self):
		bad = [
			{
				"portal_table": "purchase_requisitions",
				"portal_column": "no_such",
				"erpnext_field": "vehicle_no",
			},
			{
				"portal_table": "purchase_requisitions",
				"portal_column": "order_code",
				"erpnext_field": "grand_total",
			},
			{
				"portal_table": "purchase_requisitions",
				"portal_column": "challan_date",
				"erpnext_field": "vehicle_no",
			},
		]
		with self.assertRaises(frappe.ValidationError) as refused:
			self.set_maps(*bad)
		message = str(refused.exception)
		for want in (
			"Field map row 1: portal column purchase_requisitions.no_such does not exist",
			"Field map row 2: portal column purchase_requisitions.order_code is mapped or kept by the sync itself",
			"Field map row 2: ERPNext field Purchase Invoice.grand_total",
			"Field map row 3: ERPNext field Purchase Invoice.vehicle_no is Data",
		):
			self.assertIn(want, message)
		self.assertNotIn("contract", message)  # read live: the portal answered
		frappe.db.rollback()
		offline = {"database_connection": None, "field_maps": [{"idx": 1, "enabled": 1, **bad[0]}]}
		problems, live = field_map_problems(offline)
		self.assertFalse(live)
		self.assertEqual(
			problems, ["Field map row 1: portal column purchase_requisitions.no_such does not exist"]
		)

	def test_pull_push_edit_conflict_then_add_and_remove_a_map(self):
		self.set_maps()
		line = {
			"vendor_id": self.env.vendors[0],
			"quantity": 1,
			"cost": "100.00",
			"gst_amt": "18.00",
			"unit": "Box",
		}
		from o2o_sync.setup.portal_rows import insert_invoice

		header = {"updated_at": self.later(), "invoice_generated_at": POSTING + " 10:00:00"}
		rid = insert_invoice(
			self.env.conn,
			self.env.entity_id,
			[line],
			vehicle_no="MH12AB1234",
			challan_date="2026-11-18 09:00:00",
			**header,
		)
		self.pull()
		self.assertFalse(self.pi(rid).vehicle_no)

		# adding the maps is no edit: the draft is filled once, one Sync Log row, no conflict
		self.set_maps(*MAPS)
		self.assertEqual([m["portal_column"] for m in field_maps()], ["vehicle_no", "challan_date", "unit"])
		counts = self.pull()
		self.assertEqual((counts["updated"], counts["conflict"]), (1, 0))
		pi = self.pi(rid)
		self.assertEqual(
			(pi.vehicle_no, str(pi.challan_date), pi.items[0].portal_unit),
			("MH12AB1234", "2026-11-18", "Box"),
		)
		[filled] = self.logs(rid, "Update")
		self.assertIn("Vehicle No", filled)
		mapping = self.mapping(rid)
		self.assertEqual(mapping.status, "Synced")
		self.assertEqual(
			frappe.parse_json(mapping.snapshot)["version"], merge.registry_version(self._registry())
		)
		self.assert_settled(rid)

		# a portal edit reaches the draft field by field
		self.edit(rid, vehicle_no="MH14")
		self.edit_line(rid, unit="Carton")
		self.assertEqual(self.pull()["updated"], 1)
		pi = self.pi(rid)
		self.assertEqual((pi.vehicle_no, pi.items[0].portal_unit), ("MH14", "Carton"))

		# both sides change it: a conflict whose table shows the field's label
		pi.vehicle_no = "MH15"
		pi.save(ignore_permissions=True)
		frappe.db.commit()  # nosemgrep
		self.edit(rid, vehicle_no="MH16")
		self.assertEqual(self.pull()["conflict"], 1)
		held = get_conflict(self.mapping(rid).name)
		self.assertEqual(
			[(f["label"], f["base"], f["portal"], f["erpnext"]) for f in held["fields"]],
			[("Vehicle No", "MH14", "MH16", "MH15")],
		)
		self.assertIn("Vehicle No", held["html"])
		self.resolve(rid, keep="ProcureUAT")
		self.assertEqual(self.pi(rid).vehicle_no, "MH16")
		self.assert_settled(rid)

		# a removed map stops being read and leaves the field as it is
		self.set_maps(*MAPS[1:])
		self.edit(rid, vehicle_no="MH99")
		self.pull()
		self.assertEqual(self.pi(rid).vehicle_no, "MH16")
		self.assert_settled(rid)

	def test_the_push_carries_mapped_fields_and_refuses_what_does_not_fit(self):
		self.set_maps(*MAPS)
		rid, _ = self.make_pushed_with(vehicle_no="KA01AB0001", portal_unit="Kg")
		row = self.row(rid)
		self.assertEqual(row["vehicle_no"], "KA01AB0001")
		with self.env.conn.cursor() as cur:
			cur.execute("SELECT unit FROM purchase_order_items WHERE purchase_order_id = %s", (rid,))
			self.assertEqual({r["unit"] for r in cur.fetchall()}, {"Kg"})
		too_long = "V" * 101  # the field holds 140 characters, the portal's VARCHAR(100) does not
		_, refused = self.make_pushed_with(vehicle_no=too_long, expect_row=False)
		self.assertEqual(frappe.db.get_value("Purchase Invoice", refused, "o2o_sync_status"), "Failed")
		[message] = frappe.get_all(SYNC_LOG, {"reference_name": refused, "status": "Failed"}, pluck="message")
		self.assertIn(f"Purchase Invoice {refused}: Vehicle No (vehicle_no) is 101 characters", message)
		self.assertIsNone(self.row_of(refused))

	# ------------------------------------------------------------ helpers

	def _registry(self):
		from o2o_sync.sync.engines import registry

		return registry()

	def make_pushed_with(self, expect_row=True, portal_unit=None, **header):
		env = self.env
		row = {
			"expense_account": env.accounts["expense"],
			"cost_center": env.accounts["cost_center"],
			"portal_unit": portal_unit,
		}
		doc = frappe.get_doc(
			{
				"doctype": "Purchase Invoice",
				"company": env.company,
				"currency": "INR",
				"conversion_rate": 1,
				"supplier": self.pushed_supplier(),
				"posting_date": POSTING,
				"set_posting_time": 1,
				"bill_no": f"SUP/{secrets.token_hex(3)}",
				"bill_date": POSTING,
				"items": [{"item_code": self.tea, "qty": 7, "rate": 100, **row}],
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": env.accounts[k],
						"rate": 9,
						"description": k,
					}
					for k in ("cgst", "sgst")
				],
				**header,
			}
		).insert(ignore_permissions=True)
		doc.submit()
		found = self.row_of(doc.name)
		return (found["id"] if expect_row else None), doc.name
