"""Sender-authentication verdicts (SPF, DKIM, DMARC) for an inbound message.

Two sources:

* :func:`parse_auth_results` reads the ``Authentication-Results`` header (RFC 8601) that the
  receiving MTA added. Only the topmost header is trusted by default (anything below it
  may have been written by the sender); pass ``trusted_authserv_ids`` to accept only
  headers stamped by your own MTA. ``Received-SPF`` is used for SPF when AR has none.
* :func:`verify_dkim` verifies the DKIM signatures alone (the reply-approval proof for a
  relay provider without a trusted authserv-id).
* :func:`compute_auth` verifies DKIM signatures with ``dkimpy`` and evaluates DMARC
  alignment itself. It is the only function of the security layer that may touch the
  network, and only through the injectable ``resolver`` (a TXT lookup); the default one
  uses dnspython with a hard ``timeout``, and the whole computation is also bounded by a
  wall-clock deadline. DNS trouble yields ``none``/``temperror``; it never raises or hangs.
  SPF needs the connecting IP: a caller that knows it computes SPF with
  :func:`agenticmail.security.spf_check.spf_verdict` and passes the result in; without it
  SPF is ``none``.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import Message
from typing import Any, TypeVar

from agenticmail.config import dns_resolver
from agenticmail.errors import DnsUnavailable
from agenticmail.security import dmarc
from agenticmail.security.mime_view import InboundMessage, read, to_message

_T = TypeVar("_T")
Resolver = Callable[[str], "bytes | str | None"]
"""TXT lookup: fully qualified name -> the record's text, or None when there is none."""

RecordLookup = Callable[[str, str], "list[Any]"]
"""Any lookup: (fully qualified name, record type) -> the answers (:func:`dnspython_records`)."""

_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
_COMMENT = re.compile(r"\([^()]*\)")
_AUTHSERV = re.compile(r"^\s*([^\s;]+)")
_SPF_HEADER = re.compile(r"^\s*([A-Za-z]+)")
_RANK = {
    "pass": 0,
    "fail": 1,
    "softfail": 2,
    "neutral": 3,
    "policy": 4,
    "temperror": 5,
    "permerror": 6,
    "none": 7,
}
_KNOWN = frozenset(_RANK) | {"hardfail", "bestguesspass", "invalid"}


@dataclass(frozen=True)
class AuthVerdicts:
    """Authentication results: each of ``spf``/``dkim``/``dmarc`` is an RFC 8601 result
    word (``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror``,
    ``permerror``, ``policy``); ``source`` is ``header``, ``computed`` or ``absent``;
    ``dmarc_policy`` is the disposition the From domain asks for when DMARC failed;
    ``spf_domain`` the domain SPF checked (MAIL FROM, or HELO for a null sender) when the
    SPF result was computed here (:mod:`.spf_check`)."""

    spf: str = "none"
    dkim: str = "none"
    dmarc: str = "none"
    source: str = "absent"
    # what the From domain's DMARC policy asks for this message (computed verdicts only):
    # none, quarantine or reject (after pct= sampling)
    dmarc_policy: str = "none"
    spf_domain: str = ""

    def to_dict(self) -> dict[str, str]:
        """The JSON form; ``dmarc_policy`` only when the domain asks for more than ``none``,
        ``spf_domain`` only when SPF was computed (so verdicts stored before they existed
        read back exactly as they were saved)."""
        data = asdict(self)
        if self.dmarc_policy == "none":
            del data["dmarc_policy"]
        if not self.spf_domain:
            del data["spf_domain"]
        return data


ABSENT = AuthVerdicts()


def _normal(word: str) -> str:
    w = word.lower()
    if w == "hardfail":
        return "fail"
    if w == "invalid":
        return "permerror"
    return w if w in _RANK else "none"


def _best(results: list[str]) -> str:
    """Combine several results of one method: any pass wins, then the most severe."""
    if not results:
        return "none"
    return min((_normal(r) for r in results), key=lambda r: _RANK.get(r, 99))


