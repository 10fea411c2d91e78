"""/v1/suppressions: each agent's suppression list (an agent sees and edits its own); and
/v1/unsubscribe/{token}: the one-click unsubscribe (RFC 8058) of an agent's bulk mail,
authenticated by its token alone (no key: the recipient's mail provider posts it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ...services import suppressions
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"],
                   responses=errors.documented(403, 404))
unsubscribe_router = APIRouter(tags=["suppressions"], responses=errors.documented(400, 404))

AgentQ = Annotated[str | None, Query(description="agent name (master key only)")]


class SuppressionBody(BaseModel):
    agent: str | None = None
    address: str = Field(max_length=320)
    detail: str | None = Field(default=None, max_length=500)


@router.get("")
def list_suppressions(ctx: Ctx, caller: Caller, agent: AgentQ = None,
                      limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                      offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return {"agent": who.name,
            "suppressions": suppressions.list_suppressions(ctx, who, limit, offset)}


@router.post("", status_code=201)
def add_suppression(body: SuppressionBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"suppression": suppressions.add(ctx, who, body.address, detail=body.detail)}


@router.delete("/{address}")
def remove_suppression(address: Annotated[str, Path(max_length=320)], ctx: Ctx,
                       caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return suppressions.remove(ctx, resolve_agent(ctx, caller, agent), address)


@unsubscribe_router.post(suppressions.UNSUBSCRIBE_PREFIX + "{token}")
def one_click_unsubscribe(token: Annotated[str, Path(max_length=700)], ctx: Ctx
                          ) -> dict[str, Any]:
    """The POST a mail provider makes for a one-click unsubscribe (body
    ``List-Unsubscribe=One-Click``, not needed): the recipient the token was made for goes
    on the sending agent's suppression list."""
    return suppressions.honour_token(ctx, token, "one-click")


# What a person sees who opens the link in a browser (a GET never unsubscribes: link scanners
# and previews fetch URLs, RFC 8058 §3.2): one button that makes the POST.
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Unsubscribe</title></head>
<body><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<p>Stop receiving this sender's bulk mail?</p><button type="submit">Unsubscribe</button>
</form></body></html>
"""


@unsubscribe_router.get(suppressions.UNSUBSCRIBE_PREFIX + "{token}",
                        response_class=HTMLResponse, include_in_schema=False)  # a page, not API
def unsubscribe_page(token: Annotated[str, Path(max_length=700)], ctx: Ctx) -> HTMLResponse:
    """A page with one button that confirms the unsubscribe (by the POST above)."""
    suppressions.check_token(ctx, token)
    return HTMLResponse(_PAGE, headers={"X-Content-Type-Options": "nosniff",
                                        "Content-Security-Policy": "default-src 'none'; "
                                        "form-action 'self'"})
