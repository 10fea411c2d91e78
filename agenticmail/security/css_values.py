"""CSS values read the way a renderer reads them, for the sanitiser's hiding decisions.

An inline style's declarations (:func:`declarations`: comments and ``!important`` dropped,
CSS escapes decoded, custom properties substituted into ``var()``, the shorthands and logical
properties that place or size an element expanded into the longhands the checks read),
lengths in pixels whatever their unit or ``calc()`` (:func:`px`), and colours in every
notation mail clients draw (:func:`colour`: names, hex with or without alpha, ``rgb()``,
``hsl()``, ``hwb()``, ``lab()``, ``lch()``, ``oklab()``, ``oklch()``, ``color()``).

The screen is the one the stylesheet pass assumes (:mod:`.stylesheet`): 1024 x 768 CSS
pixels, 16 px text. Pure; every reader is bounded in the size of what it reads and returns
``None`` for what it cannot read (never raises).
"""

from __future__ import annotations

import colorsys
import math
import re

SCREEN = (1024, 768)  # CSS pixels
FONT_PX = 16.0
INVISIBLE = (-1, -1, -1)  # the colour of transparent (or nearly transparent) paint
Colour = tuple[int, int, int]

PX_PER = {"px": 1.0, "": 1.0, "pt": 4 / 3, "pc": 16.0, "em": FONT_PX, "rem": FONT_PX,
          "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6,
          "vw": SCREEN[0] / 100, "vh": SCREEN[1] / 100, "vmin": SCREEN[1] / 100,
          "vmax": SCREEN[0] / 100}
MAX_STYLE = 4096  # characters of one style attribute read
MAX_VALUE = 200  # characters of one calc() or colour function read

_COMMENT = re.compile(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")
_ESCAPE = re.compile(r"\\([0-9a-f]{1,6})[ \t\n]?|\\(.)", re.DOTALL)
_UNESCAPED_SEMICOLON = re.compile(r"(?<!\\);")
_VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*))?\)")
_NUMBER = re.compile(r"^\s*(-?[0-9]*\.?[0-9]+)\s*([a-z%]*)")
_CALC_TOKEN = re.compile(r"\s*(?:([0-9]*\.?[0-9]+)([a-z%]*)|([-+*/()]))")
_FUNCTION = re.compile(r"^([a-z-]+)\((.*)\)$", re.DOTALL)
_NAMED_TABLE = (
    "white 255 255 255, black 0 0 0, red 255 0 0, green 0 128 0, blue 0 0 255, yellow 255 255 "
    "0, gray 128 128 128, grey 128 128 128, silver 192 192 192, navy 0 0 128, whitesmoke 245 "
    "245 245, snow 255 250 250, ivory 255 255 240, ghostwhite 248 248 255, lightgray 211 211 "
    "211, lightgrey 211 211 211, darkgray 169 169 169"
)
_NAMED = {
    name: (int(r), int(g), int(b))
    for name, r, g, b in (entry.split() for entry in _NAMED_TABLE.split(", "))
}
# shorthand -> the longhands it sets, for 1 to 4 values (CSS's top, right, bottom, left)
_BOXES = {"inset": ("top", "right", "bottom", "left"),
          "margin": ("margin-top", "margin-right", "margin-bottom", "margin-left"),
          "padding": ("padding-top", "padding-right", "padding-bottom", "padding-left")}
# logical properties, read for a left-to-right, top-to-bottom page
_LOGICAL = {"inset-inline-start": "left", "inset-inline-end": "right",
            "inset-block-start": "top", "inset-block-end": "bottom",
            "margin-inline-start": "margin-left", "margin-inline-end": "margin-right",
            "margin-block-start": "margin-top", "margin-block-end": "margin-bottom",
            "padding-inline-start": "padding-left", "padding-block-start": "padding-top"}
_LOGICAL_PAIRS = {"inset-inline": ("left", "right"), "inset-block": ("top", "bottom"),
                  "margin-inline": ("margin-left", "margin-right"),
                  "margin-block": ("margin-top", "margin-bottom")}


