"""Shared compiled patterns of the inbound security layer.

Two engines, each for what it is safe at:

* **RE2** (``google-re2``, module ``re2``) for every *detection* pattern: matching is linear
  in the input whatever the pattern, so an adversarial message cannot trigger catastrophic
  backtracking. Phrase rules are additionally compiled into one :class:`re2.Set` so the
  whole rule table is evaluated in a single pass over the text.
* stdlib :mod:`re` only for *substitution* and tokenising (RE2's Python ``sub`` is slow),
  and only with patterns whose repeats are delimited by a negated character class and
  never nested, which cannot backtrack more than linearly.

Patterns are case-insensitive unless noted and written against decoded text. The
prompt-injection families live in :mod:`.injection_patterns`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import re2

from ..errors import InvalidRequest

WORD_GAP = r"(?:\S+\s+)"  # one word and its trailing space, a bounded gap: WORD_GAP{0,3}?


def compile_re2(pattern: str) -> re2._Regexp:
    """Compile one RE2 pattern (raises ``re2.error`` on a syntax error at import time)."""
    return re2.compile(pattern)


def utf8(text: str) -> bytes:
    """``text`` as the UTF-8 bytes to match an RE2 pattern against where the scorer matches
    often (every link, every match of a ``finditer``): the matches are the same, their groups
    ``bytes`` (``.decode()`` gives the ``str`` ones), and the wrapper no longer maps each
    match's offsets back to characters by decoding the text up to it (which costs more than
    the match). Raises on a lone surrogate, as matching the ``str`` does."""
    return text.encode("utf-8")


def compile_untrusted(pattern: str, *, max_mem: int = 8 << 20) -> re2._Regexp:
    """A case-insensitive RE2 regex written by a user (a rule), its memory capped;
    :class:`~agenticmail.errors.InvalidRequest` (``invalid_pattern``) saying why when it is
    not one RE2 accepts (no backreferences or lookaround: they could take exponential time)."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.max_mem = max_mem
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidRequest(f"invalid regular expression {pattern[:100]!r}: {reason}",
                             code="invalid_pattern") from None


class PatternSet:
    """Many RE2 patterns matched in a few linear passes; returns the names that matched.

    The patterns are compiled into RE2 sets of :data:`SET_SIZE` each: one set of dozens of
    long alternations makes a DFA too large for RE2's memory budget and runs an order of
    magnitude slower (the SpamAssassin ham of ``scripts.eval.throughput``: 38 patterns in one
    set 0.36 s, in sets of four 0.03 s); which patterns matched is the same either way."""

    SET_SIZE = 4

    def __init__(self, named: Mapping[str, str]) -> None:
        items = list(named.items())
        self._sets: list[tuple[re2.Set, list[str]]] = []
        for at in range(0, len(items), self.SET_SIZE):
            group = items[at : at + self.SET_SIZE]
            compiled = re2.Set.SearchSet()
            for _, pattern in group:
                compiled.Add(pattern)
            compiled.Compile()
            self._sets.append((compiled, [name for name, _ in group]))

    def match(self, text: str | bytes) -> frozenset[str]:
        if not text:
            return frozenset()
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        found: list[str] = []
        for compiled, names in self._sets:
            hits = compiled.Match(data)
            if hits:
                found.extend(names[i] for i in hits)
        return frozenset(found)


def wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a frozenset (compact tables)."""
    return frozenset(text.split())


def words(alternatives: Iterable[str]) -> str:
    """``\\b(?:a|b|c)\\b`` from phrases whose spaces may be any whitespace."""
    alts = [r"\s+".join(a.split()) for a in alternatives]
    return r"\b(?:" + "|".join(alts) + r")\b"


# --- HTML / link extraction (RE2: used with finditer and a cap) ----------------------------
ANCHOR = compile_re2(
    r"(?is)<a\b[^>]*?\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+))[^>]*>(.*?)</a\s*>"
)
BARE_URL = compile_re2(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")
SCRIPT_URI_ATTR = compile_re2(
    r"(?i)\b(?:href|src|action|formaction|data|xlink:href|background|poster)\s*=\s*[\"']?\s*"
    r"(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|data\s*:\s*text/html)\s*:?"
)
SCRIPT_URI = compile_re2(r"(?i)^\s*(?:javascript|vbscript|data\s*:\s*text/html)")
IPV4_HOST = compile_re2(r"^\d{1,3}(?:\.\d{1,3}){3}$")
HOSTNAME_LIKE = compile_re2(
    r"(?i)^(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$"
)

# --- invisible Unicode ---------------------------------------------------------------------
# Emoji subdivision flags (England, Scotland, Wales) are legitimate tag sequences.
TAG_FLAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,12}\U000e007f")
INVISIBLE_PAYLOAD = compile_re2(
    r"[\x{E0000}-\x{E007F}]|[\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]{3,}"
    r"|[\x{FE00}-\x{FE0F}\x{E0100}-\x{E01EF}]{3,}"
)

# --- social engineering --------------------------------------------------------------------
SE_OWNER_ASKED = (
    r"(?i)\b(?:your|the)\s+(?:owner|admin|administrator|boss|manager|creator|developer|operator|"
    r"principal|human|master|supervisor|user)\s+(?:\S+\s+){0,2}?(?:asked|told|wants|instructed|"
    r"requested|authori[sz]ed|needs|would\s+like|said|approved|directed|ordered|has\s+asked|"
    r"has\s+authori[sz]ed|has\s+instructed|has\s+requested)\s+(?:\S+\s+){0,2}?(?:you|that\s+you)\b"
    r"|(?i)\b(?:on\s+behalf\s+of|as\s+requested\s+by|per\s+the\s+request\s+of)\s+your\s+"
    r"(?:owner|admin|administrator|principal|user|human)\b"
    r"|(?i)\bgrant\s+(?:this\s+user\s+|the\s+user\s+|all\s+|me\s+)?(?:admin|root|full|elevated)\s+"
    r"(?:access|rights|privileges)|(?i)\bgrant\s+all\s+requests\b|(?i)\bthe\s+user\s+(?:is\s+an?\s+"
    r"(?:admin|administrator|developer)|has\s+(?:granted|given)\s+(?:you\s+)?permission)\b"
)
SE_CREDENTIALS = (
    r"(?i)\b(?:share|send|give|provide|forward|reply\s+with|respond\s+with|tell\s+me|include|paste|"
    r"post|email|e-mail|reveal|disclose|hand\s+over|output|print|leak)\s+(?:\S+\s+){0,3}?"
    r"(?:api[\s_-]?keys?|passwords?|passcodes?|passphrases?|secret\s+keys?|secrets|credentials|"
    r"access\s+tokens?|auth(?:entication)?\s+tokens?|bearer\s+tokens?|private\s+keys?|ssh\s+keys?|"
    r"login\s+details|pin\s+(?:code|number)|2fa\s+codes?|mfa\s+codes?|one[\s-]time\s+(?:code|passcode|"
    r"password)|otp|verification\s+codes?|security\s+codes?|seed\s+phrase|recovery\s+phrase|"
    r"env(?:ironment)?\s+variables|\.env)\b"
)
SE_SYSTEM_MESSAGE = (
    r"(?i)\bthis\s+is\s+(?:an?\s+)?(?:official\s+|urgent\s+|important\s+|mandatory\s+)?"
    r"(?:system|security|admin(?:istrator)?|IT\s+department|IT\s+security|server|mailbox|"
    r"priority)\s+(?:message|notice|alert|notification|instruction|request|update|directive|warning)\b"
)
SE_URGENCY = (
    r"(?i)\b(?:urgent(?:ly)?|immediately|immediate\s+action|within\s+(?:24|48|12|72)\s+hours|asap|"
    r"right\s+away|final\s+(?:notice|warning|reminder)|last\s+(?:warning|chance|notice)|act\s+now|"
    r"expires?\s+(?:today|soon|in\s+\d+)|time[\s-]sensitive|without\s+delay|as\s+soon\s+as\s+possible)\b"
)
SE_AUTHORITY_THREAT = (
    r"(?i)\b(?:(?:will|shall)\s+be\s+(?:suspended|terminated|closed|locked|deleted|disabled|"
    r"deactivated|blocked|restricted|frozen)|legal\s+action|law\s+enforcement|police|IRS|FBI|court|"
    r"penalt(?:y|ies)|arrest(?:ed)?|lawsuit|disciplinary|prosecution|CEO|CFO|"
    r"account\s+(?:suspension|termination|closure)|permanently\s+(?:deleted|lost|closed))\b"
)
SE_MONEY_TRANSFER = (
    r"(?i)\b(?:western\s+union|moneygram|wire\s+(?:the\s+)?(?:transfer|funds|money|payment|sum)|"
    r"transfer\s+(?:of\s+)?(?:the\s+)?(?:funds|money|sum|amount)|swift\s+code|routing\s+number|"
    r"bitcoin\s+(?:wallet|address)|send\s+(?:me\s+)?(?:the\s+)?(?:money|funds))\b"
)
SE_GIFT_CARDS = (
    r"(?i)\b(?:buy|purchase|get|pick\s+up|send|scratch|codes?\s+(?:on|from|of)|photos?\s+of|"
    r"pictures?\s+of)\s+(?:\S+\s+){0,5}?(?:gift\s*cards?|itunes\s+cards?|google\s+play\s+cards?|"
    r"steam\s+(?:gift\s+)?cards?)\b"
    r"|(?i)\bgift\s*cards?\s+(?:\S+\s+){0,5}?(?:codes?|scratch|pictures?|photos?|urgently|asap|"
    r"immediately)\b"
)
SE_EXEC_FRAUD = (
    r"(?i)\b(?:i\s+am|this\s+is|i'm)\s+(?:the\s+|your\s+)?(?:CEO|CFO|COO|chief\s+executive|"
    r"managing\s+director|chairman)\b|(?i)\b(?:are\s+you\s+at\s+your\s+desk|i\s+need\s+(?:you\s+to\s+"
    r"do\s+)?a\s+(?:quick\s+|small\s+)?favou?r|keep\s+this\s+(?:confidential|between\s+us|"
    r"strictly\s+confidential)|i(?:'m|\s+am)\s+in\s+a\s+meeting\s+(?:and|right\s+now)|"
    r"(?:confidential|urgent|discreet)\s+(?:acquisition|transaction|payment|wire|transfer))\b"
)

# --- data exfiltration ---------------------------------------------------------------------
DX_FORWARD_ALL = (
    r"(?i)\bforward\s+(?:a\s+copy\s+of\s+|copies\s+of\s+)?(?:all|every|each|any|the\s+(?:entire|whole|"
    r"complete|last\s+\d+)|your\s+(?:entire|whole|complete))\s+(?:\S+\s+){0,3}?(?:e-?mails?|messages?|"
    r"mails?|correspondence|inbox|conversations?|threads?|attachments?|invoices?|documents?|contacts|"
    r"records)\b"
    r"|(?i)\b(?:set\s+up|create|add)\s+(?:an?\s+)?(?:auto(?:matic)?[\s-]?)?forward(?:ing)?\s+"
    r"(?:rule\s+)?(?:to|for)\b"
    r"|(?i)\b(?:bcc|cc)\s+(?:\S+\s+){0,4}?on\s+(?:all|every)\s+(?:\S+\s+){0,2}?(?:e-?mails?|messages?|replies)\b"
)
DX_SEARCH_SECRETS = (
    r"(?i)\b(?:search|scan|look\s+through|go\s+through|check|browse|dig\s+through|grep|comb\s+through|"
    r"look\s+in)\s+(?:\S+\s+){0,3}?(?:inbox|mailbox|e-?mails?|messages|folders?|files|documents|drive|"
    r"history|archives?)\s+(?:\S+\s+){0,3}?(?:for|containing|with|that\s+(?:mention|contain))\s+(?:\S+\s+){0,2}?(?:passwords?|credentials?|api|keys?|secrets?|tokens?|logins?|bank|ssn|credit)"
    r"|(?i)\b(?:find|locate|collect|gather|extract|retrieve|harvest|compile)\s+(?:all|every|any|the)\s+(?:\S+\s+){0,3}?(?:passwords|credentials|api\s+keys|secrets|private\s+keys|ssh\s+keys|tokens|"
    r"login\s+details)\b"
)
DX_SEND_TO_ADDRESS = (
    r"(?i)\b(?:send|forward|email|e-mail|mail|upload|post|transmit|exfiltrate|copy|bcc|cc|deliver|"
    r"share|reply)\s+(?:all|every|the|these|those|your|any|a\s+copy\s+of|copies\s+of|it|them|this|"
    r"everything)\b\s*(?:\S+\s+){0,6}?(?:to|at)\s+[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})"
)
DX_EXFIL_HOST = (
    r"(?i)(?:[a-z0-9-]+\.)*(?:ngrok\.io|ngrok-free\.app|ngrok\.app|ngrok\.dev|pipedream\.net|"
    r"requestbin\.(?:com|net|io)|requestcatcher\.com|webhook\.site|hookbin\.com|beeceptor\.com|"
    r"interact\.sh|oast\.(?:pro|live|site|online|fun|me)|burpcollaborator\.net|trycloudflare\.com|"
    r"serveo\.net|localtunnel\.me|loca\.lt|mockbin\.(?:org|io)|postb\.in|requestinspector\.com|"
    r"canarytokens\.com|pipedream\.com/webhook|discord(?:app)?\.com/api/webhooks|"
    r"hooks\.slack\.com/services)\b"
)
EXFIL_HOST_RE = compile_re2(DX_EXFIL_HOST)

# --- phishing ------------------------------------------------------------------------------
PH_VERIFY = (
    r"(?i)\b(?:verify|confirm|validate|update|re-?activate|unlock|restore|secure|reconfirm|"
    r"re-?enter)\s+(?:\S+\s+){0,2}?(?:account|password|identity|login|credentials|billing|"
    r"payment\s+(?:details|information|method)|card\s+details|banking\s+details|mailbox)\b"
)
PH_CLICK = (
    r"(?i)\b(?:click\s+(?:here|below|the\s+link|this\s+link|now)|sign\s+in|log\s*in\s+now|"
    r"login\s+now|update\s+now|verify\s+now)\b"
)
PH_ACCOUNT = (  # the asks of 2022-2026 lures: an account, a shared file, a parcel, a refund
    r"(?i)\b(?:(?:your\s+)?password\s+(?:expires|will\s+expire|is\s+expiring|has\s+expired|"
    r"reset\s+(?:is\s+)?required)|(?:keep|retain)\s+(?:the\s+|your\s+)?(?:same|current)\s+password|"
    r"reset\s+your\s+password|unusual\s+(?:sign[\s-]?in|login|activity)|account\s+(?:has\s+been\s+|"
    r"is\s+|will\s+be\s+)?(?:suspended|locked|limited|restricted|disabled|on\s+hold|compromised|"
    r"deactivated)|(?:payment|card)\s+(?:was\s+|has\s+been\s+)?(?:declined|failed|unsuccessful)|"
    r"update\s+(?:your\s+)?(?:payment|billing)\s+(?:details|information|method)|(?:mfa|2fa|"
    r"(?:multi|two)[\s-]factor(?:\s+authentication)?)\s+(?:\S+\s+)?(?:reset|re-?enrol\w*|update|"
    r"expir\w*|required|verification)|(?:re-?enrol\w*|reset|re-?register)\s+(?:your\s+)?(?:mfa|2fa|"
    r"(?:multi|two)[\s-]factor)|(?:shared|sent)\s+(?:you\s+)?(?:an?\s+)?(?:\S+\s+)?"
    r"(?:document|file|folder)s?\s+with\s+you|review\s+and\s+sign|(?:document|file)s?\s+(?:is|are)\s+"
    r"ready\s+(?:for|to)\s+(?:review|sign\w*)|seed\s+phrase|recovery\s+phrase|wallet\s+"
    r"(?:verification|validation|connect\w*|synchroni[sz]\w*|will\s+be|has\s+been)|tax\s+refund|"
    r"refund\s+(?:is\s+)?(?:pending|approved|available)|(?:parcel|package|shipment|delivery)\s+"
    r"(?:\S+\s+){0,2}?(?:on\s+hold|failed|could\s+not\s+be\s+delivered|held|suspended)|"
    r"redelivery|customs\s+(?:fee|charge)s?|sign\s+in\s+(?:now|to\s+(?:your|continue|verify|"
    r"view|review|access))|mailbox\s+(?:is\s+)?(?:full|quota|storage)|storage\s+(?:is\s+)?full)\b"
)
PH_PAYMENT = (
    r"(?i)\b(?:invoice|payment\s+(?:request|due|details|instructions)|remittance|wire\s+transfer|"
    r"bank\s+(?:details|account)|overdue|outstanding\s+balance|purchase\s+order)\b"
)
PH_SCAN = r"(?i)\b(?:scan|qr[\s-]?code|camera)\b"

# --- content spam --------------------------------------------------------------------------
CS_LOTTERY = (
    r"(?i)\b(?:you\s+(?:have\s+)?(?:won\s+(?:a|an|the|our|US|USD|\d)|been\s+selected\s+(?:as|for|to))|lottery|sweepstakes?|jackpot|prize\s+"
    r"(?:winner|money|award|notification)|winning\s+(?:number|notification|ticket)|claim\s+your\s+"
    r"(?:prize|winnings|reward|funds)|nigerian\s+prince|next\s+of\s+kin|unclaimed\s+(?:funds|"
    r"inheritance|prize)|(?:huge|large|substantial)\s+inheritance|(?:US\s*\$|USD\s*)\s*[0-9][0-9,.]*"
    r"\s*(?:million|m\b)|beneficiary\s+of|"
    r"(?:late|deceased)\s+(?:client|husband|father)|foreign\s+(?:partner|account)|(?:strictly|very|highly)\s+"
    r"confidential\s+(?:request|business|transaction|proposal|matter)|business\s+(?:proposal|"
    r"transaction)\s+(?:\S+\s+){0,8}?(?:transfer|fund|funds|account)|private\s+e-?mail\s+address|"
    r"(?:bank|ministry|central\s+bank|petroleum|contract)\s+(?:\S+\s+){0,4}?(?:nigeria|africa|lagos|"
    r"ghana|sierra\s+leone|ivory\s+coast|zimbabwe|congo))"
)
CS_STOCK = (
    r"(?i)\b(?:stock\s+symbol|strong\s+buy|otc\s*bb|pink\s+sheets|penny\s+stocks?|(?:hot|explosive|"
    r"breakout)\s+stocks?|investor\s+alert|stock\s+(?:alert|pick|profile)|ticker\s+symbol|"
    r"(?:online|internet)\s+casino|casino\s+bonus|beat\s+the\s+house|replica\s+(?:watches|rolex)|"
    r"oem\s+software|(?:cheap|discount)\s+(?:software|cigarettes|smokes|tobacco)|(?:university|"
    r"college)\s+diplomas?|(?:get|obtain)\s+(?:a|your)\s+(?:degree|diploma)\b)"
)
CS_LOUD_HTML = (
    r"(?i)<font\b[^>]*\bsize\s*=\s*[\"']?\s*(?:\+\s*[2-9]|[5-9])\b"
    r"|(?i)font-size\s*:\s*(?:[3-9][0-9]|[1-9][0-9]{2,})\s*px"
)
CS_SUBJECT_TAG = r"[ \t]{10,}[A-Za-z0-9_-]{0,12}\s*$|[a-z?!.,][A-Z]{5,12}\s*$|(?i)^\s*ADV\s*:"
CS_CRYPTO = (
    r"(?i)\b(?:guaranteed\s+(?:returns?|profits?|income|roi)|double\s+your\s+(?:bitcoin|crypto|"
    r"money|investment)|crypto(?:currency)?\s+(?:investment|opportunity|trading\s+bot)|"
    r"(?:bitcoin|btc|eth|crypto)\s+(?:giveaway|doubler|mining\s+pool\s+profits?)|"
    r"\d{2,4}\s*%\s+(?:daily|weekly|monthly)\s+(?:returns?|profits?|roi))\b"
)
CS_PHARMACY = (
    r"(?i)\b(?:viagra|cialis|levitra|xanax|valium|vicodin|phentermine|tramadol|oxycontin|ambien|"
    r"soma|propecia|(?:online|canadian|internet)\s+pharmacy|no\s+prescription|without\s+(?:a\s+)?"
    r"prescription|prescription\s+(?:drugs|medications?)\s+(?:online|at)|generic\s+(?:viagra|"
    r"drugs|meds)|erectile|penis\s+enlarge\w*|male\s+enhancement)\b"
)
CS_WEIGHT_LOSS = (
    r"(?i)\b(?:lose\s+(?:up\s+to\s+)?\d+\s*(?:lbs?|pounds|kg)|weight\s+loss|lose\s+weight|"
    r"burn\s+fat|fat\s+burn\w*|diet\s+pills?|appetite\s+suppressant|metabolism\s+booster|"
    r"slim\s+down|hgh)\b"
)
CS_REMOVAL = (
    r"(?i)\b(?:to\s+be\s+removed\s+from|remove\s+(?:me\s+)?(?:in|from)\s+the\s+subject|"
    r"(?:reply|respond|send\s+(?:an?\s+)?e-?mail)\s+with\s+[\"']?remove|this\s+(?:e-?mail|message|"
    r"mailing)\s+is\s+(?:not\s+spam|sent\s+in\s+compliance)|this\s+is\s+not\s+(?:a\s+)?spam|"
    r"s\.?\s*1618|title\s+iii|one[\s-]time\s+(?:e-?mail|mailing)|you(?:'ve|\s+have|\s+are)?\s+receiv\w+\s+"
    r"this\s+"
    r"(?:e-?mail|message)\s+because\s+you\s+(?:have\s+)?(?:opted|expressed|visited|(?:\S+\s+){0,3}?"
    r"(?:through|via|from|with)\s+(?:one\s+of\s+)?our\s+(?:marketing\s+)?(?:partners?|affiliates?|"
    r"sponsors?))|(?:opt|opted)[\s-]?in\s+(?:list|e-?mail)|if\s+you\s+(?:wish|want|"
    r"would\s+like)\s+to\s+be\s+removed|no\s+longer\s+(?:wish|want|like)\s+(?:us\s+)?to\s+(?:receive|"
    r"contact|e-?mail|hear)|click\s+here\s+to\s+(?:be\s+removed|opt[\s-]?out|unsubscribe)|unsubscribe\s+(?:here|"
    r"below|at\s+any\s+time))\b"
)
CS_MONEY_MAKING = (
    r"(?i)\b(?:make|earn|making|earning)\s+(?:\$\s*[0-9][0-9,.]*|money|cash|thousands|big\s+money|"
    r"extra\s+(?:money|income|cash))\b|(?i)\b(?:work|working)\s+(?:from|at)\s+home\b|"
    r"(?i)\b(?:extra|residual|passive|additional)\s+income\b|(?i)\bfinancial\s+(?:freedom|independence)\b|"
    r"(?i)\bbe\s+your\s+own\s+boss\b|(?i)\b(?:multi[\s-]?level|network)\s+marketing\b|"
    r"(?i)\bhome[\s-]based\s+business\b|(?i)\bget\s+paid\s+(?:to|for)\b|"
    r"(?i)\bper\s+(?:week|month|day)\s+(?:from|working|at)\b|(?i)\bincome\s+opportunity\b"
)
CS_FINANCE = (
    r"(?i)\b(?:mortgage\s+(?:rates?|quotes?|loans?)|refinanc\w+|debt\s+(?:consolidation|free|relief)|"
    r"(?:bad|poor|no)\s+credit|credit\s+(?:repair|rating|report\s+errors)|lowest\s+(?:rates?|prices?)|"
    r"pre-?approved|low\s+interest\s+rates?|cash\s+advance|(?:free|instant)\s+(?:quotes?|"
    r"consultation)|(?:term\s+)?life\s+insurance|insurance\s+(?:policy|quotes?|rates|premiums?)|"
    r"debt\s+collection|eliminate\s+(?:your\s+)?debt)\b"
)
CS_ADULT = (
    r"(?i)\b(?:xxx|porn\w*|adult\s+(?:site|content|entertainment|movies|videos|dvds?)|"
    r"hot\s+(?:teens?|girls|babes)|live\s+(?:sex|cams?)|sex\s+(?:videos?|movies|pics)|"
    r"barely\s+legal|singles\s+in\s+your\s+area|sexually\s+(?:curious|explicit|active)|(?:hot|horny|"
    r"naughty|lonely|sexy)\s+(?:wives|women|singles|teens|girls|housewives|moms)|adult\s+(?:match|"
    r"dating|personals|classifieds?))\b"
)
_SPAM_PHRASE_LIST = r"""
    100% free|100% guaranteed|100% satisfied|act now|action required|all natural|amazing
    offer|apply now|as seen on|bargain|best price|big bucks|billion dollars|buy direct|buy
    now|call free|call now|cancel at any time|cash bonus|cheap|click below|click
    here|congratulations|dear friend|dear sir|dear madam|discount|don't delete|don't
    hesitate|double your|earn money|easy money|exclusive deal|expect to earn|extra cash|fast
    cash|financial freedom|for free|free access|free consultation|free gift|free info|free
    membership|free money|free offer|free preview|free quote|free sample|free trial|full
    refund|get it now|get paid|get started now|great offer|guarantee|guaranteed|have you been
    turned down|incredible deal|increase sales|increase your|info you
    requested|insurance|investment|join millions|limited offer|limited time|lowest
    price|luxury|mass email|miracle|money back|no catch|no cost|no credit check|no fees|no
    gimmick|no hidden|no obligation|no purchase necessary|no questions asked|no risk|not
    spam|offer expires|once in a lifetime|one time|opportunity|order now|order today|special
    promotion|promise you|pure profit|risk free|risk-free|satisfaction guaranteed|save big|save
    up to|special offer|still on the list|take action|this won't
    last|unlimited|unsecured|urgent|what are you waiting for|while supplies last|winner|you are
    a winner|you have been selected|your income|wholesale|remove|removed|opt in|opt-in|opt
    out|bulk email|direct email|email marketing|marketing solution|web traffic|search engine|top
    rankings|credit card|cards accepted|money order|order form|toll
    free|toll-free|dollars|profit|profits|sales|income|offer|\$\$\$|free!|visit our website|new
    customers only|multi-level marketing|mlm|home based|work at home
