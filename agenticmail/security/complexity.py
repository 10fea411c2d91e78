"""The ``too_complex`` verdict: what a message gets instead of a score when reading it would
cost more than any real mail does (over a parsing bound of :mod:`agenticmail.mail.bounds`,
HTML the sanitiser would not read, or over its time budget).

Such a message is not read further: it is quarantined like spam (score
:data:`~.rule_table.MAX_SCORE`, category ``too_complex``) with one rule hit naming the limit,
never dropped, so its recipient still learns that it arrived.
"""

from __future__ import annotations

from agenticmail.security.rule_table import MAX_SCORE
from agenticmail.security.scoring import RuleHit, Verdict

__all__ = ["HTML_LIMITS", "RULE_ID", "TOO_COMPLEX", "too_complex"]

TOO_COMPLEX = "too_complex"
RULE_ID = "TOO_COMPLEX"
# sanitiser detections that mean the HTML was too large or too deep to read
HTML_LIMITS = {"html_withheld": "html_tags", "html_too_deep": "html_depth"}


def too_complex(limit: str, detail: str) -> Verdict:
    """The verdict for a message over ``limit`` (``header_bytes``, ``encoded_words``,
    ``mime_depth``, ``html_depth``, ``time_budget`` ...); ``detail`` says what was found."""
    hit = RuleHit(RULE_ID, TOO_COMPLEX, MAX_SCORE,
                  f"too complex to read safely ({limit}): {detail}; quarantined unread")
    return Verdict(score=MAX_SCORE, spam=True, warning=False, category=TOO_COMPLEX,
                   rules=(hit,))
