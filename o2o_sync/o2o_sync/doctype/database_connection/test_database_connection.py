# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

import frappe
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from frappe.tests.utils import FrappeTestCase

from o2o_sync.o2o_sync.doctype.database_connection.database_connection import (
	accept_host_key,
	normalize_private_key,
	test_connection,
)

test_ignore = ["Database Connection"]

CONNECTION = "_Test O2O Connection"


def make_rsa_pem(bits: int = 4096) -> str:
	"""A fresh unencrypted RSA key in the traditional PEM format (≈3.2 kB for 4096 bits)."""
	key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
	return key.private_bytes(
		serialization.Encoding.PEM,
		serialization.PrivateFormat.TraditionalOpenSSL,
		serialization.NoEncryption(),
	).decode()


def make_host_key_line() -> str:
	public = ed25519.Ed25519PrivateKey.generate().public_key()
	return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


class TestDatabaseConnection(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.private_key = make_rsa_pem()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.delete("Database Connection", {"name": CONNECTION})

	def make_connection(self, **values):
		doc = frappe.get_doc(
			{
				"doctype": "Database Connection",
				"connection_name": CONNECTION,
				"host": "127.0.0.1",
				"database_name": "procureuat",
				"username": "o2o",
				"password": "s3cret<b>&'\"",
				"use_ssh_tunnel": 1,
				"ssh_host": "bastion.example.com",
				"ssh_username": "tunnel",
				"ssh_private_key": self.private_key,
				**values,
			}
		)
		return doc.insert()

	def test_long_private_key_is_stored_encrypted_and_survives(self):
		self.assertGreater(len(self.private_key), 3000)
		self.make_connection()

		doc = frappe.get_doc("Database Connection", CONNECTION)
		# the document keeps only a mask; the key is in __Auth, encrypted
		self.assertEqual(set(doc.ssh_private_key), {"*"})
		stored = frappe.db.sql(
			"""select password, encrypted from `__Auth`
			where doctype = 'Database Connection' and name = %s and fieldname = 'ssh_private_key'""",
			CONNECTION,
			as_dict=True,
		)
		self.assertEqual(len(stored), 1)
		self.assertEqual(stored[0].encrypted, 1)
		self.assertNotIn("PRIVATE KEY", stored[0].password)

		self.assertEqual(doc.get_password("ssh_private_key"), self.private_key)
		# markup in a password is kept as typed (no HTML sanitising of Password fields)
		self.assertEqual(doc.get_password("password"), "s3cret<b>&'\"")

	def test_key_pasted_without_line_breaks_is_restored(self):
		# a browser's single-line password input drops the line breaks
		self.make_connection(ssh_private_key=self.private_key.replace("\n", ""))
		doc = frappe.get_doc("Database Connection", CONNECTION)
		self.assertEqual(doc.get_password("ssh_private_key"), normalize_private_key(self.private_key))
		self.assertEqual(normalize_private_key(self.private_key), self.private_key)

	def test_not_a_private_key_is_refused(self):
		with self.assertRaises(frappe.ValidationError) as raised:
			self.make_connection(ssh_private_key="-----BEGIN PUBLIC KEY-----abcd-----END PUBLIC KEY-----")
		self.assertNotIn("abcd", str(raised.exception))

	def test_ssh_fields_are_mandatory_with_the_tunnel(self):
		with self.assertRaises(frappe.MandatoryError):
			self.make_connection(ssh_host=None)
		with self.assertRaises(frappe.MandatoryError):
			self.make_connection(ssh_private_key="")
		self.make_connection(use_ssh_tunnel=0, ssh_host=None, ssh_private_key="")

	def test_port_must_be_valid(self):
		with self.assertRaises(frappe.ValidationError):
			self.make_connection(port=70000)

	def test_get_connection_config(self):
		host_key = make_host_key_line()
		self.make_connection(ssh_host_key=host_key, ssh_key_passphrase="pass phrase", read_timeout=30)
		config = frappe.get_doc("Database Connection", CONNECTION).get_connection_config()

		self.assertEqual(config.name, CONNECTION)
		self.assertEqual((config.host, config.port, config.database), ("127.0.0.1", 3306, "procureuat"))
		self.assertEqual(config.password, "s3cret<b>&'\"")
		self.assertTrue(config.use_ssh_tunnel)
		self.assertEqual((config.ssh_host, config.ssh_port), ("bastion.example.com", 22))
		self.assertEqual(config.ssh_private_key, self.private_key)
		self.assertEqual(config.ssh_key_passphrase, "pass phrase")
		self.assertEqual(config.ssh_host_key, host_key)
		self.assertEqual((config.connect_timeout, config.read_timeout), (10.0, 30.0))
		# secrets stay out of repr(), so they cannot reach a log by accident
		self.assertNotIn("s3cret", repr(config))
		self.assertNotIn("PRIVATE KEY", repr(config))

	def test_accept_host_key(self):
		from o2o_sync.sync.portal.tunnel import fingerprint

		self.make_connection()
		line = make_host_key_line()
		known_hosts_line = f"[bastion.example.com]:22 {line}"
		result = accept_host_key(CONNECTION, f"  {known_hosts_line}\n")

		self.assertEqual(result["key_line"], known_hosts_line)
		self.assertEqual(result["key_type"], "ssh-ed25519")
		self.assertEqual(result["fingerprint"], fingerprint(line))
		self.assertTrue(result["fingerprint"].startswith("SHA256:"))
		self.assertEqual(
			frappe.db.get_value("Database Connection", CONNECTION, "ssh_host_key"), known_hosts_line
		)

		with self.assertRaises(frappe.ValidationError):
			accept_host_key(CONNECTION, "ssh-ed25519 not-base64")

	def test_several_host_keys_are_kept(self):
		keys = f"{make_host_key_line()}\n{make_host_key_line()}"
		doc = self.make_connection(ssh_host_key=keys)
		self.assertEqual(doc.ssh_host_key, keys)
		with self.assertRaises(frappe.ValidationError):
			self.make_connection(connection_name="_Test O2O Connection 2", ssh_host_key="not a key")

	def test_host_key_is_dropped_when_the_bastion_moves(self):
		doc = self.make_connection(ssh_host_key=make_host_key_line())
		doc.ssh_host = "other-bastion.example.com"
		doc.save()
		self.assertFalse(doc.ssh_host_key)

	def test_whitelisted_methods_check_permission(self):
		self.make_connection()
		frappe.set_user("Guest")
		with self.assertRaises(frappe.PermissionError):
			test_connection(CONNECTION)
		with self.assertRaises(frappe.PermissionError):
			accept_host_key(CONNECTION, make_host_key_line())
