"""The daemon's own state as ``/v1/health`` reports it: the mail host's checks and whether the
database can be written (the daemon's components report themselves: ``daemon.supervisor``)."""

from __future__ import annotations

from typing import Any

from .context import ServiceContext


def mail_host(ctx: ServiceContext) -> dict[str, Any]:
    """``{kind, ok, detail, checks}`` of the mail host (asks it: may block briefly)."""
    found = ctx.host.health()
    return {"kind": ctx.host.kind, "ok": found.ok, "detail": found.detail,
            "checks": found.checks}


def storage(ctx: ServiceContext) -> dict[str, Any]:
    """``{ok, detail[, hint]}``: why writes fail or are about to (the last write failed, the
    disk is nearly full), else writable."""
    problem = ctx.db.problem()
    if problem is None:
        return {"ok": True, "detail": "writable"}
    return {"ok": False, "detail": problem.message, "hint": problem.hint}
