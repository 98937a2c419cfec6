"""The SSH side of the ProcureUAT client: a verified tunnel through the portal's bastion.

The portal's MariaDB is reachable only through an SSH bastion (contract, "ProcureUAT").
`open_tunnel` forwards a free port on 127.0.0.1 through the bastion to the database
as the bastion sees it, with `sshtunnel` doing the forwarding and `paramiko` the SSH.

Security rules, all enforced here:

- The bastion's host key is always verified against the configured key line
  (`ConnectionConfig.ssh_host_key`); without one, nothing is sent: the admin fetches
  it once with "Fetch host key" (`fetch_host_key`) and checks its fingerprint. Key
  lines, fingerprints and the handshake live in `hostkeys`; they are re-exported here.
- Only the configured private key is used: no SSH agent, no ~/.ssh keys, no
  ~/.ssh/config. Key text and passphrase stay in memory.
- Error messages name hosts, users, key types and SHA256 fingerprints (all public),
  never key text, passphrases or passwords.
"""

import io
import logging
import threading

import paramiko
import sshtunnel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from o2o_sync.sync.model.errors import (
	BastionUnreachable,
	HostKeyMismatch,
	HostKeyNotConfigured,
	ProcureUATConnectionError,
	SSHAuthFailed,
)
from o2o_sync.sync.portal.config import ConnectionConfig
from o2o_sync.sync.portal.hostkeys import (
	ALGORITHMS,
	HOST_KEY_TYPES,
	fetch_host_key,
	fingerprint,
	fingerprint_of_blob,
	parse_key_lines,
	start_client,
)

__all__ = [
	"HOST_KEY_TYPES",
	"KEEPALIVE_INTERVAL",
	"Tunnel",
	"fetch_host_key",
	"fingerprint",
	"load_private_key",
	"open_tunnel",
	"parse_key_lines",
]

_LOG = logging.getLogger("o2o_sync.tunnel")

#: How long `open_tunnel` waits for the forwarding thread to start serving (seconds).
_SERVE_START_TIMEOUT = 5.0
#: SSH keepalive interval on the bastion transport (seconds).
KEEPALIVE_INTERVAL = 30


# ---------------------------------------------------------------------------
# client key


def load_private_key(key_text: str, passphrase: str = "") -> paramiko.PKey:
	"""Load an SSH private key from its text, in memory.

	`key_text`: OpenSSH ('BEGIN OPENSSH PRIVATE KEY'), PEM ('BEGIN RSA/EC PRIVATE KEY')
	or PKCS#8 text of an ed25519, RSA or ECDSA key; `passphrase` decrypts it when it is
	encrypted (ignored when it is not). Returns a paramiko key.
	Raises SSHAuthFailed when the text is missing, not a key, of an unsupported type,
	encrypted without a passphrase or with the wrong one.
	"""
	text = (key_text or "").replace("\r\n", "\n").strip()
	if not text:
		raise SSHAuthFailed("No SSH private key is configured")
	data = (text + "\n").encode("utf-8")

	def load(password):
		if b"BEGIN OPENSSH PRIVATE KEY" in data:
			return serialization.load_ssh_private_key(data, password=password)
		return serialization.load_pem_private_key(data, password=password)

	try:
		try:
			key = load(None)
		except TypeError:  # encrypted
			if not passphrase:
				raise SSHAuthFailed(
					"The SSH private key is encrypted: set its passphrase on the connection"
				) from None
			try:
				key = load(passphrase.encode("utf-8"))
			except (ValueError, TypeError):
				raise SSHAuthFailed(
					"The SSH private key could not be decrypted: the passphrase is wrong"
				) from None
	except SSHAuthFailed:
		raise
	except Exception:
		raise SSHAuthFailed(
			"The SSH private key is not a valid private key: paste the whole OpenSSH or PEM "
			"text of an ed25519, RSA or ECDSA key"
		) from None

	if isinstance(key, ed25519.Ed25519PrivateKey):
		key_class = paramiko.Ed25519Key
	elif isinstance(key, rsa.RSAPrivateKey):
		key_class = paramiko.RSAKey
	elif isinstance(key, ec.EllipticCurvePrivateKey):
		key_class = paramiko.ECDSAKey
	else:
		raise SSHAuthFailed(
			f"SSH private keys of type {type(key).__name__} are not supported: use ed25519, RSA or ECDSA"
		)
	openssh = key.private_bytes(
		serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
	).decode("ascii")
	return key_class.from_private_key(io.StringIO(openssh))


