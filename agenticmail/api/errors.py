"""The one mapping from the exception tree to HTTP: ``{"error": {"code", "message", "hint"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors as e
from .audit_trail import note_error

log = logging.getLogger(__name__)

STATUS: dict[type[e.AgenticMailError], int] = {
    e.NotConfigured: 503,
    e.ConfigError: 500,
    e.DependencyMissing: 503,
    e.PayloadTooLarge: 413,
    e.InvalidRequest: 400,
    e.AuthenticationFailed: 401,
    e.PermissionDenied: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.RateLimited: 429,
    e.MailHostUnavailable: 503,
    e.MailHostError: 502,
    e.TransientDeliveryError: 503,
    e.PermanentDeliveryError: 502,
    e.DeliveryError: 502,
}


def status_for(exc: e.AgenticMailError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(status: int, code: str, message: str, hint: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, str] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.AgenticMailError)
    async def _domain(request: Request, exc: e.AgenticMailError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, e.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        note_error(request, exc.code)
        if status >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(status, exc.code, exc.message, exc.hint, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        note_error(request, "invalid_request")
        return error_response(400, "invalid_request", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        note_error(request, code)
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        note_error(request, "internal_error")
        return error_response(500, "internal_error", "internal error; see the daemon log")
