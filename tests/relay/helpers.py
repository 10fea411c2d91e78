"""Relay test helpers: messages as they arrive at the stand-in provider (Gmail-style
Authentication-Results) and the daemon's relay status."""

from __future__ import annotations

import uuid
from typing import Any

from agenticmail_testing.daemon import DaemonHandle

OWNER = "owner@example.com"


def gmail_auth(domain: str, dkim: str = "pass", dmarc: str = "pass") -> str:
    """An Authentication-Results header as Gmail's MX stamps it."""
    return (f"mx.google.com;\r\n       dkim={dkim} header.i=@{domain} header.s=s1 "
            f"header.b=AbCdEf;\r\n       spf=pass smtp.mailfrom={domain};\r\n"
            f"       dmarc={dmarc} (p=NONE sp=NONE dis=NONE) header.from={domain}")


def mail(subject: str, *, from_: str = "Friend <friend@example.org>", to: str = OWNER,
         in_reply_to: str | None = None, auth: str | None = None,
         body: str = "hello there") -> tuple[bytes, str]:
    mid = f"<{uuid.uuid4().hex}@example.org>"
    lines = []
    if auth:
        lines.append(f"Authentication-Results: {auth}")
    lines += [f"From: {from_}", f"To: {to}", f"Subject: {subject}",
              "Date: Sun, 22 Nov 2026 07:00:00 +0000", f"Message-ID: {mid}"]
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode(), mid


def new_for(mid: str) -> Any:
    return lambda e: e["data"]["message"]["message_id"] == mid


def relay_status(handle: DaemonHandle) -> dict[str, Any]:
    with handle.client() as owner:
        r = owner.get("/v1/relay")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["relay"]
    return data


AWS_KEY = "AKIAZ7Q3XK2M4N6P8R1T"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v3r9TjH"


def send_held(handle: DaemonHandle, key: str, subject: str = "deploy keys") -> tuple[str, str]:
    """Have an agent send AWS credentials outside: the guard holds it. (pending id, Message-ID)"""
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"to": ["partner@example.org"], "subject": subject,
                                            "text": f"creds {AWS_KEY} / {AWS_SECRET}"})
    held = r.json()
    assert r.status_code == 202 and held["status"] == "held", r.text
    return held["pending_id"], held["message_id"]
