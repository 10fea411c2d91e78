"""Issue 18, finding 4: every DLP blind spot is held, end to end on a real daemon.

Mail goes in over SMTP submission (smtplib, authenticated as the agent) and over the API; the
daemon's only route out is an aiosmtpd TLS sink. A held message answers ``held`` (API) or
``250 OK held …`` (SMTP), shows up as the agent's pending item with the finding where the
secret was, the owner is notified, and nothing with the message's Message-ID ever reaches the
sink. Limits are raised here (12 MB attachments) so an attachment past 10 MiB can be sent.

Secrets are assembled at run time so this file holds no literal token.
"""

from __future__ import annotations

import base64
import gzip
import io
import smtplib
import tarfile
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.smtp_sink import SmtpSink

OWNER = "boss@example.net"
OUTSIDE = "friend@example.org"
AWS_ID = "AKIA" + "Z7Q3XK2M4N6P8R1T"
SECRET_FILE = f"aws_access_key_id = {AWS_ID}\n".encode()
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def guarded(sink: SmtpSink) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email=OWNER, max_attachment_bytes=12 * MIB).start()
    with handle.client() as owner:
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
    yield handle
    handle.close()


@pytest.fixture
def agent(guarded: DaemonHandle) -> dict[str, Any]:
    return guarded.create_agent(unique("dlp"))


def _assert_held(handle: DaemonHandle, sink: SmtpSink, agent: dict[str, Any], mid: str,
                 subject: str, where: str, reason: str = "") -> None:
    """Held with a finding at ``where`` (and ``reason``), the owner told, nothing sent out."""
    with handle.client(agent["api_key"]) as api:
        pending = [p for p in api.get("/v1/pending").json()["pending"] if p["message_id"] == mid]
    assert len(pending) == 1 and pending[0]["status"] == "pending", pending
    findings = pending[0]["findings"]
    assert any(f["where"].startswith(where) and f["severity"] == "high" for f in findings), findings
    if reason:
        assert any(reason in f["description"] for f in findings), findings
    assert all(AWS_ID not in f["preview"] and AWS_ID not in f["where"] for f in findings)
    # the notification is queued after the hold: once it is out, the held mail had its chance
    sink.wait_for(lambda rs: any(r.rcpt_tos == [OWNER] and subject in str(r.message["Subject"])
                                 for r in rs))  # fmt: skip
    assert sink.with_id(mid) == []


