"""What a rule says and whether a message meets it: validation, compilation and matching.

A rule is ``match`` (``all`` or ``any``) over ``conditions`` and a list of ``actions``. Rule text
and mail are both untrusted-ish, so patterns run on RE2 (linear time in the text whatever the
pattern, memory capped), the text a pattern reads is capped (:data:`MAX_TEXT`), and an invalid
pattern is refused when the rule is saved (``400 invalid_rule``), never at delivery. No I/O.

Conditions (``"not": true`` negates any of them)::

    {"field": "from" | "to" | "subject" | "body", "op": "contains" | "equals" | "matches",
     "value": "text or RE2 pattern"}          # case-insensitive; "to" covers To and Cc
    {"field": "has_attachment", "value": true}
    {"field": "score", "op": "gte" | "lte" | "gt" | "lt" | "eq", "value": 40}
    {"field": "category", "value": "phishing"}       # the verdict's top category ("none")
    {"field": "spf" | "dkim" | "dmarc", "value": "pass"}
    {"field": "authenticated", "value": true}  # internal mail, or DMARC pass

Actions: ``move`` (``folder``), ``tag`` (``tag``), ``mark_read``, ``forward`` (``to``: another
agent), ``delete`` (to Trash), ``stop`` (no later rule runs).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from ..errors import InvalidRequest
from ..models import ParsedMessage
from ..security.patterns import compile_untrusted
from ..security.verdict import SecurityVerdict
from ..store.rules import RuleRow

TEXT_FIELDS = ("from", "to", "subject", "body")
TEXT_OPS = ("contains", "equals", "matches")
NUMBER_OPS = {"gte": lambda a, b: a >= b, "lte": lambda a, b: a <= b,
              "gt": lambda a, b: a > b, "lt": lambda a, b: a < b, "eq": lambda a, b: a == b}
AUTH_FIELDS = ("spf", "dkim", "dmarc")
FIELDS = (*TEXT_FIELDS, "has_attachment", "score", "category", *AUTH_FIELDS, "authenticated")
ACTIONS = ("move", "tag", "mark_read", "forward", "delete", "stop")
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_VALUE = 1000
MAX_TEXT = 256 * 1024  # characters of a field a condition reads
REGEX_MEMORY = 8 << 20


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="invalid_rule")


def compile_pattern(pattern: str) -> Any:
    """``pattern`` as a case-insensitive RE2 regex (memory capped); ``invalid_rule`` saying
    why when it is not one."""
    try:
        return compile_untrusted(pattern, max_mem=REGEX_MEMORY)
    except InvalidRequest as exc:
        raise _invalid(exc.message) from None


_compiled = functools.lru_cache(maxsize=256)(compile_pattern)  # rules run on every message


def _text_value(cond: Mapping[str, Any]) -> str:
    value = cond.get("value")
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
        raise _invalid(f"condition on {cond.get('field')!r} needs a 'value' of 1-{MAX_VALUE} "
                       "characters")
    return value


def check_condition(cond: Any) -> dict[str, Any]:
    """One condition, normalised; ``invalid_rule`` saying what is wrong."""
    if not isinstance(cond, Mapping):
        raise _invalid("each condition is an object with 'field' (and 'op', 'value')")
    field = str(cond.get("field"))
    if field not in FIELDS:
        raise _invalid(f"unknown condition field {str(field)[:40]!r}; one of {', '.join(FIELDS)}")
    out: dict[str, Any] = {"field": field}
    if field in TEXT_FIELDS:
        op = cond.get("op", "contains")
        if op not in TEXT_OPS:
            raise _invalid(f"condition on {field!r}: op is one of {', '.join(TEXT_OPS)}")
        value = _text_value(cond)
        if op == "matches":
            compile_pattern(value)
        out.update(op=op, value=value)
    elif field == "score":
        op, number = cond.get("op", "gte"), cond.get("value")
        if op not in NUMBER_OPS or not isinstance(number, int) or isinstance(number, bool):
            raise _invalid(f"condition on score: op is one of {', '.join(NUMBER_OPS)} and "
                           "value a whole number")
        out.update(op=op, value=number)
    elif field in ("has_attachment", "authenticated"):
        value = cond.get("value", True)
        if not isinstance(value, bool):
            raise _invalid(f"condition on {field!r}: value is true or false")
        out["value"] = value
    else:  # category, spf, dkim, dmarc: one word
        out["value"] = _text_value(cond).strip().lower()
    if cond.get("not"):
        out["not"] = True
    return out


def check_action(action: Any) -> dict[str, Any]:
    """One action, normalised (a forward's agent is resolved by the caller)."""
    if not isinstance(action, Mapping) or action.get("type") not in ACTIONS:
        raise _invalid(f"each action is an object with 'type' one of {', '.join(ACTIONS)}")
    kind = action["type"]
    out: dict[str, Any] = {"type": kind}
    needs = {"move": "folder", "tag": "tag", "forward": "to"}.get(kind)
    if needs is not None:
        value = action.get(needs)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise _invalid(f"a {kind} action needs {needs!r}")
        out[needs] = value.strip()
    return out


def check(match: str, conditions: Any, actions: Any) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """Conditions and actions of a rule, each checked and normalised."""
    if match not in ("all", "any"):
        raise _invalid("match is 'all' or 'any'")
    if not isinstance(conditions, list) or not isinstance(actions, list):
        raise _invalid("conditions and actions are lists")
    if len(conditions) > MAX_CONDITIONS:
        raise _invalid(f"at most {MAX_CONDITIONS} conditions per rule")
    if not actions or len(actions) > MAX_ACTIONS:
        raise _invalid(f"a rule has 1-{MAX_ACTIONS} actions")
    return [check_condition(c) for c in conditions], [check_action(a) for a in actions]


def authenticated(verdict: SecurityVerdict) -> bool:
    """Whether the message proves who sent it: internal (the daemon's verified origin
    stamp) or DMARC pass for its From domain (docs/security.md: trust comes from how a
    message arrived, never from what it claims)."""
    return verdict.score.internal or verdict.score.auth.dmarc == "pass"


@dataclass(frozen=True)
class Facts:
    """What conditions read of one message (lower-cased texts, capped)."""

    from_: str
    to: str
    subject: str
    body: str
    has_attachment: bool
    verdict: SecurityVerdict
    _folded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, parsed: ParsedMessage, text: str, verdict: SecurityVerdict) -> Facts:
        recipients = ", ".join((*parsed.to, *parsed.cc))
        return cls(parsed.from_[:MAX_TEXT], recipients[:MAX_TEXT], parsed.subject[:MAX_TEXT],
                   text[:MAX_TEXT], bool(parsed.attachments), verdict)

    def text(self, field: str) -> str:
        return {"from": self.from_, "to": self.to, "subject": self.subject,
                "body": self.body}[field]

    def folded(self, field: str) -> str:
        """The field case-folded, once per message however many conditions read it."""
        if field not in self._folded:
            self._folded[field] = self.text(field).casefold()
        return self._folded[field]


