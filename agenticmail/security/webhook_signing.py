"""Standard Webhooks signing (https://www.standardwebhooks.com): the ``whsec_…`` secrets and the
``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` headers of one delivery.

The HMAC is the ``standardwebhooks`` package's (``v1,`` + base64 HMAC-SHA256 of
``id.timestamp.body``), so a receiver verifying with that package (or Svix's) accepts it;
:func:`verify` is this daemon as such a receiver (domain mode's Email Worker signs with it).
Pure functions: the secret and the time are passed in.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ..errors import AuthenticationFailed
from ..log import register_secret

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32
TOLERANCE_SECONDS = 5 * 60  # a delivery signed further from now than this is refused
MAX_ID_CHARS = 200


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 256 random bits (never in a log line of
    this process, with or without its prefix: see :mod:`agenticmail.log`)."""
    key = base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()
    register_secret(key)
    register_secret(SECRET_PREFIX + key)
    return SECRET_PREFIX + key


def signed_headers(secret: str, webhook_id: str, timestamp: float, body: bytes
                   ) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``timestamp`` (Unix seconds)."""
    when = datetime.fromtimestamp(int(timestamp), UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": Webhook(secret).sign(webhook_id, when, body),
    }


def check_headers(headers: Mapping[str, str], now: float,
                  tolerance: float = TOLERANCE_SECONDS) -> str:
    """The ``webhook-id`` when the three headers are there, well-formed, and the timestamp is
    within ``tolerance`` seconds of ``now`` (what can be refused before the body is read).
    AuthenticationFailed otherwise: ``stale_timestamp`` for a timestamp too far from now (a
    replay, or a wrong clock), ``invalid_signature`` for the rest."""
    given = {k.lower(): v for k, v in headers.items()}
    webhook_id = given.get("webhook-id", "")
    stamp = given.get("webhook-timestamp", "")
    if not (webhook_id and stamp and given.get("webhook-signature")):
        raise AuthenticationFailed("a signed delivery needs the webhook-id, webhook-timestamp "
                                   "and webhook-signature headers", code="invalid_signature")
    if len(webhook_id) > MAX_ID_CHARS or not webhook_id.isprintable():
        raise AuthenticationFailed("the webhook-id is not a usable id", code="invalid_signature")
    if not stamp.isdigit() or len(stamp) > 12:
        raise AuthenticationFailed("the webhook-timestamp is not Unix seconds",
                                   code="invalid_signature")
    if abs(now - int(stamp)) > tolerance:
        raise AuthenticationFailed(f"the webhook-timestamp is more than {int(tolerance)} "
                                   "seconds from now", code="stale_timestamp")
    return webhook_id


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float,
           tolerance: float = TOLERANCE_SECONDS) -> str:
    """The ``webhook-id`` of ``body`` when its headers (:func:`check_headers`) carry a
    signature by ``secret``; AuthenticationFailed (``invalid_signature``) for a wrong secret
    or changed bytes."""
    webhook_id = check_headers(headers, now, tolerance)
    try:
        Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()},
                               json_parse=False)
    except WebhookVerificationError:
        raise AuthenticationFailed("the webhook-signature does not match the body",
                                   code="invalid_signature") from None
    return webhook_id
