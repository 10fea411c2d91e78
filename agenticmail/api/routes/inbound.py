"""``POST /v1/inbound/cloudflare``: domain mode's Email Worker posts each message here
(:mod:`agenticmail.services.domain_inbound`). No API key: the Standard Webhooks signature is
the authentication: a request without its headers, or with a stale timestamp, is refused
before its body is read; the body is read bounded, before anything parses it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ...errors import PayloadTooLarge
from ...services import domain_inbound
from ...services.domain_config import INBOUND_PATH
from ..auth import Ctx

router = APIRouter(include_in_schema=False)  # the Worker's, not the public API


async def _bounded_body(request: Request, limit: int) -> bytes:
    refusal = PayloadTooLarge(f"a delivery is at most {limit} bytes (a message at most "
                              f"{domain_inbound.MAX_MESSAGE_BYTES})")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(INBOUND_PATH)
async def cloudflare_inbound(request: Request, ctx: Ctx) -> dict[str, Any]:
    await asyncio.to_thread(domain_inbound.admit, ctx, request.headers)  # before any byte
    body = await _bounded_body(request, domain_inbound.MAX_BODY_BYTES)
    return await asyncio.to_thread(domain_inbound.receive, ctx, request.headers, body)
