"""Address validation, normalisation and plus-addressing (pure)."""

from __future__ import annotations

import pytest

from agenticmail.errors import InvalidRequest
from agenticmail.mail.addresses import (
    domain_of,
    format_address,
    is_valid_address,
    parse_address,
    plus_address,
    same_address,
    split_plus,
    validate_address,
)


@pytest.mark.parametrize(
    ("raw", "display", "addr"),
    [
        ("a@b.test", "", "a@b.test"),
        ("  Alice@Example.TEST  ", "", "Alice@example.test"),
        ("Alice <alice@example.test>", "Alice", "alice@example.test"),
        ('"Doe, Jane" <jane@Example.com>', "Doe, Jane", "jane@example.com"),
        ('"say \\"hi\\"" <q@x.test>', 'say "hi"', "q@x.test"),
        ("<bare@x.test>", "", "bare@x.test"),
        ("Jörg Müller <j@x.test>", "Jörg Müller", "j@x.test"),
        ("=?utf-8?q?J=C3=B6rg?= <j@x.test>", "Jörg", "j@x.test"),
        ("bot+news@x.test", "", "bot+news@x.test"),
        ("o'brien.x_y-z@sub.x.test", "", "o'brien.x_y-z@sub.x.test"),
        ("x@bücher.de", "", "x@xn--bcher-kva.de"),
        ("agent@localhost", "", "agent@localhost"),
    ],
)
def test_parse_address_valid(raw: str, display: str, addr: str) -> None:
    assert parse_address(raw) == (display, addr)
    assert validate_address(raw) == addr
    assert is_valid_address(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "required"),
        ("   ", "required"),
        ("plainaddress", "missing '@'"),
        ("a@b@c.test", "more than one '@'"),
        ("@x.test", "missing local part"),
        ("a@", "missing domain"),
        ("a b@x.test", "whitespace"),
        ("a..b@x.test", "local part"),
        (".a@x.test", "local part"),
        ("a.@x.test", "local part"),
        ("a@x..test", "empty label"),
        ("a@x.test.", "empty label"),
        ("a@-x.test", "domain label"),
        ("a@x_y.test", "domain label"),
        ("a@[127.0.0.1]", "address literals"),
        ("é@x.test", "non-ASCII"),
        ("a@b.test, c@d.test", "one address"),
        ("a@b.test; c@d.test", "one address"),
        ("Doe, Jane <j@x.test>", "double quotes"),
        ("a@b.test\r\nBcc: evil@x.test", "control characters"),
        ("Name <a@b.test>\nX: y", "control characters"),
        ("Alice <alice@x.test", "angle brackets"),
        ("Alice <a@x.test> trailing", "angle brackets"),
        ("<a@x.test> <b@x.test>", "angle brackets"),
        ('"unterminated <a@x.test>', "quotes"),
        ("x" * 65 + "@x.test", "longer than 64"),
        ("a@" + ".".join(["a" * 60] * 5), "longer than 253"),
        ("a@" + "b" * 64 + ".test", "domain label"),
    ],
)
def test_invalid_addresses_raise_clear_errors(raw: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        validate_address(raw)
    assert reason in str(info.value)
    assert not is_valid_address(raw)


def test_non_string_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="must be a string"):
        validate_address(None)  # type: ignore[arg-type]


def test_long_input_is_truncated_in_the_message() -> None:
    with pytest.raises(InvalidRequest) as info:
        validate_address("x" * 500)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("raw", "domain"),
    [("a@Example.TEST", "example.test"), ("Bob <b@Sub.X.test>", "sub.x.test")],
)
def test_domain_of(raw: str, domain: str) -> None:
    assert domain_of(raw) == domain


def test_domain_of_rejects_garbage() -> None:
    with pytest.raises(InvalidRequest):
        domain_of("nodomain")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bot+news@x.test", ("bot@x.test", "news")),
        ("bot+a+b@x.test", ("bot@x.test", "a+b")),
        ("bot@x.test", ("bot@x.test", None)),
        ("bot+@x.test", ("bot@x.test", None)),
        ("+tag@x.test", ("+tag@x.test", None)),
        ("Bot <Bot+Tag@X.test>", ("Bot@x.test", "Tag")),
    ],
)
def test_split_plus(raw: str, expected: tuple[str, str | None]) -> None:
    assert split_plus(raw) == expected


@pytest.mark.parametrize(
    ("owner", "tag", "expected"),
    [
        ("bot@x.test", "news", "bot+news@x.test"),
        ("bot@X.test", "2024-q1.reports", "bot+2024-q1.reports@x.test"),
        ("Bot <bot@x.test>", "a_b", "bot+a_b@x.test"),
    ],
)
def test_plus_address(owner: str, tag: str, expected: str) -> None:
    built = plus_address(owner, tag)
    assert built == expected
    assert split_plus(built) == (validate_address(owner), tag)


@pytest.mark.parametrize(
    ("owner", "tag", "reason"),
    [
        ("bot@x.test", "", "non-empty"),
        ("bot@x.test", "a+b", "invalid plus-address tag"),
        ("bot@x.test", "a@b", "invalid plus-address tag"),
        ("bot@x.test", "a b", "invalid plus-address tag"),
        ("bot@x.test", ".lead", "invalid plus-address tag"),
        ("bot@x.test", "x\r\ny", "invalid plus-address tag"),
        ("bot+old@x.test", "new", "already has a plus tag"),
        ("bot@x.test", "t" * 70, "longer than 64"),
        ("not-an-address", "tag", "missing '@'"),
    ],
)
def test_plus_address_rejects(owner: str, tag: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        plus_address(owner, tag)


def test_same_address_is_case_insensitive() -> None:
    assert same_address("Bot@X.test", "Robot <bot@x.TEST>")
    assert not same_address("bot@x.test", "bot2@x.test")


@pytest.mark.parametrize(
    ("display", "addr", "expected"),
    [
        (None, "a@X.test", "a@x.test"),
        ("", "a@x.test", "a@x.test"),
        ("Alice", "a@x.test", "Alice <a@x.test>"),
        ("Doe, Jane", "j@x.test", '"Doe, Jane" <j@x.test>'),
        ("Jörg", "j@x.test", "Jörg <j@x.test>"),
    ],
)
def test_format_address(display: str | None, addr: str, expected: str) -> None:
    assert format_address(display, addr) == expected


def test_format_address_rejects_header_injection_in_name() -> None:
    with pytest.raises(InvalidRequest, match="control characters"):
        format_address("Eve\r\nBcc: x@y.test", "e@x.test")
