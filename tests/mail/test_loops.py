"""Automated-mail detection (RFC 3834 and friends), table-driven: hits and near misses."""

from __future__ import annotations

import pytest

from agenticmail.mail.loops import automated_reason

CASES = [
    ({"Auto-Submitted": "auto-replied"}, "a@x.org", "Auto-Submitted: auto-replied"),
    ({"Auto-Submitted": "auto-generated"}, "a@x.org", "Auto-Submitted: auto-generated"),
    ({"Auto-Submitted": "no"}, "a@x.org", None),
    ({"Precedence": "bulk"}, "a@x.org", "Precedence: bulk"),
    ({"Precedence": "first-class"}, "a@x.org", None),
    ({"X-Autoreply": "yes"}, "a@x.org", "x-autoreply header"),
    ({"List-Id": "<dev.lists.x.org>"}, "a@x.org", "mailing-list message"),
    ({}, "MAILER-DAEMON@x.org", "bounce or no-reply sender"),
    ({}, "No-Reply <no-reply@service.com>", "bounce or no-reply sender"),
    ({}, "noreply+tag@service.com", "bounce or no-reply sender"),
    ({}, "noreplyfan@x.org", None),
    ({}, "Daemon Fan <daemon@x.org>", None),
    ({}, "", "no sender address"),
    ({"Return-Path": "<>"}, "a@x.org", "null return path (a bounce)"),
    ({"Subject": "auto-submitted thoughts"}, "a@x.org", None),
]


@pytest.mark.parametrize(("headers", "from_", "reason"), CASES)
def test_automated_reason(headers: dict[str, str], from_: str, reason: str | None) -> None:
    assert automated_reason(headers, from_) == reason
