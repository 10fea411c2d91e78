"""``domain status``: how domain mode stands, as the world and the daemon see it.

Each DNS record domain mode needs (:func:`.domain_records.expected_records`) is looked up in
public DNS (the ``dns_nameservers`` setting, else the system's resolvers; every lookup
bounded, all at once) and compared with what is expected: TXT after joining its strings and
normalising whitespace (a record split into strings, or ``;`` spacing, is no difference), DKIM
and DMARC tag by tag (in any order), MX as a set of (priority, host). A record is ``ok``,
``wrong`` (found, different), ``missing``, ``unknown`` (the lookup failed: said why, never a
crash) or ``cloudflare`` (a proxied record: public DNS shows Cloudflare's addresses, so it is
checked through Cloudflare, not here).
Beside the records: the tunnel's state, the Worker, the last inbound message and the outbound
path with its last result, from the documents their parts write
(:func:`.domain_config.read_state`).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import DnsUnavailable, NotFound
from ..providers import public_dns
from . import domain_config
from .context import ServiceContext
from .domain_records import ExpectedRecord, expected_records

MAX_LOOKUPS_AT_ONCE = 8
_SEMICOLON = re.compile(r"\s*;\s*")

OK, WRONG, MISSING, UNKNOWN, CLOUDFLARE = "ok", "wrong", "missing", "unknown", "cloudflare"


def normalise_txt(text: str) -> str:
    """A TXT value compared as receivers read it: whitespace runs as one space, ``; ``
    between tags, no trailing ``;``."""
    return _SEMICOLON.sub("; ", " ".join(text.split())).rstrip("; ").strip()


def _tag(text: str) -> str:
    """The version tag a TXT record starts with (``v=spf1``, ``v=dmarc1``, ``v=dkim1``)."""
    return re.split(r"[\s;]", text.strip(), maxsplit=1)[0].lower()


def _mx_entry(records: list[ExpectedRecord], found: list[str]) -> dict[str, Any]:
    expected = sorted(f"{r.priority} {r.content.lower().rstrip('.')}" for r in records)
    found = sorted(found)
    state = OK if set(found) == set(expected) else (WRONG if found else MISSING)
    detail = {OK: "as expected", MISSING: "no MX record: mail to the domain cannot arrive",
              WRONG: "the MX records differ: mail may go elsewhere than Email Routing"}[state]
    return {"purpose": "mx", "type": "MX", "name": records[0].name, "expected": expected,
            "found": found, "state": state, "detail": detail}


def _tags(text: str) -> dict[str, str]:
    """``tag=value`` pairs of a DKIM or DMARC record (tags in any order; DKIM's optional
    ``v=DKIM1`` and its default ``k=rsa`` filled in)."""
    tags = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def _same(purpose: str, found: str, wanted: str) -> bool:
    if purpose == "dkim":
        defaults = {"v": "DKIM1", "k": "rsa"}
        return {**defaults, **_tags(found)} == {**defaults, **_tags(wanted)}
    if purpose == "dmarc":
        return _tags(found) == _tags(wanted)
    return normalise_txt(found) == wanted


def _txt_entry(record: ExpectedRecord, found: list[str]) -> dict[str, Any]:
    wanted = normalise_txt(record.content)
    # SPF shares the domain's name with other TXT records (site verifications ...): only
    # v=spf1 ones count; the DKIM and DMARC names hold their record alone
    same_kind = [t for t in found if _tag(t) == _tag(wanted)] if record.purpose == "spf" \
        else found
    entry = {"purpose": record.purpose, "type": "TXT", "name": record.name,
             "expected": [wanted], "found": [normalise_txt(t) for t in same_kind]}
    if not same_kind:
        return {**entry, "state": MISSING, "detail": f"no {wanted.split(';')[0]} TXT record"}
    if record.purpose == "spf" and len(same_kind) > 1:
        return {**entry, "state": WRONG, "detail": f"{len(same_kind)} SPF records: receivers "
                "treat that as an error (permerror); keep one"}
    if any(_same(record.purpose, t, wanted) for t in same_kind):
        return {**entry, "state": OK, "detail": "as expected"}
    return {**entry, "state": WRONG, "detail": "published, but different"}


def _lookup(name: str, rdtype: str, nameservers: str) -> list[str] | DnsUnavailable:
    try:
        return public_dns.lookup(name, rdtype, nameservers=nameservers)
    except DnsUnavailable as exc:
        return exc


def check_records(records: list[ExpectedRecord], nameservers: str = "") -> list[dict[str, Any]]:
    """Each expected record (MX grouped per name) as expected vs found in public DNS."""
    groups: list[list[ExpectedRecord]] = []
    for record in records:
        if record.type == "MX" and groups and groups[-1][0].type == "MX" \
                and groups[-1][0].name == record.name:
            groups[-1].append(record)
        else:
            groups.append([record])
    asked = sorted({(g[0].name, g[0].type) for g in groups if not g[0].proxied})
    with ThreadPoolExecutor(max_workers=MAX_LOOKUPS_AT_ONCE) as pool:
        answers = dict(zip(asked, pool.map(lambda q: _lookup(q[0], q[1], nameservers), asked),
                           strict=True))
    entries = []
    for group in groups:
        first = group[0]
        if first.proxied:
            entries.append({"purpose": first.purpose, "type": first.type, "name": first.name,
                            "expected": [first.content], "found": [], "state": CLOUDFLARE,
                            "detail": "proxied by Cloudflare: not visible in public DNS, "
                                      "checked through Cloudflare"})
            continue
        answer = answers[(first.name, first.type)]
        if isinstance(answer, DnsUnavailable):
            expected = sorted(f"{r.priority} {r.content}" if r.type == "MX" else r.content
                              for r in group)
            entries.append({"purpose": first.purpose, "type": first.type, "name": first.name,
                            "expected": expected, "found": [], "state": UNKNOWN,
                            "detail": f"{answer.message}; try again later"})
        elif first.type == "MX":
            entries.append(_mx_entry(group, answer))
        else:
            entries.append(_txt_entry(first, answer))
    return entries


def status(ctx: ServiceContext) -> dict[str, Any]:
    """The DNS records, the tunnel, the Worker, the last inbound message and the outbound
    path of domain mode; ``not_configured`` when it was never set up."""
    config = domain_config.load(ctx)
    if config is None:
        raise NotFound("domain mode is not set up", code="not_configured",
                       hint="set it up with: agenticmail domain setup --domain example.com")
    records = check_records(expected_records(config), ctx.settings.dns_nameservers)
    return {
        "domain": config.domain,
        "records": records,
        "records_ok": all(r["state"] in (OK, CLOUDFLARE) for r in records),
        "tunnel": {"id": config.tunnel_id, "name": config.tunnel_name,
                   "hostname": config.hostname or None,
                   "state": domain_config.read_state(ctx, domain_config.TUNNEL_STATE_KEY)},
        "worker": {"name": config.worker_name,
                   "inbound_url": (f"https://{config.hostname}{domain_config.INBOUND_PATH}"
                                   if config.hostname else None),
                   "secret_set": config.inbound_secret_enc is not None},
        "inbound": {"rua_address": config.rua_address or None,
                    "catch_all_agent": config.catch_all_agent,
                    "last": domain_config.read_state(ctx, domain_config.INBOUND_LAST_KEY)},
        "outbound": {"path": config.outbound.value,
                     "last": domain_config.read_state(ctx, domain_config.OUTBOUND_LAST_KEY)},
        "steps_done": list(config.steps_done),
    }
