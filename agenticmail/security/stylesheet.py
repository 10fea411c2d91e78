"""Apply an HTML message's ``<style>`` blocks the way a mail client renders them.

:func:`apply_stylesheets` resolves the cascade of every ``<style>`` block (every selector kind,
specificity, ``!important`` against inline styles) into inline ``style`` attributes with
``css-inline`` (a real CSS parser and selector engine, html5ever underneath), so that the
sanitiser's one set of checks for hidden elements sees stylesheet-hidden text exactly as it
sees inline-hidden text. At-rules are evaluated first, with ``tinycss2``: ``@media`` blocks
apply when their query matches a mail client on a normal screen (:data:`VIEWPORT`: a
1024 × 768 light-mode screen; responsive rules for phones and dark-mode rules do not apply),
``@supports`` blocks apply, everything else (``@import``, ``@font-face``, ``@keyframes`` ...)
is ignored. Nothing is fetched: remote stylesheets are never loaded.

Pure functions, no I/O; bounded by :data:`MAX_CSS_CHARS`. A stylesheet css-inline cannot
read leaves the HTML as it was and says so (the caller reports it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import css_inline
import tinycss2
from tinycss2.ast import AtRule, QualifiedRule

__all__ = ["MAX_CSS_CHARS", "VIEWPORT", "Applied", "apply_stylesheets", "media_matches"]

MAX_CSS_CHARS = 256_000  # all <style> blocks together; real newsletters stay under 60 000
MAX_NESTING = 8  # @media inside @supports inside @media ...
_STYLE_BLOCK = re.compile(r"(?is)<style\b[^>]*>(.*?)</style\s*>")
_EM_PX = 16.0


@dataclass(frozen=True)
class Viewport:
    """The screen a query is evaluated for."""

    width: float = 1024.0
    height: float = 768.0
    color_scheme: str = "light"


VIEWPORT = Viewport()


@dataclass(frozen=True)
class Applied:
    """The HTML with its stylesheets inlined (``html``), or the input and ``ok=False``."""

    html: str
    ok: bool


def _length_px(value: str) -> float | None:
    m = re.fullmatch(r"\s*(-?[0-9]*\.?[0-9]+)\s*(px|em|rem|pt)?\s*", value)
    if not m:
        return None
    number, unit = float(m.group(1)), m.group(2) or "px"
    return number * {"px": 1.0, "em": _EM_PX, "rem": _EM_PX, "pt": 4 / 3}[unit]


def _feature(text: str, view: Viewport) -> bool:
    """One ``(feature: value)`` test; an unknown feature is false (Media Queries 4)."""
    name, _, value = (part.strip().lower() for part in text.partition(":"))
    if not value:  # boolean context: (color), (hover) ...
        return name in {"color", "hover", "pointer", "any-hover", "any-pointer", "width",
                        "height", "orientation", "prefers-color-scheme"}
    sizes = {"width": view.width, "height": view.height,
             "device-width": view.width, "device-height": view.height}
    for prefix in ("min-", "max-", ""):
        if name.startswith(prefix) and name[len(prefix):] in sizes:
            actual, wanted = sizes[name[len(prefix):]], _length_px(value)
            if wanted is None:
                return False
            return {"min-": actual >= wanted, "max-": actual <= wanted, "": actual == wanted}[
                prefix]
    if name == "orientation":
        return value == ("landscape" if view.width >= view.height else "portrait")
    if name == "prefers-color-scheme":
        return value == view.color_scheme
    if name in ("prefers-reduced-motion", "prefers-contrast", "forced-colors"):
        return value in ("no-preference", "none")
    if name in ("hover", "any-hover"):
        return value == "hover"
    if name in ("pointer", "any-pointer"):
        return value == "fine"
    if name in ("min-resolution", "max-resolution", "resolution", "-webkit-min-device-pixel-ratio",
                "-webkit-max-device-pixel-ratio", "min-device-pixel-ratio",
                "max-device-pixel-ratio"):
        ratio = float(re.sub(r"[a-z]+$", "", value) or 0) if re.match(r"[0-9.]", value) else 0
        if value.endswith("dpi"):
            ratio /= 96
        return ratio <= 1 if "min" in name else ratio >= 1 if "max" in name else ratio == 1
    return False


def _query(query: str, view: Viewport) -> bool:
    words = query.strip().lower()
    negate = words.startswith("not ")
    words = re.sub(r"^(?:not|only)\s+", "", words)
    parts = [p.strip() for p in re.split(r"\band\b", words) if p.strip()]
    result = True
    for part in parts:
        if part.startswith("(") and part.endswith(")"):
            result = result and _feature(part[1:-1], view)
        else:
            result = result and part in ("all", "screen")
    return result != negate


def media_matches(prelude: str, view: Viewport = VIEWPORT) -> bool:
    """Whether a media query list (``screen and (max-width: 600px), print``) applies."""
    queries = [q for q in prelude.split(",") if q.strip()]
    return not queries or any(_query(q, view) for q in queries)


def _applicable(rules: Iterable[object], view: Viewport, depth: int = 0) -> list[str]:
    """The CSS text of the conditional rules that apply, flattened to plain rules."""
    out: list[str] = []
    for rule in rules:
        if not isinstance(rule, AtRule) or rule.content is None or depth >= MAX_NESTING:
            continue
        keyword = rule.lower_at_keyword
        if keyword == "media" and not media_matches(tinycss2.serialize(rule.prelude), view):
            continue
        if keyword not in ("media", "supports"):
            continue
        inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
        out.extend(tinycss2.serialize([r]) for r in inner if isinstance(r, QualifiedRule))
        out.extend(_applicable(inner, view, depth + 1))
    return out


def apply_stylesheets(html: str, view: Viewport = VIEWPORT) -> Applied:
    """``html`` with every applicable stylesheet rule inlined (see the module docstring)."""
    blocks = _STYLE_BLOCK.findall(html)
    if not blocks:
        return Applied(html, True)
    css = "\n".join(blocks)
    if len(css) > MAX_CSS_CHARS:
        return Applied(html, False)
    conditional = _applicable(
        tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True), view)
    inliner = css_inline.CSSInliner(
        inline_style_tags=True,
        keep_style_tags=False,
        keep_link_tags=False,
        load_remote_stylesheets=False,
        extra_css="\n".join(conditional) or None,
    )
    try:
        return Applied(inliner.inline(html), True)
    except Exception:  # css-inline's InlineError and its parser's errors: unreadable CSS
        return Applied(html, False)
