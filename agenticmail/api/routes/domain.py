"""/v1/domain: domain mode's setup, teardown and saved configuration; owner only.

``POST /v1/domain/setup`` runs the setup steps (all, or the one named: the CLI runs them one by
one to show progress); the API token travels only in the first call (step ``token``) and is
then kept encrypted. ``POST /v1/domain/teardown`` undoes them. Both are idempotent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...client import models as answers
from ...services import domain_setup
from .. import errors
from ..auth import Ctx, Owner

router = APIRouter(prefix="/v1/domain", tags=["domain"],
                   responses=errors.documented(400, 403, 404, 409, 502, 503))


class DomainSetupBody(BaseModel):
    domain: str | None = Field(default=None, min_length=3, max_length=253)
    token: str | None = Field(default=None, min_length=1, max_length=1024, repr=False)
    hostname: str | None = Field(default=None, min_length=3, max_length=253)
    rua_address: str | None = Field(default=None, min_length=3, max_length=254)
    catch_all_agent: str | None = Field(default=None, min_length=1, max_length=200)
    api_base_url: str | None = Field(default=None, pattern="^https?://", max_length=2048)
    outbound: Literal["cloudflare", "smarthost", "direct"] | None = None
    spf_ips: list[Annotated[str, Field(max_length=45)]] | None = Field(default=None,
                                                                        max_length=16)
    step: str | None = Field(default=None, max_length=40)


class DomainTeardownBody(BaseModel):
    step: str | None = Field(default=None, max_length=40)


@router.get("", response_model=answers.DomainAnswer)
def domain_config(ctx: Ctx, _: Owner) -> dict[str, Any]:
    return domain_setup.describe(ctx)


@router.post("/setup", response_model=answers.DomainStepsAnswer)
def domain_setup_run(body: DomainSetupBody, ctx: Ctx, _: Owner) -> dict[str, Any]:
    data = body.model_dump()
    step = data.pop("step")
    if data["spf_ips"] is not None:
        data["spf_ips"] = tuple(data["spf_ips"])
    return domain_setup.setup(ctx, domain_setup.SetupInput(**data), step=step)


@router.post("/teardown", response_model=answers.DomainStepsAnswer)
def domain_teardown(ctx: Ctx, _: Owner, body: DomainTeardownBody | None = None
                    ) -> dict[str, Any]:
    return domain_setup.teardown(ctx, step=body.step if body else None)
