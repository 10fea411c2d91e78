"""Shared compiled patterns of the inbound security layer.

Two engines, each for what it is safe at:

* **RE2** (``google-re2``, module ``re2``) for every *detection* pattern: matching is linear
  in the input whatever the pattern, so an adversarial message cannot trigger catastrophic
  backtracking. Phrase rules are additionally compiled into one :class:`re2.Set` so the
  whole rule table is evaluated in a single pass over the text.
* stdlib :mod:`re` only for *substitution* and tokenising (RE2's Python ``sub`` is slow),
  and only with patterns whose repeats are delimited by a negated character class and
  never nested, which cannot backtrack more than linearly.

Patterns are case-insensitive unless noted and written against decoded text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import re2

_W = r"(?:\S+\s+)"  # one word and its trailing space, used as a bounded gap: _W{0,3}?


def compile_re2(pattern: str) -> re2._Regexp:
    """Compile one RE2 pattern (raises ``re2.error`` on a syntax error at import time)."""
    return re2.compile(pattern)


class PatternSet:
    """Many RE2 patterns matched in one linear pass; returns the names that matched."""

    def __init__(self, named: Mapping[str, str]) -> None:
        self._names: list[str] = []
        self._set = re2.Set.SearchSet()
        for name, pattern in named.items():
            self._set.Add(pattern)
            self._names.append(name)
        self._set.Compile()

    def match(self, text: str | bytes) -> frozenset[str]:
        if not text:
            return frozenset()
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        hits = self._set.Match(data)
        return frozenset(self._names[i] for i in hits) if hits else frozenset()


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

# --- prompt injection ----------------------------------------------------------------------
_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|overwrite|neglect|abandon|discard|"
    r"set\s+aside|throw\s+out|stop\s+following|do\s+not\s+follow|don't\s+follow)"
)
_PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|existing|old|all|any|"
    r"your|the|these|those|system|safety|developer|programmed|given)"
)
_RULES = (
    r"(?:instructions?|rules?|directions?|directives?|prompts?|guidelines?|guidance|commands?|"
    r"orders|constraints?|programming|polic(?:y|ies)|restrictions?|training|context)"
)
PI_IGNORE = (
    rf"(?i)\b{_OVERRIDE_VERB}\s+{_W}{{0,4}}?{_PRIOR}\s+{_W}{{0,2}}?{_RULES}\b"
    rf"|(?i)\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?|everything\s+|anything\s+)"
    rf"(?:(?:you\s+(?:were|have\s+been)\s+told|that\s+was\s+said|written|stated)\s+)?"
    rf"(?:above|before|previously|so\s+far|earlier)\b"
    r"|(?i)\b(?:ignore|disregard)\s+(?:the|your)\s+(?:user|owner|human|operator)\b"
    # de / fr / es / it / pt forms of the same override
    r"|(?i)\b(?:ignorier\w*|vergiss|missacht\w*)\s+(?:\S+\s+){0,4}?(?:anweisung\w*|befehl\w*|regeln|instruktion\w*|vorgaben|richtlinie\w*)"
    r"|(?i)\b(?:ignore[rz]?|oublie[rz]?)\s+(?:\S+\s+){0,4}?(?:instructions?|consignes?|règles|directives)"
    r"|(?i)\b(?:ignora[r]?|olvida[r]?|ignore|ignorar)\s+(?:\S+\s+){0,4}?(?:instrucciones|reglas|indicaciones|instruções|regras)"
    r"|(?i)\b(?:ignora(?:re)?|dimentica(?:re)?)\s+(?:\S+\s+){0,4}?(?:istruzioni|regole|indicazioni)"
    # paraphrases: the earlier text is declared void, or the reader is told to stop and do X
    r"|(?i)\b(?:previous|prior|preceding|above|earlier|original|initial|old|all)\s+(?:\S+\s+){0,2}?"
    r"(?:instructions?|rules|directives?|prompts?|guidelines|commands?|context)\s+(?:\S+\s+){0,2}?"
    r"(?:are|is|were|was|have\s+been|has\s+been)\s+(?:now\s+)?(?:void|null|cancel+ed|revoked|"
    r"obsolete|invalid|irrelevant|overridden|superseded|deprecated|no\s+longer\s+(?:valid|apply|"
    r"applicable|relevant|in\s+effect))"
    r"|(?i)\b(?:never\s*mind|nevermind|scratch|cancel|drop)\s+(?:all\s+)?(?:the|that|those|these|your|"
    r"my)?\s*(?:previous|prior|above|earlier|original)\s+(?:instructions?|prompts?|tasks?|"
    r"directions?|commands?|rules)"
    r"|(?i)\bstop\s+(?:everything|what(?:ever)?\s+you(?:'re|\s+are)\s+doing|all\s+(?:previous|"
    r"current|other)\s+tasks?|following\s+(?:your|the|those|these)\s+(?:\S+\s+)?(?:instructions|"
    r"rules))\b.{0,60}?\b(?:print|say|output|write|type|respond|reply|answer|repeat|do\s+this)\b"
    r"|(?i)\binstead\s*,?\s+(?:just\s+|only\s+|simply\s+)?(?:print|output|say|write|type|"
    r"respond\s+with|reply\s+with|answer\s+with|repeat)\s+(?:\S+\s+){0,2}?(?:[\"'“‘]|the\s+"
    r"(?:word|phrase|text|following|sentence|string))"
    # override of the surrounding data ("ignore this data / the rest of the document and print")
    r"|(?i)\bignore\s+(?:the\s+rest\s+of\s+)?(?:this|these|the|all|them|it)\s*(?:data|text|"
    r"documents?|content|snippets?|input|e-?mails?|messages?|information)?\s+and\s+(?:instead\s+)?"
    r"(?:just\s+|only\s+)?(?:print|say|output|write|respond|reply|answer|repeat|focus|return)\b"
    # the reader's rules are declared changed
    r"|(?i)\byour\s+(?:rules|guidelines|restrictions|instructions|policies|settings)\s+(?:have|has)\s+"
    r"(?:now\s+)?(?:been\s+)?(?:changed|updated|lifted|removed|disabled|replaced|reset)\b"
)
PI_ROLE = (
    r"(?i)\byou\s+are\s+(?:now|no\s+longer|from\s+now\s+on)\s+(?:a|an|the|my|in|acting|operating|"
    r"free|unrestricted|unfiltered|uncensored|jailbroken|DAN|called|named|going\s+to|to)\b"
    r"\s*(?:\S+\s+){0,2}?(?:AI|assistant|model|bot|chatbot|agent|character|persona|hacker|"
    r"unrestricted|unfiltered|uncensored|evil|different|new|mode|role|free|DAN|called|named|act|"
    r"pretend|no\s+longer)"
    r"|(?i)\bfrom\s+now\s+on,?\s+(?:you\s+(?:are|will|must|shall|should|have|can|answer|respond|act|"
    r"reply|speak|only)|your\s+(?:name|role|task|job)|act|respond|answer|reply)\b"
    r"|(?i)\byour\s+new\s+(?:role|name|identity|persona|purpose|task|instructions?|goal|objective|"
    r"directive|job)\s+(?:is|are|will\s+be)\b"
    r"|(?i)\byou\s+(?:will|must|shall)\s+now\s+(?:be|act|behave|respond|answer|become)\b"
    r"|(?i)\b(?:du\s+bist\s+(?:jetzt|nun|ab\s+sofort)|ab\s+(?:jetzt|sofort)\s+(?:hast|bist|gibst|wirst|"
    r"darfst)\s+du|tu\s+es\s+(?:maintenant|d[ée]sormais)|(?:ahora|ya)\s+(?:eres|est[aá]s)|"
    r"a\s+partir\s+de\s+ahora|(?:ora|adesso)\s+sei|d'ora\s+in\s+poi|da\s+ora\s+in\s+poi)\b"
)
PI_DELIMITER = (
    r"(?i)\[\s*/?\s*(?:SYSTEM|INST|SYS|SYSTEM\s+PROMPT|ADMIN)\s*\]|<</?\s*SYS\s*>>"
    r"|<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|"
    r"end_header_id|begin_of_text)\s*\|>"
    r"|(?i)</?\s*(?:system|system_prompt|sys_prompt|instructions?)\s*>"
    r"|(?im)^\s*#{2,}\s*(?:system|instruction|new\s+instructions?|system\s+prompt)\s*:?\s*$"
    r"|(?i)\b(?:end|begin|start)\s+of\s+(?:user\s+input|system\s+prompt|instructions|context|prompt|"
    r"conversation|document)\b"
    r"|(?i)(?:---|###|===|\*\*\*)\s*(?:system|assistant)\s*:"
    r"|(?i)\b(?:system|assistant)\s*:\s*(?:the\s+user|you\s+(?:may|must|are|can|should|will)|grant|"
    r"sure,?\s+here|i\s+will|ok(?:ay)?,?\s+i)"
    r"|(?i)\((?:assistant|system|model|AI)\)\s*:|(?i)\bas\s+(?:the|an|your)\s+(?:AI\s+)?assistant,\s+I\b"
    # a fabricated chat transcript: an "Assistant:" turn followed by a "User:"/"Human:" turn
    r"|(?im)^\W{0,3}(?:assistant|AI)\s*:[^\n]{0,300}\n(?:[^\n]{0,300}\n){0,2}?\W{0,3}(?:user|human)\s*:"
    r"|(?i)\[\s*(?:ADMIN|SYSTEM|DEVELOPER|ROOT|OPERATOR)\s+(?:REQUEST|NOTE|MESSAGE|OVERRIDE|"
    r"INSTRUCTION|COMMAND)S?\s*(?:::|:|\])"
)
PI_NEW_INSTRUCTIONS = (
    r"(?i)\b(?:new|revised|override|overriding|secret|hidden|real|actual|true|admin|"
    r"administrator|developer|system|priority)\s+(?:system\s+)?(?:instructions?|directives?|prompt|"
    r"commands?|orders|task)\s*(?::|-\s)"
    r"|(?i)\b(?:system|developer|admin)\s+(?:override|prompt|note|message)\s*:"
    r"|(?i)\bsystem\s+override\b|\boverride\s+(?:mode|code|protocol)\b"
    r"|\b(?:SYSTEM|ADMIN|OVERRIDE|DEVELOPER)(?:\s+(?:NOTE|UPDATE|MESSAGE|OVERRIDE|NOTICE|PROMPT|HINT))?\s*:"
    r"|\bIMPORTANT\s+SYSTEM\s+(?:UPDATE|NOTE|MESSAGE|NOTICE)\b"
    r"|(?i)\b(?:system\s*(?:hinweis|anweisung|notiz)|neue\s+anweisungen?|note\s+syst[eè]me|"
    r"nouvelles?\s+instructions?|nota\s+del\s+sistema|nuevas\s+instrucciones|nota\s+di\s+sistema|"
    r"nuove\s+istruzioni)\b"
    r"|(?i)\b(?:your|the)\s+(?:rules|instructions|guidelines|directives?)\s+have\s+(?:changed|been\s+"
    r"updated|been\s+replaced)\b|(?i)\bsupersedes?\s+(?:all\s+)?(?:prior|previous|earlier)\b"
)
PI_PERSISTENCE = (
    r"(?i)\b(?:save|store|write|add|commit|persist)\s+(?:\S+\s+){0,4}?(?:to|in|into)\s+(?:your\s+)?"
    r"(?:long[\s-]term\s+)?memory\b|(?i)\bremember\s+(?:this\s+)?for\s+(?:all\s+)?future\b"
    r"|(?i)\b(?:in|to|at\s+the\s+end\s+of)\s+(?:every|each|all)\s+(?:future\s+)?(?:replies|reply|"
    r"responses?|summar(?:y|ies)|answers?|reports?|reviews?|outputs?)\b"
    r"|(?i)\b(?:append|prepend|include|insert|add)\s+(?:\S+\s+){0,5}?(?:to\s+the\s+end\s+of|at\s+the\s+"
    r"end\s+of|to|in)\s+"
    r"(?:your|the)\s+(?:summary|review|reply|response|answer|output)\b"
    r"|(?i)\bwhen\s+you\s+(?:summari[sz]e|process|read|review|analy[sz]e|parse|handle)\s+this\b"
)
PI_OUTPUT_CONTROL = (
    r"(?i)\b(?:respond|reply|answer|output|return)\s+(?:\S+\s+){0,2}?(?:only|solely|exclusively|"
    r"nothing\s+(?:but|except|other\s+than))\s+(?:with\s+)?(?:the\s+(?:word|words|phrase|text|"
    r"string|sentence|following)|[\"'“‘]|yes\b|ok\b|true\b|\d)"
    r"|(?i)\b(?:just|only|simply)\s+(?:print|output|say|echo)\s+(?:the\s+(?:word|words|"
    r"phrase|text|string|sentence|following)\s*:?\s*)?[\"'“‘]"
    r"|(?i)\b(?:print|output|say|write|type|echo)\s+(?:exactly|verbatim|only|literally)\s*:?\s+"
    r"(?:this|the\s+following|[\"'“‘])"
    r"|(?i)\b(?:your|the)\s+(?:only|sole|entire|whole)\s+(?:output|response|reply|answer)\s+"
    r"(?:must|should|will|shall)\s+be\b"
    r"|(?i)\bdo\s+not\s+(?:say|output|write|print|add)\s+anything\s+(?:else|other\s+than|"
    r"except|more)\b"
    # plant a string in every answer / summary the reader writes (canary, tracking token)
    r"|(?i)\b(?:include|append|add|insert|show|shown|display|mention|print|output|put|attach|repeat)\w*\b"
    r"[^\n]{0,80}?\b(?:in|to|into|at\s+the\s+end\s+of|to\s+the\s+end\s+of)\s+(?:(?:every|each|any|all)"
    r"\s+(?:of\s+your\s+|future\s+)?(?:summar(?:y|ies)|responses?|repl(?:y|ies)|answers?|outputs?)|"
    r"your\s+(?:summary|output))\b"
    r"|(?i)(?:\bam\s+ende\s+jeder\s+antwort|\sla\s+fin\s+de\s+(?:toute|chaque)\s+r[ée]ponse|"
    r"al\s+final\s+de\s+(?:cualquier|cada)\s+respuesta|alla\s+fine\s+di\s+ogni\s+risposta)\b"
    # "repeat the following sentence: '...'"
    r"|(?i)\b(?:repeat|print|say|output|write)\s+(?:back\s+)?(?:the\s+following|this)\s+(?:sentence|"
    r"phrase|text|string|words?|line)\s*:?\s*[\"'“‘<]"
    # render a markdown image/link whose URL carries data, or fill a placeholder into a URL
    r"|(?i)\b(?:print|output|include|render|display|add|append|show|respond\s+with|reply\s+with|"
    r"end\s+with)\b[^\n]{0,80}?!\[[^\]\n]{0,60}\]\(\s*https?://"
    r"|(?i)\breplac\w*\s+\[[^\]\n]{1,40}\]\s+with\b"
    r"|(?i)\bfocus\s+(?:only|exclusively|solely)\s+on\s+the\s+(?:following|information\s+in)\b"
)
PI_TOOL_CALL = (
    r"(?i)\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?`?(?:send|delete|remove|write|read|"
    r"http|fetch|post|get|exec|run|create|update|upload|download|forward|list|search|move|transfer|shell|"
    r"bash|file|email|mail|browser|web|db|sql|python|code)_[a-z_]+`?"
    r"|(?i)\b(?:call|invoke|use|run)\s+(?:the\s+)?[a-z_]+\s+(?:tool|function\s+call)\s+(?:to|on|with)\b"
    r"|(?i)\b(?:execute|run)\s+(?:it|this|the\s+following)\s+as\s+(?:a\s+)?(?:command|code|shell)\b"
)
PI_OBFUSCATION = (
    r"(?i)\b(?:decode|decrypt|translate|deobfuscate|reverse|convert|read)\b.{0,80}?\b(?:do|follow|"
    r"execute|obey|run|perform|carry\s+out|act\s+on)\s+(?:exactly\s+)?(?:what\s+it\s+says|the\s+"
    r"instructions?|the\s+commands?|it|them|as\s+instructed)"
)
PI_ROLEPLAY = (
    r"(?im)(?:^|[.!?:]\s+|\byou\s+(?:will|must|should|shall|are\s+to|to|can)\s+(?:now\s+)?|"
    r"\bplease\s+|\bnow\s+)(?:act|behave|respond|answer)\s+(?:as|like)\s+(?:if\s+you|though|a|an|my|the)\b"
    r"|(?i)\bpretend(?:ing)?\s+(?:to\s+be|you\s+are|that\s+you|you're|to\s+have|you\s+have)\b"
    r"|(?i)\brole-?\s*play(?:ing)?\s+(?:as|a|an)\b|\bimagine\s+(?:that\s+)?you\s+are\s+(?:an?|the)\b"
    r"|(?i)\bsimulate\s+(?:being|an?\s+(?:AI|assistant|model|terminal|system))\b"
    r"|(?i)\bstay\s+in\s+character\b"
)
PI_SECRECY = (
    r"(?i)\b(?:do\s+not|don't|dont|never|without)\s+(?:mention(?:ing)?|tell(?:ing)?|reveal(?:ing)?|"
    r"inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|disclose|disclosing|let(?:ting)?|report(?:ing)?|"
    r"show(?:ing)?|warn(?:ing)?)\s+(?:this\s+|that\s+|it\s+|these\s+|any\s+of\s+this\s+)?(?:to\s+)?"
    r"(?:the\s+user|your\s+(?:user|owner|human|principal|operator|admin|boss)|anyone|anybody|"
    r"the\s+(?:owner|human|recipient|admin)|them|him|her)\b"
    r"|(?i)\bkeep\s+(?:this|it)\s+(?:a\s+)?secret\s+from\b"
    r"|(?i)\bthe\s+user\s+(?:must|should)\s+(?:not|never)\s+(?:know|see|find|be)\b"
    r"|(?i)\b(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose)\s+(?:these|this|that|the|my|your)\s+"
    r"(?:instructions?|message|email|request)\b"
)
PI_JAILBREAK = (
    r"(?i)\bjail-?break(?:s|ing|ed|en)?\b|\bdo\s+anything\s+now\b"
    r"|\bDAN\b\s*(?:mode|prompt|jailbreak|\d+\.\d)|(?i)\bdeveloper\s+mode\b"
    r"|(?i)\bbypass(?:ing|es)?\s+(?:\S+\s+){0,3}?(?:safety|filters?|guardrails?|restrictions?|"
    r"safeguards?|moderation|content\s+polic(?:y|ies)|alignment|censorship)\b"
    r"|(?i)\b(?:no|without(?:\s+any)?)\s+(?:ethical|moral|content|safety|openai)\s+(?:restrictions|"
    r"limitations|filters|guidelines|boundaries|constraints|polic(?:y|ies))\b"
    r"|(?i)\b(?:freed?|liberated|released|break(?:ing)?\s+free)\s+(?:from|of)\s+(?:\S+\s+){0,3}?"
    r"(?:restrictions|rules|guidelines|constraints|limitations|confines|polic(?:y|ies)|programming|filters)\b"
    r"|(?i)\b(?:AI|assistant|model|chatbot)\s+(?:with|that\s+has)\s+no\s+(?:rules|restrictions|limits|"
    r"filters|ethics|morals)\b|(?i)\b(?:uncensored|unfiltered|amoral)\s+(?:AI|mode|assistant|model|"
    r"response|answers?|version|chatbot)\b"
    r"|(?i)\b(?:safety|security|content)\s+(?:protocols?|checks?|filters?|guidelines|rules|restrictions)\s+"
    r"(?:are\s+|have\s+been\s+|were\s+)?(?:disabled|off|lifted|removed|suspended|not\s+meant|do\s+not\s+"
    r"apply|don't\s+apply|no\s+longer\s+apply)"
    r"|(?i)\b(?:skip|disable|turn\s+off|switch\s+off)\s+(?:all\s+)?(?:the\s+)?(?:safety|security)\s+"
    r"(?:checks?|protocols?|filters?|guidelines|confirmations?)"
    r"|(?i)\bexempt\s+from\s+(?:the\s+)?(?:usual\s+)?(?:restrictions|rules|guidelines|policies|safety)"
    r"|(?i)\b(?:respond|answer|reply|proceed|comply)\s+(?:\S+\s+){0,3}?without\s+(?:any\s+)?(?:limits|"
    r"restrictions|filters?|censorship|limitations|question)\b|(?i)\bunrestricted\s+(?:response|mode|"
    r"access|output|AI)\b|(?i)\byou\s+(?:now\s+)?have\s+no\s+(?:rules|restrictions|limits|filters)\b"
    r"|(?i)\b(?:sin\s+(?:restricciones|filtros?|reglas)|senza\s+(?:restrizioni|filtri|regole)|sans\s+"
    r"(?:restrictions?|filtres?|r[eè]gles)|ohne\s+(?:einschr[aä]nkungen|regeln|filter)|keine\s+"
    r"(?:regeln|richtlinien|einschr[aä]nkungen)|modo\s+desarrollador|mode\s+d[ée]veloppeur|"
    r"entwicklermodus|modalit[aà]\s+sviluppatore)\b"
    r"|(?i)\b(?:comply|agree)\s+with\s+(?:every|all|any)\s+(?:\S+\s+)?(?:requests?|instructions?|"
    r"commands?|prompts?)\b|(?i)\byou\s+(?:now\s+)?(?:allow|permit)\s+(?:all|any)\s+(?:content|requests?)\b"
    r"|(?i)\b(?:sicherheits|inhalts)\w*(?:richtlinien|regeln|filter)\s+(?:\S+\s+){0,2}?(?:nicht|nie)\s+"
    r"(?:gelten|anwendbar)|(?i)\b(?:guidelines|rules|policies|restrictions)\s+(?:\S+\s+){0,2}?"
    r"(?:do\s+not|don't|no\s+longer)\s+apply\s+(?:here|to\s+(?:you|this))\b"
)
PI_BASE64 = r"(?:^|[\s>:\"'(])[A-Za-z0-9+/]{100,}={0,2}"
PI_CODE_FENCE = (
    r"(?i)```\s*(?:system|sys|prompt|instructions?|assistant|admin)\b"
    r"|(?is)```\s*(?:python|py|python3|bash|sh|shell|zsh|powershell|ps1|cmd|js|javascript)\b.{0,400}?"
    r"(?:\bexec\s*\(|\beval\s*\(|os\.system|subprocess|__import__|\bcurl\b|\bwget\b|rm\s+-rf|"
    r"Invoke-Expression|\biex\b|child_process)"
)
PI_ADDRESS_AI = (
    r"(?i)\b(?:dear|hey|hi|hello|attention|note\s+to|message\s+(?:to|for)|instructions?\s+for|"
    r"to\s+the|for\s+the|calling)\s+(?:the\s+|any\s+)?(?:AI|A\.I\.|LLM|large\s+language\s+model|"
    r"language\s+model|chatbot|GPT|ChatGPT|Claude|Gemini|Copilot|(?:AI|virtual|automated|e-?mail|mail)"
    r"\s+(?:assistant|agent|model|system)s?)\b"
    r"|(?i)\bif\s+you\s+are\s+(?:an?\s+)?(?:AI|LLM|large\s+language\s+model|language\s+model|"
    r"AI\s+assistant|assistant|agent|bot|automated\s+(?:system|agent|assistant))\b"
    r"|(?i)\b(?:AI|LLM|assistant|agent)s?\s+(?:reading|processing|summari[sz]ing|parsing|handling|"
    r"reviewing|integrating)\b"
    r"|(?i)\b(?:note|message|instructions?|important)\s+(?:to|for)\s+(?:the\s+)?(?:bot|assistant|model|"
    r"AI|agent|LLM)s?\b|(?i)\b(?:as|for)\s+the\s+(?:assistant|AI|model)\b"
    r"|(?i)\b(?:visible|readable|meant)\s+(?:only\s+)?(?:to|for)\s+(?:the\s+)?(?:LLMs?|AIs?|language\s+"
    r"models?|AI\s+(?:models?|systems?|scanners?))\b|(?i)\bfor\s+automated\s+screening\s+systems\b"
)
PI_REVEAL_PROMPT = (
    r"(?i)\b(?:reveal|show|print|output|display|repeat|dump|leak|share|disclose|tell\s+me|give\s+me|"
    r"write\s+out|spell\s+out|recite|list|return|paste|provide|send|translate|summari[sz]e|encode)"
    r"(?:s|ing|ed)?\s+(?:\S+\s+){0,3}?(?:system\s+prompts?|(?:initial|original|hidden|secret|internal|system|starting|"
    r"full|complete|pre-?prompt|underlying)\s+(?:prompts?|instructions|configuration|directives|rules|"
    r"guidelines)|(?:your|the)\s+(?:instructions|prompt|directives|guidelines|rules)\s+(?:above|"
    r"verbatim|word\s+for\s+word|in\s+full|exactly)|(?:everything|all|the\s+text|text|the\s+words)\s+"
    r"(?:above|before\s+this|prior\s+to\s+this))"
    r"|(?i)\bwhat\s+(?:are|were|is)\s+your\s+(?:initial\s+|original\s+|system\s+|hidden\s+|secret\s+)?"
    r"(?:instructions|rules|directives|system\s+prompt|prompt)\b"
    r"|(?i)\b(?:what|everything)\s+(?:were\s+you|you\s+were)\s+told\s+(?:before|at\s+the\s+(?:start|"
    r"beginning))|(?i)\byour\s+system\s+prompt\b"
    r"|(?i)\b(?:output|print|show|dump)\s+(?:\S+\s+){0,3}?(?:context\s+window|system\s+message)\b"
    r"|(?i)\b(?:exact|original|initial)\s+instructions\s+you\s+(?:were|have\s+been)\s+given\b"
    r"|(?i)\b(?:systemanweisung\w*|systemprompt|instructions?\s+(?:du\s+)?syst[eè]me|instrucciones\s+"
    r"del\s+sistema|istruzioni\s+di\s+sistema)\b"
    # the model's own set-up, asked for in other words
    r"|(?i)\b(?:instructions?|directions|rules|guidelines|text|prompt|words|messages?)\s+(?:that\s+)?you\s+"
    r"(?:were|have\s+been|had\s+been|got)\s+(?:given|told|provided|fed|programmed\s+with|"
    r"instructed\s+with|configured\s+with|shown)\b"
    r"|(?i)\b(?:what|which)\s+(?:\S+\s+){0,2}?(?:were|are|have|had)\s+you\s+(?:been\s+)?"
    r"(?:told|instructed|programmed|configured|trained|asked)\s+(?:not\s+)?to\b"
    r"|(?i)\b(?:what|things|anything|everything)\s+(?:are|were|is)\s+you\s+(?:not\s+)?"
    r"(?:supposed|allowed|permitted|forbidden)\s+to\s+(?:tell|say|reveal|share|disclose)\b"
    r"|(?i)\b(?:initiali[sz]ation|bootstrap|setup|set-up|hidden|pre-?conversation|developer|"
    r"operator)\s+(?:string|prompt|text|message|instructions)\b"
    r"|(?i)\b(?:i\s+was|you\s+were|you\s+are|my\s+instructions\s+(?:are|were))\s+"
    r"(?:instructed|programmed|told|configured)\s+to\b.{0,3}?[\"'’”]"
    r"|(?i)\b(?:begin|start|prefix|open|preface)\s+(?:your|the)\s+(?:answer|response|reply|output)\s+"
    r"with\s+[\"'“‘]?(?:my|your|the)\s+(?:instructions|prompt|rules|system)"
    r"|(?i)\b(?:the|my|your)\s+(?:system\s+prompt|instructions|initial\s+prompt)\s+(?:is|are|was|"
    r"were|says?)\s*:?\s*[\"'’”]"
    r"|(?i)\b(?:beginning|start|top)\s+of\s+(?:this|the|our)\s+(?:conversation|chat|session|"
    r"context|prompt)\b"
    # a possessive mention of the model's own set-up is a request for it, whatever the verb
    r"|(?i)\b(?:your|its)\s+(?:own\s+|full\s+|exact\s+|complete\s+)?(?:system|initial|original|"
    r"hidden|secret|internal|starting|base|pre-?)[\s-]*(?:prompts?|instructions|directives|"
    r"guidelines\s+verbatim)\b"
    r"|(?i)\b(?:the|this|that)\s+system\s+prompts?\b"
    r"|(?i)\brepeat\s+(?:back\s+)?(?:the\s+|all\s+|everything\s+)?(?:above|previous|preceding|"
    r"prior|earlier)\s+(?:text|words|prompt|instructions|messages?|conversation)\b"
    r"|(?i)\brepeat\s+(?:back\s+)?(?:this|the|our)\s+(?:entire\s+|whole\s+|full\s+)?"
    r"(?:conversation|chat|session|context)\b"
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
BRANDS: dict[str, tuple[str, ...]] = {
    "paypal": ("paypal",),
    "apple": ("apple", "icloud"),
    "icloud": ("apple", "icloud"),
    "microsoft": ("microsoft", "outlook", "live", "office", "hotmail", "office365"),
    "office 365": ("microsoft", "office", "outlook"),
    "outlook": ("microsoft", "outlook", "live"),
    "google": ("google", "gmail", "youtube"),
    "gmail": ("google", "gmail"),
    "amazon": ("amazon",),
    "netflix": ("netflix",),
    "facebook": ("facebook", "facebookmail", "meta"),
    "instagram": ("instagram", "facebookmail"),
    "linkedin": ("linkedin",),
    "ebay": ("ebay",),
    "dropbox": ("dropbox",),
    "docusign": ("docusign",),
    "adobe": ("adobe",),
    "wells fargo": ("wellsfargo", "wf"),
    "bank of america": ("bankofamerica", "bofa"),
    "chase": ("chase", "jpmorgan"),
    "citibank": ("citi",),
    "hsbc": ("hsbc",),
    "barclays": ("barclays",),
    "santander": ("santander",),
    "american express": ("americanexpress", "aexp"),
    "dhl": ("dhl",),
    "fedex": ("fedex",),
    "usps": ("usps",),
    "ups": ("ups",),
    "irs": ("irs",),
    "hmrc": ("hmrc", "gov"),
    "coinbase": ("coinbase",),
    "binance": ("binance",),
    "zoom": ("zoom",),
    "whatsapp": ("whatsapp",),
    "steam": ("steampowered", "steam"),
}
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
