"""/v1/audit: list the audit log and verify its hash chain (master key only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...client import models as answers
from ...errors import InvalidRequest
from ...services import audit as svc
from .. import errors
from ..auth import Ctx, Owner
from ..schemas import Offset

router = APIRouter(prefix="/v1/audit", tags=["audit"],
                   responses=errors.documented(403))


@router.get("", response_model=answers.AuditPage)
def list_audit(
    ctx: Ctx, _: Owner,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Offset = 0,
    action: Annotated[str | None, Query(max_length=100, description="e.g. mail.send")] = None,
    actor: Annotated[str | None, Query(max_length=200,
                                       description="owner, system or agent:<name>")] = None,
) -> dict[str, Any]:
    """Entries newest first: ``{entries, total, limit, offset}``."""
    return svc.list_entries(ctx, limit=limit, offset=offset, action=action, actor=actor)


@router.get("/verify", response_model=answers.AuditCheck)
def verify_audit(
    ctx: Ctx, _: Owner,
    anchor: Annotated[list[str] | None, Query(
        description="a head noted earlier, '<id>:<hash>'; its row must still have that hash",
    )] = None,
) -> dict[str, Any]:
    """``{ok, checked, problems, head}``; a broken chain is a result (200), not an error."""
    try:
        anchors = [svc.ChainHead.parse(a) for a in anchor or []]
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    return svc.verify(ctx, anchors).to_dict()
