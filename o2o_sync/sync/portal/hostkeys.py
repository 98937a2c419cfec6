"""The bastion's host key: key lines, SHA256 fingerprints, and the unauthenticated SSH
handshake that fetches the key ("Fetch host key") and starts every tunnel.

The portal's MariaDB is reachable only through an SSH bastion (contract, "ProcureUAT");
its host key is always verified against the key line configured on the Database
Connection (`ConnectionConfig.ssh_host_key`), which an admin fetches once with
`fetch_host_key` and checks by its fingerprint. Messages name hosts, key types and SHA256
fingerprints (all public), never key text. `tunnel.open_tunnel` uses this module.
"""

import base64
import hashlib
import socket

import paramiko

from o2o_sync.sync.model.errors import BastionUnreachable, HostKeyMismatch

#: Host key types a key line may carry, strongest first.
HOST_KEY_TYPES = (
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-rsa",
)
#: Host key algorithms to offer in the handshake for each key type (others: the type itself).
ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


def parse_key_lines(text: str) -> list[tuple[str, bytes]]:
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


def fingerprint_of_blob(blob: bytes) -> str:
	"""'SHA256:<base64 without padding>' of a public key blob, as ``ssh-keygen -l`` prints it."""
	return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def fingerprint(key_line: str) -> str:
	"""SHA256 fingerprint of a public key line, as ``ssh-keygen -l`` prints it.

	`key_line`: 'ssh-ed25519 AAAA... [comment]' (a known_hosts line works too; with
	several lines, the first key counts). Returns 'SHA256:<base64 without padding>'.
	Raises ValueError when `key_line` holds no valid public key.
	"""
	return fingerprint_of_blob(parse_key_lines(key_line)[0][1])


def key_line_of(key_type: str, blob: bytes) -> str:
	"""The 'type base64' key line of a public key blob (what the Database Connection stores)."""
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


def start_client(host: str, port: int, timeout: float, key_types: list[str] | None = None):
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
	for key_type, algorithms in ALGORITHMS.items():
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
	transport = start_client(host, port, float(timeout))
	try:
		key = transport.get_remote_server_key()
		key_type, blob = key.get_name(), key.asbytes()
	finally:
		transport.close()
	return {
		"key_line": key_line_of(key_type, blob),
		"key_type": key_type,
		"fingerprint": fingerprint_of_blob(blob),
	}
