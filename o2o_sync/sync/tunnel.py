"""The SSH side of the ProcureUAT client: a verified tunnel through the portal's bastion.

The portal's MariaDB is reachable only through an SSH bastion (contract, "ProcureUAT").
`open_tunnel` forwards a free port on 127.0.0.1 through the bastion to the database
as the bastion sees it, with `sshtunnel` doing the forwarding and `paramiko` the SSH.

Security rules, all enforced here:

- The bastion's host key is always verified against the configured key line
  (`ConnectionConfig.ssh_host_key`); without one, nothing is sent: the admin fetches
  it once with "Fetch host key" (`fetch_host_key`) and checks its fingerprint.
- Only the configured private key is used: no SSH agent, no ~/.ssh keys, no
  ~/.ssh/config. Key text and passphrase stay in memory.
- Error messages name hosts, users, key types and SHA256 fingerprints (all public),
  never key text, passphrases or passwords.
"""

import base64
import hashlib
import io
import logging
import socket
import threading

import paramiko
import sshtunnel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from o2o_sync.sync.config import ConnectionConfig
from o2o_sync.sync.errors import (
	BastionUnreachable,
	HostKeyMismatch,
	HostKeyNotConfigured,
	ProcureUATConnectionError,
	SSHAuthFailed,
)

_LOG = logging.getLogger("o2o_sync.tunnel")

#: Host key types a key line may carry.
HOST_KEY_TYPES = (
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-rsa",
)
#: Host key algorithms to offer in the handshake for each key type.
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}
#: How long `open_tunnel` waits for the forwarding thread to start serving (seconds).
_SERVE_START_TIMEOUT = 5.0
#: SSH keepalive interval on the bastion transport (seconds).
KEEPALIVE_INTERVAL = 30


# ---------------------------------------------------------------------------
# host keys


def _parse_key_lines(text: str) -> list[tuple[str, bytes]]:
	"""Parse public host keys out of `text`: (key type, key blob) pairs.

	Accepts 'type base64 [comment]' lines and known_hosts / ssh-keyscan lines
	('host type base64'); several lines give several keys; '#' lines are ignored.
	Raises ValueError when no valid key is found.
	"""
	keys = []
	for raw in (text or "").splitlines():
		tokens = raw.strip().split()
		if not tokens or tokens[0].startswith("#"):
			continue
		for i, token in enumerate(tokens[:-1]):
			if token in HOST_KEY_TYPES:
				try:
					blob = base64.b64decode(tokens[i + 1], validate=True)
				except ValueError:
					raise ValueError(f"the {token} host key is not valid base64") from None
				if _blob_type(blob) != token:
					raise ValueError(f"the {token} host key's data does not hold a {token} key")
				keys.append((token, blob))
				break
	if not keys:
		raise ValueError(
			"no SSH public key found: expected a line like 'ssh-ed25519 AAAA...' "
			f"(key types: {', '.join(HOST_KEY_TYPES)})"
		)
	return keys


def _blob_type(blob: bytes) -> str:
	"""The key type string at the start of an SSH public key blob ('' when malformed)."""
	if len(blob) < 4:
		return ""
	size = int.from_bytes(blob[:4], "big")
	try:
		return blob[4 : 4 + size].decode("ascii") if size <= len(blob) - 4 else ""
	except UnicodeDecodeError:
		return ""


def _fingerprint_blob(blob: bytes) -> str:
	return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def fingerprint(key_line: str) -> str:
	"""SHA256 fingerprint of a public key line, as ``ssh-keygen -l`` prints it.

	`key_line`: 'ssh-ed25519 AAAA... [comment]' (a known_hosts line works too; with
	several lines, the first key counts). Returns 'SHA256:<base64 without padding>'.
	Raises ValueError when `key_line` holds no valid public key.
	"""
	return _fingerprint_blob(_parse_key_lines(key_line)[0][1])


def _key_line(key_type: str, blob: bytes) -> str:
	return f"{key_type} {base64.b64encode(blob).decode('ascii')}"


def _connect_socket(host: str, port: int, timeout: float) -> socket.socket:
	"""TCP connection to the bastion; raises BastionUnreachable."""
	where = f"{host}:{port}"
	if not host:
		raise BastionUnreachable("No SSH bastion host is configured")
	try:
		return socket.create_connection((host, int(port)), timeout=timeout)
	except socket.gaierror:
		raise BastionUnreachable(f"SSH bastion {where}: the host name could not be resolved") from None
	except TimeoutError:
		raise BastionUnreachable(f"SSH bastion {where} did not answer within {timeout:g} s") from None
	except ConnectionRefusedError:
		raise BastionUnreachable(
			f"SSH bastion {where} refused the connection (nothing listens on that port)"
		) from None
	except OSError as e:
		raise BastionUnreachable(
			f"SSH bastion {where} could not be reached: {e.strerror or type(e).__name__}"
		) from None


