"""The one mapping from the exception tree to HTTP: ``{"error": {"code", "message", "hint"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors as e
from .audit_trail import note_error

log = logging.getLogger(__name__)

STATUS: dict[type[e.AgenticMailError], int] = {
    e.NotConfigured: 503,
    e.ConfigError: 500,
    e.StorageUnavailable: 503,
    e.DependencyMissing: 503,
    e.PayloadTooLarge: 413,
    e.InvalidRequest: 400,
    e.AuthenticationFailed: 401,
    e.PermissionDenied: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.RateLimited: 429,
    e.MailHostUnavailable: 503,
    e.SignInRequired: 502,
    e.MailHostError: 502,
    e.TransientDeliveryError: 503,
    e.PermanentDeliveryError: 502,
    e.DeliveryError: 502,
    e.DnsUnavailable: 503,
    e.RegistryUnavailable: 503,
    e.CloudflareError: 502,
    e.CloudflareUnavailable: 503,
}


DESCRIPTIONS = {
    400: "Invalid request: a parameter or the body is malformed or out of range",
    401: "Missing or invalid API key",
    403: "The key may not do this (another agent's data, or owner only)",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body over the size limit",
    429: "Rate limited; retry after the Retry-After seconds",
    502: "The mail host or a remote server refused the operation",
    503: "The mail host or a remote server is unavailable",
}
# Every request: a bad parameter (400), no or a wrong key (401), an oversized body (413).
COMMON = (400, 401, 413)


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape: ``{"error": {"code", "message", "hint"?}}``."""

    error: ErrorDetail


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with :class:`ErrorResponse`."""
    return {s: {"model": ErrorResponse, "description": DESCRIPTIONS[s]} for s in statuses}


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


def response_for(exc: e.AgenticMailError, headers: dict[str, str] | None = None
                 ) -> JSONResponse:
    """The error response for a domain exception (with its WWW-Authenticate/Retry-After)."""
    status = status_for(exc)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(status, exc.code, exc.message, exc.hint, headers or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.AgenticMailError)
    async def _domain(request: Request, exc: e.AgenticMailError) -> JSONResponse:
        note_error(request, exc.code)
        if status_for(exc) >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return response_for(exc)

    _document_400_not_422(app)

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


def _document_400_not_422(app: FastAPI) -> None:
    """FastAPI documents a 422 for every operation with parameters; this app answers a
    validation error 400 ``invalid_request`` in the one error shape, so the schema says so."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            models = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                models.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
