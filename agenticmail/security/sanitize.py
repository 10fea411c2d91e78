"""Make inbound mail safe for a model to read: remove what a human reader would not see.

Two passes, in this order (the order matters):

1. **Hidden-content removal** over a real tokenisation of the HTML (a linear, ``str.find``
   driven tokenizer with an element stack, see :func:`_strip_hidden`), after the document's
   ``<style>`` blocks were inlined the way a mail client renders them (:mod:`.stylesheet`):
   subtrees hidden by CSS (``display:none``, ``visibility:hidden``, zero font size or
   opacity, text coloured like its background, off-screen positioning or translation,
   zero-size clipping, masks, boxes or transforms, collapsed letters; CSS values read as a
   renderer reads them by :mod:`.css_values`; and what mail clients honour: ``mso-hide:all``,
   ``-webkit-text-fill-color``), content a
   client does not display by default (closed ``<details>``/``<dialog>``, SVG descriptions),
   ``hidden`` elements,
   iframes, scripts, ``javascript:``/``vbscript:``/``data:`` URIs, event-handler attributes
   and comments that talk to a model are dropped and reported.
2. **nh3** (ammonia) allowlist cleaning of what is left. nh3 strips ``style`` attributes,
   which would make CSS-hidden text *visible*; that is why pass 1 runs first.

Invisible Unicode (every format character, singly too: zero-width characters, soft hyphens,
word joiners, bidi controls, tag characters, variation selectors outside emoji, fillers) is
removed from text and from HTML text and attributes (:mod:`.unicode_view`). What a script
needs is kept: emoji ZWJ sequences and subdivision flags, ZWNJ between Persian or Indic
letters, LRM/RLM near right-to-left text; and so is white text on an explicitly dark
background.

``changed`` is True exactly when something was removed and reported in ``detections``
(nh3's re-serialisation of harmless markup alone is not a change).
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

import nh3

from agenticmail.security import css_values as css
from agenticmail.security import mime_view as inbound
from agenticmail.security.patterns import wordset
from agenticmail.security.stylesheet import apply_stylesheets
from agenticmail.security.unicode_view import DESCRIPTIONS, drop_invisible

_BLOCK_BREAK = re.compile(r"(?i)<(?:br|/p|/div|/tr|/li|/h[1-6]|/table|/blockquote|hr)\b[^<>]*>")
_NH3_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"lang", "dir"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


HiddenReport = dict[str, tuple[str, int]]
MAX_DEPTH = 256  # open elements kept; deeper start tags are dropped (their text is kept)
# More markup than real mail carries (the SpamAssassin corpus peaks at 2 306 '<'; newsletters
# at a few thousand). Reading each tag costs a few microseconds of Python, so beyond this the
# HTML is withheld from the agent rather than read for up to a second; the raw message stays.
MAX_HTML_TAGS = 20_000
_VOID = wordset("area base br col embed hr img input link meta param source track wbr keygen")
_DROP_SILENT = frozenset({"title", "style", "template"})  # never rendered as body text
_EMBEDS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet"})
_URI_ATTRS = wordset(
    "href src action formaction xlink:href background poster data lowsrc dynsrc cite longdesc "
    "srcset"
)
_SAFE_DATA_IMAGE = re.compile(r"(?i)^data:image/(?:png|gif|jpe?g|webp|bmp);")
_URI_NOISE = re.compile(r"[\x00-\x20]+")
_SUSPICIOUS_COMMENT = re.compile(
    r"(?i)\b(?:ignore|disregard|system|instructions?|prompts?|inject\w*|assistant|AI|LLM|agent|"
    r"override|jailbreak|forward|password|credentials?)\b"
)
_TRANSFORM = re.compile(
    r"\b(scale(?:x|y|3d)?|matrix|translate(?:x|y|3d)?|rotate[xy]|skew[xy]?)\(([^()]{0,200})\)")
OFFSCREEN_PX = -500  # an offset this far left or up puts an element outside the screen
_FILTER_BLUR = re.compile(r"\bblur\(\s*([^()\s]{1,20})\s*\)")
_FILTER_OPACITY = re.compile(r"\bopacity\(\s*([^()\s]{1,20})\s*\)")
_TOP_LEVEL_COMMA = re.compile(r",(?![^()]*\))")  # a comma outside parentheses
_BLOCKS_CLOSING_P = wordset(
    "address article aside blockquote div dl fieldset footer form h1 h2 h3 h4 h5 h6 header hr "
    "main nav ol p pre section table ul"
)
_SIBLING_CLOSERS = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option"})
_HIDDEN_WHY = {
    "display_none": "element hidden with display:none",
    "visibility_hidden": "element hidden with visibility:hidden/collapse",
    "zero_font_size": "text with zero or near-zero font size",
    "zero_opacity": "element with zero opacity",
    "same_color": "text coloured like its background (or transparent)",
    "offscreen": "element positioned or indented off-screen",
    "zero_size": "element clipped to zero size",
    "hidden_attribute": "element with the hidden attribute",
    "hidden_iframe": "hidden or zero-size iframe",
    "iframe": "embedded frame/object (removed)",
    "script": "script element",
    "script_uri": "javascript:/vbscript:/data: URI in a link or source attribute",
    "event_handler": "event-handler attribute (onclick, onerror, ...)",
    "suspicious_comment": "HTML comment with instructions for a model",
    "mso_hide": "element hidden from Outlook with mso-hide:all",
    "blurred": "text blurred past reading (filter: blur)",
    "not_rendered": "content a mail client does not display (closed <details>/<dialog>, SVG "
                    "descriptions)",
    "html_too_deep": f"HTML nested over {MAX_DEPTH} elements deep (deeper tags dropped)",
}


def _background(decls: dict[str, str], attrs: dict[str, str]) -> tuple[int, int, int] | str | None:
    """Own background: a colour, "image" (unknown) or None (inherits)."""
    if (
        "background-image" in decls
        or "url(" in decls.get("background", "")
        or "background" in attrs
    ):
        return "image"
    for key in ("background-color", "background"):
        if key in decls:
            colour = css.colour(decls[key].split()[0] if decls[key] else "")
            if colour is not None and colour != css.INVISIBLE:
                return colour
    return css.colour(attrs.get("bgcolor"))


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 16


def _font_size(decls: dict[str, str]) -> tuple[float, str] | None:
    """The font size an inline style sets: ``font-size``, else the size in the ``font``
    shorthand (``font: 0/0 a``, ``bold 1px/2 serif``; a unitless number other than 0 before
    the size is a weight)."""
    if "font-size" in decls:
        return css.length(decls["font-size"])
    for token in decls.get("font", "").split()[:6]:
        size = css.whole_length(token.split("/")[0])
        if size is None:
            continue  # a style, weight or family name
        if size[1] == "" and size[0] != 0 and "/" not in token:
            continue  # a numeric weight (700)
        return size
    return None


def _transforms(decls: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The functions of an inline ``transform``, each with its arguments."""
    return [(name, [a for a in re.split(r"[\s,]+", args.strip()) if a])
            for name, args in _TRANSFORM.findall(decls.get("transform", ""))]


