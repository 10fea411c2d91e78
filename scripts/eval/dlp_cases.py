# ruff: noqa: E501  (generator templates read better unwrapped)
"""Labelled outgoing mails for ``eval_dlp.py``: positives for every type (a quarter as
obfuscated HTML), unseen phrasing variants, and look-alikes that must not be blocked."""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from agenticmail.models import Attachment, OutgoingMail
from agenticmail.security.outbound import OwnerProfile
from scripts.eval.dlp_formats import ALNUM, Gen

# (type, accepted rule ids, expected severity)
TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "ssn": (("ssn",), "high"),
    "credit_card": (("credit_card",), "high"),
    "bank_account": (("bank_account", "bank_routing"), "high"),
    "drivers_license": (("drivers_license",), "high"),
    "dob": (("dob",), "medium"),
    "passport": (("passport",), "high"),
    "tax_id": (("tax_id",), "high"),
    "itin": (("itin",), "high"),
    "health_insurance_id": (("health_insurance_id",), "high"),
    "a_number": (("a_number",), "high"),
    "pin": (("pin",), "high"),
    "security_answer": (("security_answer",), "high"),
    "aws_access_key": (("aws_access_key",), "high"),
    "openai_key": (("openai_key",), "high"),
    "generic_api_key": (("generic_api_key", "stripe_key"), "high"),
    "github_token": (("github_token",), "high"),
    "stripe_key": (("stripe_key",), "high"),
    "slack_token": (("slack_token",), "high"),
    "jwt": (("jwt",), "high"),
    "bearer_token": (("bearer_token",), "high"),
    "password": (("password", "env_assignment", "env_block", "credential_pair"), "high"),
    "private_key": (("private_key",), "high"),
    "db_connection_string": (("db_connection_string",), "high"),
    "webhook_url": (("webhook_url",), "high"),
    "env_block": (("env_block",), "high"),
    "seed_phrase": (("seed_phrase",), "high"),
    "backup_codes": (("backup_codes",), "high"),
    "credential_pair": (("credential_pair",), "high"),
    "oauth_token": (("oauth_token",), "high"),
    "vpn_credentials": (("vpn_credentials",), "high"),
    "agenticmail_key": (("agenticmail_key",), "high"),
    "iban": (("iban",), "high"),
    "swift_bic": (("swift_bic",), "medium"),
    "crypto_wallet": (("crypto_wallet",), "high"),
    "wire_instructions": (("wire_instructions",), "high"),
    "private_ip": (("private_ip",), "medium"),
    "file_path": (("file_path",), "medium"),
    "env_assignment": (("env_assignment", "password"), "medium"),
    "owner_privacy": (("owner_phone", "owner_address", "owner_birthday"), "high"),
    "attachment_high": (("sensitive_file",), "high"),
    "attachment_medium": (("data_file",), "medium"),
}


@dataclass
class Case:
    kind: str
    mail: OutgoingMail
    owner: OwnerProfile | None = None


def _obfuscate(rng: random.Random, text: str) -> str:
    """HTML that renders as ``text`` but hides it from naive matching."""
    out = []
    for ch in text:
        r = rng.random()
        if ch == "\n":
            out.append("<br>")
        elif r < 0.08:
            out.append(f"<b>{ch}</b>")
        elif r < 0.16:
            out.append(f"&#{ord(ch)};")
        elif r < 0.2:
            out.append(f"&#x{ord(ch):x};")
        elif ch in "<>&":
            out.append({"<": "&lt;", ">": "&gt;", "&": "&amp;"}[ch])
        else:
            out.append(ch)
    return "<html><body><p>" + "".join(out) + "</p></body></html>"


