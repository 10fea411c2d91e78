#!/usr/bin/env python3
"""Train the prompt-injection model (``agenticmail/security/data/injection_model.json.gz``).

Reads the corpora of ``corpora.py`` (attack strings of five red-team packages;
benign: the SpamAssassin *training* split, ham and spam, and agentdojo's environment mail).
spikee, the SpamAssassin test split and bastioncorpus's benign look-alikes are never read
here.

Each text is cut into the windows the runtime uses (:mod:`agenticmail.security.injection_model`)
and a logistic regression is fitted on window features. Weights: every attack source counts
the same in total, each attack spreads one unit over its windows (one window carrying the
instruction is enough), and every benign window counts fully (the daemon flags a message when
*any* window scores high, so every benign window must stay low).

The threshold is chosen out-of-fold: the benign training messages are split into 5
contiguous folds, each scored by a model trained without it, and the threshold is the lowest
probability at which at most ``--max-fp`` of them would be flagged. ``--loso`` additionally
reports leave-one-source-out recall (the model trained without an attack source, scored on
it): the estimate of how the model does on a red-team collection it has never seen.

    .venv/bin/python -m scripts.build.injection_model            # writes the model
    .venv/bin/python -m scripts.build.injection_model --loso     # + per-source estimates

Needs ``pip install -e '.[eval]'`` (scikit-learn); the daemon itself only reads the JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[2]

from scripts.eval.corpora import (
    ATTACK_SOURCES,
    DEFAULT_CACHE,
    FRESH_SOURCES,
    Sample,
    attack_samples,
    benign_samples,
    composite_samples,
)

from agenticmail.security.injection_model import (
    InjectionModel,
    tokenize,
    window_features,
)

OUT = ROOT / "agenticmail" / "security" / "data" / "injection_model.json.gz"
MAX_WINDOWS = 60  # windows per benign training text (long newsletters)
MIN_DF = 2  # a feature must occur in at least this many texts
BENIGN_WEIGHT = 3.0  # total benign weight relative to total attack weight


class Windowed:
    """All windows of all samples as feature sets, with the sample each came from."""

    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples
        self.feats: list[set[str]] = []
        self.owner: list[int] = []
        for i, s in enumerate(samples):
            ws = window_features(tokenize(s.text))
            if s.label == 0:
                ws = ws[:MAX_WINDOWS]
            self.feats.extend(ws)
            self.owner.extend([i] * len(ws))


def _group(sample: Sample) -> str:
    """Weighting group: each collection, and all composites together."""
    return "composite" if sample.payload_source else sample.source


def fit(data: Windowed, use: np.ndarray, c: float) -> InjectionModel:
    """Logistic regression on the windows of the samples where ``use`` is true."""
    samples = data.samples
    df: Counter[str] = Counter()
    seen: dict[int, set[str]] = {}
    for f, o in zip(data.feats, data.owner, strict=True):
        if use[o]:
            seen.setdefault(o, set()).update(f)
    for fs in seen.values():
        df.update(fs)
    vocab = {f: j for j, f in enumerate(sorted(f for f, n in df.items() if n >= MIN_DF))}
    rows, cols, y, weight = [], [], [], []
    n_windows = Counter(o for o in data.owner if use[o])
    attack_per_source = Counter(_group(samples[o]) for o in seen if samples[o].label == 1)
    n_sources = len(attack_per_source)
    n_attack = sum(attack_per_source.values())
    benign_windows = sum(n for o, n in n_windows.items() if samples[o].label == 0)
    r = 0
    for f, o in zip(data.feats, data.owner, strict=True):
        if not use[o]:
            continue
        s = samples[o]
        for feat in f:
            j = vocab.get(feat)
            if j is not None:
                rows.append(r)
                cols.append(j)
        y.append(s.label)
        if s.label:
            weight.append(n_attack / (n_sources * attack_per_source[_group(s)] * n_windows[o]))
        else:
            weight.append(BENIGN_WEIGHT * n_attack / benign_windows)
        r += 1
    x = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(r, len(vocab)))
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
    clf.fit(x, np.array(y), sample_weight=np.array(weight))
    names = sorted(vocab, key=vocab.__getitem__)
    coef = clf.coef_[0]
    weights = {names[j]: float(coef[j]) for j in np.flatnonzero(np.abs(coef) >= 0.02)}
    return InjectionModel(weights=weights, bias=float(clf.intercept_[0]), threshold=0.5)


def message_scores(model: InjectionModel, data: Windowed, which: np.ndarray) -> np.ndarray:
    """Max window probability per sample index in ``which``."""
    best = np.zeros(len(data.samples))
    for f, o in zip(data.feats, data.owner, strict=True):
        if which[o]:
            best[o] = max(best[o], model.window_probability(f))
    return best


def oof_threshold(data: Windowed, c: float, max_fp: float, folds: int = 5) -> float:
    """Lowest threshold keeping out-of-fold false positives on benign messages other than spam
    (spam is a negative in training, but flagging it costs nothing) <= ``max_fp``."""
    samples = data.samples
    benign = np.array([s.label == 0 for s in samples])
    ham = np.array([s.label == 0 and s.source != "sa-spam" for s in samples])
    idx = np.flatnonzero(benign)
    scores = np.zeros(len(samples))
    for k in range(folds):
        part = idx[k * len(idx) // folds : (k + 1) * len(idx) // folds]
        held = np.zeros(len(samples), dtype=bool)
        held[part] = True
        model = fit(data, ~held, c)
        scores[held] = message_scores(model, data, held)[held]
        print(f"  fold {k + 1}/{folds} done", file=sys.stderr)
    ranked = np.sort(scores[ham])[::-1]
    allowed = int(max_fp * len(ranked))
    return float(min(0.99, ranked[allowed] + 1e-6))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    ap.add_argument("--max-fp", type=float, default=0.001, help="out-of-fold benign FP")
    ap.add_argument("--loso", action="store_true", help="leave-one-source-out estimates")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-composites", action="store_true", help="collections as shipped only")
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="experiment: also train on the fresh held-out sets asb and raginject",
    )
    args = ap.parse_args()

    t0 = time.monotonic()
    attacks = attack_samples(args.cache, args.fresh)
    if not args.no_composites:
        attacks += composite_samples(args.cache, fresh=args.fresh)
    samples = attacks + benign_samples(args.cache)
    data = Windowed(samples)
    print(
        f"{len(samples)} texts, {len(data.feats)} windows "
        f"({Counter(s.source for s in samples)}) in {time.monotonic() - t0:.0f} s"
    )
    threshold = oof_threshold(data, args.c, args.max_fp)
    print(f"threshold (out-of-fold benign FP <= {args.max_fp:.2%}): {threshold:.4f}")
    if args.loso:
        for source in ATTACK_SOURCES + (FRESH_SOURCES if args.fresh else ()):
            mask = np.array([s.uses(source) for s in samples])
            scored = np.array([s.source == source and not s.payload_source for s in samples])
            model = fit(data, ~mask, args.c)
            p = message_scores(model, data, scored)[scored]
            print(
                f"  leave-one-source-out {source:14s} n={scored.sum():5d} "
                f"recall@threshold {np.mean(p >= threshold):6.1%}  @0.5 {np.mean(p >= 0.5):6.1%}"
            )
    model = fit(data, np.ones(len(samples), dtype=bool), args.c)
    print(f"{len(model.weights)} weights, bias {model.bias:.3f}, {time.monotonic() - t0:.0f} s")
    if args.no_write:
        return
    doc = {
        "bias": round(model.bias, 5),
        "threshold": round(threshold, 5),
        "weights": {k: round(v, 4) for k, v in sorted(model.weights.items())},
    }
    OUT.write_bytes(gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
