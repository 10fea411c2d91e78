"""Mail templates (mail/template.py), table-driven: what renders, and every way out of the
sandbox or past the bounds refused with a stable code, never an empty string or a 500."""

from __future__ import annotations

from typing import Any

import pytest

from agenticmail.errors import InvalidRequest
from agenticmail.mail import template

RENDERS = [
    ("Hi {{ name }}", {"name": "Bob"}, False, "Hi Bob"),
    ("{{ order.id }} / {{ order['total'] }}", {"order": {"id": 7, "total": "9.50"}}, False,
     "7 / 9.50"),
    ("{% if vip %}VIP {% endif %}{{ name|upper }}", {"vip": True, "name": "x"}, False, "VIP X"),
    ("{{ a ~ '-' ~ b }}", {"a": 1, "b": 2}, False, "1-2"),
    ("Dear {{ title|default('friend') }}", {}, False, "Dear friend"),
    ("<p>{{ name }}</p>", {"name": "<script>x</script>"}, True,
     "<p>&lt;script&gt;x&lt;/script&gt;</p>"),
    ("{{ name }}", {"name": "<b>"}, False, "<b>"),  # text parts are not escaped
]

REFUSED = [
    ("{{ name", {}, "template_syntax"),
    ("{{ missing }}", {}, "template_variable_missing"),
    ("{{ order.nope }}", {"order": {}}, "template_variable_missing"),
    ("{{ ''.__class__ }}", {}, "template_unsafe"),
    ("{{ name.__class__.__mro__[1].__subclasses__() }}", {"name": "x"}, "template_unsupported"),
    ("{{ order.items }}", {"order": {}}, "template_unsafe"),  # no Python attribute, even safe
    ("{{ name['__class__'] }}", {"name": "x"}, "template_unsafe"),
    ("{{ name.upper() }}", {"name": "x"}, "template_unsupported"),
    ("{{ lipsum() }}", {}, "template_unsupported"),
    ("{% for i in range(10) %}x{% endfor %}", {}, "template_unsupported"),
    ("{% set x = 1 %}", {}, "template_unsupported"),
    ("{% macro m() %}{% endmacro %}", {}, "template_unsupported"),
    ("{% include 'x' %}", {}, "template_unsupported"),
    ("{{ 9 ** 99999 }}", {}, "template_unsupported"),
    ("{{ 'x' * 1000000000 }}", {}, "template_unsupported"),
    ("{{ name|center(1000000000) }}", {"name": "x"}, "template_unsupported"),
    ("{{ name|attr('__class__') }}", {"name": "x"}, "template_unsupported"),
    ("{{ a }}{{ a }}{{ a }}", {"a": "y" * 400}, "template_too_large"),
    ("x" * (template.MAX_SOURCE + 1), {}, "template_too_large"),
]


@pytest.mark.parametrize(("source", "variables", "html", "expected"), RENDERS)
def test_renders(source: str, variables: dict[str, Any], html: bool, expected: str) -> None:
    assert template.render(source, variables, part="text", html=html,
                           max_chars=1000) == expected


@pytest.mark.parametrize(("source", "variables", "code"), REFUSED)
def test_refused_with_a_stable_code(source: str, variables: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        template.render(source, variables, part="text", max_chars=1000)
    assert caught.value.code == code


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(InvalidRequest) as caught:
        template.render("{{ a }} {{ b }} {{ c|default('') }}", {"a": 1}, part="text",
                        max_chars=100)
    assert "b" in caught.value.message and "c" not in caught.value.message.split("(s)")[1]


def test_check_lists_every_variable_of_every_part() -> None:
    assert template.check({"subject": "Hi {{ name }}", "text": "{{ order.id }}",
                           "html": None}) == ["name", "order"]
