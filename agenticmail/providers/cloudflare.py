"""The Cloudflare API, through the official ``cloudflare`` SDK: the only module that imports it.

:class:`CloudflareApi` wraps one SDK client (an API token; ``base_url`` points it at a fake in
tests, the production code path unchanged) and translates every SDK exception into
:class:`~agenticmail.errors.CloudflareError` (the API refused: its ``errors`` named) or
:class:`~agenticmail.errors.CloudflareUnavailable` (network, timeout, 5xx, 429).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import cloudflare

from ..errors import CloudflareError, CloudflareUnavailable

DEFAULT_TIMEOUT = 30.0


def _errors_text(body: Any) -> str:
    """``code: message`` of each entry in a v4 error body's ``errors`` list."""
    if not isinstance(body, dict):
        return ""
    parts = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            code = item.get("code")
            message = str(item.get("message") or "").strip()
            parts.append(f"{code}: {message}" if code is not None else message)
    return "; ".join(p for p in parts if p)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run one SDK call (``what`` says which, for the message), translating its errors."""
    try:
        yield
    except cloudflare.APIStatusError as exc:
        detail = _errors_text(exc.body) or exc.message
        error = (CloudflareUnavailable if exc.status_code >= 500 or exc.status_code == 429
                 else CloudflareError)
        raise error(f"Cloudflare refused {what} (HTTP {exc.status_code}): {detail}") from None
    except cloudflare.APITimeoutError:
        raise CloudflareUnavailable(f"Cloudflare did not answer {what} in time") from None
    except cloudflare.APIConnectionError as exc:
        raise CloudflareUnavailable(f"cannot reach Cloudflare for {what}: {exc}") from None
    except cloudflare.CloudflareError as exc:  # the SDK's own checks (a missing id)
        raise CloudflareError(f"Cloudflare {what}: {exc}") from None


class CloudflareApi:
    """One API token's view of Cloudflare."""

    def __init__(self, token: str, *, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, max_retries: int = 2) -> None:
        self._client = cloudflare.Cloudflare(api_token=token, base_url=base_url,
                                             timeout=timeout, max_retries=max_retries)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CloudflareApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- email sending (domain mode's outbound path "cloudflare") ------------------------------

    def send_raw(self, account_id: str, sender: str, recipients: Sequence[str],
                 raw: bytes) -> None:
        """Send one RFC 5322 message through Cloudflare's email sending (envelope given)."""
        with translated("sending a message"):
            self._client.email_sending.send_raw(
                account_id=account_id, from_=sender, recipients=list(recipients),
                mime_message=raw.decode("utf-8", "surrogateescape"))