def parse_auth_results(
    msg: bytes | Message | InboundMessage, *,
    trusted_authserv_ids: frozenset[str] | None = None
) -> AuthVerdicts | None:
    """Verdicts from the trusted ``Authentication-Results`` header, or None when absent."""
    try:
        message = to_message(msg)
        headers = [str(v) for k, v in message.raw_items() if k.lower() == "authentication-results"]
        spf_headers = [str(v) for k, v in message.raw_items() if k.lower() == "received-spf"]
    except Exception:
        return None
    chosen: list[str] = []
    for value in headers:
        flat = value.replace("\r", " ").replace("\n", " ")
        m = _AUTHSERV.match(flat)
        serv = m.group(1).lower() if m else ""
        if trusted_authserv_ids is None:
            chosen = [flat]  # topmost only
            break
        if serv in {s.lower() for s in trusted_authserv_ids}:
            chosen.append(flat)
    if not chosen and not spf_headers:
        return None
    found: dict[str, list[str]] = {"spf": [], "dkim": [], "dmarc": []}
    for value in chosen:
        text = value
        for _ in range(3):  # nested comments, bounded
            text = _COMMENT.sub(" ", text)
        for method, result in _RESULT.findall(text[:8192]):
            found[method.lower()].append(result)
    if not found["spf"] and spf_headers:
        m = _SPF_HEADER.match(spf_headers[0])
        if m:
            found["spf"].append(m.group(1))
    if not chosen and not found["spf"]:
        return None
    return AuthVerdicts(
        spf=_best(found["spf"]),
        dkim=_best(found["dkim"]),
        dmarc=_best(found["dmarc"]),
        source="header",
    )


_CACHES: dict[str, Any] = {}
_CACHES_LOCK = threading.Lock()
CACHE_SIZE = 2048


def _dns_resolver(nameservers: str) -> Any:
    """A dnspython resolver for ``nameservers`` (comma-separated ``ip`` or ``ip:port``; empty:
    the system's), sharing one TTL-honouring LRU cache per nameserver setting across calls (so
    a DNS answer is reused by every message while its TTL lasts; NXDOMAIN and empty answers
    too)."""
    import dns.resolver

    resolver = dns_resolver(dns.resolver.Resolver, nameservers)
    with _CACHES_LOCK:
        cache = _CACHES.get(nameservers)
        if cache is None:
            cache = _CACHES[nameservers] = dns.resolver.LRUCache(CACHE_SIZE)
    resolver.cache = cache
    return resolver


def dnspython_resolver(timeout: float, nameservers: str = "") -> Resolver:
    """Default resolver: dnspython TXT lookup with a total ``lifetime`` of ``timeout``.

    ``nameservers`` (comma-separated ``ip`` or ``ip:port``, the ``dns_nameservers`` setting)
    replaces the system's resolvers, e.g. a local validating resolver, or a test server."""
    records = dnspython_records(timeout, nameservers)

    def lookup(name: str) -> bytes | None:
        for strings in records(name, "TXT"):
            if strings:
                return b"".join(strings)
        return None

    return lookup


