"""DMARC aggregate reports (RFC 7489 appendix C) sent to domain mode's ``rua`` address:
parsed (xml, gzip, zip), stored and summarised.

Mail to the ``rua`` address never reaches an agent: the inbound endpoint hands it to
:func:`ingest_message`, which stores every report it carries about domain mode's domain (or
a subdomain; a report already stored, by reporting organisation and report id, is kept once)
and logs what could not be read or was about another domain. The
owner may also feed a report by hand (:func:`import_file`: a message, or the XML, gzip or zip
file itself). :func:`summary` answers ``agenticmail domain report`` and
``GET /v1/domain/dmarc``: pass rates overall, by source IP and by aligned SPF/DKIM, and the
sources that fail, over reports whose period ends inside the window.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from ..errors import InvalidRequest
from ..event_types import DMARC_REPORT, DmarcReport
from ..security import dlp_archives
from ..security.dmarc_report import InvalidReport, Report, parse_file, reports_in
from ..store import dmarc_reports as store
from ..timestamps import iso, parse_instant
from . import domain_config
from .context import ServiceContext, transaction

log = logging.getLogger(__name__)

DEFAULT_WINDOW = "30d"
MAX_SOURCES = 100
MAX_FAILING_ROWS = 1000
RETAIN_SECONDS = 400 * 86400  # kept a year and a month: a year-on-year look still finds them
_RELATIVE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def _store(ctx: ServiceContext, reports: list[Report] | tuple[Report, ...]) -> list[Report]:
    """Store ``reports`` in one transaction (each new one announced as ``dmarc.report``);
    the ones that were new."""
    stored = []
    with transaction(ctx) as tx:
        for report in reports:
            if store.insert(tx.conn, report) is None:
                continue
            stored.append(report)
            tx.emit(DMARC_REPORT, None, DmarcReport(
                org_name=report.org_name, report_id=report.report_id,
                domain=report.policy.domain, begin=iso(report.begin), end=iso(report.end),
                messages=report.message_count,
                dmarc_fail=sum(r.count for r in report.rows if not r.dmarc_pass)))
    return stored


def _ours(report: Report, domain: str) -> bool:
    reported = report.policy.domain
    return reported == domain.lower() or reported.endswith("." + domain.lower())


def ingest_message(ctx: ServiceContext, raw: bytes) -> int:
    """Store the aggregate reports attached to one message sent to the ``rua`` address;
    returns how many were stored (0 when it carried none)."""
    found = reports_in(raw)
    for problem in found.problems:
        log.warning("DMARC report not read: %r", problem)
    config = domain_config.load(ctx)
    reports = []
    for report in found.reports:
        if config is None or _ours(report, config.domain):
            reports.append(report)
        else:
            log.warning("DMARC report from %r about %r, not this daemon's domain: not stored",
                        report.org_name, report.policy.domain)
    stored = _store(ctx, reports)
    for report in stored:
        log.info("DMARC report stored: %r %r (%d messages)", report.org_name,
                 report.report_id, report.message_count)
    return len(stored)


def _looks_like_report_file(data: bytes) -> bool:
    return dlp_archives.kind(data) is not None or \
        data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def import_file(ctx: ServiceContext, data: bytes, filename: str = "report") -> dict[str, Any]:
    """Store the reports of one file the owner gives by hand: a whole message (``.eml``) or
    the report file itself (XML, gzip or zip). Nothing readable → ``invalid_dmarc_report``."""
    problems: tuple[str, ...] = ()
    if _looks_like_report_file(data):
        reports = parse_file(data, filename)
    else:
        found = reports_in(data)
        reports, problems = list(found.reports), found.problems
        if not reports:
            raise InvalidReport(
                "; ".join(problems) if problems else
                f"{filename}: no DMARC aggregate report in it (an XML, gzip or zip "
                "attachment, or the file itself)")
    stored = _store(ctx, reports)
    new = {(r.org_name, r.report_id) for r in stored}
    return {"stored": len(stored), "duplicates": len(reports) - len(stored),
            "problems": list(problems),
            "reports": [{"org_name": r.org_name, "report_id": r.report_id,
                         "domain": r.policy.domain, "begin": iso(r.begin), "end": iso(r.end),
                         "messages": r.message_count,
                         "new": (r.org_name, r.report_id) in new} for r in reports]}


def window_start(since: str | None, now: float | None = None) -> float:
    """Epoch seconds of ``since``: ``7d``/``24h``/``2w`` before now, or an ISO 8601 time."""
    text = (since or DEFAULT_WINDOW).strip()
    relative = _RELATIVE.match(text)
    if relative:
        return (time.time() if now is None else now) - \
            int(relative.group(1)) * _UNIT_SECONDS[relative.group(2).lower()]
    try:
        return parse_instant(text, "since")
    except InvalidRequest:
        raise InvalidRequest("since must be a duration such as 7d, 24h or 2w, or an ISO 8601 "
                             "time such as 2026-01-31T00:00:00Z", code="invalid_since") from None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seen(auth_json: str) -> list[str]:
    return [f"{a.get('domain') or '?'}={a.get('result') or '?'}"
            for a in json.loads(auth_json or "[]")]


def _failing_sources(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sources: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = sources.setdefault(row["source_ip"], {
            "source_ip": row["source_ip"], "messages": 0, "dispositions": {},
            "header_from": [], "dkim_seen": [], "spf_seen": [], "reporters": []})
        entry["messages"] += int(row["count"])
        entry["dispositions"][row["disposition"]] = \
            entry["dispositions"].get(row["disposition"], 0) + int(row["count"])
        for key, values in (("header_from", [row["header_from"]]),
                            ("dkim_seen", _seen(row["auth_dkim"])),
                            ("spf_seen", _seen(row["auth_spf"])),
                            ("reporters", [row["org_name"]])):
            entry[key].extend(v for v in values if v and v not in entry[key])
    return sorted(sources.values(), key=lambda e: (-e["messages"], e["source_ip"]))


def prune(ctx: ServiceContext, keep_seconds: float = RETAIN_SECONDS) -> int:
    """Forget the reports whose period ended more than ``keep_seconds`` ago (housekeeping:
    ``daemon.maintenance``); returns how many."""
    with transaction(ctx) as tx:
        return store.prune(tx.conn, iso(time.time() - keep_seconds))


def summary(ctx: ServiceContext, since: str | None = None) -> dict[str, Any]:
    """Pass/fail rates over reports whose period ends at or after ``since`` (default the last
    30 days): overall, by aligned DKIM and SPF, by source IP, and the failing sources."""
    start = iso(window_start(since))
    totals = store.totals(ctx.db, start)
    messages = totals.get("messages", 0)
    sources = []
    for row in store.by_source(ctx.db, start, MAX_SOURCES):
        sources.append({
            "source_ip": row["source_ip"], "messages": row["messages"],
            "dmarc_pass": row["dmarc_pass"], "pass_rate": _rate(row["dmarc_pass"],
                                                                row["messages"]),
            "dkim_pass": row["dkim_pass"], "spf_pass": row["spf_pass"],
            "header_from": row["header_from"], "reporters": row["reporters"]})
    return {
        "since": start, "reports": totals.get("reports", 0), "messages": messages,
        "dmarc_pass": totals.get("dmarc_pass", 0),
        "dmarc_fail": messages - totals.get("dmarc_pass", 0),
        "pass_rate": _rate(totals.get("dmarc_pass", 0), messages),
        "dkim": {"aligned_pass": totals.get("dkim_pass", 0),
                 "fail": messages - totals.get("dkim_pass", 0),
                 "pass_rate": _rate(totals.get("dkim_pass", 0), messages)},
        "spf": {"aligned_pass": totals.get("spf_pass", 0),
                "fail": messages - totals.get("spf_pass", 0),
                "pass_rate": _rate(totals.get("spf_pass", 0), messages)},
        "alignment": {"both": totals.get("both_pass", 0),
                      "dkim_only": totals.get("dkim_pass", 0) - totals.get("both_pass", 0),
                      "spf_only": totals.get("spf_pass", 0) - totals.get("both_pass", 0),
                      "neither": messages - totals.get("dmarc_pass", 0)},
        "dispositions": store.dispositions(ctx.db, start),
        "reporters": store.by_reporter(ctx.db, start),
        "sources": sources,
        "failing_sources": _failing_sources(store.failing_rows(ctx.db, start,
                                                               MAX_FAILING_ROWS)),
    }
