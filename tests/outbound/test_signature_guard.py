"""Issue 12: the signature and a template's rendering are part of what the outbound guard
scans. They are added before the message is built and scanned, so the guard sees the exact
bytes that leave: a signature holding a secret holds the mail; a clean one leaves with it.

Secrets are assembled at run time so this file holds no literal token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.smtp_sink import SmtpSink

OWNER = "boss@example.net"
OUTSIDE = "friend@example.org"
AWS_ID = "AKIA" + "Z7Q3XK2M4N6P8R1T"


@pytest.fixture(scope="module")
def guarded(sink: SmtpSink) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email=OWNER).start()
    with handle.client() as owner:
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
    yield handle
    handle.close()


def _send(handle: DaemonHandle, agent: dict[str, Any], **body: Any) -> dict[str, Any]:
    with handle.client(agent["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": [OUTSIDE], **body})
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_secret_in_the_signature_is_held(guarded: DaemonHandle, sink: SmtpSink) -> None:
    agent = guarded.create_agent(unique("sig"))
    with guarded.client(agent["api_key"]) as api:
        assert api.post("/v1/signatures", json={
            "name": "leaky", "text": f"Ops bot\naws_access_key_id = {AWS_ID}"}
        ).status_code == 201
    held = _send(guarded, agent, subject="status", text="All systems nominal.")
    assert held["status"] == "held"
    assert any(f["where"] == "text" for f in held["findings"]), held["findings"]

    unsigned = _send(guarded, agent, subject="unsigned", text="All systems nominal.",
                     signature=False)
    assert unsigned["status"] == "queued"
    sink.wait_for(lambda rs: any(r.message_id == unsigned["message_id"] for r in rs))
    assert sink.with_id(held["message_id"]) == []


def test_the_signature_and_template_leave_as_scanned(guarded: DaemonHandle,
                                                     sink: SmtpSink) -> None:
    agent = guarded.create_agent(unique("sig"))
    with guarded.client(agent["api_key"]) as api:
        assert api.post("/v1/signatures", json={"name": "plain", "text": "Ada, Ops"}
                        ).status_code == 201
        assert api.post("/v1/templates", json={"name": "notice", "subject": "Notice {{ n }}",
                                               "text": "Ticket {{ n }} is closed."}
                        ).status_code == 201
    sent = _send(guarded, agent, template="notice", variables={"n": 17})
    assert sent["status"] == "queued"
    got = sink.wait_for(lambda rs: any(r.message_id == sent["message_id"] for r in rs))
    message = next(r for r in got if r.message_id == sent["message_id"]).message
    assert message["Subject"] == "Notice 17"
    body = message.get_payload(decode=True).decode()
    assert body.replace("\r\n", "\n") == "Ticket 17 is closed.\n\n-- \nAda, Ops\n"
