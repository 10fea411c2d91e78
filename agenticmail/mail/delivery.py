"""Local delivery over LMTP (Dovecot's LMTP listener: a unix socket when ``host`` is a path
starting with ``/``, as the local host serves it, else ``host:port``).

LMTP answers *per recipient* after DATA (RFC 2033), which ``smtplib.LMTP.sendmail`` does not
handle (it reads a single reply); this module drives the transaction itself with smtplib's
public commands and reads one DATA reply per accepted recipient.

:func:`deliver_lmtp` is synchronous and uses one connection per call, so it is safe to call
from several worker threads at once; :func:`deliver_lmtp_async` runs it in a thread.

Outcome:

* every recipient refused with 5xx -> :class:`PermanentDeliveryError`
* every recipient refused, some with 4xx, or a network / protocol failure ->
  :class:`TransientDeliveryError`
* otherwise returns ``{recipient: "<code> <text>"}`` for the recipients that were refused
  (empty when all were delivered); a 4xx entry there is worth retrying for that recipient.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import Sequence

from ..errors import InvalidRequest, PermanentDeliveryError, TransientDeliveryError
from .addresses import validate_address

__all__ = ["deliver_lmtp", "deliver_lmtp_async"]

_BARE_LF_RE = re.compile(rb"(?<!\r)\n")
_BARE_CR_RE = re.compile(rb"\r(?!\n)")


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}".strip()


def _raise_for(code: int, reply: str, what: str) -> None:
    if 500 <= code < 600:
        raise PermanentDeliveryError(f"{what} rejected by the LMTP server: {reply}")
    raise TransientDeliveryError(f"{what} deferred by the LMTP server: {reply}")


def _normalise_data(data: bytes) -> bytes:
    data = _BARE_CR_RE.sub(b"\r\n", _BARE_LF_RE.sub(b"\r\n", data))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _summarise(refused: dict[str, str], codes: dict[str, int], total: int) -> dict[str, str]:
    if len(refused) < total:
        return refused
    detail = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
    if all(500 <= code < 600 for code in codes.values()):
        raise PermanentDeliveryError(f"delivery failed for every recipient: {detail}")
    raise TransientDeliveryError(f"delivery deferred for every recipient: {detail}")


def deliver_lmtp(
    host: str,
    port: int,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    timeout: float = 30,
) -> dict[str, str]:
    """Deliver ``data`` to ``recipients`` over LMTP; returns per-recipient refusals.

    ``sender`` may be ``""`` (null reverse-path, for bounces). Line endings in ``data`` are
    normalised to CRLF; dot-stuffing is done by smtplib.
    """
    if isinstance(recipients, str):
        recipients = [recipients]
    rcpts = list(dict.fromkeys(validate_address(r) for r in recipients))
    if not rcpts:
        raise InvalidRequest("LMTP delivery needs at least one recipient")
    if sender:
        sender = validate_address(sender)
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidRequest("the message to deliver must be non-empty bytes")
    payload = _normalise_data(bytes(data))

    refused: dict[str, str] = {}
    codes: dict[str, int] = {}
    where = f"LMTP server {host}" if host.startswith("/") else f"LMTP server {host}:{port}"
    try:
        with smtplib.LMTP(host, port, timeout=timeout) as lmtp:
            code, text = lmtp.ehlo()  # sends LHLO
            if code != 250:
                _raise_for(code, _reply(code, text), f"LHLO to {where}")
            code, text = lmtp.mail(sender)
            if code != 250:
                _raise_for(code, _reply(code, text), f"sender <{sender}>")
            accepted: list[str] = []
            for rcpt in rcpts:
                code, text = lmtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted.append(rcpt)
                else:
                    refused[rcpt], codes[rcpt] = _reply(code, text), code
            if not accepted:
                lmtp.rset()
                return _summarise(refused, codes, len(rcpts))
            # DATA: smtplib returns the first recipient's reply; read one more per recipient.
            replies = [lmtp.data(payload)]
            replies += [lmtp.getreply() for _ in accepted[1:]]
            for rcpt, (code, text) in zip(accepted, replies, strict=True):
                if code != 250:
                    refused[rcpt], codes[rcpt] = _reply(code, text), code
    except (PermanentDeliveryError, TransientDeliveryError):
        raise
    except smtplib.SMTPResponseException as exc:  # e.g. DATA refused before the body (354)
        _raise_for(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error), f"message to {where}")
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"cannot deliver via {where}: {exc}") from exc
    return _summarise(refused, codes, len(rcpts))


async def deliver_lmtp_async(
    host: str,
    port: int,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    timeout: float = 30,
) -> dict[str, str]:
    """:func:`deliver_lmtp` in a worker thread (for the asyncio daemon)."""
    return await asyncio.to_thread(deliver_lmtp, host, port, sender, recipients, data, timeout)