def _unescape(text: str) -> str:
    def char(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return m.group(2)
        code = int(m.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    return _ESCAPE.sub(char, text)


def declarations(style: str, inherited: dict[str, str] | None = None
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """An inline style's declarations, lower-cased (the last one wins), and the custom
    properties in force for the element's children (``inherited`` and its own).

    Comments and ``!important`` are dropped, CSS escapes decoded (``n\\6f ne`` is ``none``;
    an escaped ``;`` does not end a declaration), ``var(--x, fallback)`` substituted, and
    ``inset``/``margin``/``padding`` and their logical forms expanded into the physical longhands,
    which a longhand written after them overrides."""
    style = _COMMENT.sub("", style[:MAX_STYLE]).lower()
    escaped = "\\" in style
    decls: dict[str, str] = {}
    for decl in (_UNESCAPED_SEMICOLON.split(style) if escaped else style.split(";")):
        prop, sep, value = decl.partition(":")
        if not sep:
            continue
        if escaped:
            prop, value = _unescape(prop), _unescape(value)
        prop, value = prop.strip(), value.replace("!important", "").strip()
        decls.pop(prop, None)  # re-inserted last: the order says which declaration wins
        decls[prop] = value
    custom = {k: v for k, v in decls.items() if k.startswith("--")}
    env = {**(inherited or {}), **custom} if custom else (inherited or {})
    if "var(" in style:
        for prop, value in decls.items():
            for _ in range(4):  # a var() may name a property that holds a var()
                if "var(" not in value:
                    break
                value = _VAR.sub(lambda m: env.get(m.group(1), (m.group(2) or "").strip()),
                                 value)
            decls[prop] = value
    return _expand(decls), env


def _expand(decls: dict[str, str]) -> dict[str, str]:
    """Shorthands and logical properties as the physical longhands they set, in the order
    they were written (a later declaration wins)."""
    if not any(k in _BOXES or k in _LOGICAL or k in _LOGICAL_PAIRS for k in decls):
        return decls
    out: dict[str, str] = {}
    for prop, value in decls.items():
        parts = value.split()
        if prop in _BOXES and 1 <= len(parts) <= 4:
            top = parts[0]
            right = parts[1] if len(parts) > 1 else top
            bottom = parts[2] if len(parts) > 2 else top
            left = parts[3] if len(parts) > 3 else right
            out.update(zip(_BOXES[prop], (top, right, bottom, left), strict=True))
        elif prop in _LOGICAL:
            out[_LOGICAL[prop]] = value
        elif prop in _LOGICAL_PAIRS and 1 <= len(parts) <= 2:
            start, end = _LOGICAL_PAIRS[prop]
            out[start], out[end] = parts[0], parts[-1]
        out[prop] = value
    return out


def length(value: str) -> tuple[float, str] | None:
    """A number and its unit (``"px"``, ``"%"``, ``""`` ...) at the start of ``value``, or the
    result of a ``calc()``; None when there is none."""
    value = value.strip()
    if value.startswith("calc("):
        return _calc(value[5:MAX_VALUE])
    m = _NUMBER.match(value)
    return (float(m.group(1)), m.group(2)) if m else None


def whole_length(token: str) -> tuple[float, str] | None:
    """The length a whole token is (``12px``, ``0``, ``1.5em``, a ``calc()``), or None (a
    keyword, a family name, a number followed by anything else)."""
    if token.startswith("calc("):
        return length(token)
    m = _NUMBER.match(token)
    if m is None or m.end() != len(token):
        return None
    return float(m.group(1)), m.group(2)


def px(value: str) -> float | None:
    """A CSS length in pixels (None when it is not an absolute length)."""
    found = length(value)
    if found is None or found[1] not in PX_PER:
        return None
    return found[0] * PX_PER[found[1]]


def _calc(expr: str) -> tuple[float, str] | None:
    """A ``calc()`` of numbers, percentages and lengths (``+ - * /``, parentheses): lengths
    in px, a percentage kept apart (it cannot be added to a length here)."""
    tokens: list[tuple[float, str] | str] = []
    pos = 0
    while pos < len(expr):
        m = _CALC_TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            return None
        pos = m.end()
        if m.group(3):
            tokens.append(m.group(3))
        elif m.group(2) in PX_PER:
            tokens.append((float(m.group(1)) * PX_PER[m.group(2)], "px" if m.group(2) else ""))
        elif m.group(2) == "%":
            tokens.append((float(m.group(1)), "%"))
        else:
            return None
        if len(tokens) > 64:
            return None
    result, rest = _sum(tokens)
    return result if rest == [")"] or (rest == [] and result is not None) else None


Tokens = list[tuple[float, str] | str]


def _sum(tokens: Tokens) -> tuple[tuple[float, str] | None, Tokens]:
    left, tokens = _product(tokens)
    while left is not None and tokens and tokens[0] in ("+", "-"):
        op = tokens[0]
        right, tokens = _product(tokens[1:])
        if right is None or (left[1] != right[1] and "" not in (left[1], right[1])):
            return None, tokens
        unit = left[1] or right[1]
        left = (left[0] + right[0] if op == "+" else left[0] - right[0], unit)
    return left, tokens


def _product(tokens: Tokens) -> tuple[tuple[float, str] | None, Tokens]:
    left, tokens = _atom(tokens)
    while left is not None and tokens and tokens[0] in ("*", "/"):
        op = tokens[0]
        right, tokens = _atom(tokens[1:])
        if right is None or (op == "/" and (right[1] or right[0] == 0)):
            return None, tokens
        if op == "*" and left[1] and right[1]:
            return None, tokens
        left = ((left[0] * right[0], left[1] or right[1]) if op == "*"
                else (left[0] / right[0], left[1]))
    return left, tokens


def _atom(tokens: Tokens) -> tuple[tuple[float, str] | None, Tokens]:
    if not tokens:
        return None, tokens
    head = tokens[0]
    if head == "(":
        inner, rest = _sum(tokens[1:])
        if inner is None or not rest or rest[0] != ")":
            return None, rest
        return inner, rest[1:]
    if head == "-" and len(tokens) > 1 and isinstance(tokens[1], tuple):
        return (-tokens[1][0], tokens[1][1]), tokens[2:]
    if isinstance(head, tuple):
        return head, tokens[1:]
    return None, tokens


def colour(value: str | None) -> Colour | None:
    """The sRGB colour of a CSS colour value, :data:`INVISIBLE` for transparent paint (alpha
    of 5 % or less), None when it is not one this reads."""
    if not value:
        return None
    v = value.strip().lower().split(" !")[0].strip()[:MAX_VALUE]
    if v == "transparent":
        return INVISIBLE
    if v in _NAMED:
        return _NAMED[v]
    if v.startswith("#"):
        return _hex(v[1:])
    m = _FUNCTION.match(v)
    if not m:
        return None
    name, args = m.group(1), m.group(2)
    body, _, alpha = args.partition("/")
    parts = [p for p in re.split(r"[\s,]+", body.strip()) if p]
    if len(parts) == 4 and not alpha and name != "color":  # the legacy alpha: rgba(0,0,0,0)
        parts, alpha = parts[:3], parts[3]
    if alpha.strip():
        a = _fraction(alpha.strip(), 1.0)
        if a is not None and a <= 0.05:
            return INVISIBLE
    try:
        return _from_function(name, parts)
    except (ValueError, ZeroDivisionError, IndexError, OverflowError):
        return None


def _hex(h: str) -> Colour | None:
    if len(h) in (3, 4):
        h = "".join(c * 2 for c in h)  # #rgb(a) -> #rrggbb(aa)
    if len(h) not in (6, 8):
        return None
    try:
        if len(h) == 8 and int(h[6:8], 16) <= 12:  # alpha of 5 % or less
            return INVISIBLE
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    except ValueError:
        return None


def _fraction(token: str, scale: float) -> float | None:
    """A number or percentage as a fraction of ``scale`` (``50%`` -> 0.5)."""
    try:
        return float(token[:-1]) / 100 if token.endswith("%") else float(token) / scale
    except ValueError:
        return None


def angle(token: str) -> float | None:
    """An angle in degrees (deg, grad, rad, turn or a bare number); None when it is not one."""
    for unit, factor in (("deg", 1.0), ("grad", 0.9), ("rad", 180 / math.pi), ("turn", 360.0)):
        if token.endswith(unit):
            token, scale = token[: -len(unit)], factor
            break
    else:
        scale = 1.0
    try:
        return float(token) * scale
    except ValueError:
        return None


def _hue(token: str) -> float:
    degrees = angle(token)
    if degrees is None:
        raise ValueError(token)
    return degrees


def _from_function(name: str, parts: list[str]) -> Colour | None:
    def frac(i: int, scale: float) -> float:
        value = _fraction(parts[i], scale)
        if value is None:
            raise ValueError(parts[i])
        return value

    if name in ("rgb", "rgba"):
        rgb = (frac(0, 255), frac(1, 255), frac(2, 255))
    elif name in ("hsl", "hsla"):
        rgb = colorsys.hls_to_rgb(_hue(parts[0]) % 360 / 360, frac(2, 100), frac(1, 100))
    elif name == "hwb":
        white, black = frac(1, 100), frac(2, 100)
        if white + black >= 1:
            grey = white / (white + black)
            rgb = (grey, grey, grey)
        else:
            r, g, b = colorsys.hls_to_rgb(_hue(parts[0]) % 360 / 360, 0.5, 1.0)
            keep = 1 - white - black
            rgb = (r * keep + white, g * keep + white, b * keep + white)
    elif name in ("lab", "lch"):
        lightness = frac(0, 100)
        a, b = (frac(1, 1), frac(2, 1)) if name == "lab" else _polar(frac(1, 1), _hue(parts[2]))
        rgb = _lab_to_srgb(lightness * 100, a, b)
    elif name in ("oklab", "oklch"):
        lightness = frac(0, 1)
        a, b = (frac(1, 1), frac(2, 1)) if name == "oklab" else _polar(frac(1, 1), _hue(parts[2]))
        rgb = _oklab_to_srgb(lightness, a, b)
    elif name == "color" and parts[0] in ("srgb", "display-p3", "a98-rgb", "rec2020"):
        parts = parts[1:]  # the wide gamuts read as sRGB: close enough to tell white from black
        rgb = (frac(0, 1), frac(1, 1), frac(2, 1))
    else:
        return None
    r, g, b = (round(min(1.0, max(0.0, c)) * 255) for c in rgb)
    return r, g, b


def _polar(chroma: float, hue: float) -> tuple[float, float]:
    return chroma * math.cos(math.radians(hue)), chroma * math.sin(math.radians(hue))


def _gamma(linear: float) -> float:
    """Linear light to the sRGB transfer curve."""
    if linear <= 0.0031308:
        return 12.92 * linear
    return 1.055 * linear ** (1 / 2.4) - 0.055


def _lab_to_srgb(lightness: float, a: float, b: float) -> tuple[float, float, float]:
    """CIE Lab (D50, as CSS defines it) to sRGB, through XYZ and the Bradford adaptation."""
    fy = (lightness + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200
    eps, kappa = 216 / 24389, 24389 / 27

    def inverse(f: float) -> float:
        return f ** 3 if f ** 3 > eps else (116 * f - 16) / kappa

    x = inverse(fx) * 0.3457 / 0.3585
    y = ((lightness + 16) / 116) ** 3 if lightness > kappa * eps else lightness / kappa
    z = inverse(fz) * (1 - 0.3457 - 0.3585) / 0.3585
    r = 3.1341359569958707 * x - 1.6173863321612538 * y - 0.4906619460083532 * z
    g = -0.978795502912089 * x + 1.916254567259524 * y + 0.03344273116131949 * z
    bl = 0.07195537988411677 * x - 0.2289768264158322 * y + 1.405386058324125 * z
    return _gamma(r), _gamma(g), _gamma(bl)


def _oklab_to_srgb(lightness: float, a: float, b: float) -> tuple[float, float, float]:
    """OKLab to sRGB (Björn Ottosson's matrices)."""
    l_ = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3
    m_ = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3
    s_ = (lightness - 0.0894841775 * a - 1.2914855480 * b) ** 3
    r = 4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_
    g = -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_
    bl = -0.0041960863 * l_ - 0.7034186147 * m_ + 1.7076147010 * s_
    return _gamma(r), _gamma(g), _gamma(bl)