def _scaled_axes(name: str, values: list[str]) -> list[str]:
    """The arguments of a scale function that scale the x and y axes."""
    return values[:2 if name in ("scale", "scale3d") else 1]


def _scale_factor(decls: dict[str, str]) -> float:
    """How much a transform (or the ``scale`` property) shrinks the element's text: the
    smallest scale factor on either axis (1.0 without one)."""
    factors = [abs(v[0]) for v in map(css.length, decls.get("scale", "").split()[:2])
               if v is not None and v[1] == ""]
    for name, values in _transforms(decls):
        if name.startswith("scale"):
            factors += [abs(n[0]) for n in map(css.length, _scaled_axes(name, values))
                        if n is not None and n[1] == ""]
    return min(factors, default=1.0)


def _transform_hides(decls: dict[str, str]) -> str | None:
    """Why a transform (or the ``scale`` property) hides an element: ``zero_size`` when it
    flattens an axis to nothing, ``offscreen`` when it moves the element far outside the
    screen; None when it does neither."""
    scale = decls.get("scale", "").split()
    if scale and (css.length(scale[0]) or (1.0, ""))[0] == 0:
        return "zero_size"
    for name, values in _transforms(decls):
        nums = [(css.length(a) or (1.0, ""))[0] for a in values]
        if name == "matrix":  # a b c d e f: no area left when a*d - b*c is 0
            if len(nums) == 6 and abs(nums[0] * nums[3] - nums[1] * nums[2]) <= 1e-4:
                return "zero_size"
        elif name.startswith("scale"):  # scale(s), scale(sx, sy), scaleX/Y(s), scale3d(...)
            if any(abs(n) <= 0.01 for n in nums[:len(_scaled_axes(name, values))]):
                return "zero_size"
        elif name.startswith(("rotate", "skew")):  # turned edge-on, or sheared flat
            for degrees in map(css.angle, values[:2]):
                if degrees is not None and abs(degrees % 180 - 90) < 1:
                    return "zero_size"
        else:  # translate: in px, em ... (a percentage is of the element itself: centring)
            for a in values[:2]:
                px = css.px(a)
                if px is not None and (px <= OFFSCREEN_PX or px >= 2000):
                    return "offscreen"
    return None


