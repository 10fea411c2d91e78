"""The typed security verdict: on every fixture, its JSON is exactly the ``security`` block
agents have always read, and it reads back from that JSON (as the verdict store does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenticmail.security import advise, sanitize, score
from agenticmail.security.verdict import SecurityVerdict
from agenticmail.services.screening import too_complex_assessment

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "eml").rglob("*.eml"))
LOCAL = frozenset({"localhost"})


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_verdict_json_is_the_block_of_before_and_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    verdict, cleaned, advice = score(raw, local_domains=LOCAL), sanitize(raw), advise(raw)
    typed = SecurityVerdict(verdict, None if verdict.internal else advice, cleaned.changed,
                            cleaned.detections)
    block = {  # the dict services.protection.assess built before the verdict was typed
        **verdict.to_dict(),
        "advisory": None if verdict.internal else advice.to_dict(),
        "sanitizer": {"changed": cleaned.changed,
                      "detections": [d.to_dict() for d in cleaned.detections]},
    }
    assert json.dumps(typed.to_dict()) == json.dumps(block)
    back = SecurityVerdict.from_dict(json.loads(json.dumps(block)))
    assert back == typed


def test_a_too_complex_verdict_round_trips() -> None:
    security = too_complex_assessment("mime_depth", "41 levels").security
    data = security.to_dict()
    assert data["too_complex"] == {"limit": "mime_depth", "detail": "41 levels"}
    assert data["sanitizer"]["detections"][0]["type"] == "too_complex"
    assert SecurityVerdict.from_dict(json.loads(json.dumps(data))) == security
