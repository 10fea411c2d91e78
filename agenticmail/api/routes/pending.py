"""/v1/pending: messages the outbound guard held; only the owner approves or rejects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...client import models as answers
from ...errors import NotFound, PermissionDenied
from ...services import approvals
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx

router = APIRouter(prefix="/v1/pending", tags=["pending"],
                   responses=errors.documented(403, 404, 409, 502, 503))


@router.get("", response_model=answers.HeldList, response_model_exclude_unset=True)
def list_pending(ctx: Ctx, caller: Caller, agent: str | None = None,
                 status: str | None = None) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    rows = approvals.list_pending(ctx, who, status)
    return {"pending": [r.to_dict(include_request=False) for r in rows]}


@router.get("/{pending_id}", response_model=answers.HeldOne)
def show_pending(pending_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    return {"pending": approvals.get_pending(ctx, pending_id, caller.agent).to_dict()}


def _owner_only(ctx: Any, caller: Any, pending_id: str, action: str) -> None:
    """An agent may not decide; its hint says whether the owner was actually emailed."""
    if caller.is_master:
        return
    try:
        notified = approvals.get_pending(ctx, pending_id, caller.agent).owner_notified
    except (NotFound, PermissionDenied):  # still a 403: an agent decides nothing
        notified = bool(ctx.settings.owner_email)
    if notified:
        hint = ("ask your owner to review it: they were notified by email, and can run "
                "'agenticmail pending list' or reply to the notification")
    else:
        hint = ("ask your owner to review it with 'agenticmail pending list' (they were not "
                "emailed: no owner email is set; 'agenticmail setup --owner-email' sets one)")
    raise PermissionDenied(f"only the owner can {action} a held message", hint=hint)


@router.post("/{pending_id}/approve", response_model=answers.HeldOne,
             response_model_exclude_unset=True)
def approve(pending_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    _owner_only(ctx, caller, pending_id, "approve")
    return {"pending": approvals.approve(ctx, pending_id).to_dict(include_request=False)}


@router.post("/{pending_id}/reject", response_model=answers.HeldOne,
             response_model_exclude_unset=True)
def reject(pending_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    _owner_only(ctx, caller, pending_id, "reject")
    return {"pending": approvals.reject(ctx, pending_id).to_dict(include_request=False)}
