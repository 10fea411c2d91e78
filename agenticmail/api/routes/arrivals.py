"""The mail host's push notifications (see :mod:`agenticmail.services.arrivals`): not part
of the public API, not in the schema; authenticated by the host's own secret, not by a key."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...services.arrivals import PUSH_PATH, host_pushed
from ..admission import bearer_key
from ..auth import Ctx

router = APIRouter(include_in_schema=False)


@router.post(PUSH_PATH, status_code=204)
async def mail_arrived(request: Request, ctx: Ctx) -> Response:
    host_pushed(ctx, bearer_key(request.headers), request.headers.get("x-mailbox-user"))
    return Response(status_code=204)
