"""The agent-facing JSON of one message, as events, reads and threads give it: sanitised
bodies (capped for events), the security block, and the loop-safety flag."""

from __future__ import annotations

from typing import Any

from ..mail.loops import automated_reason
from ..models import ParsedMessage
from .protection import Assessment

EVENT_BODY_LIMIT = 64 * 1024


def message_payload(message: ParsedMessage, assessment: Assessment | None = None,
                    limit: int | None = EVENT_BODY_LIMIT) -> dict[str, Any]:
    """The agent-facing JSON of a message: sanitised bodies (capped for events), the security
    block, and the loop-safety flag (automated mail should not be answered)."""
    data = message.to_dict()
    text = assessment.text if assessment else (message.text or "")
    html = assessment.html if assessment else message.html
    data["text"] = text[:limit] if limit else text
    data["html"] = (html[:limit] if limit else html) if html else None
    data["security"] = assessment.security.to_dict() if assessment else None
    reason = automated_reason(message.headers, message.from_)
    data["automated"] = {"flag": reason is not None, "reason": reason}
    return data