# ---------------------------------------------------------------------------
# tunnel


def _authenticated_transport(cfg: ConnectionConfig, pkey: paramiko.PKey, expected: list[tuple[str, bytes]]):
	"""Connect to the bastion, verify its host key, authenticate; returns the Transport."""
	where = f"{cfg.ssh_host}:{cfg.ssh_port}"
	timeout = float(cfg.connect_timeout or 10.0)
	algorithms = []
	for preferred in HOST_KEY_TYPES:  # strongest first, whatever order the admin pasted
		if any(key_type == preferred for key_type, _blob in expected):
			algorithms.extend(ALGORITHMS.get(preferred, (preferred,)))
	transport = start_client(cfg.ssh_host, int(cfg.ssh_port), timeout, algorithms)
	try:
		server_key = transport.get_remote_server_key()
		got_blob = server_key.asbytes()
		if not any(blob == got_blob for _type, blob in expected):
			raise HostKeyMismatch(
				f"The SSH bastion {where} presented host key {server_key.get_name()} "
				f"{fingerprint_of_blob(got_blob)}, but the connection expects "
				f"{', '.join(fingerprint_of_blob(b) for _t, b in expected)}. This may be an attack; "
				'if the key was changed on purpose, use "Fetch host key" and check the new '
				"fingerprint with the bastion's administrator."
			)
		client = f"{pkey.get_name()} {fingerprint_of_blob(pkey.asbytes())}"
		try:
			transport.auth_publickey(cfg.ssh_username, pkey)
		except paramiko.AuthenticationException:
			raise SSHAuthFailed(
				f"The SSH bastion {where} refused the key ({client}) for user '{cfg.ssh_username}': "
				"check that its public key is in that user's authorized_keys"
			) from None
		except (paramiko.SSHException, OSError, EOFError) as e:
			raise SSHAuthFailed(
				f"SSH authentication with the bastion {where} did not complete: {type(e).__name__}"
			) from None
		if not transport.is_authenticated():
			raise SSHAuthFailed(
				f"The SSH bastion {where} asked for more than the key ({client}) for user "
				f"'{cfg.ssh_username}': only key authentication is supported"
			)
		transport.set_keepalive(KEEPALIVE_INTERVAL)
		return transport
	except BaseException:
		transport.close()
		raise


class _Forwarder(sshtunnel.SSHTunnelForwarder):
	"""sshtunnel's forwarder over a transport we open and verify ourselves.

	sshtunnel would connect without checking the host key, swallow the reason of a
	failure and fall back on agent keys; `_connect_to_gateway` is replaced so it does
	none of that. The serving threads are recorded for `Tunnel.is_active`.
	"""

	def __init__(self, transport_factory, **kwargs):
		self._o2o_transport_factory = transport_factory
		self._o2o_threads: list[threading.Thread] = []
		self._o2o_serving = threading.Event()
		super().__init__(**kwargs)

	def _connect_to_gateway(self):
		self._transport = self._o2o_transport_factory()

	def _serve_forever_wrapper(self, _srv, poll_interval=0.1):
		self._o2o_threads.append(threading.current_thread())
		self._o2o_serving.set()
		super()._serve_forever_wrapper(_srv, poll_interval)


class Tunnel:
	"""An open SSH tunnel: connect to (`local_host`, `local_port`) to reach the portal database.

	`is_active()` tells whether it still works; `close()` shuts it (idempotent). Usable
	as a context manager.
	"""

	def __init__(self, forwarder: _Forwarder, description: str):
		self._forwarder = forwarder
		self._description = description
		self._closed = False
		self._lock = threading.Lock()
		self.local_host, self.local_port = forwarder.local_bind_address[:2]

	def is_active(self) -> bool:
		"""True while the forwarding thread runs and the SSH transport to the bastion is up."""
		if self._closed:
			return False
		transport = getattr(self._forwarder, "_transport", None)
		threads = self._forwarder._o2o_threads
		return bool(
			transport is not None
			and transport.is_active()
			and threads
			and all(thread.is_alive() for thread in threads)
		)

	def close(self) -> None:
		"""Close the forwarder and the SSH connection, dropping connections still open through it."""
		with self._lock:
			if self._closed:
				return
			self._closed = True
		try:
			self._forwarder.stop(force=True)
		except Exception:  # a dead transport must not make close() fail
			_LOG.debug("error while closing the SSH tunnel %s", self._description, exc_info=True)
			transport = getattr(self._forwarder, "_transport", None)
			if transport is not None:
				transport.close()

	def __enter__(self) -> "Tunnel":
		return self

	def __exit__(self, *exc) -> None:
		self.close()

	def __repr__(self) -> str:
		state = "active" if self.is_active() else "closed" if self._closed else "down"
		return f"<Tunnel {self.local_host}:{self.local_port} -> {self._description} ({state})>"


