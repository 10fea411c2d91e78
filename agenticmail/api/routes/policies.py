"""/v1/policies/{agent}: each agent's per-sender policy (owner only): read, replace, remove,
and try it on a message (:mod:`agenticmail.services.policies`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...client import models as answers
from ...services import agents, policies
from .. import errors
from ..auth import Ctx, Owner
from ..schemas import PolicyBody, PolicyTestBody

router = APIRouter(prefix="/v1/policies", tags=["policies"],
                   responses=errors.documented(400, 403, 404))


@router.get("/{agent}", response_model=answers.PolicyAnswer)
def show_policy(agent: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    return policies.describe(policies.show(ctx, agents.get_agent(ctx, agent)))


@router.put("/{agent}", response_model=answers.PolicyAnswer)
def set_policy(agent: str, body: PolicyBody, ctx: Ctx, _: Owner) -> dict[str, Any]:
    return policies.describe(policies.save(ctx, agents.get_agent(ctx, agent), body.policy))


@router.delete("/{agent}", response_model=answers.PolicyAnswer)
def remove_policy(agent: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    found = agents.get_agent(ctx, agent)
    policies.remove(ctx, found)
    return policies.describe(policies.show(ctx, found))


@router.post("/{agent}/test", response_model=answers.PolicyTestAnswer)
def test_policy(agent: str, body: PolicyTestBody, ctx: Ctx, _: Owner) -> dict[str, Any]:
    return policies.try_message(ctx, agents.get_agent(ctx, agent),
                                body.message.encode("utf-8", "surrogateescape"), body.policy)