def _equals(field: str, text: str, value: str) -> bool:
    if field in ("from", "to"):  # an address equals one of the addresses there
        return value.casefold() in {a.casefold() for _, a in getaddresses([text]) if a} \
            or text.casefold() == value.casefold()
    return text.strip().casefold() == value.casefold()


def _holds(cond: Mapping[str, Any], facts: Facts) -> bool:
    field = cond["field"]
    if field in TEXT_FIELDS:
        text, value = facts.text(field), cond["value"]
        if cond["op"] == "contains":
            return value.casefold() in facts.folded(field)
        if cond["op"] == "equals":
            return _equals(field, text, value)
        return _compiled(value).search(text) is not None
    verdict = facts.verdict
    if field == "has_attachment":
        return facts.has_attachment is cond["value"]
    if field == "score":
        return bool(NUMBER_OPS[cond["op"]](verdict.score.score, cond["value"]))
    if field == "category":
        return (verdict.category or "none").lower() == cond["value"]
    if field in AUTH_FIELDS:
        return str(getattr(verdict.score.auth, field)).lower() == cond["value"]
    return authenticated(verdict) is cond["value"]


def matches(match: str, conditions: list[dict[str, Any]], facts: Facts) -> bool:
    """Whether ``facts`` meet the conditions (a rule without conditions matches all mail)."""
    if not conditions:
        return True
    results = (_holds(c, facts) != bool(c.get("not")) for c in conditions)
    return all(results) if match == "all" else any(results)


@dataclass(frozen=True)
class Matched:
    """A rule that matched a message and the actions it asks for."""

    rule: RuleRow
    actions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.rule.id, "name": self.rule.name, "actions": self.actions}


def evaluate(rules: list[RuleRow], parsed: ParsedMessage, text: str,
             verdict: SecurityVerdict) -> list[Matched]:
    """The enabled rules ``parsed`` meets, in order, up to and including one that stops."""
    facts = Facts.of(parsed, text, verdict)
    found: list[Matched] = []
    for rule in rules:
        if not rule.enabled or not matches(rule.match, rule.conditions, facts):
            continue
        found.append(Matched(rule, list(rule.actions)))
        if any(a["type"] == "stop" for a in rule.actions):
            break
    return found
