"""Domain mode on the Stalwart host: each agent's account also receives ``agent@domain``
(an alias in a second Stalwart domain), added and removed idempotently."""

from __future__ import annotations

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
