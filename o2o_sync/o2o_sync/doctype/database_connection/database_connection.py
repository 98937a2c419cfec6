# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""A database o2o_sync reads and writes: the ProcureUAT portal's MariaDB, reached directly or
through an SSH bastion. Secrets (database password, SSH private key and its passphrase) live in
Password fields, i.e. encrypted in `__Auth`; this module never logs or returns them.
"""

import base64
import binascii
import re

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from o2o_sync.constants import DATABASE_CONNECTION, FAILED, PULL, SUCCESS
from o2o_sync.o2o_sync.field_values import check_field_values
from o2o_sync.o2o_sync.permissions import require_manager
from o2o_sync.sync.frappe_port.bookkeeping import write_logs_now
from o2o_sync.sync.model.port import LogEntry
from o2o_sync.sync.portal.config import ConnectionConfig

# `<input type="password">` drops line breaks from pasted text, so a key pasted into the form
# arrives as one line; `normalize_private_key` puts the PEM/OpenSSH structure back.
_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----(.*?)-----END \1-----", re.S)
_LEGACY_PEM_HEADERS_RE = re.compile(r"\s*Proc-Type:\s*4,ENCRYPTED\s*DEK-Info:\s*([A-Z0-9-]+),([0-9A-Fa-f]+)")
# hex digits of the IV in a legacy encrypted PEM's DEK-Info header, by cipher
_DEK_IV_HEX_LENGTH = {
	"DES-CBC": 16,
	"DES-EDE3-CBC": 16,
	"AES-128-CBC": 32,
	"AES-192-CBC": 32,
	"AES-256-CBC": 32,
}
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")

SSH_REQUIRED_FIELDS = ("ssh_host", "ssh_username", "ssh_private_key")
#: Fields only the pull writes (`frappe_port.bookkeeping`): where it stands on this portal.
PULL_CURSOR_FIELDS = ("pull_cursor_updated_at", "pull_cursor_id", "pulled_entities")
#: what a Password field holds once its secret is stored encrypted: always this long, so
#: neither the row, its Version history nor a Deleted Document tells the secret's length
#: (Frappe's own placeholder is `*` repeated as many times as the secret has characters)
SECRET_MASK = "*" * 10


class DatabaseConnection(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		connect_timeout: DF.Int
		connection_name: DF.Data
		database_name: DF.Data | None
		host: DF.Data
		lock_wait_timeout: DF.Int
		password: DF.Password | None
		port: DF.Int
		read_timeout: DF.Int
		ssh_host: DF.Data | None
		ssh_host_key: DF.SmallText | None
		ssh_key_passphrase: DF.Password | None
		ssh_port: DF.Int
		ssh_private_key: DF.Password | None
		ssh_username: DF.Data | None
		statement_timeout: DF.Int
		use_ssh_tunnel: DF.Check
		username: DF.Data | None
		webhook_secret: DF.Password | None
	# end: auto-generated types

	def before_validate(self):
		"""Keep the pull cursor as the database holds it: only the pull moves it (a form opened
		before a pull must not move it back on save; "Rescan from date" moves it on purpose)."""
		if self.is_new():
			return
		saved = frappe.db.get_value(DATABASE_CONNECTION, self.name, PULL_CURSOR_FIELDS, as_dict=True)
		for fieldname in PULL_CURSOR_FIELDS:
			self.set(fieldname, (saved or {}).get(fieldname))

	def validate(self):
		"""Check ports and timeouts, restore a pasted key's line breaks, check the host key line.

		Values saved from the console or REST are first read as the form gives them (a port
		as text, a check as "true"; `field_values`), or refused in one message.
		"""
		check_field_values(self, _("Invalid Database Connection"))
		for fieldname in ("port", "ssh_port") if self.use_ssh_tunnel else ("port",):
			if not 1 <= cint(self.get(fieldname)) <= 65535:
				frappe.throw(
					_("{0} must be between 1 and 65535").format(_(self.meta.get_label(fieldname))),
					title=_("Invalid Port"),
				)
		for fieldname in ("connect_timeout", "read_timeout"):
			if cint(self.get(fieldname)) < 1:
				frappe.throw(_("{0} must be at least 1 second").format(_(self.meta.get_label(fieldname))))

		if self.use_ssh_tunnel:
			# `mandatory_depends_on` is only enforced by the form; the API needs the same rule
			if missing := [
				_(self.meta.get_label(f)) for f in SSH_REQUIRED_FIELDS if not (self.get(f) or "").strip()
			]:
				frappe.throw(
					_("The SSH tunnel needs: {0}").format(", ".join(missing)),
					frappe.MandatoryError,
					title=_("Missing Values Required"),
				)

		if self.ssh_private_key and not self.is_dummy_password(self.ssh_private_key):
			try:
				self.ssh_private_key = normalize_private_key(self.ssh_private_key)
				key_problem = None
			except ValueError as e:
				# the message names what is wrong, never the key itself
				key_problem = str(e)
			if key_problem:
				# thrown outside the `except`, so no traceback chains the frame that held the key
				frappe.throw(key_problem, title=_("Invalid SSH Private Key"))

		if self.ssh_host_key:
			self.ssh_host_key = self.ssh_host_key.strip()
			parse_host_keys(self.ssh_host_key)

		self.clear_host_key_of_another_bastion()

	def _save_passwords(self):
		"""Frappe's step storing each new secret encrypted in `__Auth` (`BaseDocument._save_passwords`),
		then `SECRET_MASK` in each field holding a stored secret instead of Frappe's `*` × its length.

		Runs in `Document._validate`, after `validate` and before the row and its Version are
		written. A value Frappe did not store (`flags.ignore_save_passwords`) is left as it is.
		"""
		super()._save_passwords()
		for df in self.meta.get("fields", {"fieldtype": "Password"}):
			value = self.get(df.fieldname)
			if value and self.is_dummy_password(value):
				self.set(df.fieldname, SECRET_MASK)

	def clear_host_key_of_another_bastion(self):
		"""A host key accepted for one bastion says nothing about another: drop it when the address moves."""
		if self.is_new() or not self.ssh_host_key:
			return
		before = self.get_doc_before_save()
		if not before or not before.ssh_host_key or before.ssh_host_key != self.ssh_host_key:
			# no stored key yet, or the key itself is being set now
			return
		if (before.ssh_host, cint(before.ssh_port)) != (self.ssh_host, cint(self.ssh_port)):
			self.ssh_host_key = None
			frappe.msgprint(
				_(
					"The SSH host or port changed, so the accepted host key was cleared. Fetch the new host key."
				),
				indicator="orange",
				alert=True,
			)

	def get_connection_config(self) -> ConnectionConfig:
		"""Everything the ProcureUAT client needs to connect, secrets decrypted (keep it in memory only)."""
		return ConnectionConfig(
			host=(self.host or "").strip(),
			port=cint(self.port) or 3306,
			database=self.database_name or "",
			username=self.username or "",
			password=self.get_password("password", raise_exception=False) or "",
			use_ssh_tunnel=bool(self.use_ssh_tunnel),
			ssh_host=(self.ssh_host or "").strip(),
			ssh_port=cint(self.ssh_port) or 22,
			ssh_username=self.ssh_username or "",
			ssh_private_key=self.get_password("ssh_private_key", raise_exception=False) or "",
			ssh_key_passphrase=self.get_password("ssh_key_passphrase", raise_exception=False) or "",
			ssh_host_key=self.ssh_host_key or "",
			connect_timeout=float(cint(self.connect_timeout) or 10),
			read_timeout=float(cint(self.read_timeout) or 60),
			lock_wait_timeout=cint(self.lock_wait_timeout) or 10,
			statement_timeout=cint(self.statement_timeout) or 30,
			name=self.name,
		)


def normalize_private_key(key_text: str) -> str:
	"""Return `key_text` as a well-formed PEM / OpenSSH private key block ending in a newline.

	Restores the line structure a browser's single-line password input strips (or turns into
	spaces), including the headers of a legacy encrypted PEM. Raises ValueError with a message
	that never quotes the key. Its locals are named `key_*`, so Frappe's Error Log, which
	prints a traceback's variables, redacts them.
	"""
	key_text = (key_text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
	key_match = _PEM_RE.fullmatch(key_text)
	if not key_match:
		raise ValueError(
			_(
				"The SSH private key must be a whole OpenSSH or PEM private key, from its "
				"'-----BEGIN … PRIVATE KEY-----' line to its '-----END … PRIVATE KEY-----' line."
			)
		)

	label, key_body = key_match.group(1), key_match.group(2)
	headers = []
	if legacy := _LEGACY_PEM_HEADERS_RE.match(key_body):
		cipher, hex_run = legacy.group(1), legacy.group(2)
		iv_length = _DEK_IV_HEX_LENGTH.get(cipher)
		if not iv_length or len(hex_run) < iv_length:
			raise ValueError(
				_("The SSH private key is encrypted with an unsupported cipher ({0}).").format(cipher)
			)
		# without line breaks the IV runs straight into the base64 body
		headers = ["Proc-Type: 4,ENCRYPTED", f"DEK-Info: {cipher},{hex_run[:iv_length]}", ""]
		key_body = hex_run[iv_length:] + key_body[legacy.end() :]

	key_data = re.sub(r"\s+", "", key_body)
	try:
		if not _BASE64_RE.fullmatch(key_data):
			raise binascii.Error
		base64.b64decode(key_data, validate=True)
	except binascii.Error:
		raise ValueError(_("The SSH private key is damaged: its body is not valid base64.")) from None

	if key_text.startswith(f"-----BEGIN {label}-----\n"):
		# line breaks intact (pasted through the API or a text area): keep the key as it was written
		return key_text + "\n"

	width = 70 if label == "OPENSSH PRIVATE KEY" else 64
	key_lines = [key_data[i : i + width] for i in range(0, len(key_data), width)]
	return "\n".join([f"-----BEGIN {label}-----", *headers, *key_lines, f"-----END {label}-----"]) + "\n"


def parse_host_keys(text: str) -> list[tuple[str, bytes]]:
	"""(key type, key blob) of each public key in `text`, parsed the way the tunnel reads them.

	Accepts `type base64 [comment]` and known_hosts lines, one key per line. Throws a
	ValidationError naming what is wrong when `text` holds no valid key.
	"""
	from o2o_sync.sync.portal.hostkeys import parse_key_lines

	try:
		return parse_key_lines(text)
	except ValueError as e:
		frappe.throw(_("SSH Host Key: {0}").format(e), title=_("Invalid SSH Host Key"))


def check_connection_permission(connection: str):
	"""Allow System Managers and users who may write this Database Connection; throw otherwise."""
	if "System Manager" in frappe.get_roles():
		return
	frappe.has_permission(DATABASE_CONNECTION, "write", doc=connection, throw=True)


@frappe.whitelist(methods=["POST"])
def test_connection(connection: str) -> dict:
	"""Connect to the database (through the tunnel when set) and report what was found."""
	check_connection_permission(connection)
	require_manager()
	frappe.has_permission(DATABASE_CONNECTION, "read", connection, throw=True)
	return run_connection_test(connection)


def run_connection_test(connection: str | None) -> dict:
	"""Test a Database Connection and write a "Test Connection" Sync Log row; no permission
	check (the callers check: `test_connection` here, `desk.test_database_connection`).

	Args: the Database Connection name (None: none is configured).
	Returns `{"ok", "latency_ms", "server_version", "missing_tables", "tables_ok", "message"}` or
	`{"ok": False, "reason", "message"}`; never a secret. Raises frappe.ValidationError when no
	connection is named, frappe.DoesNotExistError when it does not exist.
	"""
	if not connection:
		frappe.throw(_("Set a Database Connection in O2O Sync Settings first"))
	# imported here: the portal driver is loaded only when a connection is tested
	from o2o_sync.sync.portal.client import test_connection as test_portal

	result = test_portal(frappe.get_doc(DATABASE_CONNECTION, connection).get_connection_config())
	write_logs_now(
		[
			LogEntry(
				direction=PULL,
				operation="Test Connection",
				status=SUCCESS if result["ok"] else FAILED,
				message=result["message"],
				reference_doctype=DATABASE_CONNECTION,
				reference_name=connection,
				duration_ms=int(result.get("latency_ms") or 0),
			)
		]
	)
	return result


@frappe.whitelist()
def fetch_host_key(connection: str) -> dict:
	"""Ask the bastion for its public host key, for an administrator to compare and accept.

	Returns `{"key_line", "key_type", "fingerprint", "stored_key_line", "matches_stored"}`.
	"""
	check_connection_permission(connection)
	doc = frappe.get_doc(DATABASE_CONNECTION, connection)
	if not doc.use_ssh_tunnel or not doc.ssh_host:
		frappe.throw(_("Set Use SSH Tunnel and the SSH Host first."))

	from o2o_sync.sync.model.errors import ProcureUATConnectionError
	from o2o_sync.sync.portal.hostkeys import fetch_host_key as fetch_bastion_host_key

	try:
		result = dict(
			fetch_bastion_host_key(doc.ssh_host, cint(doc.ssh_port) or 22, cint(doc.connect_timeout) or 10)
		)
	except ProcureUATConnectionError as e:
		frappe.throw(
			_("Could not fetch the host key of {0}:{1}: {2}").format(
				doc.ssh_host, cint(doc.ssh_port) or 22, e
			),
			title=_("SSH Host Key"),
		)

	result["stored_key_line"] = doc.ssh_host_key or ""
	# the stored text was validated on save and may hold several keys (one per line)
	stored_blobs = {blob for _type, blob in parse_host_keys(doc.ssh_host_key)} if doc.ssh_host_key else set()
	result["matches_stored"] = parse_host_keys(result["key_line"])[0][1] in stored_blobs
	return result


@frappe.whitelist(methods=["POST"])
def accept_host_key(connection: str, key_line: str) -> dict:
	"""Store `key_line` as the bastion's trusted host key; returns the stored line and its fingerprint."""
	check_connection_permission(connection)
	from o2o_sync.sync.portal.hostkeys import fingerprint

	key_type = parse_host_keys(key_line)[0][0]
	doc = frappe.get_doc(DATABASE_CONNECTION, connection)
	doc.ssh_host_key = key_line.strip()
	doc.save()
	return {"key_line": doc.ssh_host_key, "key_type": key_type, "fingerprint": fingerprint(doc.ssh_host_key)}
