"""Bad input gets a clear 4xx JSON error, and nothing is left half-made."""

from __future__ import annotations

import base64
import hashlib
import logging

import pytest

from agenticmail.store.db import Database
from agenticmail_testing.daemon import DaemonHandle, unique


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, body
    return response.status_code, body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize("name", ["", "bad name", "x" * 65, "-dash", "a..b", "ünï", "a/b",
                                  "postmaster"])
def test_invalid_agent_names(daemon: DaemonHandle, name: str) -> None:
    with daemon.client() as owner:
        status, code, message = _error(owner.post("/v1/agents", json={"name": name}))
    assert status == 400 and code == "invalid_request" and message


def test_duplicate_agent_is_409_case_insensitive(daemon: DaemonHandle) -> None:
    name = unique("dup")
    daemon.create_agent(name)
    with daemon.client() as owner:
        status, code, _ = _error(owner.post("/v1/agents", json={"name": name.upper()}))
    assert (status, code) == (409, "conflict")


def test_reserved_metadata_and_unknown_role(daemon: DaemonHandle) -> None:
    with daemon.client() as owner:
        assert _error(owner.post("/v1/agents", json={"name": unique("m"),
                                                     "metadata": {"_x": 1}}))[0] == 400
        assert _error(owner.post("/v1/agents", json={"name": unique("r"),
                                                     "role": "overlord"}))[0] == 400


def test_mail_errors(daemon: DaemonHandle, agent_pair: tuple) -> None:
    alice, bob = agent_pair
    to = bob["agent"]["address"]
    with daemon.client(alice["api_key"]) as api:
        assert _error(api.get("/v1/mail/messages/999999"))[:2] == (404, "not_found")
        assert _error(api.get("/v1/mail/messages", params={"folder": "Nope"}))[:2] == \
            (404, "not_found")
        assert _error(api.get("/v1/mail/messages", params={"limit": 1001}))[0] == 400
        assert _error(api.post("/v1/mail/send", json={"to": to, "subject": "s"}))[0] == 400
        for bad in ("not-an-address", "a@@b", "bob@", "<x>"):
            status, code, message = _error(api.post("/v1/mail/send", json={
                "to": bad, "text": "x"}))
            assert status == 400, (bad, message)
        assert _error(api.post("/v1/mail/send", json={"to": "ghost@localhost",
                                                      "text": "x"}))[1] == "unknown_recipient"
        assert _error(api.post("/v1/mail/send", json={"to": "someone@example.com",
                                                      "text": "x"}))[1] == "no_route"
        assert _error(api.post("/v1/mail/send", json={"to": to, "text": "x", "attachments": [
            {"filename": "a.bin", "content_base64": "%%%"}]}))[0] == 400
        big = base64.b64encode(b"\0" * (daemon.settings.max_attachment_bytes + 1)).decode()
        status, code, _ = _error(api.post("/v1/mail/send", json={
            "to": to, "text": "x", "attachments": [{"filename": "big.bin",
                                                    "content_base64": big}]}))
        assert (status, code) == (413, "payload_too_large")
        assert _error(api.post("/v1/mail/send", content=b"{not json",
                               headers={"content-type": "application/json"}))[0] == 400


def test_failed_account_creation_leaves_no_agent_row(daemon: DaemonHandle) -> None:
    assert daemon.daemon is not None
    host = daemon.daemon.ctx.host
    name = unique("drift")
    host.create_account(f"{name}@localhost", "some-password-123")  # the account already exists
    try:
        with daemon.client() as owner:
            status, _code, _ = _error(owner.post("/v1/agents", json={"name": name}))
            assert status == 409
            assert _error(owner.get(f"/v1/agents/{name}"))[0] == 404
    finally:
        host.delete_account(f"{name}@localhost")


