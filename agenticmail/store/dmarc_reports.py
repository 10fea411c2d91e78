"""DMARC aggregate reports as stored: one row per report (unique by reporting organisation
and report id: a report sent twice is kept once) and its records; the sums the summary
needs, over reports whose period ends at or after a given time."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from ..security.dmarc_report import Report
from ..timestamps import iso
from ._time import now_iso
from .db import Database


def insert(conn: sqlite3.Connection, report: Report) -> int | None:
    """Store ``report`` and its rows; None when this (org_name, report_id) is stored."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO dmarc_reports (org_name, report_id, email, domain, begin_at, "
        "end_at, policy, errors, messages, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report.org_name, report.report_id, report.email, report.policy.domain,
         iso(report.begin), iso(report.end), json.dumps(asdict(report.policy)),
         json.dumps(list(report.errors)), report.message_count, now_iso()))
    if cursor.rowcount != 1:
        return None
    report_key = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO dmarc_rows (report, source_ip, count, disposition, dkim, spf, header_from, "
        "envelope_from, envelope_to, reasons, auth_dkim, auth_spf) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(report_key, row.source_ip, row.count, row.disposition, row.dkim, row.spf,
          row.header_from, row.envelope_from, row.envelope_to, json.dumps(list(row.reasons)),
          json.dumps([asdict(a) for a in row.auth_dkim]),
          json.dumps([asdict(a) for a in row.auth_spf])) for row in report.rows])
    return report_key


def prune(conn: sqlite3.Connection, before: str) -> int:
    """Forget the reports whose period ended before ``before`` (ISO 8601, as stored); their
    rows go with them. Returns how many reports."""
    return conn.execute("DELETE FROM dmarc_reports WHERE end_at < ?", (before,)).rowcount


_PASS = "(r.dkim = 'pass' OR r.spf = 'pass')"


def totals(db: Database, since: str) -> dict[str, int]:
    """Messages in reports ending at or after ``since``: all, DMARC-passing, with aligned
    DKIM, with aligned SPF, with both, and how many reports."""
    row = db.one(
        f"SELECT COUNT(DISTINCT d.id) AS reports, COALESCE(SUM(r.count), 0) AS messages, "
        f"COALESCE(SUM(CASE WHEN {_PASS} THEN r.count END), 0) AS dmarc_pass, "
        "COALESCE(SUM(CASE WHEN r.dkim = 'pass' THEN r.count END), 0) AS dkim_pass, "
        "COALESCE(SUM(CASE WHEN r.spf = 'pass' THEN r.count END), 0) AS spf_pass, "
        "COALESCE(SUM(CASE WHEN r.dkim = 'pass' AND r.spf = 'pass' THEN r.count END), 0) "
        "AS both_pass "
        "FROM dmarc_reports d LEFT JOIN dmarc_rows r ON r.report = d.id WHERE d.end_at >= ?",
        (since,))
    return {k: int(v) for k, v in dict(row).items()} if row is not None else {}


def by_reporter(db: Database, since: str) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT org_name, COUNT(*) AS reports, SUM(messages) AS messages, MAX(end_at) AS latest "
        "FROM dmarc_reports WHERE end_at >= ? GROUP BY org_name ORDER BY messages DESC, "
        "org_name", (since,))
    return [dict(r) for r in rows]


def dispositions(db: Database, since: str) -> dict[str, int]:
    rows = db.query(
        "SELECT r.disposition, SUM(r.count) AS messages FROM dmarc_rows r "
        "JOIN dmarc_reports d ON d.id = r.report WHERE d.end_at >= ? GROUP BY r.disposition "
        "ORDER BY r.disposition", (since,))
    return {str(r["disposition"]): int(r["messages"]) for r in rows}


def by_source(db: Database, since: str, limit: int) -> list[dict[str, Any]]:
    """Per source IP (most messages first): messages, DMARC/DKIM/SPF passes, failures."""
    rows = db.query(
        f"SELECT r.source_ip, SUM(r.count) AS messages, "
        f"SUM(CASE WHEN {_PASS} THEN r.count ELSE 0 END) AS dmarc_pass, "
        "SUM(CASE WHEN r.dkim = 'pass' THEN r.count ELSE 0 END) AS dkim_pass, "
        "SUM(CASE WHEN r.spf = 'pass' THEN r.count ELSE 0 END) AS spf_pass, "
        "json_group_array(DISTINCT r.header_from) AS header_from, "
        "json_group_array(DISTINCT d.org_name) AS reporters "
        "FROM dmarc_rows r JOIN dmarc_reports d ON d.id = r.report WHERE d.end_at >= ? "
        "GROUP BY r.source_ip ORDER BY messages DESC, r.source_ip LIMIT ?", (since, limit))
    return [{**dict(r), "header_from": sorted(set(json.loads(r["header_from"])) - {""}),
             "reporters": sorted(set(json.loads(r["reporters"])))} for r in rows]


def failing_rows(db: Database, since: str, limit: int) -> list[dict[str, Any]]:
    """The records that failed DMARC (most messages first), with what each check saw."""
    rows = db.query(
        f"SELECT r.source_ip, r.count, r.disposition, r.dkim, r.spf, r.header_from, "
        f"r.envelope_from, r.auth_dkim, r.auth_spf, d.org_name, d.end_at "
        f"FROM dmarc_rows r JOIN dmarc_reports d ON d.id = r.report "
        f"WHERE d.end_at >= ? AND NOT {_PASS} ORDER BY r.count DESC, r.source_ip LIMIT ?",
        (since, limit))
    return [dict(r) for r in rows]
