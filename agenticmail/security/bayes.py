"""Statistical content score: a token model in the style of SpamBayes (Robinson / chi-squared).

The model is package data (``data/spam_tokens.json.gz``) written by
``scripts/build/spam_model.py`` from training sets only: the *training* split of the
SpamAssassin public corpus (easy-ham-1, the first half of hard-ham-1, spam-1) and the training
set of Enron-Spam (pre-processed text without headers or links, so the token families only
whole messages carry are counted over the SpamAssassin messages: the model's ``families``).
It holds, per token, the number of training ham and spam messages that contained it (tokens
seen in a single message are left out; tokens whose probability is close to 0.5 carry no
evidence but are kept). The tokens seen in at least :data:`VOCABULARY_DOCS` messages are the
model's *vocabulary*.

:func:`spam_probability` tokenises a :class:`~agenticmail.security.mime_view.MessageView`
(subject and body words, all-capital words, sender display-name words, whether the sender's
local part has digits, link hosts and link path pieces; deliberately no structural or header
facts such as HTML-vs-plain, charset or mailer, which describe the 2002 corpus rather than
spam), turns each token's counts into Robinson's smoothed probability f(w), keeps the
:data:`MAX_DISCRIMINATORS` tokens farthest from 0.5, and combines them with Fisher's
chi-squared method into one number in [0, 1] (0 = ham-like, 1 = spam-like, ~0.5 = unsure;
exactly 0.5 when fewer than :data:`MIN_CLUES` tokens carry evidence, so short messages are
not judged).

**The model abstains where it has no basis** (also exactly 0.5, so neither ``CS_BAYES_SPAM``/
``CS_BAYES_LIKELY`` nor ``CS_BAYES_HAM`` fires). It was trained on English mail of 2001-2005; its
probability for text in another language or script measures nothing but "unlike the training
ham" (a French billing notice got p = 0.98, a Chinese remittance advice p >= 0.95 from its
English signature alone). Two measurements of that, decided on the training material only:

* **script**: fewer than :data:`MIN_LATIN` of the message's words are written in Latin letters
  (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Hangul ... words; a Chinese character or a
  Japanese kana counts as a word): the tokeniser reads ASCII letters only, so such text is
  judged by its few Latin words alone (a signature, a product name, an English disclaimer);
* **vocabulary**: fewer than :data:`MIN_KNOWN` of the message's distinct words (subject and body
  tokens without a prefix) are in the model's vocabulary (tokens seen in at least 4 training
  messages), as for French, German, Spanish, Portuguese, Dutch or Italian text. On the
  training split, out of fold (each fold's vocabulary built without it), 99 % of ham has at
  least 64 % of its words known and 7 of 2 625 ham have under half; the non-English
  business mail of ``scripts/eval/business_mail.py``'s ``tune`` half has 11-48 %.

Together they make the model abstain on 9 of the 2 625 training ham and 29 of the 500 training
spam (out of fold; mostly Asian-language spam it had no opinion on anyway); the whole scorer
on those out-of-fold probabilities: F1 at 40 0.913 -> 0.911 (2 spam fewer), ham at >= 20
22 -> 20, at >= 40 5 -> 5.

Pure and linear: tokenising is stdlib patterns with a single repeat over a
character class, run on at most :data:`MAX_CHARS` characters; nothing here raises (a
missing or broken model file gives ``None``).
"""

from __future__ import annotations

import gzip
import json
import math
import operator
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from agenticmail.security.mime_view import MessageView

MODEL_RESOURCE = "spam_tokens.json.gz"
MAX_CHARS = 50_000  # characters of subject + body text tokenised per message
MAX_DISCRIMINATORS = 150
MIN_STRENGTH = 0.1  # |f(w) - 0.5| below this carries no evidence
MIN_CLUES = 12  # fewer discriminating tokens than this: too little text to judge (0.5)
MIN_KNOWN = 0.5  # share of the message's distinct words in the vocabulary below which: abstain
VOCABULARY_DOCS = 4  # training messages a word must be in to count as known (MIN_KNOWN)
MIN_LATIN = 0.5  # share of its words written in Latin letters below which: abstain
ROBINSON_S = 0.45  # strength of the 0.5 prior (SpamBayes default)
ROBINSON_X = 0.5

