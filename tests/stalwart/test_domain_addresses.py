"""Domain mode on the Stalwart host: each agent's account also receives ``agent@domain``
(an alias in a second Stalwart domain), added and removed idempotently."""

from __future__ import annotations

from pathlib import Path

from agenticmail.config import load_settings, save_settings
from agenticmail.services import domain_setup
from agenticmail.services.agents import create_agent
from agenticmail.services.context import build_context
from agenticmail_testing.cloudflare_api import FakeCloudflare

from .conftest import MakeHost

PW = "correct-Horse-battery-9"


def test_an_account_gets_and_loses_its_address_on_the_owners_domain(
        make_host: MakeHost) -> None:
    host = make_host()
    host.start()
    addr = "secretary@agents.test"
    host.create_account(addr, PW)
    host.add_alias(addr, "sales@agents.test")

    assert host.add_external_address(addr, "secretary@example.com") is True
    assert host.add_external_address(addr, "secretary@example.com") is False  # idempotent
    assert host.external_addresses(addr) == ["secretary@example.com"]
    assert host.aliases(addr) == ["sales@agents.test"]  # the own-domain aliases unchanged

    assert host.remove_external_address(addr, "secretary@example.com") is True
    assert host.remove_external_address(addr, "secretary@example.com") is False
    assert host.external_addresses(addr) == [] and host.aliases(addr) == ["sales@agents.test"]


def test_domain_setup_gives_each_stalwart_account_its_domain_address(
        make_host: MakeHost, tmp_path: Path) -> None:
    """The whole setup (service level) on a Stalwart host, against the fake Cloudflare API:
    step ``addresses`` adds ``agent@domain`` to every account; teardown removes it."""
    host = make_host()
    host.start()
    settings = load_settings(tmp_path / "home", env={}, mail_host="stalwart",
                             domain="agents.test")
    save_settings(settings)
    ctx = build_context(settings, host=host)
    try:
        create_agent(ctx, "secretary")
        create_agent(ctx, "sales")
        with FakeCloudflare() as cf:
            cf.add_zone("example.com")
            token = cf.add_token()
            done = domain_setup.setup(ctx, domain_setup.SetupInput(
                domain="example.com", token=token, api_base_url=cf.base_url))
            assert done["done"]
            assert host.external_addresses("secretary@agents.test") == ["secretary@example.com"]
            assert host.external_addresses("sales@agents.test") == ["sales@example.com"]
            create_agent(ctx, "late")  # an agent made after setup gets its address too
            assert host.external_addresses("late@agents.test") == ["late@example.com"]
            again = domain_setup.setup(ctx, domain_setup.SetupInput())
            assert not any(run["changed"] for run in again["ran"])
            assert ctx.settings.gateway_mode == "domain"

            domain_setup.teardown(ctx)
            assert host.external_addresses("secretary@agents.test") == []
            assert ctx.settings.gateway_mode == "none"
    finally:
        ctx.db.close()
