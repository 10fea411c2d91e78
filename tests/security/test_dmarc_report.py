"""DMARC aggregate reports read from messages as Google (zip), Microsoft (gzip), Yahoo (gzip)
and a DMARCbis reporter (plain XML in the ``dmarc-2.0`` namespace) send them, and the files
that must be refused: a decompression bomb, too many zip members, a DTD with entities, XML
that is not well-formed or not a report."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from agenticmail.security.dmarc_report import (
    MAX_XML_BYTES,
    MAX_ZIP_MEMBERS,
    InvalidReport,
    Report,
    parse_file,
    parse_xml,
    reports_in,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dmarc"

MINIMAL = b"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>r.example</org_name><email>d@r.example</email>
<report_id>1</report_id><date_range><begin>1796256000</begin><end>1796342399</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated>
<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf>
<domain>example.com</domain><result>fail</result></spf></auth_results></record></feedback>
"""


def _one(name: str) -> Report:
    found = reports_in((FIXTURES / name).read_bytes())
    assert found.problems == ()
    assert len(found.reports) == 1
    return found.reports[0]


def test_google_zip() -> None:
    report = _one("google.eml")
    assert (report.org_name, report.email, report.report_id) == (
        "google.com", "noreply-dmarc-support@google.com", "7104839105726650812")
    assert (report.begin, report.end) == (1796256000, 1796342399)
    assert report.extra_contact_info == "https://support.google.com/a/answer/2466580"
    assert (report.policy.domain, report.policy.p, report.policy.pct, report.policy.np) == (
        "example.com", "quarantine", 100, "quarantine")
    assert [(r.source_ip, r.count, r.disposition, r.dkim, r.spf) for r in report.rows] == [
        ("104.30.8.1", 12, "none", "pass", "pass"),
        ("2a00:1450:4864:20::52f", 2, "none", "pass", "fail"),
        ("185.220.101.7", 3, "quarantine", "fail", "fail")]
    forwarded, spoofed = report.rows[1], report.rows[2]
    assert forwarded.reasons == ("local_policy",)
    assert forwarded.dmarc_pass and not spoofed.dmarc_pass
    assert [(a.domain, a.selector, a.result) for a in forwarded.auth_dkim] == [
        ("example.com", "agenticmail", "pass")]
    assert [(a.domain, a.result) for a in forwarded.auth_spf] == [("lists.example.org", "pass")]
    assert spoofed.auth_dkim == ()
    assert report.message_count == 17


def test_microsoft_gzip_with_namespace_declarations_and_crlf() -> None:
    report = _one("microsoft.eml")
    assert (report.org_name, report.email, report.version) == (
        "Enterprise Outlook", "dmarcreport@microsoft.com", "1.0")
    assert report.report_id == "a01392a9bf614f3da38297ca1f328752"
    assert report.policy.fo == "0"
    first = report.rows[0]
    assert (first.envelope_to, first.envelope_from, first.header_from) == (
        "contoso.com", "example.com", "example.com")
    assert [(a.domain, a.scope, a.result) for a in first.auth_spf] == [
        ("example.com", "mfrom", "pass")]
    assert [(r.source_ip, r.dkim, r.spf, r.disposition) for r in report.rows][1] == (
        "198.51.100.23", "fail", "fail", "quarantine")


def test_yahoo_gzip_with_two_signatures() -> None:
    report = _one("yahoo.eml")
    assert (report.org_name, report.report_id) == ("Yahoo", "1796342399.562389")
    assert [a.domain for a in report.rows[0].auth_dkim] == ["example.com",
                                                            "cloudflare-email.net"]


def test_dmarcbis_plain_xml_in_its_namespace() -> None:
    report = _one("dmarcbis.eml")
    assert (report.org_name, report.generator) == ("mail.example.net", "OpenDMARC 1.5.0")
    policy = report.policy
    assert (policy.np, policy.testing, policy.discovery_method, policy.pct) == (
        "reject", "n", "treewalk", None)
    assert report.rows[0].disposition == "pass"
    assert report.rows[0].envelope_to == "example.net"


