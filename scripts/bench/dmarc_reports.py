"""DMARC aggregate report throughput: one large gzip report parsed (bounded, defusedxml) and
stored, then summarised.

Builds a report of ``--records`` records (as a big sender's daily report from Google or
Microsoft), times :func:`parse_file` on its gzip, :func:`ingest_message` of a message carrying
it into a fresh database, and :func:`summary` over it; prints seconds and records/s.

    python -m scripts.bench.dmarc_reports [--records 20000]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from agenticmail.config import Settings
from agenticmail.security.dmarc_report import parse_file
from agenticmail.services.context import build_context
from agenticmail.services.dmarc_reports import ingest_message, summary

RECORD = """  <record>
    <row>
      <source_ip>198.51.{a}.{b}</source_ip>
      <count>3</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><result>pass</result><selector>s1</selector></dkim>
      <spf><domain>bounce.example.net</domain><result>pass</result></spf>
    </auth_results>
  </record>
"""


def report_xml(records: int) -> bytes:
    body = "".join(RECORD.format(a=i // 256 % 256, b=i % 256) for i in range(records))
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<feedback>\n  <report_metadata>"
            "<org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>"
            "<report_id>bench-1</report_id><date_range><begin>1796256000</begin>"
            "<end>1796342399</end></date_range></report_metadata>\n  <policy_published>"
            "<domain>example.com</domain><p>quarantine</p></policy_published>\n"
            + body + "</feedback>\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    xml = report_xml(args.records)
    data = gzip.compress(xml)
    print(f"report: {args.records} records, {len(xml) / 2**20:.1f} MiB XML, "
          f"{len(data) / 2**10:.0f} KiB gzip")

    started = time.perf_counter()
    [report] = parse_file(data, "google.com!example.com!1796256000!1796342399.xml.gz")
    parsed = time.perf_counter() - started
    print(f"parse:   {parsed:.2f} s ({len(report.rows) / parsed:,.0f} records/s)")

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "noreply-dmarc-support@google.com", "dmarc@example.com", "Report domain: example.com")
    message.set_content("")
    message.add_attachment(data, maintype="application", subtype="gzip",
                           filename="google.com!example.com!1796256000!1796342399.xml.gz")
    with tempfile.TemporaryDirectory(prefix="agenticmail-bench-") as home:
        ctx = build_context(Settings(home=Path(home)))
        started = time.perf_counter()
        stored = ingest_message(ctx, message.as_bytes())
        ingested = time.perf_counter() - started
        print(f"ingest:  {ingested:.2f} s (parse + store; {stored} report)")
        started = time.perf_counter()
        result = summary(ctx, "2026-01-01T00:00:00Z")
        print(f"summary: {time.perf_counter() - started:.2f} s ({result['messages']} messages, "
              f"{len(result['sources'])} sources shown)")
        ctx.db.close()


if __name__ == "__main__":
    main()
