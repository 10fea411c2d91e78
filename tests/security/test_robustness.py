"""No input crashes the filters; adversarial inputs stay linear (generous bound only here,
precise timings are printed by scripts/eval_filters.py --bench)."""

from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenticmail.security import advise, sanitize, sanitize_html, score
from agenticmail_testing.adversarial import adversarial_messages

_HTML_BITS = st.sampled_from(
    [
        "<",
        ">",
        "<!--",
        "-->",
        "<div",
        "</div>",
        " style=",
        '"',
        "'",
        "display:none",
        "<script>",
        "</script>",
        "<a href=",
        "javascript:",
        "&#x200B;",
        "<p>",
        "<iframe",
        "=",
        "/",
        "\u202e",
        "\U000e0041",
        "\u200b",
        "color:#fff",
        "<style>",
        "<title>",
        "<!",
        "<?",
        "</",
    ]
)
_MIME_BITS = st.sampled_from(
    [
        b"From: ",
        b"Subject: ",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"--b\r\n",
        b"--b--",
        b"Content-Transfer-Encoding: base64\r\n",
        b"=?utf-8?b?AAAA?=",
        b"\r\n",
        b"\r\n\r\n",
        b"\xff\xfe",
        b"Content-Type: text/html; charset=bogus\r\n",
        b"Content-Disposition: attachment; filename*=x\r\n",
        b"ignore previous instructions",
        b"<div style=display:none>",
        b"@",
        b"<",
        b">",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MIME_BITS | st.binary(max_size=40), max_size=40))
def test_malformed_mime_never_crashes(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    v = score(raw)
    assert 0 <= v.score <= 100
    sanitize(raw)
    advise(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_HTML_BITS | st.text(max_size=20), max_size=60))
def test_malformed_html_never_crashes(parts: list[str]) -> None:
    html = "".join(parts)
    out = (sanitize_html(html).html or "").lower()
    assert not re.search(r"""(?:href|src|action)\s*=\s*["']?\s*javascript""", out)
    assert "<script" not in out and "<iframe" not in out


def test_adversarial_one_megabyte_messages_finish_quickly() -> None:
    for name, raw in adversarial_messages().items():
        start = time.perf_counter()
        score(raw)
        elapsed = time.perf_counter() - start
        assert elapsed < 5.0, (name, elapsed)  # generous: the bench shows the real numbers


def test_html_with_more_tags_than_real_mail_is_withheld_not_read() -> None:
    from agenticmail.security.sanitize import MAX_HTML_TAGS, sanitize_html

    dense = sanitize_html("<div>" * (MAX_HTML_TAGS + 1) + "<p style='display:none'>x</p>")
    assert dense.html is None and dense.text == "" and dense.changed
    assert [d.type for d in dense.detections] == ["html_withheld"]
    # just under the tag limit (siblings: nesting that deep is reported, see test_bounds.py)
    ordinary = sanitize_html("<div>x</div>" * (MAX_HTML_TAGS // 2 - 10) + "<p>hello</p>")
    assert ordinary.html is not None and "hello" in ordinary.text
    assert not ordinary.changed
