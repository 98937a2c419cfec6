# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Security of the desk and the stored secrets (issue 7, "Security").

- Every whitelisted method of the app that changes something accepts POST only, and each
  checks the role and the document's permission: Guest, a plain Accounts User and an
  Accounts Manager (who may only read O2O Sync Settings) against System Manager.
- A pull asked for over the web is queued on the long queue, not run in the request.
- No secret, nor its length, in the Version rows of a Database Connection saved with other
  secrets, nor in what Test Connection answers and writes to the Sync Log.
- Settings and connections saved from the console or REST with other types than the form's.
"""

import json
import re
from types import SimpleNamespace
from unittest.mock import patch

import frappe
import frappe.handler
from frappe.tests.utils import FrappeTestCase

from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS, SYNC_LOG
from o2o_sync.o2o_sync.doctype.database_connection import database_connection
from o2o_sync.o2o_sync.doctype.database_connection.database_connection import SECRET_MASK
from o2o_sync.o2o_sync.doctype.database_connection.test_database_connection import (
	make_host_key_line,
	make_rsa_pem,
)
from o2o_sync.patches.mask_connection_secrets import execute as mask_connection_secrets
from o2o_sync.setup.erpnext_masters import make_company, make_item
from o2o_sync.sync import desk

test_ignore = ["Company", "Account", "Cost Center", "Item", "Database Connection"]

CONNECTION = "_Test O2O Security Connection"
ACCOUNTS_USER = "o2o-accounts-user@example.com"
ACCOUNTS_MANAGER = "o2o-accounts-manager@example.com"
COMPANY = "_O2O Test Company A"
GSTIN = "27AAPFU0939F1ZV"
#: methods that only read (the bastion's public host key, the workspace's counts) and may stay GET
READ_ONLY = {
	"o2o_sync.o2o_sync.doctype.database_connection.database_connection.fetch_host_key",
	"o2o_sync.sync.desk_status.status_card",
	"o2o_sync.sync.desk_status.unpushed_card",
	"o2o_sync.sync.desk_status.activity_card",
	"o2o_sync.sync.desk_status.last_pull_status",
	"o2o_sync.o2o_sync.dashboard_chart_source.sync_log_per_day.sync_log_per_day.get",
	"o2o_sync.sync.resolution.get_conflict",
	"o2o_sync.sync.resolution.list_conflicts",
	"o2o_sync.sync.status.sync_status",
	"o2o_sync.sync.backfill_state.backfill_progress",
}
DESK = "o2o_sync.sync.desk"


def make_user(email: str, role: str) -> str:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": role,
				"send_welcome_email": 0,
				"roles": [{"role": role}],
			}
		).insert(ignore_permissions=True)
	return email


def make_connection(**values):
	return frappe.get_doc(
		{
			"doctype": DATABASE_CONNECTION,
			"connection_name": CONNECTION,
			"host": "127.0.0.1",
			"database_name": "procureuat",
			"username": "o2o",
			**values,
		}
	).insert()


def as_web_request(http_method: str, cmd: str, **form):
	"""Run `cmd` the way `/api/method/<cmd>` does (frappe.handler.execute_cmd) under `http_method`."""
	frappe.local.request = SimpleNamespace(method=http_method)
	frappe.local.form_dict = frappe._dict(cmd=cmd, **form)
	try:
		return frappe.handler.execute_cmd(cmd)
	finally:
		del frappe.local.request
		frappe.local.form_dict = frappe._dict()


class TestDeskPermissions(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(ACCOUNTS_USER, "Accounts User")
		make_user(ACCOUNTS_MANAGER, "Accounts Manager")
		frappe.db.delete(DATABASE_CONNECTION, {"name": CONNECTION})
		make_connection(
			use_ssh_tunnel=1,
			ssh_host="bastion.example.com",
			ssh_username="t",
			ssh_private_key=make_rsa_pem(2048),
		)
		frappe.db.set_single_value(SETTINGS, "pull_from_date", "2026-01-01")

	def setUp(self):
		self.enqueue = patch("frappe.enqueue").start()
		self.run_pull = patch(f"{DESK}.run_pull", return_value={"created": 0}).start()
		self.queued = patch("frappe.utils.background_jobs.is_job_enqueued", return_value=False).start()

	def tearDown(self):
		patch.stopall()
		frappe.set_user("Administrator")

	def state_changing_methods(self) -> dict:
		"""Each state-changing method with arguments that would change something."""
		return {
			f"{DESK}.enqueue_pull": {"from_date": "2026-04-01"},
			f"{DESK}.bulk_sync_from_external": {"from_date": "2026-04-01"},
			f"{DESK}.manual_sync_invoice_to_external": {"invoice_name": "ACC-PINV-NONE"},
			f"{DESK}.test_database_connection": {"connection": CONNECTION},
			f"{database_connection.__name__}.test_connection": {"connection": CONNECTION},
			f"{database_connection.__name__}.accept_host_key": {
				"connection": CONNECTION,
				"key_line": make_host_key_line(),
			},
		}

	def test_every_state_changing_method_is_post_only(self):
		ours = {
			f"{fn.__module__}.{fn.__qualname__}": frappe.allowed_http_methods_for_whitelisted_func[fn]
			for fn in frappe.whitelisted
			if fn.__module__.startswith("o2o_sync.")
		}
		self.assertLessEqual(set(self.state_changing_methods()), set(ours))
		for path, methods in ours.items():
			if path not in READ_ONLY:
				self.assertEqual(methods, ["POST"], path)

		# through the request handler: a GET is refused before the method runs
		for path, args in self.state_changing_methods().items():
			with self.assertRaises(frappe.PermissionError, msg=path):
				as_web_request("GET", path, **args)
		self.enqueue.assert_not_called()
		self.run_pull.assert_not_called()
		self.assertEqual(str(frappe.db.get_single_value(SETTINGS, "pull_from_date")), "2026-01-01")

	def test_a_pull_posted_over_the_web_is_queued_not_run(self):
		for path in (f"{DESK}.enqueue_pull", f"{DESK}.bulk_sync_from_external"):
			self.enqueue.reset_mock()
			result = as_web_request("POST", path, from_date="2026-04-01", limit="50")
			self.assertEqual(result, {"status": "queued", "job_id": desk.PULL_JOB_ID})
			self.enqueue.assert_called_once_with(
				desk.PULL_JOB,
				queue="long",
				job_id=desk.PULL_JOB_ID,
				deduplicate=True,
				from_date="2026-04-01",
				limit=50,
			)
		self.run_pull.assert_not_called()

		# a second one while the first is queued or running changes nothing
		self.queued.return_value = True
		self.enqueue.reset_mock()
		self.assertEqual(as_web_request("POST", f"{DESK}.enqueue_pull")["status"], "busy")
		self.enqueue.assert_not_called()

		# the console still pulls in its own process and gets the counts
		self.assertEqual(desk.bulk_sync_from_external(limit=5), {"created": 0})
		self.run_pull.assert_called_once_with(from_date=None, limit=5)

	def test_bad_pull_arguments_are_refused(self):
		for limit in ("abc", "0", "-3", "2.5", True):
			with self.assertRaises(frappe.ValidationError, msg=repr(limit)):
				desk.enqueue_pull(limit=limit)
		with self.assertRaises(frappe.ValidationError):
			desk.enqueue_pull(from_date="not a date")
		self.enqueue.assert_not_called()

	def test_guest_and_accounts_user_may_change_nothing(self):
		for user in ("Guest", ACCOUNTS_USER):
			frappe.set_user(user)
			for path, args in self.state_changing_methods().items():
				with self.assertRaises(frappe.PermissionError, msg=f"{user} {path}"):
					frappe.get_attr(path)(**args)
			with self.assertRaises(frappe.PermissionError):
				desk.enqueue_pull()
		self.enqueue.assert_not_called()
		self.run_pull.assert_not_called()

	def test_accounts_manager_pulls_but_cannot_move_the_start_date(self):
		frappe.set_user(ACCOUNTS_MANAGER)
		self.assertTrue(frappe.has_permission(SETTINGS, "read"))
		self.assertFalse(frappe.has_permission(SETTINGS, "write"))

		self.assertEqual(desk.enqueue_pull(limit=10)["status"], "queued")
		self.assertEqual(desk.bulk_sync_from_external(), {"created": 0})
		self.run_pull.assert_called_once_with(from_date=None, limit=None)

		for fn in (desk.enqueue_pull, desk.bulk_sync_from_external):
			with self.assertRaises(frappe.PermissionError):
				fn(from_date="2026-04-01")
		self.assertEqual(self.enqueue.call_count, 1)
		self.assertEqual(self.run_pull.call_count, 1)
		self.assertEqual(str(frappe.db.get_single_value(SETTINGS, "pull_from_date")), "2026-01-01")

		# the Database Connection is the System Manager's: no testing or trusting it
		for path in ("test_database_connection", "test_connection", "accept_host_key"):
			args = self.state_changing_methods()
			path = next(p for p in args if p.endswith(f".{path}"))
			with self.assertRaises(frappe.PermissionError, msg=path):
				frappe.get_attr(path)(**args[path])

	def test_system_manager_may_move_the_start_date(self):
		self.assertEqual(desk.enqueue_pull(from_date="2026-04-01")["status"], "queued")
		self.assertEqual(self.enqueue.call_args.kwargs["from_date"], "2026-04-01")
		desk.bulk_sync_from_external(from_date="2026-04-01")
		self.run_pull.assert_called_once_with(from_date="2026-04-01", limit=None)


class TestSecretsStayHidden(FrappeTestCase):
	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.delete(DATABASE_CONNECTION, {"name": CONNECTION})
		frappe.db.delete("Version", {"ref_doctype": DATABASE_CONNECTION, "docname": CONNECTION})
		frappe.db.delete(SYNC_LOG, {"reference_doctype": DATABASE_CONNECTION, "reference_name": CONNECTION})
		frappe.db.commit()  # Test Connection commits its Sync Log row; leave nothing behind

	def assert_hidden(self, text: str, secrets: list[str]):
		for secret in secrets:
			self.assertNotIn(secret, text)
		lengths = {len(s) for s in secrets}
		runs = {len(run) for run in re.findall(r"\*+", text)}
		self.assertFalse(runs & lengths, f"a mask as long as a secret in {text[:300]}")

	def test_no_secret_nor_its_length_in_version_rows(self):
		first = ["Pw-first-7c1", make_rsa_pem(2048), "phrase one x"]
		second = ["Pw-second-longer-9d2e", make_rsa_pem(2048), "phrase two, longer yy"]
		self.assertNotIn(len(SECRET_MASK), {len(s) for s in first + second})
		doc = make_connection(
			password=first[0],
			use_ssh_tunnel=1,
			ssh_host="bastion.example.com",
			ssh_username="tunnel",
			ssh_private_key=first[1],
			ssh_key_passphrase=first[2],
		)
		doc.update(
			{
				"password": second[0],
				"ssh_private_key": second[1],
				"ssh_key_passphrase": second[2],
				"port": 3307,
			}
		)
		# as the desk and REST save it (Frappe's test runner skips Version rows unless asked)
		doc.save(ignore_version=False)
		doc = frappe.get_doc(DATABASE_CONNECTION, CONNECTION)
		doc.ssh_host_key = make_host_key_line()
		doc.save(ignore_version=False)

		versions = frappe.get_all(
			"Version", filters={"ref_doctype": DATABASE_CONNECTION, "docname": CONNECTION}, pluck="data"
		)
		self.assertEqual(len(versions), 2)  # track changes stays on: the port and host key changes
		self.assertIn('"port"', versions[-1] + versions[0])
		for data in versions:
			self.assert_hidden(data, first + second)

		row = frappe.db.get_value(
			DATABASE_CONNECTION, CONNECTION, ["password", "ssh_private_key", "ssh_key_passphrase"]
		)
		self.assertEqual(set(row), {SECRET_MASK})
		self.assertEqual(doc.get_password("password"), second[0])
		self.assertEqual(doc.get_password("ssh_key_passphrase"), second[2])

	def test_the_patch_masks_lengths_stored_before(self):
		make_connection(password="Pw-old-12345")
		frappe.db.set_value(DATABASE_CONNECTION, CONNECTION, "password", "*" * 12)
		old = json.dumps({"changed": [["password", "*" * 9, "*" * 12], ["port", 3306, 3307]]})
		version = frappe.get_doc(
			{"doctype": "Version", "ref_doctype": DATABASE_CONNECTION, "docname": CONNECTION, "data": old}
		).insert(ignore_permissions=True)

		mask_connection_secrets()
		mask_connection_secrets()  # idempotent

		self.assertEqual(frappe.db.get_value(DATABASE_CONNECTION, CONNECTION, "password"), SECRET_MASK)
		data = json.loads(frappe.db.get_value("Version", version.name, "data"))
		self.assertEqual(data["changed"], [["port", 3306, 3307]])
		self.assertEqual(frappe.get_doc(DATABASE_CONNECTION, CONNECTION).get_password(), "Pw-old-12345")

	def test_test_connection_shows_no_secret(self):
		secret = "Pw-refused-5f6a7b"
		make_connection(
			host="127.0.0.1", port=frappe.conf.db_port or 3306, username="o2o_nobody", password=secret
		)
		result = desk.test_database_connection(CONNECTION)
		self.assertFalse(result["ok"])
		self.assertEqual(result["reason"], "database_refused")
		logs = frappe.get_all(
			SYNC_LOG,
			filters={"reference_doctype": DATABASE_CONNECTION, "reference_name": CONNECTION},
			fields=["message", "traceback"],
		)
		self.assertTrue(logs)
		self.assert_hidden(json.dumps([result, logs], default=str), [secret])


class TestValuesOfOtherTypes(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_company(COMPANY, "O2OA")
		cls.item = make_item("_O2O Test Service")

	def tearDown(self):
		frappe.db.delete(DATABASE_CONNECTION, {"name": CONNECTION})

	def entity(self, **values):
		return {
			"entity_id": 7,
			"company": COMPANY,
			"company_gstin": GSTIN,
			"cgst_account": "CGST - O2OA",
			"sgst_account": "SGST - O2OA",
			"igst_account": "IGST - O2OA",
			**values,
		}

	def save_settings(self, entity=None, **values):
		doc = frappe.get_single(SETTINGS)
		# what `PUT /api/resource/O2O Sync Settings/O2O Sync Settings` does with a JSON body
		doc.update(
			{
				"enabled": 0,
				"database_connection": None,
				"default_item": self.item,
				"pull_batch_size": "200",
				"log_retention_days": 30,
				"entities": [entity or self.entity()],
				**values,
			}
		)
		return doc.save()

	def test_settings_with_a_numeric_entity_id_and_text_numbers_save(self):
		doc = self.save_settings(submit_pulled_invoices="false", portal_user_id="12", invoice_prefix=42)
		doc.reload()
		self.assertEqual(doc.entities[0].entity_id, "7")
		self.assertEqual((doc.pull_batch_size, doc.portal_user_id), (200, 12))
		self.assertEqual((doc.submit_pulled_invoices, doc.invoice_prefix), (0, "42"))
		self.save_settings(entity=self.entity(entity_id=7.0), submit_pulled_invoices="TRUE")
		self.assertEqual(frappe.get_single(SETTINGS).submit_pulled_invoices, 1)

	def test_settings_values_that_mean_nothing_are_refused_clearly(self):
		with self.assertRaises(frappe.ValidationError) as raised:
			self.save_settings(
				entity=self.entity(entity_id=True),
				pull_batch_size="lots",
				enabled="maybe",
				pull_from_date="01/04/26",
			)
		message = str(raised.exception)
		for text in (
			"Row 1 of O2O Sync Entity: Entity ID must be text, not True (bool)",
			"Pull Batch Size must be a whole number, not lots (str)",
			"Enabled must be 0 or 1 (or true / false), not maybe (str)",
			"must be a date (YYYY-MM-DD), not 01/04/26 (str)",
		):
			self.assertIn(text, message)
		self.assertNotIn("AttributeError", message)

	def test_connection_with_a_text_port_and_text_checks(self):
		doc = make_connection(port="3307", use_ssh_tunnel="false", connect_timeout="5", password=12345)
		self.assertEqual((doc.port, doc.use_ssh_tunnel, doc.connect_timeout), (3307, 0, 5))
		self.assertEqual(doc.get_password("password"), "12345")
		frappe.db.delete(DATABASE_CONNECTION, {"name": CONNECTION})
		with self.assertRaises(frappe.ValidationError) as raised:
			make_connection(port="mysql", password=["not", "text"])
		message = str(raised.exception)
		self.assertIn("Port must be a whole number, not mysql (str)", message)
		self.assertIn("Password must be text", message)
		self.assertNotIn("['not'", message)  # a Password field's value is never quoted


class TestDemoCommandTakesNoPassword(FrappeTestCase):
	def test_a_password_on_the_command_line_is_refused(self):
		from click.testing import CliRunner

		from o2o_sync.commands import o2o_demo_portal

		runner = CliRunner()
		for option in ("--db-root-password", "--mariadb-root-password"):
			result = runner.invoke(o2o_demo_portal, [option, "Pw-on-the-line"], obj={"sites": []})
			self.assertEqual(result.exit_code, 2, result.output)
			self.assertIn("is no longer accepted", result.output)
			self.assertIn("root_password", result.output)
		self.assertNotIn("-password", runner.invoke(o2o_demo_portal, ["--help"]).output)

	def test_the_admin_password_is_asked_only_when_mariadb_refuses(self):
		from o2o_sync.setup.demo import admin_login_refused

		self.assertTrue(admin_login_refused("root", "Pw-certainly-wrong-31"))
