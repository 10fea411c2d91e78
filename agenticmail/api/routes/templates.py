"""/v1/templates: an agent's mail templates (``{{ name }}`` placeholders, sandboxed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import templates
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import RenderBody, TemplateBody, TemplatePatch
from .mail import AgentQ

router = APIRouter(prefix="/v1/templates", tags=["templates"],
                   responses=errors.documented(403, 404, 409))


def _view(row: Any) -> dict[str, Any]:
    return {**row.to_dict(), "variables": templates.variables_of(row)}


@router.post("", status_code=201)
def create_template(body: TemplateBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Save a template; send with ``{"template": name, "variables": {...}}``."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"template": _view(templates.create(ctx, who, body.name, subject=body.subject,
                                               text=body.text, html=body.html))}


@router.get("")
def list_templates(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return {"templates": [_view(t) for t in templates.list_templates(ctx, who)]}


@router.get("/{name}")
def get_template(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return {"template": _view(templates.get(ctx, resolve_agent(ctx, caller, agent), name))}


@router.patch("/{name}")
def update_template(name: str, body: TemplatePatch, ctx: Ctx, caller: Caller
                    ) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"template": _view(templates.update(ctx, who, name, subject=body.subject,
                                               text=body.text, html=body.html))}


@router.post("/{name}/render")
def render_template(name: str, body: RenderBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """What a send with this template and these variables would say (nothing is sent)."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"rendered": templates.render(ctx, who, name, body.variables).to_dict()}


@router.delete("/{name}")
def delete_template(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                    ) -> dict[str, Any]:
    templates.delete(ctx, resolve_agent(ctx, caller, agent), name)
    return {"name": name, "deleted": True}