_STRENGTH = operator.itemgetter(1)
_WORD = re.compile(r"[A-Za-z$][A-Za-z0-9$'_-]*")
_LATIN = "A-Za-z\u00c0-\u024f"  # ASCII, Latin-1 Supplement, Latin Extended-A and -B letters
_UNSEGMENTED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana, CJK ideographs
_LATIN_WORD = re.compile(f"[{_LATIN}]+")
_OTHER_WORD = re.compile(f"[{_UNSEGMENTED}]|[^\\W\\d_{_LATIN}{_UNSEGMENTED}]+")
_URL_SPLIT = re.compile(r"[/?&=.#:_-]+")
_HOST = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://([^/?#:\s]+)|^www\.([^/?#:\s]+)")


def tokens(view: MessageView) -> set[str]:
    """The token set of one message (binary presence, as the model was trained)."""
    out: set[str] = set()
    subject = view.subject[:1000]
    for w in _WORD.findall(subject):
        if 3 <= len(w) <= 20:
            out.add("s:" + w.lower().strip("'-_"))
    body = view.body_text[:MAX_CHARS]
    for w in set(_WORD.findall(body)):  # each distinct word once: the result is a set
        n = len(w)
        if 3 <= n <= 20:
            out.add(w.lower().strip("'-_"))
            if w.isupper():
                out.add("caps:" + w.lower())
        elif n > 20:
            out.add(f"skip:{w[0].lower()}{n // 10 * 10}")
    for w in _WORD.findall(subject):
        if 3 <= len(w) <= 20 and w.isupper():
            out.add("caps:" + w.lower())
    for w in _WORD.findall(view.from_name[:200]):
        if len(w) >= 2:
            out.add("fromname:" + w.lower()[:20])
    local = view.from_addr.partition("@")[0]
    out.add("fromlocal:" + ("digits" if any(c.isdigit() for c in local) else "alpha"))
    for link in view.links[:200]:
        m = _HOST.match(link.href.strip())
        if not m:
            scheme = link.href.strip().split(":", 1)[0].lower()
            if scheme in ("mailto", "javascript", "data", "vbscript"):
                out.add("url-scheme:" + scheme)
            continue
        for part in _URL_SPLIT.split(link.href.lower()[:300])[:20]:
            if 3 <= len(part) <= 20:
                out.add("urlp:" + part)
        host = (m.group(1) or m.group(2) or "").lower().rstrip(".")
        labels = [x for x in host.split(".") if x]
        if labels:
            out.add("url-tld:" + labels[-1])
            if len(labels) >= 2:
                out.add("url:" + ".".join(labels[-2:]))
            if all(x.isdigit() for x in labels):
                out.add("url:ip")
    return {t for t in out if len(t) > 2}


def family(token: str) -> str:
    """A token's family: its prefix up to the colon (``"caps:"``, ``"url:"`` ...), ``""`` for
    a subject-free body word."""
    head, colon, _ = token.partition(":")
    return head + colon if colon else ""