# --- SMTP submission: headers, preamble, epilogue ------------------------------------------
def _smtp_submit(agent: dict[str, Any], raw: bytes) -> str:
    creds = agent["mail"]
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=30) as smtp:
        smtp.login(creds["username"], agent["api_key"])
        smtp.mail(agent["agent"]["address"])
        assert smtp.rcpt(OUTSIDE)[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return reply.decode()


def _raw(agent: dict[str, Any], subject: str, mid: str, *, extra: str = "", preamble: str = "",
         epilogue: str = "") -> bytes:  # fmt: skip
    head = (
        f"From: {agent['agent']['address']}\r\nTo: {OUTSIDE}\r\nSubject: {subject}\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n{extra}"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    )
    body = "--b1\r\nContent-Type: text/plain\r\n\r\nNothing to see here.\r\n--b1--\r\n"
    return (head + preamble + "\r\n" + body + epilogue).encode()


@pytest.mark.parametrize(
    ("place", "where"),
    [
        ("x_header", "header:X-Build-Note"),
        ("other_header", "header:Thread-Topic"),
        ("preamble", "preamble"),
        ("epilogue", "epilogue"),
    ],
)
def test_smtp_secret_outside_the_body_is_held(guarded: DaemonHandle, sink: SmtpSink,
                                              agent: dict[str, Any], place: str,
                                              where: str) -> None:  # fmt: skip
    subject, mid = unique("smtp-" + place), f"<{unique('m')}@example.test>"
    secret = f"deploy with {AWS_ID}"
    parts = {
        "x_header": {"extra": f"X-Build-Note: {secret}\r\n"},
        "other_header": {"extra": f"Thread-Topic: {secret}\r\n"},
        "preamble": {"preamble": secret},
        "epilogue": {"epilogue": secret + "\r\n"},
    }[place]
    reply = _smtp_submit(agent, _raw(agent, subject, mid, **parts))
    assert reply.startswith("OK held "), reply
    _assert_held(guarded, sink, agent, mid, subject, where)


# --- the API: display name, threading headers, file names, sizes, archives -----------------
def _api_send(handle: DaemonHandle, agent: dict[str, Any], **body: Any) -> dict[str, Any]:
    with handle.client(agent["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": [OUTSIDE], "text": "see attached", **body})
    assert r.status_code == 202, r.text[:500]
    data: dict[str, Any] = r.json()
    assert data["status"] == "held", data
    assert AWS_ID not in r.text
    return data


def _file(name: str, data: bytes, ctype: str = "application/octet-stream") -> dict[str, str]:
    return {"filename": name, "content_type": ctype,
            "content_base64": base64.b64encode(data).decode()}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("to_display_name", "header:To"),
        ("reply_to_display_name", "header:Reply-To"),
        ("references", "header:References"),
        ("in_reply_to", "header:In-Reply-To"),
        ("filename", "attachment:"),
    ],
)
def test_api_secret_outside_the_body_is_held(guarded: DaemonHandle, sink: SmtpSink,
                                             agent: dict[str, Any], field: str,
                                             where: str) -> None:  # fmt: skip
    subject = unique("api-" + field)
    body: dict[str, Any] = {
        "to_display_name": {"to": [f"Friend {AWS_ID} <{OUTSIDE}>"]},
        "reply_to_display_name": {"reply_to": f"Bot {AWS_ID} <{agent['agent']['address']}>"},
        "references": {"references": [f"<{AWS_ID}@example.org>"]},
        "in_reply_to": {"in_reply_to": f"<{AWS_ID}@example.org>"},
        "filename": {"attachments": [_file(f"report {AWS_ID}.pdf", b"%PDF-1.4\n\x00\x01")]},
    }[field]
    held = _api_send(guarded, agent, subject=subject, **body)
    _assert_held(guarded, sink, agent, held["message_id"], subject, where)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _encrypted_zip() -> bytes:
    data = bytearray(_zip({"secret.txt": b"\x8f\x13ciphertext"}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + offset] |= 0x1  # the "encrypted" bit, as zip tools set it
    return bytes(data)


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("a.txt", "w") as fh:
        for _ in range(40):
            fh.write(b"a" * MIB)
    return buf.getvalue()


def _many() -> bytes:
    members = {f"notes/{i:03}.txt": b"nothing to see" for i in range(200)}
    return _zip({**members, "notes/zz-201st.txt": SECRET_FILE})


CASES = {
    "text past 4 MiB": ({"text": "All quiet.\n" * (5 * MIB // 11) + f"key {AWS_ID}\n"}, "text", ""),
    "attachment past 10 MiB": (
        {"attachments": [_file("server.log", b"GET / 200\n" * (MIB + MIB // 10) + SECRET_FILE)]},
        "attachment:server.log", ""),
    "201st zip member": ({"attachments": [_file("notes.zip", _many())]},
                         "attachment:notes.zip/notes/zz-201st.txt", ""),
    "gzip": ({"attachments": [_file("keys.txt.gz", gzip.compress(SECRET_FILE))]},
             "attachment:keys.txt.gz/keys.txt", ""),
    "tar": ({"attachments": [_file("conf.tar", _tar({"etc/aws.txt": SECRET_FILE}))]},
            "attachment:conf.tar/etc/aws.txt", ""),
    "tar.gz": ({"attachments": [_file("conf.tgz", gzip.compress(_tar({"aws.txt": SECRET_FILE})))]},
               "attachment:conf.tgz/conf.tar/aws.txt", ""),
    "nested archives": (
        {"attachments": [_file("outer.zip", _zip({"in.tar.gz": gzip.compress(
            _tar({"deep/aws.txt": SECRET_FILE}))}))]},
        "attachment:outer.zip/in.tar.gz/in.tar/deep/aws.txt", ""),
    "7z": ({"attachments": [_file("backup.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64))]},
           "attachment:backup.7z", "7z archives cannot be opened"),
    "encrypted zip": ({"attachments": [_file("secret.zip", _encrypted_zip())]},
                      "attachment:secret.zip/secret.txt", "encrypted archive member"),
    "zip bomb": ({"attachments": [_file("bomb.zip", _bomb())]}, "attachment:bomb.zip",
                 "possible archive bomb"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_api_content_the_old_guard_never_read_is_held(guarded: DaemonHandle, sink: SmtpSink,
                                                      agent: dict[str, Any], case: str) -> None:
    body, where, reason = CASES[case]
    subject = unique("api-content")
    held = _api_send(guarded, agent, subject=subject, **body)
    _assert_held(guarded, sink, agent, held["message_id"], subject, where, reason)


def test_ordinary_mail_with_attachments_and_threading_is_sent(
    guarded: DaemonHandle, sink: SmtpSink, agent: dict[str, Any]
) -> None:
    docx = _zip({"word/document.xml": b"<w:t>Quarterly plan</w:t>", "docProps/core.xml": b"<x/>"})
    with guarded.client(agent["api_key"]) as api:
        r = api.post("/v1/mail/send", json={
            "to": [OUTSIDE], "subject": unique("plain"), "from_name": "Build Bot",
            "text": "Hi, the plan and the logs are attached.",
            "in_reply_to": "<CAF3x9Yk2Q=r8s@mail.gmail.com>",
            "references": ["<20020823151401.GA12345@example.org>",
                           "<CAF3x9Yk2Q=r8s@mail.gmail.com>"],
            "attachments": [_file("plan.docx", docx),
                            _file("access.log.gz", gzip.compress(b"GET / 200\n" * 1000))]})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    mid = r.json()["message_id"]
    got = sink.wait_for(lambda rs: any(x.message_id == mid for x in rs))
    assert [x.rcpt_tos for x in got if x.message_id == mid] == [[OUTSIDE]]
