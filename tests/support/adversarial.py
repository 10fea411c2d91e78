"""1 MB messages built to trigger regex backtracking and parser blow-ups (for the
robustness test and the filter benchmark)."""

from __future__ import annotations


def adversarial_messages() -> dict[str, bytes]:
    """1 MB messages aimed at regex backtracking and parser blow-ups."""
    mb = 1_000_000
    bodies = {
        "repeated trigger words": "ignore previous " * (mb // 16),
        "1 MB base64-alphabet run": "A" * mb,
        "1 MB of spaces between words": "ignore" + " " * mb + "x",
        "500k one-letter words": "forward " + "x " * (mb // 2),
        "200k nested <div>": "<div>" * (mb // 5),
        "333k '<a ' (one endless tag)": "<a " * (mb // 3),
        "250k unclosed '<!--'": "<!--" * (mb // 4),
        "1 MB of '<'": "<" * mb,
        "100k style declarations": '<p style="' + "color:red;" * (mb // 10),
        "333k zero-width spaces": "\u200b" * (mb // 3),
        "anchors without end": '<a href="http://x.example/">' * (mb // 28),
    }
    out = {}
    for name, body in bodies.items():
        ctype = "text/html" if body.startswith("<") else "text/plain"
        head = f"From: a@b.example\r\nSubject: x\r\nContent-Type: {ctype}; charset=utf-8\r\n\r\n"
        out[name] = head.encode() + body.encode()
    return out
