"""Inbound protection for mail that agents read: pure functions, no I/O, no clock.

* :func:`score` rates a message 0-100 against the rule table in :mod:`.rule_table`
  (spam at >= 40, warning at 20-39) and names the top threat category.
* :func:`sanitize` removes invisible Unicode and hidden HTML before a model sees the text
  and reports what it removed.
* :func:`advise` summarises risky attachments and links for a reader.
* :mod:`.origin` makes and checks the daemon's origin stamp: the only proof that mail is
  internal (the key is passed in).
* :func:`parse_auth_results` / :func:`compute_auth` give SPF/DKIM/DMARC verdicts;
  ``compute_auth`` is the only function that may use DNS (injectable, hard timeout).

Inputs are raw bytes or an :class:`email.message.Message`; outputs are frozen dataclasses
with ``to_dict()`` for JSON.
"""

from agenticmail.security.advisory import Advisory, advise
from agenticmail.security.authresults import AuthVerdicts, compute_auth, parse_auth_results
from agenticmail.security.rule_table import RULES
from agenticmail.security.sanitize import (
    Detection,
    SanitizeResult,
    sanitize,
    sanitize_html,
    sanitize_text,
)
from agenticmail.security.scoring import RuleHit, Verdict, score

__all__ = [
    "RULES",
    "Advisory",
    "AuthVerdicts",
    "Detection",
    "RuleHit",
    "SanitizeResult",
    "Verdict",
    "advise",
    "compute_auth",
    "parse_auth_results",
    "sanitize",
    "sanitize_html",
    "sanitize_text",
    "score",
]
