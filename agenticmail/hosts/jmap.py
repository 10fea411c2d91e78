"""A client for Stalwart's v0.16 JMAP management API (``POST {base}/jmap``).

The contract is ``shared/reference/stalwart-jmap.md``. Everything goes through one endpoint:
a JMAP request whose method calls are ``x:<Object>/get|set|query``. Failures come in three
shapes, and each is converted to an ``errors.py`` type here, at the adapter's edge:

* transport (connection refused, timeout)           -> ``MailHostUnavailable``
* whole request refused (non-200 RFC 7807 problem)  -> ``AdminAuthFailed`` for 401, else
  ``MailHostError`` (400 notJSON/notRequest, 403, 429 ...)
* inside an HTTP 200: a method-level ``["error", {type, description}]`` response, or a
  per-object ``SetError`` in ``notCreated``/``notUpdated``/``notDestroyed`` (see
  :func:`set_error`), mapped by type: ``primaryKeyViolation``/``objectIsLinked`` -> Conflict,
  ``notFound`` -> NotFound, ``invalidProperties``/``validationFailed`` -> InvalidRequest, the
  rest -> MailHostError.

Wire encodings (``Set<T>`` and ``List<T>`` as JSON objects, JSON-pointer patch keys) are the
caller's business; :func:`as_set` and :func:`as_list` build them. Secrets are never logged.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import (
    AgenticMailError,
    Conflict,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    NotFound,
    RateLimited,
)

log = logging.getLogger(__name__)

USING = ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"]
DEFAULT_TIMEOUT = 15.0


class AdminAuthFailed(MailHostError):
    """Stalwart refused the admin credential (HTTP 401)."""

    code = "mail_host_auth_failed"


def as_set(values: Iterable[str]) -> dict[str, bool]:
    """``Set<T>`` on the wire: ``{"value": true, …}``."""
    return {str(v): True for v in values}


def as_list(values: Sequence[Any]) -> dict[str, Any]:
    """``List<T>`` on the wire: an object keyed by position, ``{"0": …, "1": …}``."""
    return {str(i): v for i, v in enumerate(values)}


def list_values(encoded: Any) -> list[Any]:
    """Decode a ``List<T>`` (object keyed by position; a JSON array is accepted too)."""
    if isinstance(encoded, list):
        return list(encoded)
    if isinstance(encoded, Mapping):
        return [encoded[k] for k in sorted(encoded, key=lambda k: int(k) if k.isdigit() else 0)]
    return []


def _describe(err: Mapping[str, Any]) -> str:
    parts = [str(err.get("description") or err.get("type") or "unknown error").rstrip(".")]
    props = err.get("properties")
    if props:
        parts.append(f"(property {', '.join(map(str, props))})")
    linked = err.get("linkedObjects")
    if linked:
        names = ", ".join(f"{o.get('object')} {o.get('id')}" for o in linked if isinstance(o, dict))
        parts.append(f"(still used by {names})")
    existing = err.get("objectId") or ({"id": err["existingId"]} if err.get("existingId") else None)
    if isinstance(existing, Mapping):
        parts.append(f"(clashes with {existing.get('object', 'object')} {existing.get('id')})")
    return " ".join(parts)


def set_error(err: Mapping[str, Any], what: str) -> AgenticMailError:
    """Map one JMAP ``SetError`` to the project's error type, with a useful message."""
    kind = str(err.get("type") or "")
    detail = _describe(err)
    if kind == "primaryKeyViolation":
        return Conflict(f"{what}: already exists: {detail}")
    if kind == "objectIsLinked":
        return Conflict(f"{what}: still in use: {detail}",
                        hint="remove the objects that use it first")
    if kind == "notFound":
        return NotFound(f"{what}: not found on the mail server")
    if kind in ("invalidProperties", "validationFailed"):
        return InvalidRequest(f"{what}: the mail server refused it: {detail}")
    if kind == "invalidForeignKey":
        return MailHostError(f"{what}: it refers to an object the mail server does not have: "
                             f"{detail}", hint="run: agenticmail doctor")
    if kind == "invalidPatch":
        return MailHostError(f"{what}: the mail server could not apply the change: {detail}")
    if kind == "forbidden":
        return MailHostError(f"{what}: the mail server's admin account may not do this: {detail}")
    if kind == "singleton":
        return MailHostError(f"{what}: only one such object may exist: {detail}")
    if kind == "rateLimit":
        return RateLimited(f"{what}: the mail server is rate limiting: {detail}")
    if kind == "overQuota":
        return MailHostError(f"{what}: over quota: {detail}")
    return MailHostError(f"{what}: {kind or 'error'}: {detail}")