def test_failed_row_insert_removes_the_account(daemon: DaemonHandle) -> None:
    assert daemon.daemon is not None
    host = daemon.daemon.ctx.host
    name = unique("norow")
    db = Database(daemon.settings.db_path)
    db.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON agents "
                    "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    try:
        with daemon.client() as owner:
            status, _code, message = _error(owner.post("/v1/agents", json={"name": name}))
        assert status == 500 and "disk says no" not in message
        assert not host.account_exists(f"{name}@localhost")
    finally:
        db.conn.execute("DROP TRIGGER refuse")
        db.close()


def test_secrets_never_in_listings_logs_or_database(daemon: DaemonHandle,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = daemon.create_agent(unique("sec"))
    key, password = created["api_key"], created["mail"]["password"]
    assert key.startswith("ak_") and len(key) == 51
    with daemon.client() as owner:
        listing = owner.get("/v1/agents").text + owner.get(
            f"/v1/agents/{created['agent']['name']}").text
    assert key not in listing and password not in listing
    assert created["agent"]["key_prefix"] == key[:11] and key[:11] in listing
    assert key not in caplog.text and password not in caplog.text
    raw_db = b"".join(p.read_bytes() for p in daemon.home.glob("agenticmail.db*"))
    assert key.encode() not in raw_db and password.encode() not in raw_db
    assert daemon.master_key.encode() not in raw_db
    db = Database(daemon.settings.db_path)
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert db.one("SELECT 1 FROM api_keys WHERE key_hash = ?", (digest,)) is not None
    db.close()
    mode = daemon.settings.config_path.stat().st_mode & 0o777
    assert mode == 0o600


HUGE = str(2**63)  # one past SQLite's INTEGER


@pytest.mark.parametrize(("path", "params", "headers"), [
    ("/v1/mail/outbox", {"offset": HUGE}, {}),
    ("/v1/audit", {"offset": HUGE}, {}),
    ("/v1/audit", {"offset": "9" * 40}, {}),
    ("/v1/events", {"since": HUGE}, {}),
    ("/v1/events", {}, {"Last-Event-ID": HUGE}),
    ("/v1/events", {}, {"Last-Event-ID": "-5"}),
])
def test_huge_numbers_are_400_not_500(daemon: DaemonHandle, path: str, params: dict,
                                      headers: dict) -> None:
    with daemon.client() as owner:
        status, code, message = _error(owner.get(path, params=params, headers=headers))
    assert (status, code) == (400, "invalid_request"), message


@pytest.mark.parametrize("name", ["a.b", ".hidden", "x.", "~tilde", "a[b", "ü[x]y[z"])
def test_folder_names_the_mail_host_refuses_are_400(daemon: DaemonHandle, agent_pair: tuple,
                                                    name: str) -> None:
    alice, _ = agent_pair
    with daemon.client(alice["api_key"]) as api:
        for _ in range(2):  # the second time too (a folder made the first time broke LIST)
            status, code, message = _error(api.post("/v1/mail/folders", json={"name": name}))
            assert (status, code) == (400, "invalid_request") and repr(name) in message, message
        status, code, _ = _error(api.get("/v1/mail/messages", params={"folder": name}))
        assert (status, code) == (404, "not_found")  # it was never made: no such folder
        assert api.get("/v1/mail/folders").status_code == 200


def test_the_schema_documents_what_the_app_answers(daemon: DaemonHandle) -> None:
    """Validation errors are 400 invalid_request, so the schema says 400 (not FastAPI's 422),
    with the one error shape, on every operation."""
    with daemon.client(None) as anon:
        doc = anon.get("/v1/openapi.json").json()
        answered = anon.get("/v1/mail/outbox", params={"offset": "x"},
                            headers={"Authorization": f"Bearer {daemon.master_key}"})
    assert answered.status_code == 400
    assert answered.json()["error"]["code"] == "invalid_request"
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            public = path.startswith("/v1/unsubscribe/")  # RFC 8058 one-click: no key
            for status in ("400", "413") if public else ("400", "401", "413"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == error_ref, (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    error = doc["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}