"""
SPAM_PHRASES = "(?i)" + words(x.strip() for x in _SPAM_PHRASE_LIST.replace("\n", "").split("|"))

EXECUTABLE_EXT = wordset(
    "exe bat cmd ps1 psm1 sh dll scr vbs vbe js jse msi com pif cpl hta jar lnk wsf wsh reg "
    "msp scf appx appxbundle msix gadget"
)
ARCHIVE_EXT = wordset("zip rar 7z tar gz tgz bz2 xz cab ace arj iso img lz lzh z zst")
HTML_EXT = frozenset(["html", "htm", "xhtml", "shtml", "svg", "svgz", "mht", "mhtml"])
DOCUMENT_EXT = wordset(
    "pdf doc docx xls xlsx xlsm ppt pptx txt rtf csv jpg jpeg png gif bmp tif tiff odt ods "
    "mp3 mp4 wav avi mov html htm"
)

URL_SHORTENERS = wordset(
    "bit.ly tinyurl.com goo.gl t.co ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at "
    "tiny.cc bl.ink rb.gy t.ly v.gd s.id qrco.de lnkd.in shorte.st adf.ly bitly.com tr.im "
    "x.co clck.ru u.to soo.gd t2m.io short.io snip.ly"
)
SECOND_LEVEL_SUFFIXES = wordset(
    "co.uk org.uk ac.uk gov.uk com.au net.au org.au co.jp ne.jp or.jp com.br com.cn com.mx "
    "co.nz co.za co.in com.tr com.ar com.sg com.hk co.kr co.il com.tw"
)


def registrable_domain(host: str) -> str:
    """Approximate registrable domain (eTLD+1) without a suffix list file."""
    labels = [x for x in host.lower().strip(".").split(".") if x]
    if len(labels) <= 2:
        return ".".join(labels)
    if ".".join(labels[-2:]) in SECOND_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
