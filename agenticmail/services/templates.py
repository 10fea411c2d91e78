"""Mail templates: an agent's named templates (subject, text, HTML with ``{{ name }}``
placeholders) and filling a send from one (:mod:`agenticmail.mail.template` renders)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, PayloadTooLarge
from ..mail import template as engine
from ..models import Agent, OutgoingMail
from ..store import templates as store
from .context import ServiceContext, transaction
from .queue import new_id

MAX_NAME = 64
MAX_VARIABLES_BYTES = 64 * 1024
MAX_SUBJECT = 998


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str | None
    html: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def _check(name: str, subject: str, text: str | None, html: str | None) -> list[str]:
    if not 1 <= len(name) <= MAX_NAME or not name.strip():
        raise InvalidRequest(f"a template name is 1-{MAX_NAME} characters")
    if not (text or html):
        raise InvalidRequest("a template needs 'text' and/or 'html'", code="template_empty")
    if len(subject) > MAX_SUBJECT:
        raise InvalidRequest(f"a template subject is at most {MAX_SUBJECT} characters")
    return engine.check({"subject": subject, "text": text, "html": html})


def create(ctx: ServiceContext, agent: Agent, name: str, *, subject: str = "",
           text: str | None = None, html: str | None = None) -> store.TemplateRow:
    """Save a template (checked now: a syntax error or a refused construct is a 400)."""
    _check(name, subject, text, html)
    with transaction(ctx) as tx:
        store.insert(tx.conn, id=new_id("tpl"), agent_id=agent.id, name=name,
                     subject=subject, text=text, html=html)
    return store.get(ctx.db, agent.id, name)


def update(ctx: ServiceContext, agent: Agent, name: str, *, subject: str | None = None,
           text: str | None = None, html: str | None = None) -> store.TemplateRow:
    """Change the parts given (``""`` clears the text or HTML part)."""
    with transaction(ctx) as tx:
        row = store.get(ctx.db, agent.id, name)
        new_subject = row.subject if subject is None else subject
        new_text = row.text if text is None else (text or None)
        new_html = row.html if html is None else (html or None)
        _check(name, new_subject, new_text, new_html)
        store.update(tx.conn, row.id, subject=new_subject, text=new_text, html=new_html)
    return store.get(ctx.db, agent.id, name)


def get(ctx: ServiceContext, agent: Agent, name: str) -> store.TemplateRow:
    return store.get(ctx.db, agent.id, name)


def list_templates(ctx: ServiceContext, agent: Agent) -> list[store.TemplateRow]:
    return store.list_for(ctx.db, agent.id)


def delete(ctx: ServiceContext, agent: Agent, name: str) -> None:
    with transaction(ctx) as tx:
        store.delete(tx.conn, store.get(ctx.db, agent.id, name).id)


def variables_of(row: store.TemplateRow) -> list[str]:
    return engine.check({"subject": row.subject, "text": row.text, "html": row.html})


def _checked_variables(variables: Any) -> Mapping[str, Any]:
    if variables is None:
        return {}
    if not isinstance(variables, Mapping) or not all(isinstance(k, str) for k in variables):
        raise InvalidRequest("'variables' must be an object of name -> value")
    if len(json.dumps(variables, default=str)) > MAX_VARIABLES_BYTES:
        raise PayloadTooLarge(f"'variables' is larger than {MAX_VARIABLES_BYTES} bytes")
    return variables


def render(ctx: ServiceContext, agent: Agent, name: str, variables: Any) -> Rendered:
    """The template ``name`` filled with ``variables``; a placeholder without a value is a 400
    (code ``template_variable_missing``) that names it."""
    row = store.get(ctx.db, agent.id, name)
    values = _checked_variables(variables)
    limit = ctx.settings.max_message_bytes
    subject = engine.render(row.subject, values, part="subject", max_chars=MAX_SUBJECT)
    return Rendered(
        subject=" ".join(subject.split()),  # a header: one line
        text=None if row.text is None else engine.render(row.text, values, part="text",
                                                         max_chars=limit),
        html=None if row.html is None else engine.render(row.html, values, part="html",
                                                         html=True, max_chars=limit))


def fill(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, name: str,
         variables: Any) -> OutgoingMail:
    """``mail`` with its body (and its subject, unless it has one) from the template."""
    if mail.text is not None or mail.html is not None:
        raise InvalidRequest("give either a template or 'text'/'html', not both",
                             code="template_and_body")
    rendered = render(ctx, agent, name, variables)
    return dataclasses.replace(mail, subject=mail.subject or rendered.subject,
                               text=rendered.text, html=rendered.html)
