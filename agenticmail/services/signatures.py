"""Signatures: an agent's named signatures (text and/or HTML), one of them the default, and
signing what the agent writes (send, reply, forward) before the outbound guard sees it."""

from __future__ import annotations

import html as html_lib

from ..errors import InvalidRequest
from ..mail.mime import html_to_text
from ..models import Agent
from ..store import signatures as store
from .context import ServiceContext, transaction
from .queue import new_id

MAX_NAME = 64
MAX_TEXT = 10_000
MAX_HTML = 50_000
DELIMITER = "-- "  # the signature separator line (RFC 3676 §4.3)


def _check(name: str, text: str | None, html: str | None) -> None:
    if not 1 <= len(name) <= MAX_NAME or not name.strip():
        raise InvalidRequest(f"a signature name is 1-{MAX_NAME} characters")
    if not (text or html):
        raise InvalidRequest("a signature needs 'text' and/or 'html'", code="signature_empty")
    if len(text or "") > MAX_TEXT or len(html or "") > MAX_HTML:
        raise InvalidRequest(f"a signature is at most {MAX_TEXT} characters of text and "
                             f"{MAX_HTML} of HTML", code="signature_too_large")


def create(ctx: ServiceContext, agent: Agent, name: str, *, text: str | None,
           html: str | None, default: bool = False) -> store.SignatureRow:
    """A new signature; the agent's first one is its default."""
    _check(name, text, html)
    with transaction(ctx) as tx:
        first = store.default(ctx.db, agent.id) is None and not store.list_for(ctx.db, agent.id)
        store.insert(tx.conn, id=new_id("sig"), agent_id=agent.id, name=name, text=text,
                     html=html, is_default=default or first)
    return store.get(ctx.db, agent.id, name)


def update(ctx: ServiceContext, agent: Agent, name: str, *, text: str | None = None,
           html: str | None = None, default: bool | None = None) -> store.SignatureRow:
    """Change the parts given (``""`` clears a part); ``default=True`` makes it the default."""
    with transaction(ctx) as tx:
        row = store.get(ctx.db, agent.id, name)
        new_text = row.text if text is None else (text or None)
        new_html = row.html if html is None else (html or None)
        _check(name, new_text, new_html)
        store.update(tx.conn, row, text=new_text, html=new_html,
                     is_default=row.is_default if default is None else default)
    return store.get(ctx.db, agent.id, name)


def get(ctx: ServiceContext, agent: Agent, name: str) -> store.SignatureRow:
    return store.get(ctx.db, agent.id, name)


def list_signatures(ctx: ServiceContext, agent: Agent) -> list[store.SignatureRow]:
    return store.list_for(ctx.db, agent.id)


def delete(ctx: ServiceContext, agent: Agent, name: str) -> None:
    with transaction(ctx) as tx:
        store.delete(tx.conn, store.get(ctx.db, agent.id, name).id)


def sign(ctx: ServiceContext, agent: Agent, text: str | None, html: str | None, *,
         enabled: bool = True) -> tuple[str | None, str | None]:
    """``text``/``html`` with the agent's default signature after them (each part that is
    there: the text part gets the text signature, or the HTML one as text; the HTML part the
    HTML signature, or the text one escaped). Unchanged without a default or when
    ``enabled`` is False."""
    signature = store.default(ctx.db, agent.id) if enabled else None
    if signature is None:
        return text, html
    sig_text = signature.text or html_to_text(signature.html or "")
    sig_html = signature.html or html_lib.escape(signature.text or "").replace("\n", "<br>")
    if text is not None:
        text = f"{text.rstrip()}\n\n{DELIMITER}\n{sig_text.strip()}\n"
    if html is not None:
        html = f'{html}\n<br><div class="signature">{DELIMITER}<br>\n{sig_html}</div>'
    return text, html
