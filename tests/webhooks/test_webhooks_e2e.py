"""Webhooks end to end: a real daemon POSTs signed events to a real HTTP receiver on loopback.

The receiver is registered with the master key (only the owner may register a loopback URL);
the daemon runs with a short retry schedule and a 1 s timeout so failures resolve quickly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.client import Client
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.ports import free_port
from agenticmail_testing.sse import EventStream
from agenticmail_testing.webhook_receiver import Receiver

SETTINGS = {"webhook_retry_seconds": "0.2,0.5,1,1,2,3,5,8",
            "webhook_timeout_seconds": 1.0}


@pytest.fixture(scope="module")
def hooked() -> Iterator[DaemonHandle]:
    handle = DaemonHandle(**SETTINGS).start()
    yield handle
    handle.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def register(d: DaemonHandle, url: str, key: str = "master", **body: Any) -> dict[str, Any]:
    with d.client(key) as api:
        r = api.post("/v1/webhooks", json={"url": url, **body})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def send_tests(d: DaemonHandle, endpoint: str, count: int) -> list[int]:
    """Queue ``count`` webhook.test events for ``endpoint``; their event ids, in order."""
    ids = []
    with d.client() as api:
        for _ in range(count):
            r = api.post(f"/v1/webhooks/{endpoint}/test")
            assert r.status_code == 202, r.text
            ids.append(r.json()["event"]["id"])
    return ids


def deliveries(d: DaemonHandle, endpoint: str) -> list[dict[str, Any]]:
    with d.client() as api:
        r = api.get(f"/v1/webhooks/{endpoint}/deliveries", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["deliveries"]))  # oldest first


def endpoint_state(d: DaemonHandle, endpoint: str) -> dict[str, Any]:
    with d.client() as api:
        found: dict[str, Any] = api.get(f"/v1/webhooks/{endpoint}").json()["webhook"]
    return found


def event_ids(received: list[Any]) -> list[int]:
    """The event id of each request, in the order they arrived."""
    return [json.loads(r.body)["id"] for r in received]


def test_an_event_arrives_signed_as_the_same_json_as_on_sse(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    alice, bob = hooked.create_agent(unique("a")), hooked.create_agent(unique("b"))
    created = register(hooked, receiver.url, events=["message.new"],
                       agent=bob["agent"]["name"])
    secret = created["secret"]
    assert secret.startswith("whsec_")
    with EventStream(hooked.api_url, bob["api_key"]) as stream:
        with hooked.client(alice["api_key"]) as api:
            r = api.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                "subject": "pushed to a webhook", "text": "hi"})
            assert r.status_code == 202, r.text
        on_sse = stream.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                             == "pushed to a webhook")
    [request] = receiver.wait_for(1)
    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified == on_sse
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):  # another secret does not verify
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    # the secret is shown once: never in a read of the endpoint
    with hooked.client() as api:
        shown = api.get(f"/v1/webhooks/{created['webhook']['id']}").text
    assert secret not in shown and secret[6:] not in shown
    [attempt] = deliveries(hooked, created["webhook"]["id"])
    assert attempt["status_code"] == 200 and attempt["outcome"] == "success"
    assert attempt["duration_ms"] >= 0 and attempt["webhook_id"] == request.webhook_id


def test_receiver_down_then_up_gets_every_event_in_order(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    endpoint = register(hooked, receiver.url)["webhook"]["id"]
    receiver.down()
    sent = send_tests(hooked, endpoint, 8)
    wait_until(lambda: len(deliveries(hooked, endpoint)) >= 2, 20,
               what="two failed attempts while the receiver is down")
    failed = deliveries(hooked, endpoint)
    assert all(a["outcome"] == "error" and a["status_code"] is None for a in failed)
    receiver.up()
    got = receiver.wait_for(len(sent))
    assert event_ids(got) == sent  # in order, none lost, none twice
    assert len({r.webhook_id for r in got}) == len(sent)


def test_500_then_200_is_retried_and_both_attempts_are_listed(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    endpoint = register(hooked, receiver.url)["webhook"]["id"]
    receiver.answer(500)
    [event] = send_tests(hooked, endpoint, 1)
    first, second = receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id
    assert event_ids([first, second]) == [event, event]
    wait_until(lambda: len(deliveries(hooked, endpoint)) == 2, what="two attempts recorded")
    attempts = deliveries(hooked, endpoint)
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in attempts] == [
        (1, 500, "failure"), (2, 200, "success")]
    assert attempts[0]["error"] == "HTTP 500"


def test_a_slow_receiver_times_out_and_the_message_is_sent_again(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    endpoint = register(hooked, receiver.url)["webhook"]["id"]
    receiver.answer((200, 3.0))  # longer than webhook_timeout_seconds
    send_tests(hooked, endpoint, 1)
    slow, again = receiver.wait_for(2)
    assert slow.webhook_id == again.webhook_id
    wait_until(lambda: [a["outcome"] for a in deliveries(hooked, endpoint)]
               == ["timeout", "success"], what="a timeout, then a success")
    assert deliveries(hooked, endpoint)[0]["status_code"] is None


def test_410_disables_the_endpoint_and_announces_it(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    with Receiver() as watcher:
        register(hooked, watcher.url, events=["webhook.disabled"])
        endpoint = register(hooked, receiver.url)["webhook"]["id"]
        receiver.answer(410)
        send_tests(hooked, endpoint, 1)
        wait_until(lambda: not endpoint_state(hooked, endpoint)["enabled"],
                   what="the endpoint to be disabled")
        state = endpoint_state(hooked, endpoint)
        assert "410" in state["disabled_reason"]
        announced = [json.loads(r.body) for r in watcher.wait_for(1)]
        assert any(e["type"] == "webhook.disabled" and e["data"]["endpoint"] == endpoint
                   for e in announced)
    # disabled: a test is refused, nothing more is queued; enabling it again resumes
    with hooked.client() as api:
        assert api.post(f"/v1/webhooks/{endpoint}/test").status_code == 400
        r = api.patch(f"/v1/webhooks/{endpoint}", json={"enabled": True})
        assert r.status_code == 200 and r.json()["webhook"]["disabled_reason"] is None
    receiver.wait_for(2)  # the message the 410 answered is delivered after all
    assert len({r.webhook_id for r in receiver.bodies()}) == 1


def test_replay_resends_with_the_same_id_and_a_new_timestamp(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    created = register(hooked, receiver.url)
    endpoint, secret = created["webhook"]["id"], created["secret"]
    send_tests(hooked, endpoint, 2)
    first = receiver.wait_for(2)
    wait_until(lambda: int(time.time()) > int(first[0].headers["webhook-timestamp"]),
               what="the clock to reach the next second")  # timestamps are whole seconds
    with hooked.client() as api:
        r = api.post(f"/v1/webhooks/{endpoint}/replay",
                     json={"webhook_id": first[0].webhook_id})
        assert r.status_code == 202 and r.json() == {"replayed": 1}
        again = receiver.wait_for(3)[2]
        assert again.webhook_id == first[0].webhook_id and again.body == first[0].body
        assert int(again.headers["webhook-timestamp"]) > int(
            first[0].headers["webhook-timestamp"])
        assert again.headers["webhook-signature"] != first[0].headers["webhook-signature"]
        Webhook(secret).verify(again.body, again.headers)
        # every message since a time
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first[0].at - 5))
        r = api.post(f"/v1/webhooks/{endpoint}/replay", json={"since": since})
        assert r.json() == {"replayed": 2}
        receiver.wait_for(5)
        bad = api.post(f"/v1/webhooks/{endpoint}/replay", json={"webhook_id": "msg_nope"})
        assert bad.status_code == 404
        both = api.post(f"/v1/webhooks/{endpoint}/replay",
                        json={"webhook_id": "x", "since": since})
        assert both.status_code == 400


def test_rotating_the_secret_signs_with_the_new_one(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    created = register(hooked, receiver.url)
    endpoint = created["webhook"]["id"]
    with hooked.client() as api:
        rotated = api.post(f"/v1/webhooks/{endpoint}/rotate-secret").json()
    assert rotated["secret"] != created["secret"]
    send_tests(hooked, endpoint, 1)
    [request] = receiver.wait_for(1)
    Webhook(rotated["secret"]).verify(request.body, request.headers)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook",
    "https://127.0.0.1:{port}/hook",
    "https://localhost:{port}/hook",
    "https://[::1]:{port}/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://10.1.2.3/hook",
    "https://0.0.0.0:{port}/",
])
def test_an_agent_key_may_not_register_a_local_url(hooked: DaemonHandle, url: str) -> None:
    agent = hooked.create_agent(unique("w"))
    with hooked.client(agent["api_key"]) as api:
        r = api.post("/v1/webhooks", json={"url": url.format(port=free_port())})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "webhook_url_refused"
    with hooked.client(agent["api_key"]) as api:
        assert api.get("/v1/webhooks").json() == {"webhooks": []}


def test_an_agent_key_registering_http_loopback_gets_403(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    agent = hooked.create_agent(unique("w"))
    with hooked.client(agent["api_key"]) as api:
        r = api.post("/v1/webhooks", json={"url": receiver.url})  # http://127.0.0.1:…
        assert r.status_code == 403, r.text
        assert r.json()["error"] == {
            "code": "webhook_url_refused",
            "message": "refusing to call 127.0.0.1: it resolves to 127.0.0.1, a loopback, "
                       "private, link-local, multicast or reserved address",
            "hint": "an agent's webhook must be a public https URL (the owner may allow "
                    "more with the webhook_agent_networks setting)"}
        assert api.get("/v1/webhooks").json() == {"webhooks": []}
    assert receiver.bodies() == []  # and nothing was ever sent there


def test_an_agent_sees_and_changes_only_its_own_endpoints(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    alice, bob = hooked.create_agent(unique("a")), hooked.create_agent(unique("b"))
    mine = register(hooked, receiver.url, agent=alice["agent"]["name"])["webhook"]
    everyone = register(hooked, receiver.url)["webhook"]
    assert mine["agent"] == alice["agent"]["name"] and everyone["agent"] is None
    with hooked.client(alice["api_key"]) as api:
        assert [w["id"] for w in api.get("/v1/webhooks").json()["webhooks"]] == [mine["id"]]
        assert api.get(f"/v1/webhooks/{everyone['id']}").status_code == 404
        # its own endpoint, set up by the owner on loopback: the agent may not point it at
        # another local address itself
        r = api.patch(f"/v1/webhooks/{mine['id']}",
                      json={"url": f"https://127.0.0.1:{free_port()}/"})
        assert r.status_code == 403
        ok = api.patch(f"/v1/webhooks/{mine['id']}", json={"events": ["message.*"]})
        assert ok.status_code == 200 and ok.json()["webhook"]["events"] == ["message.*"]
    with hooked.client(bob["api_key"]) as api:
        for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                             ("POST", "/rotate-secret"), ("POST", "/test"),
                             ("GET", "/deliveries")):
            r = api.request(method, f"/v1/webhooks/{mine['id']}{path}",
                            json={} if method == "PATCH" else None)
            assert r.status_code == 404, (method, path, r.text)
        other = api.post("/v1/webhooks", json={"url": "https://example.org/hook",
                                               "agent": alice["agent"]["name"]})
        assert other.status_code == 403
    with hooked.client(alice["api_key"]) as api:
        assert api.delete(f"/v1/webhooks/{mine['id']}").status_code == 200
        assert api.get(f"/v1/webhooks/{mine['id']}").status_code == 404


def test_bad_input_gets_a_clear_4xx(hooked: DaemonHandle) -> None:
    with hooked.client() as api:
        for body in ({"url": "ftp://example.org/"}, {"url": "not a url"},
                     {"url": "https://example.org/", "events": ["message.teleported"]},
                     {"url": "https://user:pw@example.org/"}, {"url": ""}, {}):
            r = api.post("/v1/webhooks", json=body)
            assert r.status_code == 400, (body, r.text)
            assert "error" in r.json()
        assert api.get("/v1/webhooks/wh_nothing").status_code == 404
        r = api.post("/v1/webhooks", json={"url": "https://example.org/", "agent": "nobody"})
        assert r.status_code == 404


def test_deliveries_need_a_key(hooked: DaemonHandle) -> None:
    r = httpx.get(f"{hooked.api_url}/v1/webhooks")
    assert r.status_code == 401


def test_the_cli_manages_endpoints_and_shows_deliveries(
        hooked: DaemonHandle, receiver: Receiver) -> None:
    runner = CliRunner()

    def cli(*args: str, json_out: bool = True) -> Any:
        result = runner.invoke(app, ["--home", str(hooked.home), "webhooks", *args,
                                     *(["--json"] if json_out else [])],
                               env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if json_out else result.stdout

    created = cli("create", receiver.url, "--event", "webhook.test", "-d", "from the cli")
    endpoint = created["webhook"]["id"]
    assert created["secret"].startswith("whsec_")
    assert created["webhook"]["events"] == ["webhook.test"]
    assert endpoint in [w["id"] for w in cli("list")["webhooks"]]
    assert cli("get", endpoint)["webhook"]["description"] == "from the cli"
    sent = cli("test", endpoint)["event"]
    [request] = receiver.wait_for(1)
    Webhook(created["secret"]).verify(request.body, request.headers)
    assert json.loads(request.body)["id"] == sent["id"]
    wait_until(lambda: cli("deliveries", endpoint)["deliveries"], what="an attempt recorded")
    [attempt] = cli("deliveries", endpoint)["deliveries"]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0
    shown = cli("deliveries", endpoint, json_out=False)
    assert "200" in shown and "success" in shown and request.webhook_id in shown
    assert cli("replay", endpoint, "--message", request.webhook_id) == {"replayed": 1}
    assert receiver.wait_for(2)[1].webhook_id == request.webhook_id
    assert cli("update", endpoint, "--disable")["webhook"]["enabled"] is False
    listed = cli("list", json_out=False)
    assert endpoint in listed and "disabled: disabled by the owner" in listed
    assert cli("update", endpoint, "--enable", "--all-events")["webhook"]["events"] == []
    rotated = cli("rotate-secret", endpoint)
    assert rotated["secret"] != created["secret"]
    assert "will not be shown again" in cli("rotate-secret", endpoint, json_out=False)
    assert cli("delete", endpoint, "--yes") == {"id": endpoint, "deleted": True}
    missing = runner.invoke(app, ["--home", str(hooked.home), "webhooks", "get", endpoint])
    assert missing.exit_code != 0 and "no webhook endpoint" in missing.output
    bad = runner.invoke(app, ["--home", str(hooked.home), "webhooks", "replay", endpoint])
    assert bad.exit_code != 0 and "--message" in bad.output


def test_the_python_client_methods(hooked: DaemonHandle, receiver: Receiver) -> None:
    agent = hooked.create_agent(unique("c"))
    with Client(api_key=hooked.master_key, base_url=hooked.api_url) as owner:
        created = owner.create_webhook(receiver.url, ["webhook.test"],
                                       agent=agent["agent"]["name"], description="client")
        endpoint = created.webhook.id
        assert created.webhook.agent == agent["agent"]["name"]
        event = owner.test_webhook(endpoint)
        [request] = receiver.wait_for(1)
        assert Webhook(created.secret).verify(request.body, request.headers)["id"] == event.id
        wait_until(lambda: owner.webhook_deliveries(endpoint), what="an attempt recorded")
        assert owner.webhook_deliveries(endpoint)[0].outcome == "success"
        assert owner.replay_webhook(endpoint, message=request.webhook_id) == 1
        assert owner.update_webhook(endpoint, events=["message.*"]).events == ["message.*"]
        assert owner.rotate_webhook_secret(endpoint).secret != created.secret
    with Client(api_key=agent["api_key"], base_url=hooked.api_url) as mine:
        assert [w.id for w in mine.list_webhooks()] == [endpoint]
        assert mine.get_webhook(endpoint).description == "client"
        mine.delete_webhook(endpoint)
        assert mine.list_webhooks() == []


def test_deleting_an_agent_removes_its_endpoints(hooked: DaemonHandle,
                                                 receiver: Receiver) -> None:
    agent, _ = hooked.create_agent(unique("gone")), hooked.create_agent(unique("stays"))
    endpoint = register(hooked, receiver.url, agent=agent["agent"]["name"])["webhook"]["id"]
    send_tests(hooked, endpoint, 1)
    receiver.wait_for(1)
    with hooked.client() as api:
        gone = api.delete(f"/v1/agents/{agent['agent']['name']}")
        assert gone.status_code == 200, gone.text
        assert api.get(f"/v1/webhooks/{endpoint}").status_code == 404


def test_an_agent_key_may_register_a_public_https_url_only(hooked: DaemonHandle) -> None:
    agent = hooked.create_agent(unique("p"))
    with hooked.client(agent["api_key"]) as api:
        plain = api.post("/v1/webhooks", json={"url": "http://93.184.215.14/hook"})
        assert plain.status_code == 403 and "https" in plain.json()["error"]["message"]
        ok = api.post("/v1/webhooks", json={"url": "https://93.184.215.14/hook"})
        assert ok.status_code == 201, ok.text
        assert ok.json()["webhook"]["agent"] == agent["agent"]["name"]