def positive_cases(gen: Gen, n: int) -> list[Case]:
    cases: list[Case] = []
    for kind in TYPES:
        for i in range(n):
            owner = None
            atts: tuple[Attachment, ...] = ()
            if kind == "owner_privacy":
                birthday = gen.fake.date_of_birth(minimum_age=20, maximum_age=80)
                owner = OwnerProfile(
                    name=gen.fake.name(),
                    email=gen.fake.email(),
                    phone=gen.us.phone_number(),
                    address=gen.us.street_address() + ", " + gen.us.city(),
                    birthday=birthday,
                )
                field = gen.pick("phone", "address", "birthday")
                value = {
                    "phone": owner.phone or "",
                    "address": (owner.address or "").split(",")[0],
                    "birthday": birthday.strftime("%B %d, %Y").replace(" 0", " "),
                }[field]
                payload = (
                    f"You can reach the boss at {value}."
                    if field != "birthday"
                    else f"Her birthday is {value}."
                )
            elif kind.startswith("attachment"):
                atts = (
                    gen.attachment_high() if kind == "attachment_high" else gen.attachment_medium(),
                )
                payload = "Please find the file attached."
            else:
                payload = getattr(gen, kind)()
            text = f"Hi {gen.fake.first_name()},\n\n{gen.fake.sentence()} {payload}\n{gen.fake.sentence()}\n\nBest,\n{gen.fake.first_name()}"
            as_html = i % 4 == 3 and not kind.startswith("attachment")
            mail = OutgoingMail(
                to=("x@example.com",),
                subject=gen.fake.sentence(nb_words=4),
                text=None if as_html else text,
                html=_obfuscate(gen.rng, text) if as_html else None,
                attachments=atts,
            )
            cases.append(Case(kind, mail, owner))
    return cases


# Phrasings written before measuring them, as a rough check of how the rules generalise beyond
# the templates above. First measurement: 95.8 % (password 30 %, credential_pair 37 %, jwt 60 %,
# crypto_wallet 93 %, the rest 100 %); the password / pair / wallet rules were then widened, so
# this set is no longer held out — new phrasings should be added here before looking again.
VARIANTS: dict[str, tuple[str, ...]] = {
    "ssn": ("For the background check, here's my social: {ssn}", "SS# {ssn}", "Soc Sec No. {ssn}"),
    "credit_card": ("Go ahead and charge my Mastercard ending... actually the full number is {card}",
                    "CC#: {card}  Exp: 09/28  CVC: 441", "billing card {card}"),
    "bank_account": ("Direct deposit: ABA {aba}, acct # {acct}", "Checking acct: {acct} (routing {aba})",
                     "bank account no. {acct}"),
    "passport": ("Passport No: {passport}", "Her passport # is {passport}", "passport number {passport} (exp. 2031)"),
    "tax_id": ("Our federal EIN is {ein}", "Tax ID # {ein}", "FEIN: {ein}"),
    "aws_access_key": ("creds:\n  access key id: {aws}\n  region: us-east-1", "AWS_ACCESS_KEY_ID={aws}", "the IAM key is {aws}"),
    "github_token": ("git clone https://{gh}@github.com/acme/repo.git", "GH token -> {gh}", "export GITHUB_TOKEN={gh}"),
    "openai_key": ("OPENAI_API_KEY=\"{openai}\"", "openai key: {openai}", "client = OpenAI(api_key='{openai}')"),
    "password": ("The login for the router is admin / {pw}", "pass word: {pw}", "Password for the shared drive -> {pw}",
                 "my pwd is {pw}"),
    "private_key": ("{pem}",),
    "db_connection_string": ("DATABASE_URL={db}", "connect with {db}", "Use this DSN: {db}"),
    "jwt": ("Authorization: Bearer {jwt}", "session={jwt}", "id_token: {jwt}"),
    "seed_phrase": ("Wallet backup words (keep offline!): {seed}", "{seed}", "recovery: {seed}."),
    "credential_pair": ("user = {user}\npass = {pw}", "Login {user} with password {pw}", "u: {user} p: {pw}"),
    "iban": ("Bankverbindung: {iban}", "IBAN {iban} (BIC on request)", "account (IBAN): {iban}"),
    "crypto_wallet": ("BTC: {btc}", "donate to {btc}", "my cold wallet {btc}"),
    "stripe_key": ("STRIPE_SECRET_KEY={stripe}", "stripe.api_key = \"{stripe}\"", "the stripe key {stripe}"),
    "slack_token": ("SLACK_BOT_TOKEN={slack}", "bot token: {slack}", "token={slack}"),
    "webhook_url": ("curl -X POST {hook} -d '{{}}'", "webhook: {hook}", "<a href=\"{hook}\">hook</a>"),
}  # fmt: skip