def open_tunnel(cfg: ConnectionConfig) -> Tunnel:
	"""Open an SSH tunnel from 127.0.0.1:<free port> through the bastion to the portal database.

	`cfg`: ssh_host / ssh_port / ssh_username, ssh_private_key (ed25519, RSA or ECDSA
	key text) with ssh_key_passphrase when encrypted, ssh_host_key (the bastion's public
	key line, required), host / port of the database as seen from the bastion, and
	connect_timeout (seconds, for the TCP connect, SSH handshake and authentication).
	Returns an open `Tunnel`; the caller closes it.

	Raises HostKeyNotConfigured (no host key: use "Fetch host key"), HostKeyMismatch
	(the bastion's key differs; the message gives both SHA256 fingerprints),
	BastionUnreachable (no route, refused, timed out, not an SSH server), SSHAuthFailed
	(no/bad key, wrong passphrase, key refused) and ProcureUATConnectionError when the
	local end cannot be opened. Nothing is sent to the bastion before the host key
	and the private key have been checked locally.
	"""
	where = f"{cfg.ssh_host}:{cfg.ssh_port}"
	if not cfg.ssh_host:
		raise BastionUnreachable("No SSH bastion host is configured")
	if not (cfg.ssh_host_key or "").strip():
		raise HostKeyNotConfigured(
			f"No host key is configured for the SSH bastion {where}: refusing to connect. "
			'Use "Fetch host key" on the connection and check the fingerprint with the '
			"bastion's administrator before saving it."
		)
	try:
		expected = parse_key_lines(cfg.ssh_host_key)
	except ValueError as e:
		raise HostKeyNotConfigured(
			f"The host key configured for the SSH bastion {where} is not valid ({e}). "
			'Use "Fetch host key" to fill it in.'
		) from None
	if not cfg.ssh_username:
		raise SSHAuthFailed(f"No SSH username is configured for the bastion {where}")
	pkey = load_private_key(cfg.ssh_private_key, cfg.ssh_key_passphrase)

	forwarder = _Forwarder(
		lambda: _authenticated_transport(cfg, pkey, expected),
		ssh_address_or_host=(cfg.ssh_host, int(cfg.ssh_port)),
		ssh_config_file=None,
		ssh_username=cfg.ssh_username,
		ssh_pkey=pkey,
		allow_agent=False,
		host_pkey_directories=[],
		remote_bind_address=(cfg.host, int(cfg.port)),
		local_bind_address=("127.0.0.1", 0),
		logger=_LOG,
		set_keepalive=KEEPALIVE_INTERVAL,
		mute_exceptions=False,
	)
	description = f"{cfg.host}:{cfg.port} via {cfg.ssh_username}@{where}"
	try:
		forwarder.start()
	except ProcureUATConnectionError:
		raise
	except Exception as e:
		_abort(forwarder)
		raise ProcureUATConnectionError(
			f"Could not open the local end of the SSH tunnel to {description}: {type(e).__name__}"
		) from None
	if not forwarder._o2o_serving.wait(_SERVE_START_TIMEOUT):
		_abort(forwarder)
		raise ProcureUATConnectionError(f"The SSH tunnel to {description} did not start forwarding")
	return Tunnel(forwarder, description)


def _abort(forwarder: _Forwarder) -> None:
	"""Tear down a forwarder whose start failed half-way."""
	transport = getattr(forwarder, "_transport", None)
	if forwarder._o2o_serving.is_set():
		try:
			forwarder.stop(force=True)
			return
		except Exception:
			pass
	# not serving: sshtunnel's stop() would wait forever for the serving loop to end
	if transport is not None:
		transport.close()
	for server in list(getattr(forwarder, "_server_list", [])):
		server.server_close()