def _clip_hides(decls: dict[str, str]) -> bool:
    """``clip: rect(top right bottom left)`` that leaves no area, or a ``clip-path`` that
    leaves none (an inset whose opposite sides meet, a zero circle or ellipse, a polygon whose
    points are on one line)."""
    clip = decls.get("clip", "").replace(" ", ",").replace(",,", ",")
    if clip.startswith("rect("):
        parts = [e for e in clip[5:].rstrip(")").split(",") if e]
        edges = [e for e in map(css.px, parts) if e is not None]
        if len(parts) == len(edges) == 4:
            top, right, bottom, left = edges
            if bottom <= top or right <= left:
                return True
    path = decls.get("clip-path", "").strip()
    if path.replace(" ", "").startswith(("circle(0", "ellipse(0")):
        return True
    if path.startswith("inset(") and ")" in path:
        # inset(top right bottom left), CSS shorthand: opposite sides that meet leave nothing
        sides = [css.length(v) for v in path[6:path.index(")")].split(" round")[0].split()][:4]
        pct = [v[0] if v[1] == "%" else 0.0 for v in sides if v is not None]
        if pct and len(pct) == len(sides):
            top, right = pct[0], pct[1] if len(pct) > 1 else pct[0]
            bottom = pct[2] if len(pct) > 2 else top
            left = pct[3] if len(pct) > 3 else right
            if top + bottom >= 100 or left + right >= 100:
                return True
    if path.startswith("polygon(") and ")" in path:  # every point on one line: no area
        points = []
        for point in path[8:path.index(")")].split(",")[:100]:
            xy = [v[0] for v in map(css.length, point.split()) if v is not None]
            if len(xy) == 2:
                points.append((xy[0], xy[1]))
        area = sum(x0 * y1 - x1 * y0
                   for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
        return len(points) >= 3 and abs(area) < 1e-6
    return False


def _pushed_out(decls: dict[str, str]) -> bool:
    """Text pushed out of its own clipped box: a text-indent of the whole width or more on
    one line (the "image replacement" trick), or padding as wide or high as the box."""
    width = css.px(decls.get("width", "") or decls.get("max-width", ""))
    indent = css.length(decls.get("text-indent", ""))
    if indent is not None and "nowrap" in decls.get("white-space", ""):
        indent_px = css.px(decls.get("text-indent", ""))
        if (indent[1] == "%" and indent[0] >= 100) or (
                indent_px is not None and indent_px >= (width or css.SCREEN[0])):
            return True
    height = css.px(decls.get("height", "") or decls.get("max-height", ""))
    left = css.px(decls.get("padding-left", ""))
    top = css.px(decls.get("padding-top", ""))
    return bool((width is not None and left is not None and left >= width > 0)
                or (height is not None and top is not None and top >= height > 0))


def _mask_hides(decls: dict[str, str]) -> bool:
    """A mask (``mask``, ``mask-image``, ``-webkit-mask…``) that is a gradient of transparent
    colours only: nothing of the element shows through it."""
    for key in ("mask", "mask-image", "-webkit-mask", "-webkit-mask-image"):
        value = decls.get(key, "")
        if "gradient(" not in value:
            continue
        inside = value[value.index("gradient(") + 9:]
        colours = [c for c in (css.colour(part.strip().split(" ")[0])
                               for part in _TOP_LEVEL_COMMA.split(inside.rsplit(")", 1)[0]))
                   if c is not None]
        if colours and all(c == css.INVISIBLE for c in colours):
            return True
    return False


def _hidden_reason(tag: str, attrs: dict[str, str], decls: dict[str, str]) -> str | None:
    """Why this element and all it holds are invisible to a human reader, or None. (Text
    coloured like its background is decided per text node: a descendant may set its own
    colour or background.)"""
    if "hidden" in attrs:
        return "hidden_attribute"
    if not decls:
        return None
    if decls.get("display", "").startswith("none"):
        return "display_none"
    if decls.get("visibility", "").split()[:1] in (["hidden"], ["collapse"]) or decls.get(
            "content-visibility", "").startswith("hidden"):
        return "visibility_hidden"
    if decls.get("mso-hide", "").startswith("all"):
        return "mso_hide"
    size = _font_size(decls)
    if size and (
        size[0] <= 0
        or (size[1] in ("px", "pt", "") and size[0] < 2)
        or (size[1] in ("em", "rem") and size[0] < 0.15)
        or (size[1] == "%" and size[0] < 15)
    ):
        return "zero_font_size"
    filtered = _FILTER_OPACITY.search(decls.get("filter", ""))
    for opacity in (css.length(decls.get("opacity", "")),
                    css.length(filtered.group(1)) if filtered else None):
        if opacity and opacity[0] <= (5 if opacity[1] == "%" else 0.05):
            return "zero_opacity"
    positioned = decls.get("position") in ("absolute", "fixed", "relative")
    for key in ("left", "top", "text-indent", "margin-left", "margin-top", "right", "bottom"):
        value = decls.get(key, "")
        offset, share = css.px(value), css.length(value)
        far = (offset is not None and offset <= OFFSCREEN_PX) or (
            share is not None and share[1] == "%" and share[0] <= -100)  # a whole width
        if far and (key in ("text-indent", "margin-left", "margin-top") or positioned):
            return "offscreen"
    if decls.get("position") == "fixed":  # fixed below or right of the screen: never seen
        top, left = css.px(decls.get("top", "")), css.px(decls.get("left", ""))
        if (top is not None and top >= css.SCREEN[1]) or (
                left is not None and left >= css.SCREEN[0]):
            return "offscreen"
    overflow = " ".join(decls.get(k, "") for k in ("overflow", "overflow-x", "overflow-y"))
    clipped = any(word in ("hidden", "clip") for word in overflow.split())
    if clipped:
        for key in ("height", "max-height", "width", "max-width"):
            dim = css.length(decls.get(key, ""))
            size_px = css.px(decls.get(key, ""))
            if (dim and dim[0] <= 0) or (size_px is not None and size_px < 1):
                return "zero_size"
        width = css.px(decls.get("width", "") or decls.get("max-width", ""))
        height = css.px(decls.get("height", "") or decls.get("max-height", ""))
        if width is not None and width <= 1 and (
                (height is not None and height <= 1) or "nowrap" in decls.get("white-space", "")):
            return "zero_size"  # a 1 x 1 box ("screen-reader only"), a 1 px column of one line
    spacing = css.px(decls.get("letter-spacing", ""))
    size = _font_size(decls)
    font_px = css.FONT_PX if size is None else (css.px(f"{size[0]}{size[1]}") or css.FONT_PX)
    if spacing is not None and spacing <= -0.5 * font_px:
        return "zero_size"  # letters drawn on top of one another
    if _mask_hides(decls):
        return "zero_size"
    if clipped and _pushed_out(decls):
        return "offscreen"
    vertical = css.px(decls.get("vertical-align", ""))
    if vertical is not None and (vertical <= OFFSCREEN_PX or vertical >= 2000):
        return "offscreen"
    blur = _FILTER_BLUR.search(decls.get("filter", ""))
    radius = css.px(blur.group(1)) if blur else None
    if radius is not None and radius >= 0.5 * font_px:
        return "blurred"
    if _clip_hides(decls):
        return "zero_size"
    transformed = _transform_hides(decls)
    if transformed:
        return transformed
    if font_px * _scale_factor(decls) < 2:
        return "zero_font_size"  # text scaled down below 2 px
    zoom = css.length(decls.get("zoom", ""))
    if zoom and zoom[0] <= (5 if zoom[1] == "%" else 0.05):
        return "zero_size"
    return None


def _own_colour(tag: str, attrs: dict[str, str], decls: dict[str, str]) -> object:
    """The text colour an element sets (None: inherited). WebKit clients (Apple Mail, iOS)
    paint text with ``-webkit-text-fill-color`` over ``color``."""
    return css.colour(decls.get("-webkit-text-fill-color") or decls.get("color")
                   or (attrs.get("color") if tag == "font" else None))


def _unreadable(colour: object, bg: object) -> bool:
    """Text of ``colour`` on ``bg`` cannot be seen (transparent, or within 16/255)."""
    return colour == css.INVISIBLE or (
        isinstance(colour, tuple) and isinstance(bg, tuple) and _close(colour, bg))


def _iframe_hidden(attrs: dict[str, str], decls: dict[str, str], reason: str | None) -> bool:
    if reason:
        return True
    for key in ("width", "height"):
        dim = css.length(attrs.get(key, "") or decls.get(key, ""))
        if dim and dim[0] <= 1:
            return True
    return False


def _unsafe_uri(tag: str, name: str, value: str) -> bool:
    v = _URI_NOISE.sub("", html_lib.unescape(value)).lower()
    if v.startswith(("javascript:", "vbscript:", "livescript:")):
        return True
    if v.startswith("data:"):
        return not (tag == "img" and name == "src" and _SAFE_DATA_IMAGE.match(v))
    return False


def _attr_html(name: str, value: str) -> str:
    return f' {name}="{html_lib.escape(value, quote=True)}"'


def strip_hidden(html: str, clean_text: Callable[[str], str], *,
                 cascade_known: bool = False) -> tuple[str, HiddenReport]:
    """Remove hidden subtrees and active content (see module docstring) before nh3.

    ``cascade_known``: the document's stylesheets were inlined (:mod:`.stylesheet`), so an
    element without a background of its own is on the white page, as with no stylesheet."""
    report: HiddenReport = {}

    def note(kind: str) -> None:
        _, count = report.get(kind, ("", 0))
        report[kind] = (_HIDDEN_WHY[kind], count + 1)

    lowered = html.lower()
    has_stylesheet = "<link" in lowered if cascade_known else (
        "<style" in lowered or " class=" in lowered)
    default_bg: object = None if has_stylesheet else (255, 255, 255)
    closed: set[int] = set()  # stack depths of a closed <details> or <dialog>
    out: list[str] = []
    # stack entries: (tag, background, text colour, custom properties in force); hidden_at:
    # stack depth where a hidden subtree starts
    stack: list[tuple[str, object, object, dict[str, str]]] = []
    hidden_at: int | None = None
    for kind, value, attr_list, self_closing in inbound.tokenize(html):
        if kind in ("text", "rawtext"):
            parent = stack[-1][0] if stack else ""
            if hidden_at is None and value.strip():
                if len(stack) - 1 in closed:
                    note("not_rendered")
                    continue
                if stack and _unreadable(stack[-1][2], stack[-1][1]):
                    note("same_color")
                    continue
            if (
                hidden_at is None
                and parent not in _DROP_SILENT
                and parent != "script"
                and parent not in _EMBEDS
            ):
                text = clean_text(html_lib.unescape(value))
                out.append(html_lib.escape(text, quote=False))
            continue
        if kind == "comment":
            if _SUSPICIOUS_COMMENT.search(value[:10000]):
                note("suspicious_comment")
            continue
        if kind == "end":
            depth = next((k for k in range(len(stack) - 1, -1, -1) if stack[k][0] == value), None)
            if depth is None:
                continue
            del stack[depth:]
            closed.difference_update(range(depth, MAX_DEPTH + 1))
            if hidden_at is not None and depth <= hidden_at:
                hidden_at = None
            elif hidden_at is None:
                out.append(f"</{value}>")
            continue
        tag = value
        if stack and (tag in _BLOCKS_CLOSING_P or tag in _SIBLING_CLOSERS):
            top = stack[-1][0]
            if (
                (top == tag and tag in _SIBLING_CLOSERS)
                or (top == "p" and tag in _BLOCKS_CLOSING_P)
                or {top, tag} <= {"td", "th"}
                or {top, tag} <= {"dt", "dd"}
            ):
                stack.pop()
                closed.discard(len(stack))
                if hidden_at is not None and len(stack) <= hidden_at:
                    hidden_at = None
        opens = tag not in _VOID and not self_closing
        if opens and len(stack) >= MAX_DEPTH:
            note("html_too_deep")
            continue  # browsers cap nesting too; keeps nh3 (html5ever) linear
        if hidden_at is not None:  # inside a hidden subtree: only track nesting
            if opens:
                stack.append((tag, None, None, {}))
            continue
        attrs: dict[str, str] = {}
        for name, val in attr_list:  # a repeated attribute: the first one counts (HTML)
            attrs.setdefault(name, val)
        style = attrs.get("style", "")
        inherited = stack[-1][3] if stack else {}
        decls, custom = css.declarations(style, inherited) if style else ({}, inherited)
        parent_bg = stack[-1][1] if stack else default_bg
        own_bg = (
            _background(decls, attrs)
            if (decls or "bgcolor" in attrs or "background" in attrs)
            else None
        )
        bg = parent_bg if own_bg is None else (None if own_bg == "image" else own_bg)
        if tag in ("body", "html") and bg is None and own_bg is None:
            bg = default_bg
        colour = _own_colour(tag, attrs, decls)
        if colour is None:
            colour = stack[-1][2] if stack else None
        reason = _hidden_reason(tag, attrs, decls)
        if reason is None and (
                (len(stack) - 1 in closed and tag != "summary")
                or (tag == "dialog" and "open" not in attrs)
                or tag in ("desc", "metadata")):
            reason = "not_rendered"
        if tag == "script":
            note("script")
        elif tag in _EMBEDS:
            note("hidden_iframe" if _iframe_hidden(attrs, decls, reason) else "iframe")
        elif reason:
            note(reason)
        if opens:
            stack.append((tag, bg, colour, custom))
            if tag == "details" and "open" not in attrs and not reason:
                closed.add(len(stack) - 1)
        if reason or tag == "script" or tag in _EMBEDS or tag in _DROP_SILENT:
            if opens:
                hidden_at = len(stack) - 1
            continue
        parts = [f"<{tag}"]
        for name, val in attr_list:
            if name.startswith("on"):
                note("event_handler")
            elif name in _URI_ATTRS and _unsafe_uri(tag, name, val):
                note("script_uri")
            else:
                parts.append(_attr_html(name, clean_text(val)))
        out.append("".join(parts) + (" />" if not opens else ">"))
    return "".join(out), report


@dataclass(frozen=True)
class Detection:
    """One kind of removed content and how many instances were removed."""

    type: str
    description: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "description": self.description, "count": self.count}


