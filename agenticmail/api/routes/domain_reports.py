"""/v1/domain/dmarc (DMARC aggregate reports: summary, import by hand), /v1/domain/status
(each DNS record expected vs found, tunnel, Worker, last inbound, outbound) and
/v1/domain/check (is a name registered, by RDAP); owner only."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...errors import InvalidRequest
from ...services import dmarc_reports, domain_check, domain_status
from .. import errors
from ..auth import Ctx, Owner

router = APIRouter(prefix="/v1/domain", tags=["domain"], responses=errors.documented(403))


class ReportFile(BaseModel):
    """One report file or message, base64-encoded (``agenticmail domain report import``)."""

    content: str = Field(min_length=1, description="base64 of the message (.eml) or of the "
                         "report file (XML, gzip or zip)")
    filename: str = Field(default="report", max_length=255)


@router.get("/dmarc")
def dmarc_summary(ctx: Ctx, _: Owner, since: Annotated[str | None, Query(
        max_length=64, description="a duration (7d, 24h, 2w) or an ISO 8601 time; "
        "default 30d")] = None) -> dict[str, Any]:
    """Pass/fail rates of the DMARC aggregate reports received: overall, by aligned DKIM and
    SPF, by source IP, and the failing sources."""
    return {"dmarc": dmarc_reports.summary(ctx, since)}


@router.post("/dmarc", status_code=201)
def dmarc_import(body: ReportFile, ctx: Ctx, _: Owner) -> dict[str, Any]:
    """Store the reports of one file given by hand (a report already stored is kept once)."""
    try:
        data = base64.b64decode(body.content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("content must be base64") from None
    return {"imported": dmarc_reports.import_file(ctx, data, body.filename)}


@router.get("/status", responses=errors.documented(404))
def status(ctx: Ctx, _: Owner) -> dict[str, Any]:
    """Each DNS record domain mode needs, expected vs found in public DNS; the tunnel, the
    Worker, the last inbound message and the outbound path (404 ``not_configured`` without
    domain mode)."""
    return {"status": domain_status.status(ctx)}


@router.get("/check", responses=errors.documented(503))
def check(ctx: Ctx, _: Owner, name: Annotated[str, Query(
        min_length=1, max_length=253, description="a domain name, e.g. example.com")]
          ) -> dict[str, Any]:
    """Whether ``name`` is registered, asked of its registry by RDAP."""
    return {"check": domain_check.check(ctx, name)}
