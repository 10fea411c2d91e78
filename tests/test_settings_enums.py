"""The mail host kind and the gateway mode are enums in ``Settings``, read from today's config
strings and written back as them; an unknown value is a clear ConfigError, not a silent string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenticmail.config import GatewayMode, MailHostKind, Settings, load_settings, save_settings
from agenticmail.errors import ConfigError


def test_config_strings_become_enums_and_are_written_back_as_strings(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('mail_host = "stalwart"\ngateway_mode = "relay"\n')
    settings = load_settings(tmp_path, env={})
    assert settings.mail_host is MailHostKind.STALWART and settings.mail_host == "stalwart"
    assert settings.gateway_mode is GatewayMode.RELAY
    assert json.dumps({"gateway": settings.gateway_mode}) == '{"gateway": "relay"}'
    save_settings(settings)
    written = (tmp_path / "config.toml").read_text()
    assert 'mail_host = "stalwart"' in written and 'gateway_mode = "relay"' in written
    assert load_settings(tmp_path, env={}) == settings


def test_the_environment_and_constructor_take_the_strings(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={"AGENTICMAIL_GATEWAY_MODE": "domain"})
    assert settings.gateway_mode is GatewayMode.DOMAIN
    built = Settings(home=tmp_path, mail_host="local")  # type: ignore[arg-type]
    assert built.mail_host is MailHostKind.LOCAL
    assert Settings(home=tmp_path).gateway_mode is GatewayMode.NONE


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("MAIL_HOST", "exchange", "unknown mail host 'exchange'; choose one of local, stalwart"),
    ("GATEWAY_MODE", "carrier-pigeon",
     "unknown gateway 'carrier-pigeon'; choose one of none, relay, domain"),
])
def test_an_unknown_value_is_a_config_error(tmp_path: Path, setting: str, value: str,
                                            message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, env={f"AGENTICMAIL_{setting}": value})