def dnspython_records(timeout: float, nameservers: str = "") -> RecordLookup:
    """Lookups of any type (``A``, ``AAAA``, ``MX``, ``PTR``, ``TXT``) for SPF
    (:mod:`.spf_check`), each bounded by ``timeout`` and cached (:func:`_dns_resolver`).

    Answers: addresses as text (A/AAAA), ``(preference, exchange)`` (MX), the target name
    (PTR), the tuple of character strings as bytes (TXT); an empty list when the name or the
    type does not exist (a definite answer). A lookup that fails for now raises
    :class:`DnsUnavailable`."""
    resolver = _dns_resolver(nameservers)

    def lookup(name: str, rdtype: str) -> list[Any]:
        import dns.exception
        import dns.resolver

        try:
            answer = resolver.resolve(
                name.rstrip("."), rdtype, lifetime=timeout, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return []  # the name does not exist: no record, a definite answer
        except (dns.exception.DNSException, OSError) as error:
            raise DnsUnavailable(type(error).__name__) from None
        found: list[Any] = []
        for rrset in answer.response.answer:
            if rrset.rdtype != answer.rdtype:
                continue  # the CNAME chain dnspython followed
            for item in rrset:
                if rdtype in ("A", "AAAA"):
                    found.append(item.address)
                elif rdtype == "MX":
                    found.append((item.preference, item.exchange.to_text(omit_final_dot=True)))
                elif rdtype == "PTR":
                    found.append(item.target.to_text(omit_final_dot=True))
                else:
                    found.append(tuple(getattr(item, "strings", ())))
        return found

    return lookup


def _as_bytes(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    return value if isinstance(value, bytes) else value.encode("utf-8", "replace")


def _dkim(raw: bytes, resolver: Resolver, timeout: float) -> tuple[str, list[str]]:
    """(result, signing domains that verified)."""
    import dkim

    dnsfunc = dkim_dnsfunc(resolver)
    try:
        verifier = dkim.DKIM(raw, timeout=int(max(1, timeout)))
        sigs = [v for k, v in verifier.headers if k.lower() == b"dkim-signature"]
    except Exception:
        return "permerror", []
    if not sigs:
        return "none", []
    results: list[str] = []
    passed: list[str] = []
    for idx, sig in enumerate(sigs[:5]):
        try:
            ok = verifier.verify(idx=idx, dnsfunc=dnsfunc)
        except (dkim.DnsTimeoutError, DnsUnavailable):
            results.append("temperror")
            continue
        except dkim.ValidationError as error:
            # a body that no longer matches its signed hash was altered: "fail" (RFC 8601
            # §2.7.1); a signature that cannot be evaluated at all is "permerror"
            results.append("fail" if "body hash mismatch" in str(error) else "permerror")
            continue
        except Exception:
            results.append("permerror")
            continue
        results.append("pass" if ok else "fail")
        if ok:
            m = re.search(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)", sig)
            if m:
                passed.append(m.group(1).decode("ascii", "replace").lower())
    return _best(results), passed


def verify_dkim(raw: bytes, resolver: Resolver, timeout: float = 2.0) -> tuple[str, list[str]]:
    """Verify the message's DKIM signatures (at most 5) with ``resolver`` for the keys:
    (combined result word, the signing domains whose signature verified). Bounded by a
    wall-clock deadline of about ``2 * timeout``; never raises."""
    none: list[str] = []
    return within(timeout * 2, lambda: _dkim(bytes(raw), resolver, timeout),
                  late=("temperror", none), failed=("permerror", none))


def within(seconds: float, call: Callable[[], _T], *, late: _T, failed: _T) -> _T:
    """``call()`` bounded by a wall-clock deadline (DNS answers can be slow): ``late`` when
    it does not finish in ``seconds``, ``failed`` when it raises."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dkim")
    try:
        return pool.submit(call).result(timeout=max(seconds, 0.1))
    except concurrent.futures.TimeoutError:
        return late
    except Exception:
        return failed
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def dkim_dnsfunc(resolver: Resolver) -> Callable[..., bytes | None]:
    """``resolver`` in the shape dkimpy asks DNS with (the name as bytes, a timeout)."""

    def dnsfunc(name: bytes | str, timeout: float = 0) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        return _as_bytes(resolver(text))

    return dnsfunc


def _compute(source: bytes | InboundMessage, resolver: Resolver, timeout: float, spf: str,
             spf_domain: str) -> AuthVerdicts:
    message = read(source)
    assert message.raw is not None  # DKIM verifies the bytes as received
    dkim_result, dkim_domains = _dkim(message.raw, resolver, timeout)
    verdict = dmarc.evaluate(
        message.view.from_domain, resolver, dkim_domains=dkim_domains, spf_result=spf,
        spf_domain=spf_domain, message_id=str(message.message.get("message-id", "")))
    return AuthVerdicts(spf=spf, dkim=dkim_result, dmarc=verdict.result, source="computed",
                        dmarc_policy=verdict.disposition,
                        spf_domain=spf_domain if spf != "none" else "")


def compute_auth(
    raw: bytes | InboundMessage,
    *,
    resolver: Resolver | None = None,
    timeout: float = 2.0,
    spf: str = "none",
    spf_domain: str = "",
) -> AuthVerdicts:
    """Verify DKIM and evaluate DMARC (:mod:`.dmarc`, RFC 7489); never raises, never exceeds
    ~``timeout``.

    ``spf`` lets a caller that knows the connecting IP pass its own SPF result in
    (:func:`.spf_check.spf_verdict`), with ``spf_domain``, the MAIL FROM (or HELO) domain it
    checked: it counts for DMARC only if it is ``pass`` and that domain aligns with the From
    domain (``aspf=``). An
    :class:`~.mime_view.InboundMessage` is not parsed again (DKIM still reads its bytes).
    """
    lookup = resolver or dnspython_resolver(timeout)
    domain = spf_domain.rpartition("@")[2].strip().lower()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="auth")
    try:
        source = raw if isinstance(raw, InboundMessage) else bytes(raw)
        future = pool.submit(_compute, source, lookup, timeout, _normal(spf), domain)
        return future.result(timeout=max(timeout * 2, 0.1))
    except concurrent.futures.TimeoutError:
        return AuthVerdicts(spf=_normal(spf), dkim="temperror", dmarc="none", source="computed",
                            spf_domain=domain if _normal(spf) != "none" else "")
    except Exception:
        return AuthVerdicts(spf=_normal(spf), dkim="permerror", dmarc="none", source="computed",
                            spf_domain=domain if _normal(spf) != "none" else "")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
