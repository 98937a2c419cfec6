"""The portal's signed calls to `o2o_sync.api.portal_changed` (issue 13, "Signed webhook"):
the signature scheme, free of Frappe so it is tested as a pure function.

The portal sends the Unix time in `X-O2O-Timestamp` and `X-O2O-Signature: sha256=<hex>`, the
HMAC-SHA256 of `"<timestamp>.<raw body>"` under the Database Connection's `webhook_secret`.
A call is genuine when the signature matches (compared in constant time) and the timestamp
is within `MAX_SKEW_SECONDS` of the receiver's clock (a replayed call is refused after that).
"""

import hashlib
import hmac

#: Seconds a signed call's timestamp may be away from the receiver's clock, either way.
MAX_SKEW_SECONDS = 300
#: The prefix of the signature header's value.
SCHEME = "sha256="


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
	"""The `X-O2O-Signature` value of a call: `sha256=` + hex HMAC-SHA256 of
	`b"<timestamp>." + body` under `secret` (UTF-8). What the portal computes."""
	message = str(timestamp).encode() + b"." + body
	return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now: float) -> bool:
	"""True when a call is genuine: a secret is set, `timestamp` is whole Unix seconds within
	`MAX_SKEW_SECONDS` of `now` (Unix seconds, the receiver's clock), and `signature` equals
	`sign(secret, timestamp, body)` (compared with `hmac.compare_digest`). Never raises; a
	missing secret, timestamp or signature is False. It says only yes or no: why a call was
	refused is never told to the caller."""
	if not secret or not timestamp or not signature:
		return False
	text = str(timestamp).strip()
	if not text.isdigit() or abs(now - int(text)) > MAX_SKEW_SECONDS:
		return False
	# named *secret*: Frappe's tracebacks with variables redact it (the valid signature of a body)
	secret_signature = sign(secret, text, body)
	return hmac.compare_digest(secret_signature.encode(), str(signature).strip().encode())
