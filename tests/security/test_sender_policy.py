"""Per-sender policy, the pure part: parsing (every mistake one clear error), matching
(address, domain, wildcard, regex; first rule wins), requirements (an allowlisted sender
whose authentication fails is not trusted), rate limits and capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenticmail.security.sender_policy import CAPABILITIES, PolicyError, decide, parse
from agenticmail.services.policies import PolicyBook

PASS = {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
FAIL = {"spf": "fail", "dkim": "fail", "dmarc": "fail"}

POLICY = parse("""
default = "quarantine"
capabilities = ["reply"]

[[sender]]
match = "billing@partner.example"
require = ["dkim", "dmarc"]
capabilities = ["reply", "forward", "attachments"]

[[sender]]
match = "*.partner.example"
action = "deliver"
per_hour = 2
per_day = 3

[[sender]]
match = "re:^noreply-[0-9]+@shop\\\\.example$"
action = "drop"

[[sender]]
match = "spammer.example"
action = "bounce"
""")


def test_the_first_matching_rule_decides() -> None:
    d = decide(POLICY, "billing@partner.example", auth=PASS)
    assert (d.action, d.rule, d.capabilities) == ("deliver", 0,
                                                   ("reply", "forward", "attachments"))
    assert decide(POLICY, "ops@eu.partner.example", auth=FAIL).rule == 1
    assert decide(POLICY, "ops@partner.example", auth=FAIL).rule == 1  # *.x covers x itself
    assert decide(POLICY, "noreply-42@shop.example", auth=FAIL).action == "drop"
    assert decide(POLICY, "noreply-x@shop.example", auth=FAIL).rule is None
    assert decide(POLICY, "Anyone@SPAMMER.example", auth=PASS).action == "bounce"
    other = decide(POLICY, "someone@else.example", auth=PASS)
    assert (other.action, other.rule, other.capabilities) == ("quarantine", None, ("reply",))


def test_an_allowlisted_sender_whose_authentication_fails_is_not_trusted() -> None:
    d = decide(POLICY, "billing@partner.example", auth={**PASS, "dkim": "fail"})
    assert d.action == "quarantine" and d.failed == ("dkim",)
    assert d.capabilities == ("reply",)  # the default's, not the rule's
    assert "dkim" in d.reason and "not trusted" in d.reason


def test_rate_limits_count_the_senders_recent_mail() -> None:
    asked: list[bool] = []

    def recent(counts: tuple[int, int]):  # type: ignore[no-untyped-def]
        def ask() -> tuple[int, int]:
            asked.append(True)
            return counts
        return ask

    assert decide(POLICY, "a@partner.example", auth=PASS, recent=recent((1, 1))).action == \
        "deliver"
    assert decide(POLICY, "a@partner.example", auth=PASS, recent=recent((2, 2))).action == \
        "quarantine"
    assert decide(POLICY, "a@partner.example", auth=PASS, recent=recent((0, 3))).action == \
        "quarantine"
    n = len(asked)
    decide(POLICY, "billing@partner.example", auth=PASS, recent=recent((99, 99)))
    assert len(asked) == n, "a rule with no limit never counts"


def test_no_policy_file_is_the_open_policy() -> None:
    d = decide(parse(""), "x@y.example", auth=FAIL)
    assert (d.action, d.capabilities) == ("deliver", CAPABILITIES)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("default = 'maybe'", "default"),
        ("default = ", "not valid TOML"),
        ("colour = 'red'", "unknown key"),
        ("[[sender]]\nmatch = 'a@b.example'\naction = 'explode'", "sender #1: action"),
        ("[[sender]]\nmatch = 'a@b.example'\nrequire = ['dnssec']", "sender #1: require"),
        ("[[sender]]\nmatch = 're:(a'", "sender #1"),
        ("[[sender]]\nmatch = 're:(a)\\1'", "sender #1"),  # backreference: not linear
        ("[[sender]]\naction = 'drop'", "'match'"),
        ("[[sender]]\nmatch = 'a@b.example'\nper_hour = -1", "per_hour"),
        ("[[sender]]\nmatch = 'a@b.example'\nper_day = true", "per_day"),
        ("[[sender]]\nmatch = 'a@b.example'\ncapabilities = ['root']", "capabilities"),
        ("capabilities = 'reply'", "capabilities"),
        ("sender = 3", "[[sender]]"),
        ("# " + "x" * 70_000, "bytes"),
    ],
)
def test_a_broken_policy_is_one_clear_error(text: str, says: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(text)
    assert says in str(caught.value) and caught.value.code == "invalid_policy"


def test_a_file_caught_between_truncate_and_write_keeps_the_last_good(tmp_path: Path) -> None:
    """An editor (or ``write_text``) truncates, then writes: a reload in between sees an
    empty file, which must not become the open policy (and the last good one after it)."""
    book = PolicyBook(tmp_path)
    path = book.path("bob")
    path.write_text('default = "quarantine"\n')
    assert book.get("bob").policy.default == "quarantine"
    path.write_text("")  # the moment between truncate and write
    empty = book.get("bob")
    assert empty.policy.default == "quarantine" and empty.error and "empty" in empty.error
    path.write_text('default = "deliver"\n[[sender]]\nmatch = \n')  # then a broken edit
    broken = book.get("bob")
    assert broken.policy.default == "quarantine" and "not valid TOML" in (broken.error or "")
    path.write_text('default = "deliver"\n')
    assert book.get("bob").policy.default == "deliver" and book.get("bob").error is None
    path.unlink()
    assert book.get("bob").policy.default == "deliver" and book.get("bob").text is None
