"""The security verdict of an inbound message: the ``security`` block agents read.

One frozen value composed of the score (:class:`.scoring.Verdict`: score, category, rules,
authentication), the :class:`.advisory.Advisory` (external mail only), what the sanitiser
removed, and for a message not read at all the ``too_complex`` limit. ``to_dict`` is the JSON
of the API, the events and the verdict store; ``from_dict`` reads a stored one back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .advisory import Advisory, ItemAdvice
from .authresults import AuthVerdicts
from .sanitize import Detection
from .scoring import RuleHit, Verdict
from .sender_policy import Decision

__all__ = ["SecurityVerdict", "TooComplexLimit"]

TOO_COMPLEX_KEY = "too_complex"


@dataclass(frozen=True)
class TooComplexLimit:
    """The bound a message went over (``header_bytes``, ``time_budget`` ...) and what was found."""

    limit: str
    detail: str


@dataclass(frozen=True)
class SecurityVerdict:
    score: Verdict
    advisory: Advisory | None
    sanitizer_changed: bool
    detections: tuple[Detection, ...] = ()
    too_complex: TooComplexLimit | None = None
    policy: Decision | None = None  # the agent's per-sender policy (services/policies.py)

    @property
    def spam(self) -> bool:
        return self.score.spam

    @property
    def category(self) -> str | None:
        return self.score.category

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.score.to_dict(),
            "advisory": None if self.advisory is None else self.advisory.to_dict(),
            "sanitizer": {"changed": self.sanitizer_changed,
                          "detections": [d.to_dict() for d in self.detections]},
        }
        if self.too_complex is not None:
            data[TOO_COMPLEX_KEY] = {"limit": self.too_complex.limit,
                                     "detail": self.too_complex.detail}
        if self.policy is not None:
            data["policy"] = self.policy.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecurityVerdict:
        """The verdict ``to_dict`` gave (as stored); missing parts take their defaults."""
        auth = data.get("auth") or {}
        score = Verdict(
            score=int(data.get("score", 0)), spam=bool(data.get("spam", False)),
            warning=bool(data.get("warning", False)), category=data.get("category"),
            rules=tuple(RuleHit(r["id"], r["category"], int(r["points"]), r["description"])
                        for r in data.get("rules", [])),
            internal=bool(data.get("internal", False)),
            auth=AuthVerdicts(**{k: str(v) for k, v in auth.items()
                                 if k in ("spf", "dkim", "dmarc", "source", "dmarc_policy",
                                          "spf_domain")}))
        advice = data.get("advisory")
        advisory = None if advice is None else Advisory(
            advice.get("level"),
            tuple(_item(a) for a in advice.get("attachments", [])),
            tuple(_item(a) for a in advice.get("links", [])))
        sanitizer = data.get("sanitizer") or {}
        detections = tuple(Detection(d["type"], d.get("description", ""), int(d.get("count", 1)))
                           for d in sanitizer.get("detections", []))
        limit = data.get(TOO_COMPLEX_KEY)
        policy = data.get("policy")
        return cls(score, advisory, bool(sanitizer.get("changed", False)), detections,
                   None if limit is None else TooComplexLimit(limit["limit"], limit["detail"]),
                   None if policy is None else Decision.from_dict(policy))


def _item(data: Mapping[str, Any]) -> ItemAdvice:
    return ItemAdvice(data["name"], data.get("risk"), tuple(data.get("reasons", [])),
                      data.get("detail", ""))
