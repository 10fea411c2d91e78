"""A tiny authoritative DNS server on loopback (UDP, dnspython's wire format) for tests that
need real DNS answers: DKIM keys (``<selector>._domainkey.<domain>`` TXT) and DMARC records.

The daemon reaches it through its ``dns_nameservers`` setting (``127.0.0.1:<port>``), the
same resolver code as in production; nothing in the code under test is patched.
"""

from __future__ import annotations

import base64
import socket
import threading
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class DkimKey:
    """An RSA DKIM key: ``private_pem`` for :func:`dkim.sign`, ``record`` for DNS."""

    domain: str
    selector: str
    private_pem: bytes = field(repr=False)
    record: str

    @classmethod
    def generate(cls, domain: str, selector: str) -> DkimKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(domain, selector, private,
                   "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode())

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, raw: bytes) -> bytes:
        """``raw`` with a DKIM-Signature of this key prepended (relaxed/relaxed)."""
        import dkim

        signature: bytes = dkim.sign(raw, self.selector.encode(), self.domain.encode(),
                                     self.private_pem, canonicalize=(b"relaxed", b"relaxed"),
                                     include_headers=[b"from", b"to", b"subject", b"date",
                                                      b"message-id", b"in-reply-to",
                                                      b"references"])
        return signature + raw


class DnsServer:
    """Answers TXT queries from ``records`` (name -> text) and any type from :meth:`add`
    (MX, A, TXT with several strings...); NODATA for a known name asked another type,
    NXDOMAIN for anything else."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.rrsets: dict[tuple[str, str], list[str]] = {}
        self.queries: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def nameservers(self) -> str:
        """The value for the daemon's ``dns_nameservers`` setting."""
        return f"127.0.0.1:{self.port}"

    def publish(self, key: DkimKey) -> None:
        self.records[key.name.lower()] = key.record

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Answer ``name``/``rdtype`` with ``values`` in zone-file syntax (``"10 mx.example."``
        for MX, ``'"v=spf1 -all"'`` for TXT); replaces what was there."""
        self.rrsets[(name.lower().rstrip("."), rdtype.upper())] = list(values)

    def remove(self, name: str, rdtype: str) -> None:
        self.rrsets.pop((name.lower().rstrip("."), rdtype.upper()), None)

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            self._sock.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for question in query.question:
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            rdtype = dns.rdatatype.to_text(question.rdtype)
            values = self.rrsets.get((name, rdtype))
            if values:
                response.answer.append(dns.rrset.from_text_list(
                    question.name, 60, dns.rdataclass.IN, question.rdtype, values))
                continue
            text = self.records.get(name)
            if text is None:
                if not any(known == name for known, _ in self.rrsets):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                continue
            if question.rdtype != dns.rdatatype.TXT:
                continue
            chunks = " ".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))
            response.answer.append(dns.rrset.from_text(question.name, 60, dns.rdataclass.IN,
                                                       dns.rdatatype.TXT, chunks))
        return response