def _start_client(host: str, port: int, timeout: float, key_types: list[str] | None = None):
	"""SSH handshake (no authentication) with the bastion; returns the paramiko Transport.

	`key_types`: host key algorithms to accept, in order (None: paramiko's defaults).
	Raises BastionUnreachable, or HostKeyMismatch when the bastion has no host key of
	the accepted types.
	"""
	where = f"{host}:{port}"
	sock = _connect_socket(host, port, timeout)
	try:
		transport = paramiko.Transport(sock)
	except Exception:
		sock.close()
		raise
	try:
		transport.banner_timeout = timeout
		transport.handshake_timeout = timeout
		transport.auth_timeout = timeout
		if key_types:
			options = transport.get_security_options()
			supported = set(options.key_types)
			options.key_types = [k for k in key_types if k in supported]
		transport.start_client(timeout=timeout)
	except paramiko.SSHException as e:
		transport.close()
		text = str(e)
		if key_types and "host key" in text.lower():
			raise HostKeyMismatch(
				f"The SSH bastion {where} offers no host key of the configured type "
				f"({', '.join(sorted({_type_of_algorithm(k) for k in key_types}))}). If its keys were "
				'changed on purpose, use "Fetch host key" and check the fingerprint with the '
				"bastion's administrator."
			) from None
		raise BastionUnreachable(
			f"SSH handshake with the bastion {where} failed: {text or type(e).__name__}"
		) from None
	except (OSError, EOFError) as e:
		transport.close()
		raise BastionUnreachable(
			f"SSH handshake with the bastion {where} failed: {getattr(e, 'strerror', None) or type(e).__name__}"
		) from None
	# start_client returns without an error when its timeout runs out mid-handshake
	if (
		not transport.is_active()
		or transport.host_key is None
		or not getattr(transport, "initial_kex_done", True)
	):
		transport.close()
		raise BastionUnreachable(
			f"SSH bastion {where} did not complete the SSH handshake within {timeout:g} s"
		)
	return transport


def _type_of_algorithm(algorithm: str) -> str:
	for key_type, algorithms in _ALGORITHMS.items():
		if algorithm in algorithms:
			return key_type
	return algorithm


def fetch_host_key(host: str, port: int = 22, timeout: float = 10.0) -> dict:
	"""Ask an SSH server for its host key, without authenticating.

	For the "Fetch host key" button: the admin compares the fingerprint with one the
	bastion's administrator gives, then stores `key_line` as the Database Connection's
	host key. Returns ``{"key_line": "ssh-ed25519 AAAA...", "key_type": "ssh-ed25519",
	"fingerprint": "SHA256:..."}`` for the key paramiko prefers (ed25519 first, then
	ECDSA, then RSA). `timeout` is in seconds. Raises BastionUnreachable.
	"""
	transport = _start_client(host, port, float(timeout))
	try:
		key = transport.get_remote_server_key()
		key_type, blob = key.get_name(), key.asbytes()
	finally:
		transport.close()
	return {
		"key_line": _key_line(key_type, blob),
		"key_type": key_type,
		"fingerprint": _fingerprint_blob(blob),
	}


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
			algorithms.extend(_ALGORITHMS.get(preferred, (preferred,)))
	transport = _start_client(cfg.ssh_host, int(cfg.ssh_port), timeout, algorithms)
	try:
		server_key = transport.get_remote_server_key()
		got_blob = server_key.asbytes()
		if not any(blob == got_blob for _type, blob in expected):
			raise HostKeyMismatch(
				f"The SSH bastion {where} presented host key {server_key.get_name()} "
				f"{_fingerprint_blob(got_blob)}, but the connection expects "
				f"{', '.join(_fingerprint_blob(b) for _t, b in expected)}. This may be an attack; "
				'if the key was changed on purpose, use "Fetch host key" and check the new '
				"fingerprint with the bastion's administrator."
			)
		client = f"{pkey.get_name()} {_fingerprint_blob(pkey.asbytes())}"
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
		expected = _parse_key_lines(cfg.ssh_host_key)
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
