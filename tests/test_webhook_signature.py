"""The portal's signed calls (issue 13, "Signed webhook"): the signature scheme as a pure
function, table-driven: what is genuine, and every way a call is refused."""

import hashlib
import hmac

import pytest

from o2o_sync.sync.portal.webhook_signature import MAX_SKEW_SECONDS, sign, verify

SECRET = "s3cr3t-shared-with-the-portal"
BODY = b'{"connection": "ProcureUAT", "requisition_ids": [101, 102]}'
NOW = 1_800_000_000  # Unix seconds, the receiver's clock
GOOD = sign(SECRET, NOW, BODY)


def test_the_signature_is_the_hmac_sha256_of_timestamp_dot_body_as_openssl_computes_it():
	expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
	assert GOOD == f"sha256={expected}"


@pytest.mark.parametrize(
	"secret, timestamp, signature, body, genuine",
	[
		(SECRET, str(NOW), GOOD, BODY, True),
		(SECRET, f" {NOW} ", f" {GOOD} ", BODY, True),  # header whitespace
		(SECRET, str(NOW - MAX_SKEW_SECONDS), sign(SECRET, NOW - MAX_SKEW_SECONDS, BODY), BODY, True),
		(SECRET, str(NOW + MAX_SKEW_SECONDS), sign(SECRET, NOW + MAX_SKEW_SECONDS, BODY), BODY, True),
		# skewed: a replay, or a clock too far off
		(
			SECRET,
			str(NOW - MAX_SKEW_SECONDS - 1),
			sign(SECRET, NOW - MAX_SKEW_SECONDS - 1, BODY),
			BODY,
			False,
		),
		(
			SECRET,
			str(NOW + MAX_SKEW_SECONDS + 1),
			sign(SECRET, NOW + MAX_SKEW_SECONDS + 1, BODY),
			BODY,
			False,
		),
		# wrong
		(SECRET, str(NOW), sign("another secret", NOW, BODY), BODY, False),
		(SECRET, str(NOW), GOOD, BODY + b" ", False),  # the body changed on the way
		(SECRET, str(NOW + 1), GOOD, BODY, False),  # the timestamp changed on the way
		(SECRET, str(NOW), GOOD.upper(), BODY, False),
		(SECRET, str(NOW), GOOD.removeprefix("sha256="), BODY, False),
		(SECRET, str(NOW), "sha1=" + GOOD.removeprefix("sha256="), BODY, False),
		(SECRET, "1.8e9", GOOD, BODY, False),
		(SECRET, "-5", GOOD, BODY, False),
		# missing
		(SECRET, None, GOOD, BODY, False),
		(SECRET, "", GOOD, BODY, False),
		(SECRET, str(NOW), None, BODY, False),
		(SECRET, str(NOW), "", BODY, False),
		(None, str(NOW), GOOD, BODY, False),  # the connection has no secret
		("", str(NOW), sign("", NOW, BODY), BODY, False),
	],
)
def test_verify(secret, timestamp, signature, body, genuine):
	assert verify(secret, timestamp, signature, body, now=NOW) is genuine
