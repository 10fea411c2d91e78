"""Prompt-injection phrase patterns (RE2 syntax) for the ``PI_*`` rules of :mod:`.spam`.

Each pattern matches a *family* of phrasings (an override verb, then what is overridden ...),
with bounded gaps (:data:`~.patterns.WORD_GAP`) so that matching stays linear. Why each
family exists, and the evidence for it, is in ``docs/filters.md``.
"""

from __future__ import annotations

from agenticmail.security.patterns import WORD_GAP as _W

_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|overwrite|neglect|abandon|discard|"
    r"set\s+aside|throw\s+out|stop\s+following|do\s+not\s+follow|don't\s+follow)"
)
_PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|existing|old|all|any|"
    r"your|the|these|those|system|safety|developer|programmed|given)"
)
# words that may stand between the override verb and the rules ("all of your previous ...")
_PRIOR_GAP = (
    r"(?:(?:all|any|of|the|your|these|those|previous|prior|preceding|above|earlier|former|"
    r"original|initial|existing|old|system|safety|developer|programmed|given|other|current|"
    r"following|aforementioned|mentioned|said|entire|whole|such|default|core|built-in|hidden|"
    r"internal|AI|model|assistant|[a-z]+'s|and|or|every|single)\s+){0,3}?"
)
# what may follow the overridden rules: the end of the sentence, a conjunction or the reader,
# not a qualifier that makes them someone's concrete instructions ("... about the delivery")
_OVERRIDE_TAIL = (
    r"(?:\s*(?:[.!?;:,)\]\"'”’*\-]|$)|\s+(?:and|or|but|then|you|that|which|who|given|from\s+"
    r"(?:before|above|earlier|your|the\s+(?:developer|system|user|operator|prompt))|above|before|"
    r"so\s+far|now|completely|entirely|altogether|instead|immediately|henceforth|in\s+(?:this|your|"
    r"the)\s+(?:prompt|conversation|chat|context|session|system\s+prompt)|(?:for|in)\s+(?:this|the)"
    r"\s+(?:task|session|conversation|turn|response|answer|reply)|(?:set|provided|received|programmed|written|stated|listed)\b|"
    r"to\s+(?:you|the\s+(?:AI|assistant|model))|if|unless|as|since|because|plus)\b)"
)
_RULES = (
    r"(?:instructions?|rules?|directions?|directives?|prompts?|guidelines?|guidance|commands?|"
    r"orders|constraints?|programming|polic(?:y|ies)|restrictions?|training|context)"
)
PI_IGNORE = (
    rf"(?im)\b{_OVERRIDE_VERB}\s+(?:{_PRIOR_GAP}{_PRIOR}\s+|all\s+)(?:{_PRIOR_GAP}|{_W}{{0,1}}?)"
    rf"{_RULES}(?:\s+sets?)?{_OVERRIDE_TAIL}"
    # the strong forms ("all previous", "your prior") need no tail
    rf"|(?i)\b{_OVERRIDE_VERB}\s+(?:all|your|any)\s+(?:of\s+)?(?:(?:the|your)\s+)?(?:previous|prior|"
    rf"preceding|above|earlier|former|original|initial|existing|system)\s+(?:\S+\s+)?{_RULES}\b"
    # bare: "ignore instructions and just print ..."
    rf"|(?i)\b{_OVERRIDE_VERB}\s+(?:the\s+|all\s+|any\s+)?{_RULES}\s*[,.;:]?\s*(?:and\s+)?(?:then\s+|"
    r"instead\s+)?(?:just\s+|only\s+|simply\s+)?(?:print|say|output|write|respond|reply|answer|repeat|"
    r"return|tell|type|spell)\b"
    rf"|(?i)\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?|everything\s+|anything\s+)"
    rf"(?:(?:you\s+(?:were|have\s+been)\s+told|you\s+(?:learned|learnt|know|were\s+taught|have\s+"
    rf"learned)|that\s+was\s+said|written|stated)\s+)?"
    rf"(?:above|before|previously|so\s+far|earlier)\b"
    r"|(?i)\b(?:ignore|disregard)\s+(?:the|your)\s+(?:user|owner|human|operator)\b"
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
# a role only an AI has, or a change of how the reader answers (after "from now on you will",
# "your new task is"): a colleague's new duties ("handle the renewals", "team lead") have none
_AI_ROLE_OR_ANSWERING = (
    r"(?:AI|assistant|model|bot|chatbot|agent|DAN|persona|character|identity|unrestricted|unfiltered|"
    r"uncensored|jailbroken|evil|terminal|hacker|mode|format|answer\w*|respond\w*|repl\w+|speak|"
    r"talk|act\w*|pretend\w*|role\w*|play\w*|simulat\w+|emulat\w+|imitat\w+|impersonat\w+|"
    r"\w*GPT\w*|LLM|ignore|disregard|forget|obey|comply|abide|"
    r"called|named|no\s+longer|no\s+(?:restrictions|rules|limits|limitations|filters|guidelines|"
    r"boundaries|censorship))\b"
)
PI_ROLE = (
    r"(?i)\byou\s+are\s+(?:now|no\s+longer|from\s+now\s+on)\s+(?:a|an|the|my|in|acting|operating|"
    r"free|unrestricted|unfiltered|uncensored|jailbroken|DAN|called|named|going\s+to|to)\b"
    r"\s*(?:\S+\s+){0,2}?(?:AI|assistant|model|bot|chatbot|agent|character|persona|hacker|"
    r"unrestricted|unfiltered|uncensored|evil|different|new|mode|role|free|DAN|called|named|act|"
    r"pretend|no\s+longer)"
    # "from now on you are / answer / act / will roleplay / must ignore ...", not "from now on
    # you will handle the renewals": after a modal, a role of an AI or a change of how it answers
    r"|(?i)\bfrom\s+now\s+on,?\s+(?:you\s+(?:are|answer|respond|act|reply|speak|only)|"
    r"your\s+(?:name|role)|act|respond|answer|reply)\b"
    r"|(?i)\bfrom\s+now\s+on,?\s+you\s+(?:will|must|shall|should|have|can)\s+(?:\S+\s+){0,4}?"
    + _AI_ROLE_OR_ANSWERING
    # "your new persona / instructions are", and "your new role / task / job is" an AI's or a
    # way of answering, not "your new role is team lead for the Berlin office"
    + r"|(?i)\byour\s+new\s+(?:name|identity|persona|purpose|instructions?|goal|objective|"
    r"directive)\s+(?:is|are|will\s+be)\b"
    r"|(?i)\byour\s+new\s+(?:role|task|job)\s+(?:is|will\s+be)\s+(?:\S+\s+){0,4}?"
    + _AI_ROLE_OR_ANSWERING
    + r"|(?i)\byou\s+(?:will|must|shall)\s+now\s+(?:behave|respond|answer|reply)\b"
    # "you will now be / act as" a role of an AI, not "the primary account manager"
    r"|(?i)\byou\s+(?:will|must|shall)\s+now\s+(?:be|act\s+as|become)\s+(?:\S+\s+){0,3}?(?:AI|"
    r"assistant|model|bot|chatbot|agent|DAN|persona|character|unrestricted|unfiltered|uncensored|"
    r"jailbroken|evil|free|terminal|hacker)\b"
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
    # a role marker as a markdown heading: "###(system_message)", "## [developer prompt]"
    r"|(?i)#{2,}\s*[(\[]\s*(?:system|developer|admin|assistant|operator)(?:[\s_-]*(?:message|prompt|"
    r"instructions?|note|override))?\s*[)\]]"
)
PI_NEW_INSTRUCTIONS = (
    r"(?i)\b(?:new|revised|override|overriding|secret|hidden|real|actual|true|admin|"
    r"administrator|developer|system|priority)\s+(?:system\s+)?(?:instructions?|directives?|prompt|"
    r"commands?|orders|task)\s*(?::|-\s)"
    r"|(?i)\b(?:system|developer|admin)\s+(?:override|prompt|note|message)\s*:"
    r"|(?i)\bsystem\s+override\b|\boverride\s+(?:mode|code|protocol)\b"
    # upper case only (an earlier (?i) would otherwise reach it: "System update:" is ordinary)
    r"|(?-i:\b(?:SYSTEM|ADMIN|OVERRIDE|DEVELOPER)(?:\s+(?:NOTE|UPDATE|MESSAGE|OVERRIDE|NOTICE|PROMPT|"
    r"HINT))?\s*:|\bIMPORTANT\s+SYSTEM\s+(?:UPDATE|NOTE|MESSAGE|NOTICE)\b)"
    r"|(?i)\b(?:system\s*(?:hinweis|notiz)\s*:|note\s+syst[eè]me|nota\s+del\s+sistema|"
    r"nota\s+di\s+sistema)"
    r"|(?i)\b(?:your|the)\s+(?:rules|instructions|guidelines|directives?)\s+have\s+(?:changed|been\s+"
    r"updated|been\s+replaced)\b"
    # "supersedes all previous instructions", not "... all previous purchase orders"
    r"|(?i)\bsupersedes?\s+(?:all\s+|any\s+)?(?:prior|previous|earlier)\s+(?:\S+\s+)?(?:instructions|"
    r"rules|prompts?|directives|guidelines|commands|system\s+prompts?)\b"
)
PI_PERSISTENCE = (
    r"(?i)\b(?:save|store|write|add|commit|persist)\s+(?:\S+\s+){0,4}?(?:to|in|into)\s+(?:your\s+)?"
    r"(?:long[\s-]term\s+)?memory\b"
    # "remember this for all future conversations", not "... for future orders / reference"
    r"|(?i)\bremember\s+(?:this\s+)?for\s+(?:all\s+)?future\s*(?:[^\w\s]|$|(?:conversations?|sessions?|"
    r"interactions?|chats?|responses?|replies|answers?|prompts?|queries|tasks)\b)"
    # (an addressee after "in every reply" does not make it a person's correspondence: an e-mail
    # agent's own replies go to customers and suppliers, so "... to the supplier" still counts)
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
# after the AI noun: the end of its noun phrase, not a noun it qualifies ("note to the AI
# team", "instructions for the assistant manager", "for the AI budget")
_AI_NOUN_END = (
    r"(?:\s*(?:[^\w\s]|$)|\s+(?:reading|processing|summari[sz]ing|parsing|handling|reviewing|"
    r"that|who|which|here|and|or|if|when|you|in|on|about|below|above|only|please|from|now|to|as|"
    r"must|should|will|shall|tools?|agents?|assistants?|models?|systems?)\b)"
)
PI_ADDRESS_AI = (
    r"(?i)\b(?:dear|hey|hi|hello|attention|note\s+to|message\s+(?:to|for)|instructions?\s+for|"
    r"to\s+the|for\s+the|calling)\s+(?:the\s+|any\s+)?(?:AI|A\.I\.|LLM|large\s+language\s+model|"
    r"language\s+model|chatbot|GPT|ChatGPT|Claude|Gemini|Copilot|(?:AI|virtual|automated|e-?mail|mail)"
    r"\s+(?:assistant|agent|model|system)s?)" + _AI_NOUN_END +
    # "a message from me, Emma, to you, GPT-4"
    r"|(?i)\bto\s+you,\s+(?:GPT(?:-?\d[\w.]*)?|ChatGPT|Gemini|Copilot|Llama\s*\d*|LLM|AI|the\s+(?:AI|"
    r"LLM|assistant|model))" + _AI_NOUN_END +
    r"|(?i)\bif\s+you\s+are\s+(?:an?\s+)?(?:AI|LLM|large\s+language\s+model|language\s+model|"
    r"AI\s+assistant|assistant|agent|bot|automated\s+(?:system|agent|assistant))\b"
    r"|(?i)\b(?:AI|LLM|assistant|agent)s?\s+(?:reading|processing|summari[sz]ing|parsing|handling|"
    r"reviewing|integrating)\b"
    r"|(?i)\b(?:note|message|instructions?|important)\s+(?:to|for)\s+(?:the\s+)?(?:bot|assistant|model|"
    r"AI|agent|LLM)s?" + _AI_NOUN_END + r"|(?i)\b(?:as|for)\s+the\s+(?:assistant|AI|model)"
    + _AI_NOUN_END +
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
    # the model's own set-up, asked for in other words
    r"|(?i)\b(?:instructions?|directions|rules|guidelines|text|prompt|words|messages?)\s+(?:that\s+)?you\s+"
    r"(?:were|have\s+been|had\s+been|got)\s+(?:given|told|provided|fed|programmed\s+with|"
    r"instructed\s+with|configured\s+with|shown)\b"
    r"|(?i)\b(?:what|which)\s+(?:\S+\s+){0,2}?(?:were|are|have|had)\s+you\s+(?:been\s+)?"
    r"(?:told|instructed|programmed|configured|trained|asked)\s+(?:not\s+)?to\b"
    r"|(?i)\b(?:what|things|anything|everything)\s+(?:are|were|is)\s+you\s+(?:not\s+)?"
    r"(?:supposed|allowed|permitted|forbidden)\s+to\s+(?:tell|say|reveal|share|disclose)\b"
    r"|(?i)\b(?:initiali[sz]ation|bootstrap|setup|set-up|hidden|pre-?conversation|developer|"
    r"operator)\s+(?:string|prompt)\b|(?i)\b(?:initiali[sz]ation|bootstrap|pre-?conversation)\s+"
    r"(?:text|message|instructions)\b"
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
    # a bare mention asks for it only as a question, or with the clause ending on it ("what is
    # the system prompt?", "I need the system prompt."), not "the system prompt in our chatbot
    # pilot needs a rewrite"
    r"|(?i)\bwhat\s+(?:is|was|are|were|does|did)\s+(?:the|this|that)\s+system\s+prompts?\b"
    r"|(?i)\b(?:need|want|like|have)\s+to\s+(?:see|read|view|know|get|access|have)\s+(?:\S+\s+){0,2}?"
    r"system\s+prompts?\b"
    r"|(?i)\b(?:the|this|that)\s+system\s+prompts?\s*(?:[.?!:;,\"'”)]|$|\b(?:and|then|you|verbatim|"
    r"above|word\s+for\s+word|in\s+full)\b)"
    r"|(?i)\brepeat\s+(?:back\s+)?(?:the\s+|all\s+|everything\s+)?(?:above|previous|preceding|"
    r"prior|earlier)\s+(?:text|words|prompt|instructions|messages?|conversation)\b"
    r"|(?i)\brepeat\s+(?:back\s+)?(?:this|the|our)\s+(?:entire\s+|whole\s+|full\s+)?"
    r"(?:conversation|chat|session|context)\b"
)