@dataclass(frozen=True)
class SanitizeResult:
    """Model-safe text (and HTML when the message had HTML), with what was removed."""

    text: str
    html: str | None
    detections: tuple[Detection, ...] = ()
    changed: bool = False
    subject: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "html": self.html,
            "detections": [d.to_dict() for d in self.detections],
            "changed": self.changed,
            "subject": self.subject,
        }


class _Tally:
    """Counts of removed things by type, with descriptions."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.descriptions: dict[str, str] = {}

    def add(self, kind: str, description: str, count: int = 1) -> None:
        self.counts[kind] += count
        self.descriptions.setdefault(kind, description)

    def merge(self, report: HiddenReport) -> None:
        for kind, (description, count) in report.items():
            self.add(kind, description, count)

    def detections(self) -> tuple[Detection, ...]:
        return tuple(Detection(k, self.descriptions[k], n) for k, n in sorted(self.counts.items()))


def clean_invisible(text: str, tally: _Tally | None = None) -> str:
    """Remove invisible Unicode from ``text`` (:func:`.unicode_view.drop_invisible`); count
    what was removed into ``tally``."""
    cleaned, removed = drop_invisible(text)
    if tally is not None:
        for kind, count in removed.items():
            tally.add(kind, DESCRIPTIONS[kind], count)
    return cleaned


def _result(
    text: str, html: str | None, tally: _Tally, subject: str | None = None
) -> SanitizeResult:
    detections = tally.detections()
    return SanitizeResult(text, html, detections, bool(detections), subject)


def sanitize_text(text: str) -> SanitizeResult:
    """Sanitise plain text (invisible Unicode only)."""
    tally = _Tally()
    return _result(clean_invisible(text, tally), None, tally)


def _unescape_serialized(text: str) -> str:
    """Decode the few entities an HTML serialiser (nh3) writes, without a callback each."""
    for entity, char in (
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&#39;", "'"),
        ("&nbsp;", "\xa0"),
    ):
        text = text.replace(entity, char)
    text = text.replace("&amp;", "&")
    return text


def visible_text(clean_html: str) -> str:
    """Readable text of already cleaned HTML (block ends become line breaks)."""
    body = _BLOCK_BREAK.sub("\n", clean_html)
    body = inbound.drop_blocks(body)
    return inbound.tidy_text(_unescape_serialized(inbound.TAG_RE.sub(" ", body)))


def _clean_html(html: str, tally: _Tally) -> str | None:
    if html.count("<") > MAX_HTML_TAGS:
        tally.add("html_withheld", f"HTML with over {MAX_HTML_TAGS} tags, withheld from the "
                  "agent (the message in the mailbox is untouched)")
        return None
    cascade_known = False
    if "<style" in html.lower():
        applied = apply_stylesheets(html)
        if applied.ok:
            html, cascade_known = applied.html, True
        else:
            tally.add("stylesheet_unreadable", "a stylesheet too large or malformed to apply: "
                      "text it hides may remain")
    stripped, report = strip_hidden(html, lambda s: clean_invisible(s, tally),
                                    cascade_known=cascade_known)
    tally.merge(report)
    try:
        return nh3.clean(
            stripped,
            attributes=_NH3_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            strip_comments=True,
            link_rel="noopener noreferrer nofollow",
        )
    except Exception:
        return html_lib.escape(visible_text(stripped))


def sanitize_html(html: str) -> SanitizeResult:
    """Sanitise one HTML document: hidden content first, then the nh3 allowlist."""
    tally = _Tally()
    clean = _clean_html(html, tally)
    return _result(visible_text(clean) if clean else "", clean, tally)


def sanitize(raw: bytes | Message | inbound.InboundMessage) -> SanitizeResult:
    """Sanitise a whole message: text from text/plain (else from the cleaned HTML)."""
    view = inbound.parse(raw)
    tally = _Tally()
    subject = clean_invisible(view.subject, tally)
    clean = _clean_html(view.html, tally) if view.html else None
    if view.text.strip():
        text = clean_invisible(view.text, tally)
    else:
        text = visible_text(clean) if clean else ""
    return _result(text, clean, tally, subject)