def variant_cases(gen: Gen, n: int) -> list[Case]:
    """``n`` messages per type from :data:`VARIANTS` with freshly generated values."""
    cases: list[Case] = []
    for kind, templates in VARIANTS.items():
        for _ in range(n):
            values = {
                "ssn": gen.us.ssn(), "card": gen.us.credit_card_number(card_type=gen.pick("visa16", "mastercard", "amex")),
                "aba": gen.us.aba(), "acct": gen.tok(10, string.digits), "passport": gen.us.passport_number(),
                "ein": gen.us.ein(), "aws": "AKIA" + gen.tok(16, string.ascii_uppercase + "234567"),
                "gh": "ghp_" + gen.tok(36), "openai": "sk-proj-" + gen.tok(64, ALNUM + "-_"),
                "pw": gen.fake.password(length=12), "pem": gen.private_key(), "db": gen.db_connection_string(),
                "jwt": gen.jwt().split(": ", 1)[1], "seed": gen.seed_phrase().split(": ")[-1],
                "user": gen.fake.user_name(), "iban": gen.fake.iban(), "btc": gen.crypto_wallet().split()[-1],
                "stripe": "sk_live_" + gen.tok(24), "slack": gen.slack_token(), "hook": gen.webhook_url(),
            }  # fmt: skip
            payload = gen.rng.choice(templates).format(**values)
            text = f"Hello,\n\n{gen.fake.paragraph()}\n{payload}\n\n{gen.fake.sentence()}\nCheers"
            cases.append(
                Case(kind, OutgoingMail(to=("x@example.com",), subject="Re: request", text=text))
            )
    return cases


def lookalike_cases(gen: Gen, n: int) -> list[Case]:
    rng, fake = gen.rng, gen.fake

    def bad_card() -> str:
        num = gen.us.credit_card_number(card_type="visa16")
        return " ".join(
            (num[:-1] + str((int(num[-1]) + rng.randint(1, 9)) % 10))[i : i + 4]
            for i in range(0, 16, 4)
        )

    def bad_iban() -> str:
        v = fake.iban()
        i = rng.randrange(4, len(v))
        while True:
            d = rng.choice(string.digits)
            if d != v[i] and v[i].isdigit():
                return v[:i] + d + v[i + 1 :]
            i = rng.randrange(4, len(v))

    makers: dict[str, Callable[[], str]] = {
        "bad-checksum card": lambda: f"card {bad_card()}",
        "bad-checksum IBAN": lambda: f"IBAN: {bad_iban()}",
        "placeholder key": lambda: gen.pick(
            "AKIAXXXXXXXXXXXXXXXX",
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "api_key: YOUR_API_KEY_HERE",
            "ghp_<your-token>",
            "password: ********",
            "Bearer <token>",
            "sk-proj-...",
            "OPENAI_API_KEY=${OPENAI_API_KEY}",
            "password: <PASSWORD>",
            "token: [REDACTED]",
        ),
        "hash": lambda: (
            gen.pick("md5 ", "sha1 ", "sha256 ", "checksum: ")
            + hashlib.new(gen.pick("md5", "sha1", "sha256"), rng.randbytes(16)).hexdigest()
        ),
        "uuid": lambda: f"request id {uuid.UUID(int=rng.getrandbits(128))}",
        "order number": lambda: (
            f"Order #{rng.randint(10**8, 10**12)} shipped, tracking 1Z{gen.tok(16, string.ascii_uppercase + string.digits)}"
        ),
        "phone number": lambda: f"call me at {gen.us.phone_number()}",
        "date in prose": lambda: (
            f"the meeting on {fake.date()} at {fake.time()} ({fake.date_this_decade().strftime('%B %d, %Y')})"
        ),
        "prose with contact details": lambda: (
            f"{fake.paragraph()} Visit {fake.url()} or write to {fake.company_email()}, "
            f"{fake.address()}, phone {fake.phone_number()}, on {fake.date()}"
        ),
        "commit id": lambda: f"fixed in commit {hashlib.sha1(rng.randbytes(8)).hexdigest()}",
        "version / amount": lambda: (
            f"version {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}, total ${rng.randint(10, 99999):,}.{rng.randint(10, 99)}"
        ),
    }
    cases = []
    for kind, make in makers.items():
        for i in range(n):
            text = f"{fake.sentence()} {make()}. {fake.sentence()}"
            html = _obfuscate(rng, text) if i % 4 == 3 else None
            cases.append(
                Case(
                    kind,
                    OutgoingMail(
                        to=("x@example.com",),
                        subject=fake.sentence(nb_words=4),
                        text=None if html else text,
                        html=html,
                    ),
                )
            )
    return cases
