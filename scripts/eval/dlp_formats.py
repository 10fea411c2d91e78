# ruff: noqa: E501  (generator templates read better unwrapped)
"""Seeded generators of secrets and PII for ``eval_dlp.py``: each provider's documented token
format, real PEM keys (``openssl``), BIP-39 phrases, checksummed cards, IBANs and addresses,
Faker identities, and the prose around them. Nothing generated is committed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import subprocess
import uuid

from agenticmail.models import Attachment
from agenticmail.security.dlp_checks import bech32_ok

ALNUM = string.ascii_letters + string.digits
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


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
