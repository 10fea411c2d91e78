"""/v1/rules: an agent's server-side rules (ordered filters run at ingest) and dry runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import rules
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import RuleBody, RulePatch, RuleTestBody
from .mail import AgentQ

router = APIRouter(prefix="/v1/rules", tags=["rules"],
                   responses=errors.documented(403, 404, 409, 502, 503))


@router.get("")
def list_rules(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    """The agent's rules in the order they run."""
    who = resolve_agent(ctx, caller, agent)
    return {"rules": [r.to_dict() for r in rules.list_rules(ctx, who)]}


@router.post("", status_code=201)
def create_rule(body: RuleBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """A new rule, checked whole: an invalid pattern is ``400 invalid_rule``."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"rule": rules.create(ctx, who, body.name, body.conditions, body.actions,
                                 match=body.match, position=body.position,
                                 enabled=body.enabled).to_dict()}


@router.post("/test")
def test_rules(body: RuleTestBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Dry run on the newest messages of a folder: which the rules would act on, and how."""
    who = resolve_agent(ctx, caller, body.agent)
    return rules.dry_run(ctx, who, ref=body.rule, rule=body.spec, folder=body.folder,
                         limit=body.limit)


@router.get("/{ref}")
def get_rule(ref: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return {"rule": rules.get(ctx, resolve_agent(ctx, caller, agent), ref).to_dict()}


@router.patch("/{ref}")
def update_rule(ref: str, body: RulePatch, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"rule": rules.update(ctx, who, ref, body.changes()).to_dict()}


@router.delete("/{ref}")
def delete_rule(ref: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return rules.delete(ctx, resolve_agent(ctx, caller, agent), ref)
