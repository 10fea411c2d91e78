"""The outbound DLP rule table: RE2 patterns, each with its validator (:mod:`.dlp_validators`).

Every rule is a linear-time RE2 pattern (see :mod:`agenticmail.security.patterns`) whose
capture group ``group`` holds the sensitive value, and an optional ``check`` that sees the
value and its surroundings and returns the finding's severity, or ``None`` to drop a
look-alike (bad checksum, placeholder, low entropy, no context). Checksums used: Luhn (cards),
ABA (routing numbers), ISO 13616 mod-97 (IBAN), Base58Check and Bech32 (Bitcoin).

Decisions (documented because they trade recall against precision):

* ``AKIAIOSFODNN7EXAMPLE``, AWS's documented example key, **is** reported and blocks: the issue
  uses it as the canonical leak, and an agent cannot tell a template from a real key.
  Well-known test card numbers (4111 1111 1111 1111) block for the same reason.
* Obvious placeholders never report: values of one repeated character, ``xxxx``/``****``
  runs, ``<your-key>``, ``${VAR}``, ``changeme``, ``your_api_key_here``, and generic keys
  without the character mix of a random token.
* Unlabelled numbers are only reported where the format is distinctive and checksummed
  (separated SSNs, Luhn-valid card numbers with a card brand prefix — bare runs of other
  lengths than 16 also need a card word nearby — IBANs, Bitcoin addresses); everything else
  (passport, licence, EIN, account, PIN, ...) needs its label nearby, so order numbers, phone
  numbers and dates in prose stay quiet. Phone numbers are never a finding on their own (only
  the owner's, see :mod:`.dlp_detectors`).
* Severities: every credential, government/health/financial identifier, PIN and security
  answer is HIGH (blocks). MEDIUM (reported only): dates of birth, SWIFT/BIC, a routing number
  or account number without banking context, connection strings without a real password, an
  Ethereum-style address without wallet context, private IPs, local paths, and sensitive-named
  assignments whose name is not secret-bearing (``*_URL``, ``*_HOST``, ``*_PORT``, ``*_USER``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agenticmail.security.dlp_checks import entropy, mask_digits
from agenticmail.security.dlp_validators import (
    HIGH,
    LOW,  # noqa: F401  (unused here; re-exported with the table's other severities)
    MEDIUM,
    Check,
    check_answer,
    check_bank_account,
    check_bank_account_in_context,
    check_card,
    check_conn_string,
    check_ein,
    check_env,
    check_health_id,
    check_iban,
    check_itin,
    check_jwt,
    check_password,
    check_password_strong,
    check_pin,
    check_private_ip,
    check_private_key,
    check_routing,
    check_sort_code,
    check_ssn,
    check_wallet,
    drop_placeholder,
    prefixed_token,
    random_value,
    with_digits,
)

PII, CREDENTIAL, FINANCIAL = "pii", "credential", "financial"
SYSTEM, OWNER, ATTACHMENT = "system_internal", "owner_privacy", "attachment_risk"


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    description: str
    pattern: str
    group: int = 0
    check: Check | None = None
    mask: Callable[[str], str] | None = None


LABEL_SEP = r"[ \t]*(?i:\(?(?:number|num|no\.?|#|id|code)\)?[ \t]*)?(?:[:#=]|\bis\b|-)?[ \t]*"
_LEET_PASS = r"p[a@4][s$5][s$5](?:w[o0]rd|wd|phrase|code)"

# fmt: off
RULES: tuple[Rule, ...] = (
    # --- credentials: fixed-format tokens ---------------------------------------------------
    Rule("private_key", CREDENTIAL, HIGH, "Private key block",
         r"-----BEGIN ((?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?)-----\s*((?:[A-Za-z0-9+/=:,\-]"
         r"{1,100}\s*){2,})",
         2, check_private_key, lambda v: "-----BEGIN PRIVATE KEY----- " + v[:4] + "****"),
    Rule("private_key", CREDENTIAL, HIGH, "PuTTY private key",
         r"(PuTTY-User-Key-File-\d: \S+)",
         1),
    Rule("aws_access_key", CREDENTIAL, HIGH, "AWS access key ID",
         r"\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16})\b",
         1, lambda v, t, s, e: None if "XXXX" in v or len(set(v[4:])) <= 3 else HIGH),
    Rule("aws_secret_key", CREDENTIAL, HIGH, "AWS secret access key",
         r"(?i:aws.{0,20}?secret.{0,20}?)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})\b",
         1, lambda v, t, s, e: HIGH if entropy(v) >= 3.5 and "xxxx" not in v.lower() else None),
    Rule("github_token", CREDENTIAL, HIGH, "GitHub token",
         r"\b(gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
         1, prefixed_token(HIGH)),
    Rule("openai_key", CREDENTIAL, HIGH, "OpenAI/Anthropic API key",
         r"\b(sk-(?:proj|svcacct|admin|ant(?:-[a-z]+\d*)?|None)-[A-Za-z0-9_\-]{20,}|sk-[A-Za-z0"
         r"-9]{20,}T3BlbkFJ[A-Za-z0-9]{20,}|sk-[A-Za-z0-9]{32,64})",
         1, prefixed_token(HIGH)),
    Rule("stripe_key", CREDENTIAL, HIGH, "Stripe key",
         r"\b((?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,99}|whsec_[A-Za-z0-9]{20,})\b",
         1, prefixed_token(HIGH, 14)),
    Rule("slack_token", CREDENTIAL, HIGH, "Slack token",
         r"\b(xox[abposer]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})",
         1, prefixed_token(HIGH, 14)),
    Rule("agenticmail_key", CREDENTIAL, HIGH, "agenticmail master/agent key",
         r"\b((?:mk|ak)_[0-9a-f]{48})\b",
         1, drop_placeholder(HIGH)),
    Rule("oauth_token", CREDENTIAL, HIGH, "Google OAuth access/refresh token",
         r"\b(ya29\.[\w\-]{20,}|1//0[\w\-]{40,})",
         1, prefixed_token(HIGH)),
    Rule("cloud_token", CREDENTIAL, HIGH, "Cloud/SaaS API token",
         r"\b(AIza[0-9A-Za-z_\-]{35}|SG\.[\w\-]{22}\.[\w\-]{43}|glpat-[\w\-]{20,}|npm_[A-Za-z0-"
         r"9]{36}|pypi-AgE[\w\-]{50,}|hf_[A-Za-z]{30,40}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|dop"
         r"_v1_[a-f0-9]{64}|key-[0-9a-f]{32}|SK[0-9a-f]{32}|\d{8,10}:AA[\w\-]{33}|dapi[a-f0-9]{"
         r"32}|AccountKey=[A-Za-z0-9+/=]{80,90}|sq0(?:atp|csp)-[\w\-]{22,43}|EAACEdEose0cBA[0-9"
         r"A-Za-z]+)",
         1, prefixed_token(HIGH)),
    Rule("generic_api_key", CREDENTIAL, HIGH, "API key (sk_/pk_/api_key_ style)",
         r"(?i)\b((?:sk|pk|rk|api_?key|apikey|secret_?key|access_?key)_[A-Za-z0-9_\-]{16,})",
         1, prefixed_token(HIGH)),
    Rule("jwt", CREDENTIAL, HIGH, "JSON Web Token",
         r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
         1, check_jwt),
    Rule("vpn_credentials", CREDENTIAL, HIGH, "VPN credential",
         r"(?i)(?:\bPrivateKey\s*=\s*([A-Za-z0-9+/]{42,43}=)|\b(?:pre-?shared[ _\-]?key|psk|ips"
         r"ec[ _\-]?secret|vpn[ _\-]?(?:password|secret|key|pass))\s*(?:[:=]|\bis\b)\s*[\"']?(\S"
         r"{6,80}))",
         0, None),
    Rule("bearer_token", CREDENTIAL, HIGH, "Bearer/Basic authorization credential",
         r"\b(?:[Bb]earer|[Tt]oken|[Bb]asic)\s+([A-Za-z0-9_\-.~+/]{16,}=*)",
         1, random_value(HIGH)),
    Rule("oauth_token", CREDENTIAL, HIGH, "OAuth access/refresh token or client secret",
         r"(?i)\b(?:access_token|refresh_token|id_token|oauth_?token|client_secret|auth_?token)"
         r"[\"']?\s*(?:[:=]|=>)\s*[\"']?([A-Za-z0-9_\-.~+/]{12,}=*)",
         1, random_value(HIGH, 12)),
    Rule("generic_secret", CREDENTIAL, HIGH, "Labelled secret/token value",
         r"(?i)\b(?:secret|token|api[ _\-]?key|apikey|access[ _\-]?key|private[ _\-]?key|signin"
         r"g[ _\-]?key|encryption[ _\-]?key|auth[ _\-]?key|credential)s?\b[\"']?\s*(?:[:=]|=>|\b"
         r"is\b)\s*[\"']?([A-Za-z0-9_\-+/=.]{16,})",
         1, random_value(HIGH)),
    Rule("db_connection_string", CREDENTIAL, HIGH, "Database/broker connection string",
         r"(?i)\b((?:mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mssql|"
         r"sqlserver|couchdb|neo4j|cockroachdb)://[^\s'\"<>]{3,})",
         1, check_conn_string),
    Rule("webhook_url", CREDENTIAL, HIGH, "Webhook URL carrying its secret",
         r"(?i)\b(https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]"
         r"{12,}|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,}/[\w\-]{20,}|(?:[\w"
         r"\-]+\.)?webhook\.site/[0-9a-f\-]{8,}[^\s<>\"']*|[\w\-]+\.webhook\.office\.com/webhoo"
         r"kb2/[^\s<>\"']{20,}))",
         1),
    Rule("credential_pair", CREDENTIAL, HIGH, "Username + password pair",
         r"(?i)\b(?:user(?:name)?|user[ _]?id|login|e-?mail|account)[\"']?[ \t]*[:=][ \t]*[\"']"
         r"?(\S{2,80}?)[\"']?(?:[ \t,;|/]+|[ \t]*\r?\n[ \t]*)(?:p[a@4][s$5][s$5](?:w[o0]rd|wd|p"
         r"hrase|code)|pwd|passwd|pass)[\"']?[ \t]*[:=][ \t]*[\"']?(\S{1,80})",
         2, check_password, lambda v: "user/password pair ****"),
    Rule("credential_pair", CREDENTIAL, HIGH, "Username + password pair",
         r"(?i)\b(?:log\s*in|sign\s*in)(?:\s+as)?\s+[\"']?([^\s/:]{2,80}?)[\"']?\s+(?:with|and|using)\s+"
         r"(?:the\s+)?(?:password|passwd|pwd|pass)\s*(?:[:=]|\bis\b)?\s*[\"']?(\S{4,80})",
         2, check_password_strong, lambda v: "user/password pair ****"),
    Rule("credential_pair", CREDENTIAL, HIGH, "Username + password pair",
         r"(?i)\bu\s*[:=]\s*(\S{2,80}?)\s+p\s*[:=]\s*(\S{4,80})",
         2, check_password_strong, lambda v: "user/password pair ****"),
    Rule("credential_pair", CREDENTIAL, HIGH, "Username + password pair",
         r"(?i)\b(?:login|credentials?|creds)\b[^\n/:]{0,40}?[ \t]([^\s/:]{2,60})[ \t]+/[ \t]+"
         r"([^\s/]\S{3,79})",
         2, check_password_strong, lambda v: "user/password pair ****"),
    Rule("password", CREDENTIAL, HIGH, "Password value",
         r"(?i)\b(?:pass\s+word|(?:password|passwd|pwd|passcode|passphrase|pin\s+code)\s+(?:for|to|of"
         r"|on)\s+[^\n:=>]{1,40}?)[ \t]*(?:[:=]|->|=>|\bis\b|\bwas\b)[ \t]*[\"']?(\S{4,80})",
         1, check_password_strong),
    Rule("password", CREDENTIAL, HIGH, "Password value",
         r"(?i)\b(?:[a-z0-9]+[_\-])*(?:p[a@4][s$5][s$5](?:w[o0]rd|wd|phrase|code)|pwd|passwd|co"
         r"ntrase[nñ]a|passwort|mot de passe|senha|wachtwoord)\b[\"']?[ \t]*(?:[:=]|=>|\bis\b|\b"
         r"was\b)[ \t]*[\"']?(\S{1,80})",
         1, check_password),
    Rule("password", CREDENTIAL, HIGH, "Password value",
         r"(?i)\b(?:pass|pw|pword|passw)\b[ \t]*(?:[:=]|\bis\b)[ \t]*[\"']?(\S{4,80})",
         1, check_password_strong),
    # --- PII --------------------------------------------------------------------------------
    Rule("ssn", PII, HIGH, "US Social Security number",
         r"\b(\d{3}-\d{2}-\d{4}|\d{3}\.\d{2}\.\d{4}|\d{3} \d{2} \d{4})\b",
         1, check_ssn, mask_digits),
    Rule("ssn", PII, HIGH, "US Social Security number (labelled)",
         r"(?i)\b(?:ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?|soc\.?\s*sec\.?(?:\s*(?"
         r":number|no\.?|#))?)[^0-9\n]{0,20}?(\d{3}[-. ]?\d{2}[-. ]?\d{4})\b",
         1, check_ssn, mask_digits),
    Rule("itin", PII, HIGH, "US ITIN",
         r"\b(9\d{2}-\d{2}-\d{4}|9\d{2} \d{2} \d{4})\b|(?i:\bITIN\b)[^0-9\n]{0,20}?(9\d{2}[-. ]"
         r"?\d{2}[-. ]?\d{4})\b",
         0, check_itin, mask_digits),
    Rule("credit_card", PII, HIGH, "Payment card number (Luhn-valid)",
         r"\b(\d{4}(?:-\d{4}){2}-\d{1,7}|\d{4}(?: \d{4}){2} \d{1,7}|\d{4}[ -]\d{6}[ -]\d{4,5}|\d"
         r"{13,19})\b",
         1, check_card, mask_digits),
    Rule("bank_routing", PII, MEDIUM, "Bank routing (ABA) number",
         r"(?i)\b(?:routing|aba|rtn|transit|ach)(?:\s+(?:number|num|no\.?|#|code))?\s*(?:[:#]|\b"
         r"is\b)?\s*(\d{9})\b",
         1, check_routing, mask_digits),
    Rule("bank_account", PII, HIGH, "Bank account number",
         r"(?i)\b(?:(?:bank|checking|savings|chequing)\s+)?(?:account|acct|a/c)\s*(?:number|num"
         r"|no\.?|#)\s*(?:[:#]|\bis\b)?\s*(\d[\d -]{4,20}\d)\b",
         1, check_bank_account, mask_digits),
    Rule("bank_account", PII, HIGH, "Bank account number",
         r"(?i)\b(?:bank|checking|savings|chequing)\s+(?:account|acct)\s*(?:[:#]|\bis\b)\s*(\d["
         r"\d -]{4,20}\d)\b",
         1, check_bank_account, mask_digits),
    Rule("bank_account", PII, HIGH, "Bank account number",
         r"(?i)\b(?:account|acct|a/c)\s*[:#]\s*(\d[\d -]{4,20}\d)\b",
         1, check_bank_account_in_context, mask_digits),
    Rule("bank_routing", PII, MEDIUM, "UK sort code",
         r"(?i)\bsort\s*code\s*(?:[:#]|\bis\b)?\s*(\d{2}[- ]?\d{2}[- ]?\d{2})\b",
         1, check_sort_code, mask_digits),
    Rule("drivers_license", PII, HIGH, "Driver's licence number",
         r"(?i:\bdriver'?s?\s*(?:licen[cs]e|lic\.?)|\bdriving\s+licen[cs]e)" + LABEL_SEP
         + r"([A-Z0-9][A-Z0-9\- ]{3,16}[A-Z0-9])\b",
         1, with_digits(HIGH, 3)),
    Rule("drivers_license", PII, HIGH, "Driver's licence number",  # "DL" alone is also Delta
         r"\bDLN?(?:[ \t]*[:#]|[ \t]+(?i:number|no\.?)[ \t]*[:#]?)[ \t]*([A-Z0-9][A-Z0-9\-]{3,16}"
         r"[A-Z0-9])\b",
         1, with_digits(HIGH, 3)),
    Rule("passport", PII, HIGH, "Passport number",
         r"(?i:\bpassport)[ \t]*(?i:\(?(?:number|num|no\.?|#|id|code)\)?[ \t]*)?(?:[:#=]|\bis\b"
         r"|-)?[ \t]*([A-Z0-9]{6,12})\b",
         1, with_digits(HIGH, 4)),
    Rule("tax_id", PII, HIGH, "Tax ID / EIN",
         r"(?i)\b(?:EIN|FEIN|TIN|employer\s+identification|tax\s*(?:payer\s*)?(?:id|identificat"
         r"ion))(?:\s+(?:number|num|no\.?|#))?\s*(?:[:#]|\bis\b)?\s*(\d{2}-?\d{7})\b",
         1, check_ein, mask_digits),
    Rule("health_insurance_id", PII, HIGH, "Health-insurance / Medicare ID",
         r"(?i)\b(?:medicare|medicaid|MBI|HICN|health\s*(?:insurance|plan|care)(?:\s+(?:member|"
         r"policy|subscriber))?|insurance\s+member|member|subscriber|policy|group)\s*(?:id|numb"
         r"er|num|no\.?|#)\s*(?:[:#]|\bis\b)?\s*([A-Z0-9][A-Z0-9\-]{5,16}[A-Z0-9])\b",
         1, check_health_id),
    Rule("a_number", PII, HIGH, "Immigration A-number",
         r"(?i)\b(?:a[\- ]?(?:number|no\.?|#)|alien\s+(?:registration\s+)?(?:number|no\.?|#)|us"
         r"cis\s*(?:number|no\.?|#)?)\s*[:#]?\s*(A?[\- ]?\d{3}[\- ]?\d{3}[\- ]?\d{2,3})\b",
         1, with_digits(HIGH, 8), mask_digits),
    Rule("pin", PII, HIGH, "PIN code",
         r"(?:\bPIN|(?i:\b(?:pin\s*(?:code|number|no)|passcode|atm\s+pin|debit\s+pin|card\s+pin"
         r")))\b(?:\s+(?i:is))?\s*[:=#]?\s*(\d{4,8})\b",
         1, check_pin, mask_digits),
    Rule("security_answer", PII, HIGH, "Security question answer",
         r"(?i)\b(?:mother'?s\s+maiden\s+name|maiden\s+name|security\s+(?:answer|question\s+ans"
         r"wer)|secret\s+answer|answer\s+to\s+(?:the|my|your)\s+security\s+question|first\s+pet"
         r"'?s?\s+name|name\s+of\s+(?:my|your)\s+first\s+pet|childhood\s+(?:nickname|best\s+fri"
         r"end)|first\s+car|elementary\s+school)\s*(?:[:=\-]|\bis\b|\bwas\b)\s*([^\n]{2,60})",
         1, check_answer),
    Rule("dob", PII, MEDIUM, "Date of birth",
         r"(?i)\b(?:date\s+of\s+birth|d\.o\.b\.?|dob|birth\s*date|birthday|born(?:\s+on)?)\s*[:"
         r"\-]?\s*(?:is\s+)?(\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}|(?:jan|feb|mar|apr|may|jun|jul|a"
         r"ug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|"
         r"th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d"
         r"{4})\b",
         1, None, lambda v: mask_digits(v, 0) if any(c.isdigit() for c in v[-4:]) else "****"),
    # --- financial --------------------------------------------------------------------------
    Rule("iban", FINANCIAL, HIGH, "IBAN (checksum-valid)",
         r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b",
         1, check_iban, mask_digits),
    Rule("swift_bic", FINANCIAL, MEDIUM, "SWIFT/BIC code",
         r"(?i:\b(?:swift|bic|swift/bic|bic/swift)(?:\s+(?:code|no\.?|#))?)\s*(?:[:#]|\bis\b)?\s"
         r"*([A-Z]{4}(?:A[DEFGILMOQRSTUWZ]|B[ABDEFGHIJMNORSTWYZ]|C[ADFGHIKLMNORUVWXYZ]|D[EJKMOZ"
         r"]|E[CEGRST]|F[IJKMOR]|G[ABDEFGHILMNPQRSTUWY]|H[KMNRTU]|I[DELMNOQRST]|J[EMOP]|K[EGHIM"
         r"NPRWYZ]|L[ABCIKRSTUVY]|M[ACDEFGHKLMNOPQRSTUVWXYZ]|N[ACEFGILOPRUZ]|OM|P[AEFGHKLMNRSTW"
         r"Y]|QA|R[EOSUW]|S[ABCDEGHIJKLMNORSTVXYZ]|T[CDFGHJKLMNORTVWZ]|U[AGMSYZ]|V[ACEGINU]|W[F"
         r"S]|XK|Y[ET]|Z[AMW])[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b",
         1, None),
    Rule("crypto_wallet", FINANCIAL, HIGH, "Cryptocurrency wallet address",
         r"\b((?:bc1|tb1|ltc1)[a-zA-HJ-NP-Z0-9]{25,87}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}|0x[a-fA-"
         r"F0-9]{40})\b",
         1, check_wallet),
    # --- system internals -------------------------------------------------------------------
    Rule("private_ip", SYSTEM, MEDIUM, "Private network address",
         r"\b(10\.\d{1,3}\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01]"
         r")\.\d{1,3}\.\d{1,3})\b",
         1, check_private_ip, lambda v: v.rsplit(".", 2)[0] + ".*.*"),
    Rule("file_path", SYSTEM, MEDIUM, "Local file path",
         r"(?:^|[\s\"'(=:>])((?:/Users/|/home/|/root/|/etc/|/var/|/opt/|/srv/|~/\.|[A-Za-z]:\\("
         r"?:Users|Windows|Program Files|ProgramData)\\)[^\s<>\"'|]{2,})",
         1, None, lambda v: v[: min(len(v) // 2, 12)] + "****"),
    Rule("env_assignment", SYSTEM, MEDIUM, "Environment assignment with a sensitive name",
         r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|CREDEN"
         r"TIALS?|AUTH|DSN|URL|URI|HOST|PORT|USER|USERNAME))\s*[=:]\s*[\"']?([^\s\"']{3,})",
         2, check_env),
    # --- owner privacy (phrases; the profile itself is matched in outbound.py) --------------
    Rule("owner_disclosure", OWNER, HIGH, "Reveals the owner's personal details",
         r"(?i)\b((?:my|our)\s+(?:owner|human|principal|operator|boss|creator)'?s?\s+(?:full\s+"
         r"|real\s+|legal\s+|home\s+|personal\s+|private\s+|cell\s+|mobile\s+)?(?:name|address|"
         r"phone(?:\s+number)?|number|birthday|date\s+of\s+birth|e-?mail|ssn|social\s+security|"
         r"bank|salary|medical|health|location|password)\s+(?:is|are|was)\b|my\s+(?:owner|human"
         r"|principal|operator|creator)\s+(?:lives|lived|resides|was\s+born|is\s+named|is\s+cal"
         r"led|works\s+at)\b|the\s+person\s+who\s+(?:owns|runs|operates)\s+me\s+(?:is|lives))",
         1, None, lambda v: v),
)
# fmt: on
