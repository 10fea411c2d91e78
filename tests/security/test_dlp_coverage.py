"""The outbound guard reads every part of what leaves, or holds it (issue 18, finding 4).

:func:`scan_message` over raw messages built here: every header (display names, ``X-`` and
other headers, ``References``), the MIME preamble and epilogue, MIME part headers and file
names, bodies past one scan window, attachments past 10 MiB, archives opened recursively
(zip past 200 members, gzip, bzip2, xz, tar, .tar.gz); what cannot be read in full (7z, an
encrypted member, a corrupt archive, a bomb, too deep, too many members or parts) is a HIGH
``unscannable`` finding with its reason. Ordinary mail stays clean.

Secrets are assembled at run time so this file holds no literal token.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from email import policy
from email.message import EmailMessage

import pytest

from agenticmail.models import Attachment, OutgoingMail
from agenticmail.security import dlp_archives
from agenticmail.security.outbound import (
    MAX_SCAN_CHARS,
    OwnerProfile,
    ScanResult,
    scan_message,
    scan_outgoing,
)

AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
MIB = 1024 * 1024


def message(text: str = "See you on Tuesday.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@localhost>"
    msg["To"] = "Friend <friend@example.org>"
    msg["Subject"] = "Hello"
    msg["Message-ID"] = "<175.abc123@localhost>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg


def with_file(name: str, data: bytes, text: str = "attached") -> bytes:
    msg = message(text)
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes(policy=policy.SMTP)


def where(result: ScanResult, rule: str) -> list[str]:
    return [f.where for f in result.findings if f.rule_id == rule]


def reasons(result: ScanResult) -> list[str]:
    return [f.description for f in result.findings if f.rule_id == "unscannable"]


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tarred(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


SECRET_FILE = f"aws_access_key_id = {AWS_ID}\n".encode()


# --- headers, preamble, epilogue ----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("X-Debug", f"build {AWS_ID}", "header:X-Debug"),
        ("Thread-Topic", f"rotate {AWS_ID} today", "header:Thread-Topic"),
        ("References", f"<{AWS_ID}@example.org>", "header:References"),
        ("In-Reply-To", f"<{AWS_ID}@example.org>", "header:In-Reply-To"),
        ("Reply-To", f"{AWS_ID} <alice@localhost>", "header:Reply-To"),
    ],
)
def test_every_header_is_scanned(name: str, value: str, expected: str) -> None:
    raw = message(**{name: value}).as_bytes()
    result = scan_message(raw)
    assert result.blocked and expected in where(result, "aws_access_key")


def test_display_names_are_scanned() -> None:
    msg = message()
    msg.replace_header("From", f'"Alice {AWS_ID}" <alice@localhost>')
    result = scan_message(msg.as_bytes())
    assert result.blocked and where(result, "aws_access_key") == ["header:From"]


def test_encoded_display_name_is_decoded_before_scanning() -> None:
    word = base64.b64encode(f"Alice {AWS_ID}".encode()).decode()
    raw = f"From: =?utf-8?b?{word}?= <alice@localhost>\r\nSubject: s\r\n\r\nhi\r\n".encode()
    assert scan_message(raw).blocked


def test_a_secret_in_a_header_name_is_found_and_not_repeated_in_where() -> None:
    raw = b"From: a@localhost\r\nX-" + AWS_ID.encode() + b": 1\r\nSubject: s\r\n\r\nbody\r\n"
    result = scan_message(raw)
    assert result.blocked
    assert all(AWS_ID not in f.where and AWS_ID not in f.preview for f in result.findings)


def _multipart(preamble: str = "", epilogue: str = "") -> bytes:
    return (
        b"From: a@localhost\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        + preamble.encode()
        + b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
        + epilogue.encode()
    )


@pytest.mark.parametrize("place", ["preamble", "epilogue"])
def test_preamble_and_epilogue_are_scanned(place: str) -> None:
    raw = _multipart(**{place: f"key {AWS_ID}"})
    result = scan_message(raw)
    assert result.blocked and where(result, "aws_access_key") == [place]


def test_mime_part_headers_and_file_names_are_scanned() -> None:
    raw = with_file(f"notes {AWS_ID}.pdf", b"%PDF-1.4\x00binary")
    result = scan_message(raw)
    assert result.blocked
    assert any(w.startswith("attachment:") for w in where(result, "aws_access_key"))
    assert all(AWS_ID not in f.where for f in result.findings)


def test_rfc2231_file_name_is_decoded() -> None:
    quoted = "".join(f"%{b:02X}" for b in f"{AWS_ID}.bin".encode())
    raw = with_file("placeholder.bin", b"\x00\x01").replace(
        b'filename="placeholder.bin"', f"filename*=utf-8''{quoted}".encode()
    )
    assert quoted.encode() in raw and AWS_ID.encode() not in raw
    assert scan_message(raw).blocked


# --- size: nothing is cut off -------------------------------------------------------------
def test_text_past_one_window_is_scanned() -> None:
    text = "The weather is fine.\n" * (MAX_SCAN_CHARS // 21 + 1000) + f"key {AWS_ID}\n"
    assert len(text) > MAX_SCAN_CHARS
    assert scan_message(message(text).as_bytes()).blocked


def test_secret_across_a_window_edge_is_found() -> None:
    pad = "x " * ((MAX_SCAN_CHARS - 10) // 2)
    text = pad + f" {AWS_ID} " + "y " * 10_000
    assert scan_outgoing(OutgoingMail(to=("b@example.org",), subject="s", text=text)).blocked


def test_html_past_one_window_is_scanned() -> None:
    html = "<p>ok, go</p>" * (MAX_SCAN_CHARS // 13 + 10) + f"<p>{AWS_ID}</p>"
    msg = message()
    msg.add_alternative(html, subtype="html")
    assert scan_message(msg.as_bytes()).blocked


def test_attachment_past_ten_mib_is_scanned() -> None:
    data = b"log line without secrets\n" * (11 * MIB // 25) + SECRET_FILE
    assert len(data) > 10 * MIB
    result = scan_message(with_file("server.log", data))
    assert result.blocked and where(result, "aws_access_key") == ["attachment:server.log"]


def test_message_over_the_limit_is_held() -> None:
    from agenticmail.security.outbound import MAX_MESSAGE_BYTES

    raw = b"Subject: big\r\n\r\n" + b"a" * (MAX_MESSAGE_BYTES + 1)
    result = scan_message(raw)
    assert result.blocked and "larger than" in reasons(result)[0]


# --- archives -----------------------------------------------------------------------------
def test_zip_member_201_is_scanned() -> None:
    members = {f"notes/{i:03}.txt": b"nothing to see" for i in range(200)}
    members["notes/zz-last.txt"] = SECRET_FILE
    result = scan_message(with_file("notes.zip", zipped(members)))
    assert result.blocked and where(result, "aws_access_key") == [
        "attachment:notes.zip/notes/zz-last.txt"
    ]


@pytest.mark.parametrize(
    ("name", "data", "inner"),
    [
        ("notes.txt.gz", gzip.compress(SECRET_FILE), "notes.txt.gz/notes.txt"),
        ("notes.bz2", bz2.compress(SECRET_FILE), "notes.bz2/notes"),
        ("notes.xz", lzma.compress(SECRET_FILE), "notes.xz/notes"),
        ("notes.tar", tarred({"a/creds.txt": SECRET_FILE}), "notes.tar/a/creds.txt"),
        (
            "notes.tgz",
            gzip.compress(tarred({"a/creds.txt": SECRET_FILE})),
            "notes.tgz/notes.tar/a/creds.txt",
        ),
        ("renamed.pdf", zipped({"creds.txt": SECRET_FILE}), "renamed.pdf/creds.txt"),
        (
            "nested.zip",
            zipped({"inner.tar.gz": gzip.compress(tarred({"deep.txt": SECRET_FILE}))}),
            "nested.zip/inner.tar.gz/inner.tar/deep.txt",
        ),
    ],
    # named without the bytes (a gzip header holds the time: every process its own ids)
    ids=lambda value: value if isinstance(value, str) else "data",
)
def test_compressed_files_and_archives_are_opened(name: str, data: bytes, inner: str) -> None:
    result = scan_message(with_file(name, data))
    assert result.blocked and where(result, "aws_access_key") == [f"attachment:{inner}"]


def _encrypted_zip() -> bytes:
    """A member flagged encrypted (general purpose bit 0) in both headers, as zip tools write
    it (zipfile cannot write encrypted members)."""
    data = bytearray(zipped({"secret.txt": b"\x8f\x13ciphertext"}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at] |= 0x1
    return bytes(data)


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.txt", "w") as fh:
        chunk = b"a" * MIB
        for _ in range(dlp_archives.MAX_EXPANDED_BYTES // MIB + 4):
            fh.write(chunk)
    return buf.getvalue()


def _deep() -> bytes:
    data = SECRET_FILE
    for i in range(dlp_archives.MAX_DEPTH + 1):
        data = zipped({f"level{i}.zip" if i else "creds.txt": data})
    return data


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("backup.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64, "7z archives cannot be opened"),
        ("backup.rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64, "rar archives cannot be opened"),
        ("secret.zip", _encrypted_zip(), "encrypted archive member"),
        ("bomb.zip", _bomb(), "possible archive bomb"),
        ("deep.zip", _deep(), "archives nested more than"),
        ("broken.zip", b"PK\x03\x04" + b"\x14" * 200, "corrupt or unsupported zip"),
        ("broken.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 64, "corrupt or unsupported gzip"),
        ("many.zip", zipped({f"{i}.txt": b"" for i in range(2001)}), "more than 2000 archive"),
    ],
)
def test_what_cannot_be_read_in_full_is_held(name: str, data: bytes, reason: str) -> None:
    result = scan_message(with_file(name, data))
    assert result.blocked
    found = reasons(result)
    assert any(reason in r and r.startswith("Could not be scanned in full: ") for r in found)


def test_too_many_mime_parts_is_held() -> None:
    msg = message()
    for i in range(600):
        msg.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"{i}")
    result = scan_message(msg.as_bytes())
    assert result.blocked and "MIME parts" in reasons(result)[0]


def test_the_archive_budget_is_shared_by_the_whole_message() -> None:
    per_file = (dlp_archives.MAX_EXPANDED_BYTES // 3) + MIB
    blob = gzip.compress(b"ok\n" * (per_file // 3))
    msg = message()
    for i in range(3):
        msg.add_attachment(blob, maintype="application", subtype="gzip", filename=f"{i}.log.gz")
    assert "possible archive bomb" in " ".join(reasons(scan_message(msg.as_bytes())))


def test_scan_outgoing_opens_archives_and_scans_reply_fields() -> None:
    mail = OutgoingMail(
        to=("b@example.org",),
        subject="s",
        text="hi",
        in_reply_to=f"<{AWS_ID}@example.org>",
        attachments=(Attachment("x.tar.gz", "application/gzip", gzip.compress(tarred({}))),),
    )
    assert where(scan_outgoing(mail), "aws_access_key") == ["header:In-Reply-To"]


def test_many_medium_findings_never_crowd_out_a_high_one() -> None:
    hosts = tuple(
        Attachment(f"hosts{k}.txt", "text/plain",
                   "\n".join(f"node {k}{i} at 10.{i}.{k}.7" for i in range(100)).encode())
        for k in range(3)
    )  # fmt: skip
    secret = Attachment("z.txt", "text/plain", SECRET_FILE)
    mail = OutgoingMail(to=("b@example.org",), subject="s", text="hi", attachments=(*hosts, secret))
    result = scan_outgoing(mail)
    assert result.blocked and "aws_access_key" in {f.rule_id for f in result.findings}


# --- ordinary mail stays clean ------------------------------------------------------------
def _docx() -> bytes:
    return zipped(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/document.xml": b"<w:document><w:t>Quarterly plan</w:t></w:document>",
            "word/media/image1.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "docProps/core.xml": b"<cp:coreProperties><dc:creator>Alice</dc:creator>",
        }
    )


def test_ordinary_mail_is_not_held() -> None:
    msg = message(
        "Hi Bob,\n\nthe report is attached; call me on 555-0100 if anything is unclear.\n",
        In_Reply_To="<CAF3x9Yk2Q=r8s@mail.gmail.com>",
        References="<20020823151401.GA12345@example.org> <CAF3x9Yk2Q=r8s@mail.gmail.com>",
        Date="Sat, 05 Dec 2026 07:00:00 +0000",
        Auto_Submitted="auto-replied",
        X_Mailer="agenticmail",
    )
    msg.add_alternative("<p>Hi Bob, the report is attached.</p>", subtype="html")
    msg.add_attachment(_docx(), maintype="application", subtype="octet-stream",
                       filename="plan.docx")  # fmt: skip
    msg.add_attachment(gzip.compress(b"GET / 200\n" * 1000), maintype="application",
                       subtype="gzip", filename="access.log.gz")  # fmt: skip
    msg.add_attachment(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 40, maintype="image",
                       subtype="png", filename="chart.png")  # fmt: skip
    result = scan_message(msg.as_bytes(policy=policy.SMTP))
    assert not result.blocked, result.findings


def test_the_owner_as_recipient_is_not_a_block() -> None:
    msg = message()
    msg.replace_header("To", "Boss <boss@example.net>")
    result = scan_message(msg.as_bytes(), owner=OwnerProfile(email="boss@example.net"))
    assert not result.blocked
