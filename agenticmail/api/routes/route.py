"""/v1/route: the outbound SMTP route for mail to the internet (owner only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...client import models as answers
from ...services import routes
from .. import errors
from ..auth import Ctx, Owner
from ..schemas import RouteBody

router = APIRouter(prefix="/v1/route", tags=["route"],
                   responses=errors.documented(403))


@router.get("", response_model=answers.RouteAnswer)
def show_route(ctx: Ctx, _: Owner) -> dict[str, Any]:
    return {"route": routes.route_summary(routes.get_route(ctx))}


@router.put("", response_model=answers.RouteAnswer)
def set_route(body: RouteBody, ctx: Ctx, _: Owner) -> dict[str, Any]:
    route = routes.set_route(ctx, routes.RouteInput(**body.model_dump()))
    return {"route": routes.route_summary(route)}


@router.delete("", response_model=answers.RouteAnswer)
def clear_route(ctx: Ctx, _: Owner) -> dict[str, Any]:
    routes.clear_route(ctx)
    return {"route": None}
