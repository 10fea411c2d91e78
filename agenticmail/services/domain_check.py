"""``domain check NAME``: whether a domain name is registered, asked of its registry by RDAP
(:mod:`agenticmail.providers.rdap`; IANA's bootstrap file from the ``rdap_bootstrap_url``
setting). "Not registered" means the registry has no such name; whether it may be registered
(reserved names, premium prices) is the registrar's to say."""

from __future__ import annotations

from typing import Any

from ..providers import rdap
from .context import ServiceContext


def check(ctx: ServiceContext, name: str) -> dict[str, Any]:
    """The registry's answer for ``name``: ``registered`` with registrar, status and dates,
    or not registered."""
    return rdap.lookup(name, ctx.settings.rdap_bootstrap_url).to_dict()
