"""A bounded schema fuzz of the real daemon: schemathesis reads ``/v1/openapi.json`` and sends
generated requests (valid and invalid ones) to every operation, with the master key and with
an agent key. Zero 5xx, and every status the daemon answers is one the schema documents for
that operation.

Deterministic (``derandomize``) and bounded (``MAX_EXAMPLES`` per operation and mode) so it
stays a test, not a campaign. It runs against a daemon of its own: what it creates (agents,
folders, queued mail, a route) must not leak into the other tests' shared daemon.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from agenticmail.api.app import create_app
from agenticmail.api.auth import get_master
from agenticmail.api.routing import serving_routes
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.rdap_server import RdapServer

MAX_EXAMPLES = 20
# An SSE stream never ends: its bad input is tested in test_bad_input, not fuzzed here.
STREAMING = "/v1/events"
# A long poll holds each request up to its timeout (300 s): its bad input is tested in
# tests/agents/test_mail_ops_api.py, not fuzzed here.
LONG_POLL = "/v1/mail/wait"
# Domain setup calls the Cloudflare API (any base URL the body names): it is tested against
# the fake API in tests/domain, bad input included, not fuzzed here.
CLOUDFLARE = "/v1/domain/setup"
BOUNDED = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_daemon() -> Iterator[DaemonHandle]:
    registry = RdapServer().start()  # `domain check` asks a fake registry, not the internet
    handle = DaemonHandle(rdap_bootstrap_url=registry.bootstrap_url).start()
    yield handle
    handle.close()
    registry.close()


@pytest.fixture(scope="module")
def fuzz_keys(fuzz_daemon: DaemonHandle) -> dict[str, str]:
    agent = fuzz_daemon.create_agent("fuzzer")
    return {"master": fuzz_daemon.master_key, "agent": agent["api_key"]}


def _owner_only(handle: DaemonHandle) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation behind the owner-only dependency: an agent's key gets
    403 there whatever it sends (tests/e2e/test_authz.py holds them to that), so fuzzing them
    with it would only count 403s."""
    assert handle.daemon is not None
    app = create_app(handle.daemon.ctx)  # the same routes the daemon serves

    def needs_master(dependant: Any) -> bool:
        return any(d.call is get_master or needs_master(d) for d in dependant.dependencies)

    return {(method, route.path) for route in serving_routes(app.routes)
            if hasattr(route, "dependant") and needs_master(route.dependant)
            for method in route.methods}


@pytest.mark.parametrize("who", ["master", "agent"])
def test_schema_fuzz(fuzz_daemon: DaemonHandle, fuzz_keys: dict[str, str], who: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_daemon.api_url}/v1/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_keys[who]}"}
    skipped = _owner_only(fuzz_daemon) if who == "agent" else set()
    problems: list[str] = []
    for result in schema.exclude(path=[STREAMING, LONG_POLL, CLOUDFLARE]).get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in skipped:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @BOUNDED
            @given(case=operation.as_strategy(mode))
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers=headers, timeout=30,
                                       checks=[not_a_server_error, status_code_conformance,
                                               response_schema_conformance])

            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis: a FailureGroup
                problems.append(f"{operation.label} ({mode.value}): {exc}")
    assert not problems, "\n\n".join(problems)
