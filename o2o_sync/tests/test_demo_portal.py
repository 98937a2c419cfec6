"""The demo portal on a real bench: a portal database in the site's MariaDB, a least-privilege
MariaDB user, a Database Connection that works, and settings pointing at it.

Each run uses its own database, user and connection names and removes them afterwards, and
puts O2O Sync Settings back as it found them (create_demo_portal commits).
"""

import os
import secrets

import frappe
import pymysql
from frappe.tests.utils import FrappeTestCase

from o2o_sync.setup import demo
from o2o_sync.setup.erpnext_masters import make_company
from o2o_sync.setup.portal_schema import connect_portal, drop_portal_database
from o2o_sync.sync.portal.client import close_clients
from o2o_sync.sync.sync_utils import test_database_connection

N_INVOICES = 25
SETTINGS_FIELDS = (
	"database_connection",
	"default_item",
	"freight_item",
)


class TestDemoPortal(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		token = secrets.token_hex(3)
		cls.database = f"o2o_demo_test_{token}"
		cls.db_user = f"o2o_demo_t_{token}"
		cls.connection = f"ProcureUAT Demo Test {token}"
		# the admin login the command would use (site config, else root), or O2O_TEST_DB_USER/PASSWORD
		user, password = demo.admin_credentials(
			os.environ.get("O2O_TEST_DB_USER"), os.environ.get("O2O_TEST_DB_PASSWORD")
		)
		cls.admin = {"db_root_username": user, "db_root_password": password}
		cls.server = dict(demo.db_server_settings(), user=user, password=password)
		settings = frappe.get_doc(demo.SETTINGS)
		cls.settings_before = {f: settings.get(f) for f in SETTINGS_FIELDS}
		cls.entities_before = [
			{k: v for k, v in row.as_dict().items() if k not in ("name", "creation", "modified")}
			for row in settings.entities
		]
		cls.items_before = {i for i in (demo.SERVICE_ITEM, demo.FREIGHT_ITEM) if frappe.db.exists("Item", i)}
		cls.company = make_company("O2O Demo Test Co", "ODTC")
		frappe.db.commit()  # nosemgrep: create_demo_portal commits; the company must be there first
		cls.summary = demo.create_demo_portal(
			cls.database,
			N_INVOICES,
			map_company=cls.company,
			connection_name=cls.connection,
			db_user=cls.db_user,
			**cls.admin,
		)

	@classmethod
	def tearDownClass(cls):
		close_clients()
		frappe.db.rollback()
		try:
			demo.drop_demo_portal(cls.database, db_user=cls.db_user, **cls.admin)
		finally:
			settings = frappe.get_doc(demo.SETTINGS)
			for field, value in cls.settings_before.items():
				frappe.db.set_single_value(demo.SETTINGS, field, value)
			frappe.db.delete("O2O Sync Entity", {"parent": demo.SETTINGS, "parenttype": demo.SETTINGS})
			for idx, row in enumerate(cls.entities_before, 1):
				frappe.get_doc(
					dict(
						row, doctype="O2O Sync Entity", idx=idx, parent=settings.name, parentfield="entities"
					)
				).db_insert()
			frappe.clear_document_cache(demo.SETTINGS, demo.SETTINGS)
			frappe.delete_doc("Database Connection", cls.connection, force=True, ignore_permissions=True)
			for item in {demo.SERVICE_ITEM, demo.FREIGHT_ITEM} - cls.items_before:
				if frappe.db.exists("Item", item):
					frappe.delete_doc("Item", item, force=True, ignore_permissions=True)
			frappe.db.commit()  # nosemgrep: undo what create_demo_portal committed
			super().tearDownClass()

	def portal(self):
		conn = connect_portal(self.database, **self.server)
		self.addCleanup(conn.close)
		return conn

	def test_connection_works_and_finds_every_contract_table(self):
		result = test_database_connection(self.connection)
		self.assertTrue(result["ok"], result)
		self.assertEqual(result["missing_tables"], [])
		self.assertIn("MariaDB", result["server_version"])

	def test_portal_has_the_invoices_and_the_unregistered_vendor_charges_no_gst(self):
		with self.portal().cursor() as cur:
			cur.execute(
				"SELECT COUNT(*) AS n, MIN(id) AS first, MAX(id) AS last FROM purchase_requisitions"
				" WHERE invoice_generated = 1 AND entity = %s AND is_delete = 0 AND is_invoice_cancel = 0",
				(str(demo.DEMO_ENTITY_ID),),
			)
			row = cur.fetchone()
			cur.execute(
				"SELECT vendor_id, COUNT(*) AS n, SUM(gst_amt > 0) AS with_gst FROM purchase_order_items"
				" GROUP BY vendor_id"
			)
			by_vendor = {r["vendor_id"]: r for r in cur.fetchall()}
			cur.execute("SELECT COUNT(*) AS n FROM purchase_requisitions WHERE freight_cost + 0 > 0")
			with_freight = cur.fetchone()["n"]
		self.assertEqual(row["n"], N_INVOICES)
		self.assertEqual(self.summary["invoices"], N_INVOICES)
		self.assertEqual([row["first"], row["last"]], self.summary["requisition_ids"])
		self.assertEqual(row["first"], demo.DEMO_ID_BASE)
		registered, other_state, unregistered = (v["id"] for v in self.summary["vendors"])
		self.assertGreater(by_vendor[unregistered]["n"], 0)
		self.assertEqual(by_vendor[unregistered]["with_gst"], 0)
		self.assertGreater(by_vendor[registered]["with_gst"] + by_vendor[other_state]["with_gst"], 0)
		self.assertEqual(with_freight, 1)

	def test_connection_holds_the_demo_user_with_rights_on_the_demo_database_only(self):
		doc = frappe.get_doc("Database Connection", self.connection)
		self.assertEqual(doc.username, self.db_user)
		self.assertEqual(doc.database_name, self.database)
		self.assertFalse(doc.use_ssh_tunnel)
		password = doc.get_password("password")
		self.assertNotEqual(doc.username, self.server["user"])
		self.assertNotIn(password, frappe.as_json(self.summary))

		conn = pymysql.connect(
			host=doc.host, port=doc.port, user=doc.username, password=password, database=self.database
		)
		self.addCleanup(conn.close)
		with conn.cursor() as cur:
			cur.execute("SHOW DATABASES")
			visible = {r[0] for r in cur.fetchall()}
			self.assertEqual(visible - {"information_schema"}, {self.database})
			with self.assertRaises(pymysql.err.OperationalError):  # no DDL
				cur.execute("CREATE TABLE extra (id INT)")

	def test_settings_point_at_the_demo_entity_with_the_company_gst_accounts(self):
		settings = frappe.get_doc(demo.SETTINGS)
		row = next(r for r in settings.entities if r.entity_id == str(demo.DEMO_ENTITY_ID))
		self.assertEqual(row.company, self.company)
		self.assertEqual(
			(row.cgst_account, row.sgst_account, row.igst_account),
			("CGST - ODTC", "SGST - ODTC", "IGST - ODTC"),
		)
		self.assertTrue(settings.default_item and settings.freight_item)
		for item in (settings.default_item, settings.freight_item):
			self.assertEqual(frappe.db.get_value("Item", item, "is_stock_item"), 0)
		if not self.settings_before["database_connection"]:
			self.assertEqual(settings.database_connection, self.connection)

	def test_refuses_to_drop_the_sites_own_database(self):
		with self.assertRaises(frappe.ValidationError):
			demo.create_demo_portal(frappe.conf.db_name, 1, connection_name=self.connection, **self.admin)

	def test_refuses_to_drop_a_database_with_tables_that_are_not_the_portals(self):
		other = f"{self.database}_x"
		conn = pymysql.connect(
			host=self.server["host"],
			port=self.server["port"],
			user=self.server["user"],
			password=self.server["password"],
		)
		self.addCleanup(conn.close)
		with conn.cursor() as cur:
			cur.execute(f"CREATE DATABASE `{other}`")
			self.addCleanup(drop_portal_database, other, **self.server)
			cur.execute(f"CREATE TABLE `{other}`.`tabNote` (name VARCHAR(140))")
		with self.assertRaises(frappe.ValidationError):
			demo.create_demo_portal(
				other, 1, connection_name=self.connection, db_user=self.db_user, **self.admin
			)
		with conn.cursor() as cur:
			cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (other,))
			self.assertEqual(cur.fetchone()[0], 1)