@dataclass
class SetResult:
    """The parsed answer of one ``x:<Object>/set`` call."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated: dict[str, Any] = field(default_factory=dict)
    destroyed: list[str] = field(default_factory=list)
    not_created: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_updated: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_destroyed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> SetResult:
        return cls(
            created=dict(args.get("created") or {}),
            updated=dict(args.get("updated") or {}),
            destroyed=list(args.get("destroyed") or []),
            not_created=dict(args.get("notCreated") or {}),
            not_updated=dict(args.get("notUpdated") or {}),
            not_destroyed=dict(args.get("notDestroyed") or {}),
        )

    def raise_first(self, what: str) -> None:
        for errs in (self.not_created, self.not_updated, self.not_destroyed):
            for err in errs.values():
                raise set_error(err, what)


class JmapClient:
    """Synchronous JMAP management client (thread-safe: one httpx.Client underneath)."""

    def __init__(self, base_url: str, *, username: str | None = None, secret: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=True)
        self._auth: str | None = None
        self.username: str | None = None
        if username is not None and secret is not None:
            self.set_credentials(username, secret)

    def __repr__(self) -> str:  # the credential stays out of reprs and logs
        return f"JmapClient({self.base_url!r}, username={self.username!r})"

    def set_credentials(self, username: str, secret: str) -> None:
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        self._auth, self.username = f"Basic {token}", username

    def close(self) -> None:
        self._http.close()

    # -- transport ---------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if self._auth and kw.pop("auth", True):
            headers["Authorization"] = self._auth
        try:
            return self._http.request(method, path, headers=headers, **kw)
        except httpx.TimeoutException as exc:
            raise MailHostUnavailable(f"Stalwart at {self.base_url} did not answer in time",
                                      hint="see: agenticmail doctor") from exc
        except httpx.HTTPError as exc:
            raise MailHostUnavailable(f"cannot reach Stalwart at {self.base_url}: {exc}",
                                      hint="is the container running? see: agenticmail doctor"
                                      ) from exc

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        if response.status_code == 200:
            return
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        problem = problem if isinstance(problem, dict) else {}
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        if response.status_code == 401:
            who = f" for {self.username}" if self.username else ""
            raise AdminAuthFailed(
                f"Stalwart refused the admin login{who} ({detail})",
                hint="the stored admin credential no longer works; see: agenticmail doctor")
        if response.status_code == 429:
            raise RateLimited(f"Stalwart is rate limiting {what}: {detail}")
        kind = problem.get("type", "")
        raise MailHostError(f"Stalwart refused {what}: HTTP {response.status_code} "
                            f"{kind + ': ' if kind and kind != 'about:blank' else ''}{detail}")

    # -- health and session ------------------------------------------------------------
    def healthz(self, which: str = "ready") -> bool:
        """``GET /healthz/live|ready`` (no auth): True on 200; False if down or not ready."""
        try:
            return self._http.get(f"/healthz/{which}", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    def session(self) -> dict[str, Any]:
        """``GET /jmap/session``: proves the credential works."""
        response = self._send("GET", "/jmap/session")
        self._raise_for_status(response, "the session request")
        data: dict[str, Any] = response.json()
        return data

    # -- method calls ------------------------------------------------------------------
    def request(self, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
        """Send method calls in one request; returns each call's arguments, in order.

        A method-level error (``["error", {...}, id]``) raises; SetErrors are left in the
        result for the caller (see :class:`SetResult`).
        """
        method_calls = [[name, dict(args), f"c{i}"] for i, (name, args) in enumerate(calls)]
        body = {"using": USING, "methodCalls": method_calls}
        names = ", ".join(name for name, _ in calls)
        response = self._send("POST", "/jmap", json=body)
        self._raise_for_status(response, names)
        try:
            answers = response.json()["methodResponses"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MailHostError(f"Stalwart sent an unreadable answer to {names}") from exc
        out: list[dict[str, Any]] = []
        for (name, _), answer in zip(calls, answers, strict=False):
            rname, args = answer[0], answer[1] if len(answer) > 1 else {}
            if rname == "error":
                kind = args.get("type", "error")
                desc = args.get("description") or ""
                if kind == "forbidden":
                    raise MailHostError(f"Stalwart: {name} is not allowed for "
                                        f"{self.username or 'this login'}: {desc}".rstrip(": "))
                raise MailHostError(f"Stalwart rejected {name}: {kind}"
                                    + (f": {desc}" if desc else ""))
            out.append(args)
        if len(out) != len(calls):
            raise MailHostError(f"Stalwart answered {len(out)} of {len(calls)} calls ({names})")
        return out

    def call(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request([(name, args or {})])[0]

    def get(self, kind: str, ids: Sequence[str] | None = None,
            properties: Sequence[str] | None = None) -> list[dict[str, Any]]:
        args: dict[str, Any] = {"ids": None if ids is None else list(ids)}
        if properties is not None:
            args["properties"] = list(properties)
        return list(self.call(f"x:{kind}/get", args).get("list") or [])

    def query(self, kind: str, filter: Mapping[str, Any] | None = None,
              **extra: Any) -> list[str]:
        args: dict[str, Any] = dict(extra)
        if filter:
            args["filter"] = dict(filter)
        return [str(i) for i in self.call(f"x:{kind}/query", args).get("ids") or []]

    def set(self, kind: str, *, create: Mapping[str, Any] | None = None,
            update: Mapping[str, Any] | None = None,
            destroy: Sequence[str] | None = None) -> SetResult:
        args: dict[str, Any] = {}
        if create:
            args["create"] = dict(create)
        if update:
            args["update"] = dict(update)
        if destroy:
            args["destroy"] = list(destroy)
        return SetResult.parse(self.call(f"x:{kind}/set", args))

    def create(self, kind: str, obj: Mapping[str, Any], what: str) -> str:
        """Create one object; its new id. Raises the mapped SetError on failure."""
        result = self.set(kind, create={"new": obj})
        result.raise_first(what)
        try:
            return str(result.created["new"]["id"])
        except (KeyError, TypeError) as exc:
            raise MailHostError(f"{what}: Stalwart did not return the new id") from exc

    def update(self, kind: str, obj_id: str, patch: Mapping[str, Any], what: str) -> Any:
        """Patch one object (whole properties or JSON-pointer keys); the server's answer."""
        result = self.set(kind, update={obj_id: patch})
        result.raise_first(what)
        return result.updated.get(obj_id)

    def destroy(self, kind: str, obj_id: str, what: str, *, missing_ok: bool = True) -> bool:
        """Destroy one object; False if it was already gone (with ``missing_ok``)."""
        result = self.set(kind, destroy=[obj_id])
        err = result.not_destroyed.get(obj_id)
        if err is not None:
            if missing_ok and err.get("type") == "notFound":
                return False
            raise set_error(err, what)
        return True

    def action(self, action_type: str) -> None:
        """Run an ``x:Action`` such as ``ReloadSettings``."""
        self.create("Action", {"@type": action_type}, f"the {action_type} action")