def _message(content_type: str, payload: bytes, filename: str | None) -> bytes:
    message = EmailMessage()
    message["From"] = "reports@r.example"
    message["To"] = "dmarc@example.com"
    message["Subject"] = "Report Domain: example.com"
    maintype, subtype = content_type.split("/")
    if filename is None:  # the whole body is the report
        message.set_content(payload, maintype=maintype, subtype=subtype)
    else:
        message.set_content("A DMARC report.")
        message.add_attachment(payload, maintype=maintype, subtype=subtype,
                               filename=filename)
    return message.as_bytes()


@pytest.mark.parametrize(("content_type", "payload", "filename"), [
    ("application/gzip", gzip.compress(MINIMAL), None),
    ("application/octet-stream", gzip.compress(MINIMAL), "r.example!example.com!1!2.xml.gz"),
    ("application/octet-stream", MINIMAL, "r.example!example.com!1!2.xml"),
    ("text/xml", MINIMAL, None),
], ids=["whole-body-gzip", "octet-stream-gz", "octet-stream-xml", "whole-body-xml"])
def test_reports_sent_other_ways(content_type: str, payload: bytes,
                                 filename: str | None) -> None:
    found = reports_in(_message(content_type, payload, filename))
    assert found.problems == ()
    assert [r.report_id for r in found.reports] == ["1"]


def test_a_message_without_a_report_has_none() -> None:
    found = reports_in(_message("text/plain", b"hello", "notes.txt"))
    assert found.reports == () and found.problems == ()
    assert reports_in(b"\x00\xff not a message at all").reports == ()


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<feedback>" + b" " * (MAX_XML_BYTES + 1), compresslevel=9)
    assert len(bomb) < MAX_XML_BYTES // 100
    with pytest.raises(InvalidReport, match="archive bomb"):
        parse_file(bomb, "bomb.xml.gz")
    found = reports_in(_message("application/gzip", bomb, "bomb.xml.gz"))
    assert found.reports == ()
    assert "archive bomb" in found.problems[0]


def test_a_zip_bomb_and_a_crowded_zip_are_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("r.xml", b" " * (MAX_XML_BYTES + 1))
    with pytest.raises(InvalidReport, match="archive bomb"):
        parse_file(buf.getvalue(), "bomb.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in range(MAX_ZIP_MEMBERS + 1):
            zf.writestr(f"r{n}.xml", MINIMAL)
    with pytest.raises(InvalidReport, match="more than 8 files"):
        parse_file(buf.getvalue(), "many.zip")


def test_entities_and_dtds_are_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><feedback>&b;</feedback>')
    external = (b'<?xml version="1.0"?><!DOCTYPE feedback SYSTEM "http://127.0.0.1:1/x.dtd">'
                b'<feedback/>')
    for xml in (laughs, external):
        with pytest.raises(InvalidReport, match="refused"):
            parse_xml(xml)


@pytest.mark.parametrize(("xml", "why"), [
    (b"<feedback><report_metadata>", "not well-formed"),
    (b"<html><body>hello</body></html>", "not a DMARC <feedback>"),
    (b"<feedback><policy_published><domain>x.example</domain></policy_published></feedback>",
     "no report_metadata"),
    (MINIMAL.replace(b"192.0.2.1", b"not-an-ip"), "no IP address"),
    (MINIMAL.replace(b"<count>1</count>", b"<count>many</count>"), "not a whole number"),
    (MINIMAL.replace(b"<begin>1796256000</begin>", b""), "date_range"),
    (MINIMAL.replace(b"<begin>1796256000", b"<begin>99999999999999999999"), "out of range"),
    (MINIMAL.replace(b"<count>1</count>", b"<count>-1</count>"), "out of range"),
    (MINIMAL.replace(b"<count>1</count>", b"<count>10000000000000000000000</count>"),
     "out of range"),
    (b"PK\x03\x04 a truncated zip", "corrupt"),
    (b"%PDF-1.4 not a report", "neither XML, gzip nor zip"),
], ids=["truncated", "html", "no-metadata", "bad-ip", "bad-count", "no-begin", "huge-begin",
        "negative-count", "huge-count", "bad-zip", "pdf"])
def test_malformed_reports_give_a_clear_error(xml: bytes, why: str) -> None:
    with pytest.raises(InvalidReport, match=why) as caught:
        parse_file(xml, "r.xml")
    assert caught.value.code == "invalid_dmarc_report"
    found = reports_in(_message("application/octet-stream", xml, "r.xml"))
    assert found.reports == () and why in found.problems[0]
