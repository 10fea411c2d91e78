"""The inbound rule table: every rule's id, category, points and description, and the
thresholds a total is judged by.

This is data, not logic: :mod:`.spam` decides when each rule fires and adds up the points.
``docs/filters.md`` carries the same table, and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

SPAM_THRESHOLD = 40
WARNING_THRESHOLD = 20
MAX_SCORE = 100
CATEGORY_ORDER = (
    "prompt_injection",
    "data_exfiltration",
    "social_engineering",
    "phishing",
    "attachment",
    "authentication",
    "content_spam",
    "header",
    "links",
)


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    id: str
    category: str
    points: int
    description: str


# The rule table (docs/filters.md mirrors it): id, points, description; the id prefix is the
# category. Reference points come from the issue; changes are justified in docs/filters.md.
_RULE_TABLE = """
PI_IGNORE_INSTRUCTIONS  40  asks to ignore/disregard previous instructions or rules
PI_ROLE_REASSIGNMENT    40  reassigns the reader's role ('you are now a ...', 'from now on you')
PI_LLM_DELIMITER        40  chat-template delimiters ([SYSTEM], [INST], <<SYS>>, <|im_start|>)
PI_NEW_INSTRUCTIONS     30  announces new/override/system instructions
PI_ROLEPLAY             15  imperative 'act as' / 'pretend to be' / role-play request
PI_SECRECY              15  tells the reader not to mention/tell/reveal this to the user or owner
PI_INVISIBLE_UNICODE    20  Unicode tag characters or dense zero-width/variation-selector runs
PI_JAILBREAK            40  jailbreak vocabulary (DAN, developer mode, bypass safety/filters)
PI_BASE64_BLOCK         15  base64 block of 100+ characters in the body text
PI_CODE_FENCE           10  fenced code injection (```system, code fence with exec/eval/curl)
PI_ADDRESSES_AI         40  text addressed to an AI/LLM/assistant reading the mail
PI_PERSISTENCE          30  plants instructions for future replies or the model's memory
PI_OUTPUT_CONTROL       40  dictates the exact output ('respond only with', 'just print "..."')
PI_TOOL_CALL            40  tells the reader to call a tool/function (send_email, delete_file ...)
PI_OBFUSCATED           40  encoded instruction (base64, hex, leet, rot13 ...) or 'decode and obey'
PI_CLASSIFIER           40  learned model (injection_model.py): some window reads as an injection
PI_MULTIPLE_SIGNALS     10  2+ distinct injection/exfiltration/social-engineering rules fired
SE_OWNER_REQUEST        20  claims the owner/admin asked or told the reader to act
SE_CREDENTIAL_REQUEST   15  asks to share an API key, password, token or other secret
SE_SYSTEM_MESSAGE_CLAIM 15  claims to be a system/security/admin message
SE_URGENCY_AUTHORITY    10  urgency combined with authority or threat
SE_MONEY_TRANSFER       15  money transfer request (wire, Western Union, MoneyGram)
SE_GIFT_CARDS           20  asks to buy or send gift cards / their codes
SE_EXECUTIVE_FRAUD      15  CEO/CFO fraud phrasing (I am the CEO, quick favour, keep confidential)
DX_FORWARD_ALL          20  asks to forward all/every email or set up forwarding
DX_SEARCH_SECRETS       20  asks to search the mailbox for passwords/credentials or collect them
DX_SEND_TO_EXTERNAL     15  asks to send the/all ... to an address outside the sender's domain
DX_REVEAL_PROMPT        40  asks to reveal the system prompt or dump instructions
DX_EXFIL_ENDPOINT       15  webhook/tunnel/request-capture URL (ngrok, pipedream, requestbin ...)
PH_BRAND_IMPERSONATION  10  brand in the display name but the From domain is not the brand's
PH_VERIFY_ACCOUNT       15  'verify/confirm your account/password' with links
PH_IP_URL               15  link to a bare IP address
PH_URL_SHORTENER        10  link through a URL shortener
PH_DEEP_SUBDOMAIN       10  link host with 6+ labels or a brand name in a foreign subdomain
PH_SCRIPT_URI           15  javascript:, vbscript: or data:text/html link
PH_IDN_SENDER           15  punycode or mixed-script From domain
PH_LINK_TEXT_MISMATCH   10  link text shows one domain or names a brand, the href goes elsewhere
PH_BRAND_IN_CONTENT     10  brand in subject/opening with a sign-in/account/payment ask, not from it
PH_LOOKALIKE_BRAND      25  From, Reply-To or link domain imitates a brand's (folded, one edit)
PH_LOOKALIKE_CONTACT    25  From, Reply-To or link domain imitates one the agent writes with
PH_NEW_SENDER_REQUEST   10  first mail from this domain, asking to sign in or pay, or naming a brand
PH_CREDENTIAL_ATTACHMENT 30  HTML/SVG attachment with a password form, remote post or smuggled page
PH_DATA_BLOB_URL        15  data: (not an image) or blob: link, form action or frame source
PH_REDIRECT_URL         10  redirector link to a third domain with a sign-in/payment ask
PH_QR_ONLY              25  an image and under 15 words (none, or a call to scan / urgency)
PH_REPLY_TO_ELSEWHERE   10  Reply-To to free mail from an organisation, or elsewhere from a brand
PH_BRAND_DMARC          20  From domain is a brand's and DMARC did not pass
PH_CLICK_URGENCY        10  'click here' / 'sign in' combined with urgency
PH_MANY_LINKS_NO_UNSUB   3  5+ unique links and no List-Unsubscribe header
AUTH_SPF_FAIL           15  SPF fail
AUTH_SPF_SOFTFAIL        5  SPF softfail
AUTH_DKIM_FAIL          15  DKIM fail
AUTH_DMARC_FAIL         20  DMARC fail
AUTH_NO_RESULTS          3  no Authentication-Results and no computed verdicts
ATT_EXECUTABLE          25  executable attachment (.exe .bat .cmd .ps1 .sh .dll .scr .vbs .js ...)
ATT_DOUBLE_EXTENSION    20  double extension or RTL-override file name (invoice.pdf.exe)
ATT_ARCHIVE             15  archive or disk image attachment (.zip .rar .7z .iso ...)
ATT_HTML_SVG            10  HTML or SVG attachment
HDR_NO_MESSAGE_ID        5  missing Message-ID
HDR_EMPTY_FROM          10  missing or empty From address
HDR_REPLY_TO_MISMATCH    5  Reply-To domain differs from From domain (not on mailing lists)
HDR_FORGED_ORIGIN       40  an agenticmail origin stamp that does not verify (forged or replayed)
CS_SUBJECT_CAPS         10  subject more than 80% capital letters
CS_LOTTERY_419          25  lottery/prize/inheritance/advance-fee ('Nigerian prince') language
CS_CRYPTO_RETURNS       10  crypto 'guaranteed returns' / doubling schemes
CS_SUBJECT_PUNCTUATION   3  4+ '!' or '?' in the subject
CS_PHARMACY             15  pharmacy / prescription-drug spam
CS_WEIGHT_LOSS          10  weight-loss spam
CS_HTML_ONLY             5  HTML body without a text/plain alternative
CS_SPAM_WORDS_FEW        5  3 to 5 distinct spam phrases per 3000 characters
CS_SPAM_WORDS           10  more than 5 distinct spam phrases per 3000 characters
CS_SPAM_WORDS_HEAVY     20  more than 10 distinct spam phrases per 3000 characters
CS_BULK_REMOVAL         20  bulk removal boilerplate ('to be removed', S.1618), no List-Unsubscribe
CS_MONEY_MAKING         10  make-money/work-from-home language
CS_FINANCE_OFFER        10  mortgage/credit/debt/insurance offers
CS_ADULT                15  adult content language
CS_STOCK_CASINO_GOODS   15  stock promotion, casino, replica/OEM goods or diploma spam
CS_SUBJECT_BULK_TAG     10  'ADV:' subject or a random tag padded to the end of the subject
CS_SHORT_HTML_PROMO     10  HTML-only message with links and under 30 words of text
CS_LOUD_HTML             5  very large fonts in HTML (<font size=5+ or +2>, font-size 30px+)
CS_EXCLAMATIONS          5  5+ exclamation marks, at least one per 300 characters of text
CS_SHOUTING_BODY         5  more than 20% of the body's words in capitals (20+ words)
CS_BAYES_SPAM           37  token model (security/bayes.py): spam probability >= 0.95
CS_BAYES_LIKELY         25  token model: spam probability 0.80 to 0.95
CS_BAYES_HAM           -30  token model: spam probability < 0.05; takes back up to 30 content points
CS_LEGIT_BULK          -10  List-Unsubscribe + consistent sender, no attack rule; content points
LINKS_MANY               5  10+ unique links
"""
_CATEGORY_BY_PREFIX = {
    "PI": "prompt_injection",
    "SE": "social_engineering",
    "DX": "data_exfiltration",
    "PH": "phishing",
    "AUTH": "authentication",
    "ATT": "attachment",
    "HDR": "header",
    "CS": "content_spam",
    "LINKS": "links",
}


def _parse_table(table: str) -> tuple[Rule, ...]:
    rules = []
    for line in table.strip().splitlines():
        rule_id, points, description = line.split(None, 2)
        category = _CATEGORY_BY_PREFIX[rule_id.split("_", 1)[0]]
        rules.append(Rule(rule_id, category, int(points), description))
    return tuple(rules)


RULES: tuple[Rule, ...] = _parse_table(_RULE_TABLE)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
