"""Mail templates: ``{{ name }}`` placeholders rendered in Jinja2's sandbox.

The language is kept small on purpose: placeholders (``{{ name }}``, ``{{ order.id }}`` for a
key of a JSON object), ``{% if %}``, string concatenation (``~``) and a short list of filters.
Loops, macros, calls, arithmetic and assignments are refused when a template is saved: a
template is text an agent wrote, and rendering it must be cheap and bounded. No attribute of a
Python object is reachable (``{{ ''.__class__ }}`` and ``{{ name.upper() }}`` fail), a
variable the template names but the caller did not give is an error that names it (never an
empty string), and HTML parts escape what the variables hold. Every Jinja2 failure becomes an
:class:`~agenticmail.errors.InvalidRequest` with a stable code here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import InvalidRequest

MAX_SOURCE = 100_000  # characters of one template part
ALLOWED_FILTERS = frozenset({
    "upper", "lower", "title", "capitalize", "trim", "default", "d", "escape", "e",
    "first", "last", "length", "count", "string", "int", "float", "abs", "round",
    "striptags", "truncate", "wordcount",
})
# what a template may contain (anything else is refused when it is saved)
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
    nodes.Getitem, nodes.Filter, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand,
    nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.Test, nodes.List, nodes.Tuple,
)


class _Environment(SandboxedEnvironment):
    """The sandbox with no attribute of any Python object allowed (keys of a JSON object are
    still reachable as ``obj.key``: Jinja2 falls back to the item when there is no such
    attribute) and nothing callable."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False


def _environment(html: bool) -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True)
    env.filters = {k: v for k, v in env.filters.items() if k in ALLOWED_FILTERS}
    env.globals = {}
    env.tests = {k: v for k, v in env.tests.items()
                 if k in ("defined", "undefined", "none", "number", "string")}
    return env


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


def _parse(source: str, part: str) -> nodes.Template:
    if len(source) > MAX_SOURCE:
        raise InvalidRequest(f"the template's {part} is longer than {MAX_SOURCE} characters",
                             code="template_too_large")
    try:
        tree = _TEXT.parse(source)
    except TemplateError as exc:
        raise InvalidRequest(f"the template's {part} is not a valid template: {exc}",
                             code="template_syntax") from None
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise InvalidRequest(
                f"the template's {part} uses {type(node).__name__}, which templates do not "
                "allow", code="template_unsupported",
                hint="templates allow {{ placeholders }}, {% if %}, ~ and simple filters")
        if isinstance(node, nodes.Filter | nodes.Test) and (
                node.name not in (ALLOWED_FILTERS if isinstance(node, nodes.Filter)
                                  else _TEXT.tests)):
            raise InvalidRequest(f"the template's {part} uses the unknown or refused filter "
                                 f"{node.name!r}", code="template_unsupported",
                                 hint=f"filters: {', '.join(sorted(ALLOWED_FILTERS))}")
    return tree


_FALLBACKS = frozenset({"default", "d", "defined", "undefined"})


def _optional(tree: nodes.Template) -> set[str]:
    """Names the template uses only with a fallback (``x|default(...)``, ``x is defined``):
    they may be left out."""
    guarded = {id(node.node) for node in tree.find_all((nodes.Filter, nodes.Test))
               if node.name in _FALLBACKS and isinstance(node.node, nodes.Name)}
    names = list(tree.find_all(nodes.Name))
    bare = {n.name for n in names if id(n) not in guarded}
    return {n.name for n in names if id(n) in guarded} - bare


def _needs(source: str, part: str) -> tuple[set[str], set[str]]:
    tree = _parse(source, part)
    return meta.find_undeclared_variables(tree), _optional(tree)


def check(parts: Mapping[str, str | None]) -> list[str]:
    """Validate every part of a template; the variable names it uses, sorted."""
    names: set[str] = set()
    for part, source in parts.items():
        if source:
            names |= _needs(source, part)[0]
    return sorted(names)


def render(source: str, variables: Mapping[str, Any], *, part: str, html: bool = False,
           max_chars: int) -> str:
    """``source`` with ``variables`` filled in; HTML escapes what they hold when ``html``.

    A placeholder without a value, an unsafe access or output over ``max_chars`` raises
    :class:`InvalidRequest` naming what is wrong."""
    used, optional = _needs(source, part)
    missing = sorted(used - optional - set(variables))
    if missing:
        raise InvalidRequest(f"the template needs the variable(s) {', '.join(missing)}",
                             code="template_variable_missing",
                             hint="give every placeholder a value in 'variables'")
    env = _HTML if html else _TEXT
    out: list[str] = []
    size = 0
    try:
        for chunk in env.from_string(source).generate(**variables):
            size += len(chunk)
            if size > max_chars:
                raise InvalidRequest(f"the rendered {part} is longer than {max_chars} "
                                     "characters", code="template_too_large")
            out.append(chunk)
    except SecurityError as exc:
        raise InvalidRequest(f"the template's {part} tried something templates may not do: "
                             f"{exc}", code="template_unsafe") from None
    except UndefinedError as exc:
        raise InvalidRequest(f"the template's {part} uses a value that was not given: {exc}",
                             code="template_variable_missing") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidRequest(f"the template's {part} could not be rendered: {exc}",
                             code="template_render_failed") from None
    return "".join(out)

