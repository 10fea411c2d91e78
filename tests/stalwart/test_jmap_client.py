"""The production JMAP management client against the fake v0.16 server, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agenticmail.errors import (
    Conflict,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    NotFound,
)
from agenticmail.hosts import stalwart_admin as admin
from agenticmail.hosts.jmap import AdminAuthFailed, JmapClient, as_list, set_error
from agenticmail_testing.ports import free_port

from .fake_stalwart import FakeStalwart

STRONG = "correct horse battery staple 42"


@pytest.fixture
def client(stalwart: FakeStalwart) -> Iterator[JmapClient]:
    c = JmapClient(stalwart.url, username="admin", secret="recovery-Pass-42")
    yield c
    c.close()


def _account(domain_id: str, name: str = "agent-1", secret: str = STRONG) -> dict[str, object]:
    return {"@type": "User", "name": name, "domainId": domain_id,
            "credentials": as_list([{"@type": "Password", "secret": secret}]),
            "roles": {"@type": "User"}, "permissions": {"@type": "Inherit"},
            "encryptionAtRest": {"@type": "Disabled"}, "memberGroupIds": {}, "aliases": {},
            "quotas": {}}


def test_health_and_session(stalwart: FakeStalwart, client: JmapClient) -> None:
    assert client.healthz("live") and client.healthz("ready")
    stalwart.ready = False
    assert client.healthz("live") and not client.healthz("ready")
    assert client.session()["primaryAccounts"]["urn:stalwart:jmap"]


def test_wrong_password_is_a_401_problem(stalwart: FakeStalwart) -> None:
    raw = httpx.post(f"{stalwart.url}/jmap", json={"using": [], "methodCalls": []})
    assert raw.status_code == 401
    assert raw.headers["content-type"] == "application/problem+json"
    assert raw.headers["www-authenticate"] == 'Bearer realm="Stalwart Server"'
    bad = JmapClient(stalwart.url, username="admin", secret="nope")
    with pytest.raises(AdminAuthFailed, match="refused the admin login for admin"):
        bad.call("x:Domain/query")
    bad.close()


def test_fake_rejects_non_json_like_the_server(stalwart: FakeStalwart) -> None:
    raw = httpx.post(f"{stalwart.url}/jmap", content=b"x", auth=("admin", "recovery-Pass-42"),
                     headers={"Content-Type": "text/plain"})
    assert raw.status_code == 400 and raw.json()["type"].endswith("notJSON")


def test_nothing_listening_is_unavailable() -> None:
    c = JmapClient(f"http://127.0.0.1:{free_port()}", username="a", secret="b")
    with pytest.raises(MailHostUnavailable, match="cannot reach Stalwart"):
        c.session()
    assert not c.healthz()


def test_unknown_method_is_an_error_inside_200(client: JmapClient) -> None:
    with pytest.raises(MailHostError, match="unknownMethod"):
        client.call("x:Domain/set/set")


def test_domain_rules(client: JmapClient) -> None:
    dom = admin.ensure_domain(client, "agents.test")
    assert admin.ensure_domain(client, "agents.test") == dom  # idempotent
    got = client.get("Domain", [dom])[0]
    assert got["subAddressing"] == {"@type": "Enabled"}
    assert got["dkimManagement"] == {"@type": "Automatic"}
    with pytest.raises(InvalidRequest, match="Invalid domain name"):
        client.create("Domain", {"name": "agents.example"}, "creating a domain")
    with pytest.raises(Conflict, match="already exists"):
        client.create("Domain", {"name": "agents.test"}, "creating a domain")


def test_account_lifecycle_and_every_set_error(stalwart: FakeStalwart,
                                               client: JmapClient) -> None:
    dom = admin.ensure_domain(client, "agents.test")
    acct = client.create("Account", _account(dom), "creating agent-1")
    assert len(acct) <= 4  # short opaque ids
    view = client.get("Account", [acct])[0]
    assert view["emailAddress"] == "agent-1@agents.test"
    assert STRONG not in str(view) and view["credentials"]["0"]["secret"] == "****"

    with pytest.raises(Conflict, match=r"already exists.*clashes with Account"):
        client.create("Account", _account(dom), "creating agent-1 again")
    with pytest.raises(InvalidRequest, match=r"Password is too weak.*property secret"):
        client.create("Account", _account(dom, "agent-2", "password1"), "creating agent-2")
    with pytest.raises(MailHostError, match="refers to an object"):
        client.create("Account", _account("zzzz", "agent-3"), "creating agent-3")
    bad = _account(dom, "agent-4")
    bad["aliases"] = [{"name": "x", "domainId": dom}]  # a JSON array is not a List<T>
    with pytest.raises(MailHostError, match="could not apply"):
        client.create("Account", bad, "creating agent-4")

    # alias by JSON pointer; a second account may not take it
    client.update("Account", acct, {"aliases/0": {"name": "sales", "domainId": dom,
                                                  "enabled": True}}, "alias")
    assert client.get("Account", [acct])[0]["aliases"]["0"]["name"] == "sales"
    with pytest.raises(Conflict):
        client.create("Account", _account(dom, "sales"), "creating sales")
    client.update("Account", acct, {"aliases/0": None}, "unalias")
    assert client.get("Account", [acct])[0]["aliases"] == {}

    # password change: the new secret logs in, the old one no longer does
    new = "another long Passphrase 77"
    client.update("Account", acct, {"credentials": as_list([{"@type": "Password",
                                                              "secret": new}])}, "password")
    user = JmapClient(stalwart.url, username="agent-1@agents.test", secret=new)
    assert user.session()["username"] == "agent-1@agents.test"
    with pytest.raises(MailHostError, match="not allowed"):  # a user is no admin
        user.call("x:Account/query")
    user.set_credentials("agent-1@agents.test", STRONG)
    with pytest.raises(AdminAuthFailed):
        user.session()
    user.close()

    # the domain cannot go while the account uses it
    with pytest.raises(Conflict, match=r"still in use.*Account"):
        client.destroy("Domain", dom, "deleting the domain")
    assert client.destroy("Account", acct, "deleting agent-1") is True
    assert client.destroy("Account", acct, "deleting agent-1") is False
    with pytest.raises(NotFound):
        client.update("Account", acct, {"quotas": {}}, "updating a deleted account")


def test_back_references_and_query_filters(client: JmapClient) -> None:
    dom = admin.ensure_domain(client, "agents.test")
    for name in ("a1", "a2"):
        client.create("Account", _account(dom, name), name)
    answers = client.request([
        ("x:Account/query", {"filter": {"domainId": dom}}),
        ("x:Account/get", {"#ids": {"resultOf": "c0", "name": "x:Account/query",
                                    "path": "/ids"}}),
    ])
    assert sorted(a["name"] for a in answers[1]["list"]) == ["a1", "a2"]


def test_dns_records_are_parsed_with_dnspython(client: JmapClient) -> None:
    dom = admin.ensure_domain(client, "agents.test")
    records = admin.dns_records(client, dom, "agents.test")
    kinds = {r.type for r in records}
    assert {"MX", "TXT", "SRV"} <= kinds
    dkim = [r for r in records if "._domainkey." in r.name]
    assert dkim and all(r.value.startswith("v=DKIM1;") for r in dkim)
    assert len(admin.dkim_selectors(client, dom)) == len(dkim)


def test_relay_route_and_strategy(stalwart: FakeStalwart, client: JmapClient) -> None:
    admin.set_relay(client, host="smtp.gmail.com", port=465, username="me@gmail.com",
                    secret="app-password-xyz", implicit_tls=True)
    admin.set_relay(client, host="smtp.gmail.com", port=587, username="me@gmail.com",
                    secret="app-password-xyz", implicit_tls=False)  # update, not a 2nd route
    routes = client.get("MtaRoute")
    assert len(routes) == 1 and routes[0]["port"] == 587
    assert "app-password-xyz" not in str(routes)
    strategy = client.get("MtaOutboundStrategy", ["singleton"])[0]["route"]
    assert strategy["else"] == f"'{admin.RELAY_ROUTE}'"
    assert stalwart.registry.reloads == 2
    admin.clear_relay(client)
    assert client.get("MtaRoute") == []
    assert client.get("MtaOutboundStrategy", ["singleton"])[0]["route"]["else"] == "'mx'"


def test_set_error_mapping_covers_every_type() -> None:
    cases = {"primaryKeyViolation": Conflict, "objectIsLinked": Conflict,
             "invalidProperties": InvalidRequest, "validationFailed": InvalidRequest,
             "invalidForeignKey": MailHostError, "invalidPatch": MailHostError,
             "forbidden": MailHostError, "singleton": MailHostError,
             "somethingNew": MailHostError}
    for kind, cls in cases.items():
        err = set_error({"type": kind, "description": "why"}, "doing it")
        assert isinstance(err, cls), kind
        assert str(err).startswith("doing it:") and "why" in str(err)
