"""Text an outsider or a caller controls never becomes protocol syntax: IMAP search terms are
sent as strings, attachment names are served as safe RFC 6266 names."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from agenticmail.mail.imap import MailboxSession
from agenticmail.models import Credentials
from agenticmail_testing.daemon import DaemonHandle, unique

FOLDER = "Archive"  # not watched: the inbound filters do not move these messages about


def _append(daemon: DaemonHandle, agent: dict[str, Any], raw: bytes) -> int:
    """Put ``raw`` in the agent's Archive over IMAP; its UID."""
    assert daemon.daemon is not None
    creds = Credentials(agent["mail"]["username"], agent["mail"]["password"])
    with MailboxSession.open(daemon.daemon.ctx.host.endpoints(), creds) as session:
        uid = session.append(FOLDER, raw)
    assert uid is not None
    return uid


def _message(subject: str, body: str = "hello", attachment: str | None = None) -> bytes:
    head = f"From: Out Sider <out@example.com>\r\nTo: agent@localhost\r\nSubject: {subject}\r\n"
    head += f"Message-ID: <{unique('m')}@example.com>\r\nMIME-Version: 1.0\r\n"
    if attachment is None:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
    return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; " + attachment + "\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n").encode()


SUBJECTS = {"paren": "budget (draft) {5} q3", "plain": "plain one",
            "quote": 'say "hi" \\ now', "umlaut": "Grüße (neu)"}


@pytest.mark.parametrize(("term", "expected"), [
    ("(", {"paren", "umlaut"}),
    (")", {"paren", "umlaut"}),
    ("{5}", {"paren"}),
    ("(draft)", {"paren"}),
    ("draft) {5", {"paren"}),
    ('"hi"', {"quote"}),
    ("\\", {"quote"}),
    ("(neu)", {"umlaut"}),
    ("grüße (", {"umlaut"}),
    ("{5+}", set()),
    ("*", set()),
])
def test_search_terms_with_imap_syntax(daemon: DaemonHandle, search_box: dict[str, Any],
                                       term: str, expected: set[str]) -> None:
    # a short timeout: a term the server took as a literal announcement stalled 15 s
    with daemon.client(search_box["api_key"]) as api:
        for field in ("subject", "from", "body"):
            response = api.get("/v1/mail/search", params={field: term, "folder": FOLDER},
                               timeout=5)
            assert response.status_code == 200, (field, response.text)
            found = {s for s, uid in search_box["uids"].items()
                     if uid in response.json()["uids"]}
            assert found == (expected if field == "subject" else set()), field


@pytest.fixture(scope="module")
def search_box(daemon: DaemonHandle) -> dict[str, Any]:
    agent = daemon.create_agent(unique("srch"))
    agent["uids"] = {key: _append(daemon, agent, _message(subject))
                     for key, subject in SUBJECTS.items()}
    return agent


@pytest.mark.parametrize(("param", "served", "fallback"), [
    ('filename="../../../../etc/cron.d/x"', "x", "x"),
    ('filename="..\\\\..\\\\windows\\\\evil.bat"', "evil.bat", "evil.bat"),
    ("filename*=utf-8''%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.pdf", "年度报告.pdf",
     "attachment.pdf"),
    ("filename*=utf-8''r%C3%A9sum%C3%A9.pdf", "résumé.pdf", "resume.pdf"),
    ("filename*=utf-8''bad%0D%0Aname%00%07.txt", "bad name.txt", "bad name.txt"),
    ("filename*=utf-8''invoice%E2%80%AEfdp.exe", "invoicefdp.exe", "invoicefdp.exe"),
    ('filename=".bashrc"', "bashrc", "bashrc"),
    ('filename=".."', "attachment", "attachment"),
    ('filename="a;b\\"c.txt"', 'a;b"c.txt', "a_b_c.txt"),
])
def test_attachment_names_are_served_safely(daemon: DaemonHandle, agent_pair: tuple,
                                            param: str, served: str, fallback: str) -> None:
    _, bob = agent_pair
    uid = _append(daemon, bob, _message("with attachment", attachment=param))
    with daemon.client(bob["api_key"]) as api:
        response = api.get(f"/v1/mail/messages/{uid}/attachments/0",
                           params={"folder": FOLDER})
    assert response.status_code == 200, response.text
    assert response.content == b"hello"
    disposition = response.headers["content-disposition"]
    assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="')
    assert disposition.split('filename="', 1)[1].split('"', 1)[0] == fallback
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == served
    assert response.headers["x-content-type-options"] == "nosniff"
