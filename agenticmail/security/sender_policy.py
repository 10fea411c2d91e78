"""Per-sender policy of one agent: who may write to it, proven how, how often, and what the
agent may do with their mail.

The owner writes it as TOML (or through the API, which stores the same text)::

    default = "deliver"                 # deliver | quarantine | bounce | drop
    capabilities = ["reply"]            # what the agent may do with mail no rule names

    [[sender]]
    match = "billing@partner.example"   # an address, a domain ("partner.example" or
    require = ["dkim", "dmarc"]         #   "*.partner.example"), or "re:<regex>"
    action = "deliver"
    on_fail = "quarantine"              # when a requirement fails (default: quarantine)
    capabilities = ["reply", "forward", "attachments"]
    per_hour = 20                       # rate limits per sender (over them: on_limit,
    per_day = 100                       #   default quarantine)

Rules are tried in order; the first whose ``match`` names the sender decides. A rule's
capabilities are granted only when every requirement passed: an allowlisted sender whose
authentication fails is not trusted (:func:`decide` then applies ``on_fail`` and the default
capabilities). Pure functions: parsing and deciding do no I/O; the caller passes the
authentication verdicts and the sender's recent message counts.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agenticmail.errors import InvalidRequest
from agenticmail.mail.addresses import domain_of
from agenticmail.security.patterns import compile_untrusted

__all__ = ["ACTIONS", "CAPABILITIES", "REQUIREMENTS", "Decision", "Policy", "PolicyError",
           "SenderRule", "decide", "parse"]

ACTIONS = ("deliver", "quarantine", "bounce", "drop")
REQUIREMENTS = ("dkim", "spf", "dmarc")
CAPABILITIES = ("reply", "forward", "attachments", "links", "tools")
MAX_POLICY_BYTES = 64 * 1024
MAX_RULES = 500
MAX_PATTERN = 256


class PolicyError(InvalidRequest):
    """A policy file that cannot be used; the message says where and why."""

    code = "invalid_policy"


@dataclass(frozen=True)
class SenderRule:
    match: str
    action: str = "deliver"
    require: tuple[str, ...] = ()
    on_fail: str = "quarantine"
    capabilities: tuple[str, ...] | None = None  # None: the policy's default capabilities
    per_hour: int | None = None
    per_day: int | None = None
    on_limit: str = "quarantine"

    def matches(self, sender: str) -> bool:
        sender = sender.lower()
        if self.match.startswith("re:"):
            return _regex(self.match[3:]).search(sender) is not None
        if "@" in self.match:
            return fnmatch.fnmatchcase(sender, self.match.lower())
        domain = domain_of(sender, validate=False) if "@" in sender else ""
        wanted = self.match.lower().lstrip("@")
        if wanted.startswith("*."):
            return domain.endswith(wanted[1:]) or domain == wanted[2:]
        return domain == wanted


@dataclass(frozen=True)
class Policy:
    default: str = "deliver"
    capabilities: tuple[str, ...] = CAPABILITIES
    rules: tuple[SenderRule, ...] = ()


OPEN = Policy()  # no policy file: everything delivered, every capability (as before policies)


@dataclass(frozen=True)
class Decision:
    """What the policy says about one message: the action, the capabilities granted, which
    rule decided (its index and match, or None for the default) and why, in words."""

    action: str
    capabilities: tuple[str, ...]
    rule: int | None
    match: str | None
    reason: str
    failed: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {"action": self.action, "capabilities": list(self.capabilities),
                "rule": self.rule, "match": self.match, "reason": self.reason,
                "failed": list(self.failed)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        rule = data.get("rule")
        return cls(str(data.get("action", "deliver")),
                   tuple(str(c) for c in data.get("capabilities", ())),
                   None if rule is None else int(rule), data.get("match"),
                   str(data.get("reason", "")), tuple(str(f) for f in data.get("failed", ())))


_regex = functools.lru_cache(maxsize=1024)(compile_untrusted)


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise PolicyError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _names(value: object, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{where}: expected a list of {', '.join(allowed)}")
    return tuple(_choice(v, allowed, where) for v in value)


def _limit(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PolicyError(f"{where}: expected a whole number >= 0")
    return value


def parse(text: str) -> Policy:
    """The policy a TOML text describes; :class:`PolicyError` saying what is wrong."""
    if len(text.encode("utf-8", "replace")) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy over {MAX_POLICY_BYTES} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not valid TOML: {error}") from None
    unknown = set(data) - {"default", "capabilities", "sender"}
    if unknown:
        raise PolicyError(f"unknown key(s): {', '.join(sorted(unknown))}")
    senders = data.get("sender", [])
    if not isinstance(senders, list) or len(senders) > MAX_RULES:
        raise PolicyError(f"[[sender]] must be a list of at most {MAX_RULES} tables")
    rules = []
    for i, item in enumerate(senders, 1):
        where = f"sender #{i}"
        if not isinstance(item, dict):
            raise PolicyError(f"{where}: expected a table")
        unknown = set(item) - {"match", "action", "require", "on_fail", "capabilities",
                               "per_hour", "per_day", "on_limit"}
        if unknown:
            raise PolicyError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        match = item.get("match")
        if not isinstance(match, str) or not match.strip() or len(match) > MAX_PATTERN:
            raise PolicyError(f"{where}: 'match' must be an address, a domain or re:<regex>")
        match = match.strip()
        if match.startswith("re:"):
            try:
                _regex(match[3:])
            except InvalidRequest as error:
                raise PolicyError(f"{where}: {error}") from None
        caps = item.get("capabilities")
        rules.append(SenderRule(
            match=match,
            action=_choice(item.get("action", "deliver"), ACTIONS, f"{where}: action"),
            require=_names(item.get("require", []), REQUIREMENTS, f"{where}: require"),
            on_fail=_choice(item.get("on_fail", "quarantine"), ACTIONS, f"{where}: on_fail"),
            capabilities=None if caps is None else _names(caps, CAPABILITIES,
                                                          f"{where}: capabilities"),
            per_hour=_limit(item.get("per_hour"), f"{where}: per_hour"),
            per_day=_limit(item.get("per_day"), f"{where}: per_day"),
            on_limit=_choice(item.get("on_limit", "quarantine"), ACTIONS,
                             f"{where}: on_limit"),
        ))
    caps = data.get("capabilities")
    return Policy(
        default=_choice(data.get("default", "deliver"), ACTIONS, "default"),
        capabilities=CAPABILITIES if caps is None else _names(caps, CAPABILITIES,
                                                              "capabilities"),
        rules=tuple(rules),
    )


def _no_mail() -> tuple[int, int]:
    return 0, 0


def decide(policy: Policy, sender: str, *, auth: dict[str, str],
           recent: Callable[[], tuple[int, int]] = _no_mail) -> Decision:
    """The decision for mail from ``sender`` whose authentication verdicts are ``auth``
    (``spf``/``dkim``/``dmarc`` result words); ``recent()`` gives (messages in the last hour,
    in the last day) from that sender before this one, asked only by a rule with a limit."""
    for index, rule in enumerate(policy.rules):
        if not rule.matches(sender):
            continue
        failed = tuple(r for r in rule.require if auth.get(r, "none") != "pass")
        if failed:
            return Decision(rule.on_fail, policy.capabilities, index, rule.match,
                            f"matched {rule.match!r} but {', '.join(failed)} did not pass: "
                            "not trusted", failed)
        hour, day = recent() if (rule.per_hour, rule.per_day) != (None, None) else (0, 0)
        if (rule.per_hour is not None and hour >= rule.per_hour) or (
                rule.per_day is not None and day >= rule.per_day):
            return Decision(rule.on_limit, policy.capabilities, index, rule.match,
                            f"matched {rule.match!r}: over its rate limit "
                            f"({hour}/hour, {day}/day)")
        granted = policy.capabilities if rule.capabilities is None else rule.capabilities
        proven = f" ({', '.join(rule.require)} passed)" if rule.require else ""
        return Decision(rule.action, granted, index, rule.match,
                        f"matched {rule.match!r}{proven}")
    return Decision(policy.default, policy.capabilities, None, None, "no rule matched: default")
