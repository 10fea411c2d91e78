"""Attachments an agent adds to a send, reply, forward or draft: from base64, a local file
(the owner only: an agent key may not read the owner's disk) or an https URL (SSRF-safe,
``providers.web_fetch``). Every source ends as the same :class:`Attachment`."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidRequest, PayloadTooLarge, PermissionDenied
from ..models import Attachment
from ..providers import web_fetch
from .context import ServiceContext

MAX_ATTACHMENTS = 50


@dataclass(frozen=True)
class AttachmentSource:
    """Exactly one of ``content_base64``, ``path``, ``url``."""

    filename: str | None = None
    content_type: str | None = None
    content_base64: str | None = None
    path: str | None = None
    url: str | None = None


def _guess(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def resolve(ctx: ServiceContext, sources: list[AttachmentSource], *, owner: bool
            ) -> tuple[Attachment, ...]:
    """Load every source; ``owner`` says whether the caller holds the master key (paths)."""
    if len(sources) > MAX_ATTACHMENTS:
        raise InvalidRequest(f"at most {MAX_ATTACHMENTS} attachments per message")
    cap = ctx.settings.max_attachment_bytes
    out: list[Attachment] = []
    for src in sources:
        given = [s for s in (src.content_base64, src.path, src.url) if s is not None]
        if len(given) != 1:
            raise InvalidRequest("each attachment needs exactly one of content_base64, path, "
                                 "url")
        if src.content_base64 is not None:
            if not src.filename:
                raise InvalidRequest("an attachment given as content_base64 needs a filename")
            try:
                content = base64.b64decode(src.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidRequest(f"attachment {src.filename!r}: content_base64 is not valid "
                                     "base64") from None
            out.append(Attachment(src.filename, src.content_type or _guess(src.filename),
                                  content))
        elif src.path is not None:
            out.append(_from_path(src, cap, owner))
        else:
            assert src.url is not None
            got = web_fetch.fetch(src.url, max_bytes=cap)
            out.append(Attachment(src.filename or got.filename, got.content_type, got.content))
    return tuple(out)


def _from_path(src: AttachmentSource, cap: int, owner: bool) -> Attachment:
    if not owner:
        raise PermissionDenied("an agent key may not attach files from the owner's disk",
                               hint="send the file as content_base64 or an https url")
    assert src.path is not None
    path = Path(src.path).expanduser()
    if not path.is_file():
        raise InvalidRequest(f"no file {src.path!r}")
    size = path.stat().st_size
    if size > cap:
        raise PayloadTooLarge(f"{path.name} is {size} bytes; the limit is {cap}")
    name = src.filename or path.name
    return Attachment(name, src.content_type or _guess(name), path.read_bytes())
