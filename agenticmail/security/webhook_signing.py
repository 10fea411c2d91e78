"""Standard Webhooks signing (https://www.standardwebhooks.com): the ``whsec_…`` secrets and the
``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` headers of one delivery.

The HMAC is the ``standardwebhooks`` package's (``v1,`` + base64 HMAC-SHA256 of
``id.timestamp.body``), so a receiver verifying with that package (or Svix's) accepts it.
Pure functions: the secret and the time are passed in.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from ..log import register_secret

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


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