class Model:
    """Token counts plus the corpus sizes they were counted on.

    ``families`` gives, for a token family that only part of the training messages could
    carry (a set that ships its messages without headers or links has no display-name, link or
    capital-word tokens), the ham and spam messages that could: a token's rates are counted
    over those, not over messages that could never have shown it."""

    def __init__(self, n_ham: int, n_spam: int, counts: dict[str, tuple[int, int]],
                 families: dict[str, tuple[int, int]] | None = None) -> None:
        self.n_ham = max(1, n_ham)
        self.n_spam = max(1, n_spam)
        self.families = {f: (max(1, h), max(1, s)) for f, (h, s) in (families or {}).items()}
        # every token the training data kept, evidence or not
        self.prob: dict[str, float] = {
            t: self.token_prob(h, s, *self.families.get(family(t), (self.n_ham, self.n_spam)))
            for t, (h, s) in counts.items()}
        # the vocabulary: the tokens seen in at least VOCABULARY_DOCS training messages
        self.vocabulary = frozenset(t for t, (h, s) in counts.items() if h + s >= VOCABULARY_DOCS)
        # the tokens that carry evidence (|f(w) - 0.5| >= MIN_STRENGTH), each with what
        # probability() needs of it, computed once: (f(w), its sort key, ln(1 - f), ln f)
        self.strong: dict[str, tuple[float, float, float, float]] = {
            t: (p, -abs(p - 0.5), math.log(1.0 - min(max(p, 1e-6), 1 - 1e-6)),
                math.log(min(max(p, 1e-6), 1 - 1e-6)))
            for t, p in self.prob.items() if abs(p - 0.5) >= MIN_STRENGTH}

    def token_prob(self, ham: int, spam: int, n_ham: int = 0, n_spam: int = 0) -> float:
        """Robinson's f(w): the spam ratio pulled towards 0.5 when the token is rare (rates
        over ``n_ham``/``n_spam`` messages, the whole training set by default)."""
        h, s = ham / (n_ham or self.n_ham), spam / (n_spam or self.n_spam)
        if h + s == 0:
            return ROBINSON_X
        p = s / (h + s)
        n = ham + spam
        return (ROBINSON_S * ROBINSON_X + n * p) / (ROBINSON_S + n)

    def known_share(self, toks: Iterable[str]) -> float:
        """The share of the distinct words among ``toks`` (no prefixed tokens) that are in the
        vocabulary; 1.0 when there are no words."""
        words = [t for t in toks if ":" not in t]
        if not words:
            return 1.0
        return sum(map(self.vocabulary.__contains__, words)) / len(words)  # True counts 1, in C

    def probability(self, toks: Iterable[str]) -> float:
        """Chi-squared combined spam probability of a token set (0.5 when no evidence, or when
        fewer than :data:`MIN_KNOWN` of its words are in the vocabulary)."""
        toks = toks if isinstance(toks, (set, frozenset)) else set(toks)
        if self.known_share(toks) < MIN_KNOWN:
            return 0.5
        # the tokens strong enough to count, in the order the set gives them; the strongest
        # first (a stable sort: ties keep that order), at most MAX_DISCRIMINATORS
        clues = [c for c in map(self.strong.get, toks) if c is not None]
        if len(clues) < MIN_CLUES:
            return 0.5
        clues.sort(key=_STRENGTH)
        clues = clues[:MAX_DISCRIMINATORS]
        ln_s = ln_h = 0.0
        for _, _, log_not, log_p in clues:
            ln_s += log_not
            ln_h += log_p
        n = len(clues)
        s = 1.0 - _chi2q(-2.0 * ln_s, 2 * n)
        h = 1.0 - _chi2q(-2.0 * ln_h, 2 * n)
        return (s - h + 1.0) / 2.0


def _chi2q(x2: float, v: int) -> float:
    """P(chi-squared with v (even) degrees of freedom >= x2)."""
    m = x2 / 2.0
    total = term = math.exp(-m)
    for i in range(1, v // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def load_model(data: bytes) -> Model:
    """Parse the (gzipped) JSON model: {"n_ham", "n_spam", "tokens": {tok: [ham, spam]}, and
    optionally "families": {prefix: [ham, spam]}}."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    obj = json.loads(data)
    counts = {str(t): (int(v[0]), int(v[1])) for t, v in obj["tokens"].items()}
    families = {str(f): (int(v[0]), int(v[1])) for f, v in obj.get("families", {}).items()}
    return Model(int(obj["n_ham"]), int(obj["n_spam"]), counts, families)


@lru_cache(maxsize=1)
def default_model() -> Model | None:
    """The packaged model, loaded once; ``None`` when it is missing or unreadable."""
    try:
        data = resources.files("agenticmail.security").joinpath("data", MODEL_RESOURCE)
        return load_model(data.read_bytes())
    except Exception:
        return None


def latin_share(text: str) -> float:
    """The share of the words of ``text`` that are written in Latin letters (the only script
    the model was trained on); 1.0 when there are no words. Unsegmented scripts (Chinese
    characters, Japanese kana) count one word per character, as each carries about a word's
    meaning; every other script counts runs of letters, as Latin does."""
    text = text[:MAX_CHARS]
    if text.isascii():  # no letter of another script (the common case, decided in C)
        return 1.0
    latin = len(_LATIN_WORD.findall(text))
    other = len(_OTHER_WORD.findall(text))
    return latin / (latin + other) if latin + other else 1.0


def spam_probability(view: MessageView, model: Model | None = None) -> float | None:
    """Spam probability of a message in [0, 1]; exactly 0.5 (unsure) when the model has no
    basis (see the module docstring); ``None`` without a model or on any error."""
    try:
        m = model or default_model()
        if m is None:
            return None
        if latin_share(view.subject[:1000] + "\n" + view.body_text) < MIN_LATIN:
            return 0.5
        return m.probability(tokens(view))
    except Exception:
        return None
