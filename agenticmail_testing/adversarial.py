"""Messages built to trigger regex backtracking and parser blow-ups: 1 MB bodies (for the
robustness test and the filter benchmark) and messages at and over the parsing bounds of
``agenticmail.mail.bounds``, among them issue 18's poison message."""

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


def message(headers: str, body: str = "hello\r\n") -> bytes:
    return (f"From: x@evil.example\r\nTo: b@localhost\r\nMessage-ID: <m@evil.example>\r\n"
            f"{headers}\r\n{body}").encode()


def poison(words: int = 300_000) -> bytes:
    """The reported poison message: a Subject of ``words`` RFC 2047 words (5 MB for 300,000)
    on one line (folded, the stdlib decodes line by line: quadratic per line only)."""
    subject = " ".join("=?utf-8?q?abcd?=" for _ in range(words))
    return message(f"Subject: {subject}\r\n")


def nested(depth: int) -> bytes:
    body = "innermost\r\n"
    for level in range(depth, 0, -1):
        body = (f"--b{level}\r\nContent-Type: multipart/mixed; boundary=\"b{level + 1}\"\r\n\r\n"
                f"{body}--b{level}--\r\n") if level < depth else \
            f"--b{level}\r\nContent-Type: text/plain\r\n\r\n{body}--b{level}--\r\n"
    return message('Subject: deep\r\nContent-Type: multipart/mixed; boundary="b1"\r\n', body)


def many_parts(parts: int) -> bytes:
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(parts))
    return message('Subject: parts\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
                    body + "--b--\r\n")
