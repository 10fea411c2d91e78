"""DMARC aggregate reports (RFC 7489 appendix C; DMARCbis ``dmarc-2.0``): read, within bounds.

Pure: bytes in, typed records out; no file system, network or clock. :func:`reports_in`
takes a whole message (the one parse, :func:`agenticmail.security.mime_view.read`) and finds
its reports: attachments sent as ``application/gzip``, ``application/zip``, ``text/xml`` (or
``application/octet-stream`` named ``.xml``, ``.xml.gz``, ``.zip``), or the whole body being
one. :func:`parse_file` reads one such file (XML, gzip or zip, recognised by content);
:func:`parse_xml` reads the XML.

Bounds: decompression through :mod:`.dlp_archives` (its bomb-proof budget: at most
:data:`MAX_XML_BYTES` decompressed, :data:`MAX_ZIP_MEMBERS` zip members, counted before the
zip is opened), XML through ``defusedxml`` (no DTD, so no entities and no external
references) read incrementally (:data:`MAX_ROWS` records; each is dropped once read), and
text fields cut at :data:`MAX_FIELD_CHARS`. Anything malformed raises
:class:`InvalidReport` with what was wrong; nothing else escapes.

Both schemas read the same: RFC 7489's (no namespace, ``pct``) and the DMARCbis aggregate
reporting one (``urn:ietf:params:xml:ns:dmarc-2.0``: ``np``, ``testing``,
``discovery_method``, ``generator``); namespaces are ignored and unknown elements (vendor
extensions) skipped.
"""

from __future__ import annotations

import functools
import io
import ipaddress
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as safe_xml

from ..errors import InvalidRequest
from . import dlp_archives
from .mime_view import InboundMessage, Source, iter_leaf_parts, read

MAX_XML_BYTES = dlp_archives.MAX_EXPANDED_BYTES  # decompressed bytes of one message's reports
MAX_ZIP_MEMBERS = 8  # a report zip holds one XML file
MAX_ROWS = 100_000  # records in one report
MAX_FIELD_CHARS = 1000
MAX_REPORTS = 20  # report files read from one message
MAX_COUNT = 10**12  # messages in one record (and pct): far beyond any real report
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: the last time a date can show

REPORT_TYPES = frozenset((
    "application/gzip", "application/x-gzip", "application/zip", "application/x-zip",
    "application/x-zip-compressed", "text/xml", "application/xml",
))
REPORT_SUFFIXES = (".xml", ".xml.gz", ".gz", ".zip")


class InvalidReport(InvalidRequest):
    """A file that is not a readable DMARC aggregate report (what is wrong is said)."""

    code = "invalid_dmarc_report"


@dataclass(frozen=True)
class AuthResult:
    """One ``auth_results`` entry: a DKIM signature (``selector``) or an SPF check
    (``scope``: ``mfrom`` or ``helo``), with the domain it was for and its raw result."""

    domain: str
    result: str
    selector: str = ""
    scope: str = ""
    human_result: str = ""


