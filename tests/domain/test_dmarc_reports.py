"""DMARC aggregate reports end to end on a real daemon: mail to the ``rua`` address handed to
the service (as the inbound endpoint does), stored once however often it arrives, summarised
by ``GET /v1/domain/dmarc`` and ``agenticmail domain report``, and fed by hand with
``agenticmail domain report import``."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from agenticmail.daemon.maintenance import Maintenance
from agenticmail.services import dmarc_reports, domain_config
from agenticmail.services.context import ServiceContext, build_context
from agenticmail.services.domain_config import DomainConfig
from agenticmail.store import events as event_log
from agenticmail_testing.daemon import DaemonHandle

from .cli_runs import cli, cli_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dmarc"
SAMPLES = ("google.eml", "microsoft.eml", "yahoo.eml", "dmarcbis.eml")
ALL = "2026-01-01T00:00:00Z"  # every sample's period ends after this

SMALL = b"""<?xml version="1.0"?><feedback><report_metadata><org_name>hand.example</org_name>
<email>d@hand.example</email><report_id>by-hand-1</report_id><date_range><begin>1796256000
</begin><end>1796342399</end></date_range></report_metadata><policy_published><domain>
example.com</domain><p>quarantine</p></policy_published><record><row><source_ip>203.0.113.9
</source_ip><count>7</count><policy_evaluated><disposition>quarantine</disposition><dkim>fail
</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com
</header_from></identifiers><auth_results><spf><domain>mailer.example</domain><result>pass
</result></spf></auth_results></record></feedback>"""


@pytest.fixture(scope="module")
def reports_daemon() -> Iterator[DaemonHandle]:
    """A daemon of its own: the summary covers every report the daemon holds."""
    handle = DaemonHandle().start()
    yield handle
    handle.close()


def _ctx(d: DaemonHandle) -> ServiceContext:
    assert d.daemon is not None
    return d.daemon.ctx


@pytest.fixture(scope="module")
def ingested(reports_daemon: DaemonHandle) -> list[int]:
    return [dmarc_reports.ingest_message(_ctx(reports_daemon), (FIXTURES / n).read_bytes())
            for n in SAMPLES]


def _summary(d: DaemonHandle, since: str = ALL) -> dict[str, Any]:
    with d.client() as http:
        response = http.get("/v1/domain/dmarc", params={"since": since})
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()["dmarc"]
    return summary


def test_each_report_is_stored_once(reports_daemon: DaemonHandle, ingested: list[int]) -> None:
    assert ingested == [1, 1, 1, 1]
    again = [dmarc_reports.ingest_message(_ctx(reports_daemon), (FIXTURES / n).read_bytes())
             for n in SAMPLES]
    assert again == [0, 0, 0, 0]
    assert _summary(reports_daemon)["reports"] == 4
    announced = [e for e in event_log.after(_ctx(reports_daemon).db, 0)
                 if e.type == "dmarc.report"]
    google = next(e for e in announced if e.data["org_name"] == "google.com")
    assert len(announced) == 4 and google.agent is None  # the owner's, not an agent's
    assert google.data == {"org_name": "google.com", "report_id": "7104839105726650812",
                           "domain": "example.com", "begin": "2026-12-03T00:00:00.000+00:00",
                           "end": "2026-12-03T23:59:59.000+00:00", "messages": 17,
                           "dmarc_fail": 3}
    not_a_report = b"From: x@y.example\r\nSubject: hi\r\n\r\nno report here\r\n"
    assert dmarc_reports.ingest_message(_ctx(reports_daemon), not_a_report) == 0


def test_summary_rates_by_source_and_alignment(reports_daemon: DaemonHandle,
                                               ingested: list[int]) -> None:
    summary = _summary(reports_daemon)
    assert (summary["reports"], summary["messages"]) == (4, 30)
    assert (summary["dmarc_pass"], summary["dmarc_fail"], summary["pass_rate"]) == (
        26, 4, round(26 / 30, 4))
    assert summary["dkim"] == {"aligned_pass": 26, "fail": 4, "pass_rate": round(26 / 30, 4)}
    assert summary["spf"] == {"aligned_pass": 24, "fail": 6, "pass_rate": 0.8}
    assert summary["dispositions"] == {"none": 22, "pass": 4, "quarantine": 4}
    assert summary["alignment"] == {"both": 24, "dkim_only": 2, "spf_only": 0, "neither": 4}
    assert {r["org_name"]: r["messages"] for r in summary["reporters"]} == {
        "google.com": 17, "Enterprise Outlook": 6, "Yahoo": 3, "mail.example.net": 4}
    by_ip = {s["source_ip"]: s for s in summary["sources"]}
    assert by_ip["104.30.8.1"]["messages"] == 24 and by_ip["104.30.8.1"]["pass_rate"] == 1.0
    forwarder = by_ip["2a00:1450:4864:20::52f"]
    assert (forwarder["dmarc_pass"], forwarder["dkim_pass"], forwarder["spf_pass"]) == (2, 2, 0)
    failing = summary["failing_sources"]
    assert [(f["source_ip"], f["messages"]) for f in failing] == [("185.220.101.7", 3),
                                                                  ("198.51.100.23", 1)]
    assert failing[0]["spf_seen"] == ["spoofer.example.net=softfail"]
    assert failing[0]["dispositions"] == {"quarantine": 3}
    assert failing[1]["dkim_seen"] == ["example.com=fail"]


def test_the_window_counts_reports_by_the_end_of_their_period(
        reports_daemon: DaemonHandle, ingested: list[int]) -> None:
    late = _summary(reports_daemon, "2026-12-04T00:00:00Z")  # Microsoft's and DMARCbis' end
    assert {r["org_name"] for r in late["reporters"]} == {"Enterprise Outlook",
                                                          "mail.example.net"}
    assert late["messages"] == 10
    assert _summary(reports_daemon, "2026-12-05T00:00:00Z")["reports"] == 0
    assert _summary(reports_daemon, "2026-12-05T00:00:00Z")["pass_rate"] is None


def test_bad_input_and_agent_keys_are_refused(reports_daemon: DaemonHandle) -> None:
    with reports_daemon.client() as http:
        bad_since = http.get("/v1/domain/dmarc", params={"since": "last tuesday"})
        bad_base64 = http.post("/v1/domain/dmarc", json={"content": "%%%"})
        not_a_report = http.post("/v1/domain/dmarc", json={"content": "PGh0bWw+PC9odG1sPg=="})
    assert (bad_since.status_code, bad_since.json()["error"]["code"]) == (400, "invalid_since")
    assert bad_base64.status_code == 400
    assert (not_a_report.status_code, not_a_report.json()["error"]["code"]) == (
        400, "invalid_dmarc_report")
    agent = reports_daemon.create_agent("dmarcpeek")
    with reports_daemon.client(agent["api_key"]) as http:
        assert http.get("/v1/domain/dmarc").status_code == 403


def test_cli_report_and_import(reports_daemon: DaemonHandle, ingested: list[int],
                               tmp_path: Path) -> None:
    home = reports_daemon.home
    assert cli_json(home, "domain", "report", "--since", ALL)["dmarc"]["reports"] == 4
    shown = cli(home, "domain", "report", "--since", ALL)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert "Failing sources" in text and "185.220.101.7" in text and "86.7%" in text

    report_file = tmp_path / "hand.example!example.com!1796256000!1796342399.xml.gz"
    report_file.write_bytes(gzip.compress(SMALL))
    first = cli_json(home, "domain", "report", "import", str(report_file))["imported"]
    assert (first["stored"], first["duplicates"]) == (1, 0)
    assert first["reports"][0]["report_id"] == "by-hand-1"
    again = cli_json(home, "domain", "report", "import", str(report_file))["imported"]
    assert (again["stored"], again["duplicates"]) == (0, 1)
    message = cli_json(home, "domain", "report", "import", str(FIXTURES / "google.eml"))
    assert message["imported"]["duplicates"] == 1
    after = cli_json(home, "domain", "report", "--since", ALL)["dmarc"]
    assert after["reports"] == 5
    assert after["failing_sources"][0]["source_ip"] == "203.0.113.9"

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    refused = cli(home, "domain", "report", "import", str(junk))
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: junk.zip: corrupt"), refused.stderr
    assert "Traceback" not in refused.output


def test_mail_to_the_rua_address_about_another_domain_is_not_stored(
        reports_daemon: DaemonHandle, ingested: list[int]) -> None:
    ctx = _ctx(reports_daemon)
    domain_config.save(ctx, DomainConfig(domain="example.com", rua_address="dmarc@example.com"))
    try:
        def mail(domain: str, report_id: str) -> bytes:
            xml = SMALL.replace(b"<domain>\nexample.com</domain>", f"<domain>{domain}</domain>"
                                .encode()).replace(b"by-hand-1", report_id.encode())
            message = EmailMessage()
            message["From"], message["To"] = "d@hand.example", "dmarc@example.com"
            message.add_attachment(gzip.compress(xml), maintype="application",
                                   subtype="gzip", filename="r.xml.gz")
            return message.as_bytes()

        assert dmarc_reports.ingest_message(ctx, mail("elsewhere.example", "x-1")) == 0
        assert dmarc_reports.ingest_message(ctx, mail("news.example.com", "x-2")) == 1
        assert dmarc_reports.ingest_message(ctx, mail("notexample.com", "x-3")) == 0
    finally:
        domain_config.clear(ctx)


def test_housekeeping_forgets_reports_over_a_year_old() -> None:
    """Maintenance prunes reports whose period ended more than RETAIN_SECONDS ago, their rows
    with them; a recent one stays."""
    handle = DaemonHandle()  # a set-up home; housekeeping runs on its database
    ctx = build_context(handle.settings)
    old = SMALL.replace(b"by-hand-1", b"by-hand-old").replace(
        b"1796256000", b"1700000000").replace(b"1796342399", b"1700086399")  # Nov 2023
    try:
        for data in (SMALL, old):
            assert dmarc_reports.import_file(ctx, data, "report.xml")["stored"] == 1
        Maintenance(ctx).run_once()
        kept = [r["report_id"] for r in ctx.db.query("SELECT report_id FROM dmarc_reports")]
        rows = ctx.db.one("SELECT count(*) AS n FROM dmarc_rows")["n"]
        assert kept == ["by-hand-1"] and rows == 1
    finally:
        ctx.db.close()
        handle.close()
