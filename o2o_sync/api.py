"""What the portal calls over HTTP: `POST /api/method/o2o_sync.api.portal_changed` (issue 13,
"Signed webhook, for seconds").

No ERPNext login: the signature is the authentication (`sync.portal.webhook_signature`).
Body JSON `{"connection": "<Database Connection name>", "requisition_ids": [int, ...]}` (at
most `MAX_IDS`; none: "something changed", the incremental pull); headers `X-O2O-Timestamp`
(Unix seconds) and `X-O2O-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`
under the connection's `webhook_secret` (a Password field). Answers at once; the pull runs in
a background job (`webhook_queue`). Secrets and signatures never reach a log or a message.
"""

import json
import time

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import cint
from frappe.utils.password import get_decrypted_password

from o2o_sync.constants import DATABASE_CONNECTION, SETTINGS
from o2o_sync.sync.portal.webhook_signature import verify

#: the most requisition ids one call may name
MAX_IDS = 500
#: calls one address may make in `RATE_WINDOW_SECONDS` (Frappe's `rate_limit`, per IP)
RATE_LIMIT = 600
RATE_WINDOW_SECONDS = 60
#: the headers of a signed call
TIMESTAMP_HEADER = "X-O2O-Timestamp"
SIGNATURE_HEADER = "X-O2O-Signature"


class BadWebhookRequest(frappe.ValidationError):
	"""A body that is not what the webhook takes: HTTP 400."""

	http_status_code = 400


def refused():
	"""HTTP 403 with the one message every refused call gets (missing or wrong signature,
	timestamp too far away, unknown connection, connection without a secret): the caller
	learns nothing of which it was."""
	frappe.throw(_("Not a valid signed call"), frappe.PermissionError)


def parse_body(raw: bytes) -> tuple[str, list[int]]:
	"""`(connection, requisition_ids)` of a call's raw body. Raises BadWebhookRequest (400)
	for a body that is not a JSON object with a non-empty string `connection` and, if given,
	`requisition_ids` a list of at most `MAX_IDS` positive whole numbers."""
	try:
		body = json.loads(raw or b"")
	except ValueError:
		body = None
	if not isinstance(body, dict) or not isinstance(body.get("connection"), str) or not body["connection"]:
		frappe.throw(_("The body must be a JSON object naming a connection"), BadWebhookRequest)
	ids = body.get("requisition_ids") or []
	if (
		not isinstance(ids, list)
		or len(ids) > MAX_IDS
		or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
	):
		frappe.throw(
			_("requisition_ids must be a list of at most {0} requisition ids").format(MAX_IDS),
			BadWebhookRequest,
		)
	return body["connection"], sorted(set(ids))


def connection_secret(connection: str) -> str | None:
	"""The `webhook_secret` of the Database Connection O2O Sync Settings names, when
	`connection` is that one and has a secret; else None (another or unknown connection:
	the sync pulls only from the settings' portal)."""
	if connection != frappe.db.get_single_value(SETTINGS, "database_connection"):
		return None
	if not frappe.db.exists(DATABASE_CONNECTION, connection):
		return None
	return get_decrypted_password(DATABASE_CONNECTION, connection, "webhook_secret", raise_exception=False)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=RATE_LIMIT, seconds=RATE_WINDOW_SECONDS)
def portal_changed(**_ignored) -> dict:
	"""The portal says invoices changed: pull them now (see the module's docstring).

	Returns `{"status": "queued"}` at once (the pull of the named requisitions, merged with
	those of calls still waiting: `webhook_queue.add`; no ids: the incremental pull,
	`desk.queue_pull`), or `{"status": "disabled"}` when O2O Sync Settings is not enabled
	(nothing queued). Raises PermissionError (HTTP 403, one message) for a call that is not
	genuine, BadWebhookRequest (HTTP 400) for a malformed body, RateLimitExceededError (429).
	"""
	from o2o_sync.sync import webhook_queue
	from o2o_sync.sync.desk import queue_pull
	from o2o_sync.sync.engines import sync_enabled

	raw = frappe.request.get_data()
	connection, ids = parse_body(raw)
	secret = connection_secret(connection)
	if not verify(
		secret,
		frappe.get_request_header(TIMESTAMP_HEADER),
		frappe.get_request_header(SIGNATURE_HEADER),
		raw,
		time.time(),
	):
		refused()
	if not cint(sync_enabled()):
		return {"status": "disabled"}
	if ids:
		webhook_queue.add(connection, ids)
	else:
		queue_pull(method="o2o_sync.sync.jobs.incremental_pull")
	return {"status": "queued"}