@dataclass(frozen=True)
class Row:
    """One ``record``: ``count`` messages from ``source_ip`` with the same results.
    ``dkim``/``spf`` are the policy-evaluated (aligned) results; DMARC passes when either
    is ``pass``."""

    source_ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    header_from: str
    envelope_from: str = ""
    envelope_to: str = ""
    reasons: tuple[str, ...] = ()
    auth_dkim: tuple[AuthResult, ...] = ()
    auth_spf: tuple[AuthResult, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        return self.dkim == "pass" or self.spf == "pass"


@dataclass(frozen=True)
class PolicyPublished:
    """The DMARC record the reporter found for ``domain``."""

    domain: str
    p: str = ""
    sp: str = ""
    np: str = ""
    adkim: str = ""
    aspf: str = ""
    pct: int | None = None
    fo: str = ""
    testing: str = ""
    discovery_method: str = ""


@dataclass(frozen=True)
class Report:
    """One aggregate report: who sent it (``org_name``, ``email``), its ``report_id``, the
    period it covers (``begin``/``end``, Unix seconds), the policy and the rows."""

    org_name: str
    email: str
    report_id: str
    begin: int
    end: int
    policy: PolicyPublished
    rows: tuple[Row, ...] = ()
    extra_contact_info: str = ""
    errors: tuple[str, ...] = ()
    version: str = ""
    generator: str = ""

    @property
    def message_count(self) -> int:
        return sum(row.count for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Extracted:
    """What one message carried: the reports read, and a reason for each file that was
    not (``name: why``)."""

    reports: tuple[Report, ...] = ()
    problems: tuple[str, ...] = field(default=())


# -- XML -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _local(tag: str) -> str:
    """An element's name without its namespace, lower case (names repeat: cached)."""
    return tag.rpartition("}")[2].lower()


def _child(elem: Element | None, name: str) -> Element | None:
    if elem is None:
        return None
    for child in elem:
        if _local(str(child.tag)) == name:
            return child
    return None


def _children(elem: Element | None, name: str) -> Iterator[Element]:
    if elem is not None:
        yield from (child for child in elem if _local(str(child.tag)) == name)


def _text(elem: Element | None, *path: str) -> str:
    for name in path:
        elem = _child(elem, name)
    if elem is None or elem.text is None:
        return ""
    return " ".join(elem.text.split())[:MAX_FIELD_CHARS]


def _word(elem: Element | None, *path: str) -> str:
    return _text(elem, *path).lower()


def _integer(text: str, what: str, highest: int = MAX_COUNT) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidReport(f"{what} is not a whole number: {text[:40]!r}") from None
    if not 0 <= value <= highest:
        raise InvalidReport(f"{what} is out of range: {text[:40]!r}")
    return value


def _metadata(elem: Element) -> dict[str, Any]:
    org_name, report_id = _text(elem, "org_name"), _text(elem, "report_id")
    if not org_name or not report_id:
        raise InvalidReport("report_metadata has no org_name or no report_id")
    begin_text, end_text = _text(elem, "date_range", "begin"), _text(elem, "date_range", "end")
    if not begin_text or not end_text:
        raise InvalidReport("report_metadata has no date_range begin/end")
    return {"org_name": org_name, "report_id": report_id, "email": _text(elem, "email"),
            "extra_contact_info": _text(elem, "extra_contact_info"),
            "generator": _text(elem, "generator"),
            "errors": tuple(" ".join((e.text or "").split())[:MAX_FIELD_CHARS]
                            for e in _children(elem, "error")),
            "begin": _integer(begin_text, "date_range begin", MAX_EPOCH),
            "end": _integer(end_text, "date_range end", MAX_EPOCH)}


def _policy(elem: Element) -> PolicyPublished:
    domain = _word(elem, "domain")
    if not domain:
        raise InvalidReport("policy_published has no domain")
    pct = _text(elem, "pct")
    return PolicyPublished(domain=domain, p=_word(elem, "p"), sp=_word(elem, "sp"),
                           np=_word(elem, "np"), adkim=_word(elem, "adkim"),
                           aspf=_word(elem, "aspf"),
                           pct=_integer(pct, "policy_published pct") if pct else None,
                           fo=_text(elem, "fo"), testing=_word(elem, "testing"),
                           discovery_method=_word(elem, "discovery_method"))


def _auth(elem: Element) -> AuthResult:
    return AuthResult(domain=_word(elem, "domain"), result=_word(elem, "result"),
                      selector=_text(elem, "selector"), scope=_word(elem, "scope"),
                      human_result=_text(elem, "human_result"))


def _row(elem: Element, number: int) -> Row:
    row = _child(elem, "row")
    source = _text(row, "source_ip")
    try:
        source = str(ipaddress.ip_address(source))
    except ValueError:
        raise InvalidReport(f"record {number}: source_ip {source[:60]!r} is no IP address"
                            ) from None
    count = _integer(_text(row, "count"), f"record {number}: count")
    evaluated = _child(row, "policy_evaluated")
    identifiers = _child(elem, "identifiers")
    results = _child(elem, "auth_results")
    reasons = tuple(_word(reason, "type") for reason in _children(evaluated, "reason"))
    return Row(source_ip=source, count=count,
               disposition=_word(evaluated, "disposition") or "none",
               dkim=_word(evaluated, "dkim") or "none", spf=_word(evaluated, "spf") or "none",
               header_from=_word(identifiers, "header_from"),
               envelope_from=_word(identifiers, "envelope_from"),
               envelope_to=_word(identifiers, "envelope_to"),
               reasons=tuple(r for r in reasons if r),
               auth_dkim=tuple(_auth(e) for e in _children(results, "dkim")),
               auth_spf=tuple(_auth(e) for e in _children(results, "spf")))


def parse_xml(data: bytes) -> Report:
    """One report from its XML (no DTD allowed; records read one at a time)."""
    data = data.lstrip(b" \t\r\n")  # some reporters put a line break before <?xml
    metadata: dict[str, Any] | None = None
    policy: PolicyPublished | None = None
    version = ""
    rows: list[Row] = []
    depth = 0
    root: Element | None = None
    try:
        for event, elem in safe_xml.iterparse(io.BytesIO(data), events=("start", "end"),
                                              forbid_dtd=True):
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    if _local(str(elem.tag)) != "feedback":
                        raise InvalidReport(f"the document is <{_local(str(elem.tag))[:40]}>, "
                                            "not a DMARC <feedback> report")
                continue
            depth -= 1
            if depth != 1 or root is None:
                continue
            name = _local(str(elem.tag))
            if name == "report_metadata":
                metadata = _metadata(elem)
            elif name == "policy_published":
                policy = _policy(elem)
            elif name == "version":
                version = " ".join((elem.text or "").split())[:40]
            elif name == "record":
                if len(rows) >= MAX_ROWS:
                    raise InvalidReport(f"the report has more than {MAX_ROWS} records")
                rows.append(_row(elem, len(rows) + 1))
            root.remove(elem)  # read: keep memory flat however long the report is
    except safe_xml.ParseError as exc:
        raise InvalidReport(f"the report is not well-formed XML ({exc})") from None
    except defusedxml.DefusedXmlException as exc:
        raise InvalidReport(f"the report's XML was refused ({type(exc).__name__}: a DTD, "
                            "an entity or an external reference)") from None
    if root is None or metadata is None or policy is None:
        raise InvalidReport("the report has no report_metadata or no policy_published")
    return Report(policy=policy, rows=tuple(rows), version=version, **metadata)


# -- files and messages ------------------------------------------------------------------------

def parse_file(data: bytes, name: str = "report", budget: dlp_archives.Budget | None = None
               ) -> list[Report]:
    """The reports in one file (XML, gzip or zip, told apart by content; ``budget`` is
    shared by the files of one message)."""
    budget = budget or dlp_archives.Budget(bytes=MAX_XML_BYTES, members=MAX_ZIP_MEMBERS)
    fmt = dlp_archives.kind(data)
    if fmt is None:
        if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise InvalidReport(f"{name}: neither XML, gzip nor zip")
        if len(data) > budget.bytes:
            raise InvalidReport(f"{name}: larger than {MAX_XML_BYTES // 2**20} MiB")
        budget.bytes -= len(data)
        return [parse_xml(data)]
    if fmt not in ("zip", "gzip"):
        raise InvalidReport(f"{name}: a {fmt} file (reports come as XML, gzip or zip)")
    if fmt == "zip" and data.count(b"PK\x01\x02") > MAX_ZIP_MEMBERS:
        raise InvalidReport(f"{name}: more than {MAX_ZIP_MEMBERS} files in the zip")
    reports = []
    for member in dlp_archives.expand(data, fmt, name, budget):
        if isinstance(member, dlp_archives.Unreadable):
            raise InvalidReport(f"{name}: {member.name + ': ' if member.name else ''}"
                                f"{member.reason}")
        if fmt == "zip" and not member.name.lower().endswith(".xml"):
            continue  # a readme or a signature next to the report
        reports.append(parse_xml(member.data))
    if not reports:
        raise InvalidReport(f"{name}: the zip holds no .xml file")
    return reports


def _is_report_part(content_type: str, filename: str) -> bool:
    if content_type in REPORT_TYPES:
        return True
    return content_type == "application/octet-stream" and \
        filename.lower().endswith(REPORT_SUFFIXES)


def reports_in(source: Source | InboundMessage) -> Extracted:
    """Every report a message carries (attachments, or the whole body being one), with a
    reason for each report-like part that could not be read; never raises."""
    message = read(source, bounded=True)
    if message.exceeded is not None:
        return Extracted(problems=(f"the message is over a parsing bound "
                                   f"({message.exceeded.detail})",))
    reports: list[Report] = []
    problems: list[str] = []
    budget = dlp_archives.Budget(bytes=MAX_XML_BYTES, members=MAX_ZIP_MEMBERS * MAX_REPORTS)
    files = 0
    for part, content_type, filename, is_body in iter_leaf_parts(message.message):
        if is_body or not _is_report_part(content_type, filename):
            continue
        name = filename or content_type
        files += 1
        if files > MAX_REPORTS:
            problems.append(f"more than {MAX_REPORTS} report files: the rest were not read")
            break
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # a broken transfer encoding: nothing to read
            payload = None
        if not isinstance(payload, bytes) or not payload:
            problems.append(f"{name}: empty or undecodable")
            continue
        try:
            reports.extend(parse_file(payload, name, budget))
        except InvalidReport as exc:
            problems.append(exc.message)
    return Extracted(tuple(reports), tuple(problems))


__all__ = ["MAX_ROWS", "MAX_XML_BYTES", "MAX_ZIP_MEMBERS", "AuthResult", "Extracted",
           "InvalidReport", "PolicyPublished", "Report", "Row", "parse_file", "parse_xml",
           "reports_in"]
