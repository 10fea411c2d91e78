"""Reading an inbound message within bounds: every message gets a verdict in bounded time.

:func:`screen` wraps :func:`.protection.assess` for the watcher and for API reads. A message
over a parsing bound (:func:`agenticmail.mail.bounds.check`), with HTML the sanitiser would
not read, or whose parse and assessment outlast its time budget
(``message_time_budget_seconds``) gets the ``too_complex`` verdict
(:mod:`agenticmail.security.complexity`) and a withheld body: it is quarantined in Spam like
spam and announced, never dropped, and never read again — its stored verdict is reused.

The budget is a cooperative deadline checked between steps; that is enough because every step
is bounded: the bounds are checked in linear time before any parser runs, and each step after
them (parse, sanitise, score, advise, authentication with its DNS timeout) works on a message
within them.
"""

from __future__ import annotations

import time

from ..security.complexity import HTML_LIMITS, TOO_COMPLEX, too_complex
from ..security.mime_view import InboundMessage, read
from ..security.sanitize import Detection
from ..security.verdict import SecurityVerdict, TooComplexLimit
from .context import ServiceContext
from .protection import Assessment, assess

__all__ = ["Deadline", "screen", "too_complex_assessment"]


class Deadline:
    """A time budget started now (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @classmethod
    def for_message(cls, ctx: ServiceContext) -> Deadline:
        return cls(ctx.settings.message_time_budget_seconds)

    def passed(self) -> bool:
        return time.monotonic() >= self._end


def too_complex_assessment(limit: str, detail: str) -> Assessment:
    """The assessment of a message not read further: verdict ``too_complex``, body withheld."""
    verdict = too_complex(limit, detail)
    security = SecurityVerdict(
        verdict, None, True,
        (Detection(TOO_COMPLEX, f"body withheld: {verdict.rules[0].description}", 1),),
        TooComplexLimit(limit, detail))
    return Assessment(security, True, "", None)


def _over_budget(deadline: Deadline) -> Assessment:
    return too_complex_assessment(
        "time_budget", f"reading it took over {deadline.seconds:g} s")


def screen(ctx: ServiceContext, raw: bytes | InboundMessage,
           stored: SecurityVerdict | None = None,
           deadline: Deadline | None = None,
           known_domains: frozenset[str] | None = None) -> Assessment:
    """The assessment of ``raw`` within bounds: ``stored`` (the verdict given at delivery) is
    reused, a ``too_complex`` one without reading the message at all. ``raw`` may be the
    message as parsed once at ingest (:func:`agenticmail.security.mime_view.read`, bounded).
    ``known_domains``: see :func:`.protection.assess`."""
    if stored is not None and stored.category == TOO_COMPLEX:
        return Assessment(stored, True, "", None)
    deadline = deadline or Deadline.for_message(ctx)
    message = read(raw, bounded=True)  # the bounds are checked before the parser runs
    if message.exceeded is not None:
        return too_complex_assessment(message.exceeded.limit, message.exceeded.detail)
    if deadline.passed():
        return _over_budget(deadline)
    assessment = assess(ctx, message, stored, known_domains)
    if stored is None:
        for found in assessment.security.detections:
            if found.type in HTML_LIMITS:
                return too_complex_assessment(HTML_LIMITS[found.type], found.description)
    if deadline.passed():
        return _over_budget(deadline)
    return assessment
