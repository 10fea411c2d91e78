"""The event registry: one frozen model per event type, and the checked way to build a payload.

Every event the daemon records goes through :func:`payload` (``Tx.emit`` calls it), so a
payload with a missing, unknown or mistyped field fails where it is emitted, in tests, instead
of reaching SSE clients and webhooks. ``to_dict`` gives the JSON consumers read: the fields in
declaration order, which is the order the payloads have always had.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, Union

__all__ = [
    "AGENT_CREATED", "AGENT_DELETED", "DMARC_REPORT", "DOMAIN_DELIVERED",
    "MESSAGE_APPROVED", "MESSAGE_BOUNCED", "MESSAGE_DELAYED",
    "MESSAGE_EXPUNGED", "MESSAGE_FAILED", "MESSAGE_FLAGS", "MESSAGE_HELD", "MESSAGE_NEW",
    "MESSAGE_REJECTED", "MESSAGE_SENT", "MESSAGE_SPAM", "REGISTRY", "RELAY_CONFIGURED",
    "RELAY_DELIVERED", "RELAY_DISABLED", "RELAY_SIGNIN_REQUIRED", "SUPPRESSION_ADDED",
    "TASK_ASSIGNED", "TASK_CLAIMED", "TASK_COMPLETED", "TASK_FAILED", "WEBHOOK_DISABLED",
    "WEBHOOK_TEST", "EventPayload", "InvalidEventPayload", "payload",
]


class InvalidEventPayload(TypeError):
    """A payload that does not fit its event type's model (a programming error)."""


@dataclass(frozen=True)
class EventPayload:
    """The base of every event model; ``TYPE`` is the event's wire name."""

    TYPE: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


REGISTRY: dict[str, type[EventPayload]] = {}
_Model = TypeVar("_Model", bound=type[EventPayload])


def _register(cls: _Model) -> _Model:
    if not cls.TYPE or cls.TYPE in REGISTRY:
        raise RuntimeError(f"event model {cls.__name__} needs a TYPE of its own")
    REGISTRY[cls.TYPE] = cls
    return cls


# --- mail arriving and changing ---------------------------------------------------------

@_register
@dataclass(frozen=True)
class MessageNew(EventPayload):
    TYPE: ClassVar[str] = "message.new"
    agent: str
    folder: str
    uid: int
    thread_id: str | None
    message: dict[str, Any]  # services.inbox.message_payload: the agent-facing message JSON
    # the agent's rules that acted on it at ingest, in order (services.sorting): each
    # {"id", "name", "actions": [{"type", ..., "result"}]}; empty when none did
    rules: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@_register
@dataclass(frozen=True)
class MessageSpam(MessageNew):
    TYPE: ClassVar[str] = "message.spam"


@_register
@dataclass(frozen=True)
class MessageFlags(EventPayload):
    TYPE: ClassVar[str] = "message.flags"
    agent: str
    folder: str
    uid: int
    flags: list[str]


@_register
@dataclass(frozen=True)
class MessageExpunged(EventPayload):
    TYPE: ClassVar[str] = "message.expunged"
    agent: str
    folder: str
    uid: int


# --- mail going out ---------------------------------------------------------------------

@_register
@dataclass(frozen=True)
class MessageSent(EventPayload):
    TYPE: ClassVar[str] = "message.sent"
    id: str
    agent: str
    message_id: str
    subject: str
    recipients: list[str]


@_register
@dataclass(frozen=True)
class MessageDelayed(EventPayload):
    """A send deferred after a transient failure; retried until ``retrying_until``."""

    TYPE: ClassVar[str] = "message.delayed"
    id: str
    agent: str
    message_id: str
    subject: str
    error: str
    attempts: int
    retrying_until: str


@_register
@dataclass(frozen=True)
class MessageFailed(EventPayload):
    TYPE: ClassVar[str] = "message.failed"
    id: str
    agent: str
    message_id: str
    subject: str
    error: str


@_register
@dataclass(frozen=True)
class MessageBounced(EventPayload):
    """A bounce (or a complaint) about a message the agent sent, arrived by a trusted path."""

    TYPE: ClassVar[str] = "message.bounced"
    id: str  # the outbox row
    agent: str
    message_id: str
    subject: str
    kind: str  # hard | soft | complaint: the worst of the recipients'
    failed: bool  # a recipient was given up on (the row is now 'bounced')
    recipients: list[dict[str, Any]]  # mail.bounces.Failure.to_dict for each
    suppressed: list[str]  # addresses put on the agent's suppression list by it


@_register
@dataclass(frozen=True)
class SuppressionAdded(EventPayload):
    TYPE: ClassVar[str] = "suppression.added"
    agent: str
    address: str
    reason: str  # hard_bounce | complaint | unsubscribe | manual
    detail: str | None


@_register
@dataclass(frozen=True)
class MessageHeld(EventPayload):
    TYPE: ClassVar[str] = "message.held"
    pending_id: str
    agent: str
    message_id: str
    subject: str
    summary: str
    findings: list[dict[str, Any]]


@_register
@dataclass(frozen=True)
class MessageApproved(EventPayload):
    TYPE: ClassVar[str] = "message.approved"
    pending_id: str
    outbox_id: str
    message_id: str
    by: str


@_register
@dataclass(frozen=True)
class MessageRejected(EventPayload):
    TYPE: ClassVar[str] = "message.rejected"
    pending_id: str
    message_id: str
    by: str


# --- agents -----------------------------------------------------------------------------

@_register
@dataclass(frozen=True)
class AgentCreated(EventPayload):
    TYPE: ClassVar[str] = "agent.created"
    name: str
    address: str
    role: str


@_register
@dataclass(frozen=True)
class AgentDeleted(EventPayload):
    TYPE: ClassVar[str] = "agent.deleted"
    name: str
    address: str


# --- the relay gateway ------------------------------------------------------------------

@_register
@dataclass(frozen=True)
class RelayConfigured(EventPayload):
    TYPE: ClassVar[str] = "relay.configured"
    address: str
    provider: str
    idle: bool


@_register
@dataclass(frozen=True)
class RelayDisabled(EventPayload):
    TYPE: ClassVar[str] = "relay.disabled"


@_register
@dataclass(frozen=True)
class RelaySigninRequired(EventPayload):
    """The relay's OAuth2 grant was revoked or expired: the relay stopped until the owner
    signs in again (``relay setup --oauth``)."""

    TYPE: ClassVar[str] = "relay.signin_required"
    address: str
    reason: str


@_register
@dataclass(frozen=True)
class RelayDelivered(EventPayload):
    TYPE: ClassVar[str] = "relay.delivered"
    agent: str
    message_id: str
    route: str
    relay_uid: int


# --- domain mode ------------------------------------------------------------------------------

@_register
@dataclass(frozen=True)
class DmarcReport(EventPayload):
    """A DMARC aggregate report was stored (owner only): who sent it, for which period
    (ISO 8601), how many messages it covers and how many of them failed DMARC."""

    TYPE: ClassVar[str] = "dmarc.report"
    org_name: str
    report_id: str
    domain: str
    begin: str
    end: str
    messages: int
    dmarc_fail: int


@_register
@dataclass(frozen=True)
class DomainDelivered(EventPayload):
    """A message Cloudflare's Email Worker posted was put into an agent's mailbox (its
    ``message.new`` follows when the agent's watcher has screened it)."""

    TYPE: ClassVar[str] = "domain.delivered"
    agent: str
    message_id: str
    recipient: str
    route: str  # address | tag | catch_all
    arc: str  # the ARC chain: pass (results believed), untrusted, fail or none


# --- tasks one agent assigns another (each event goes to the assigner and the assignee) ----

@_register
@dataclass(frozen=True)
class TaskAssigned(EventPayload):
    TYPE: ClassVar[str] = "task.assigned"
    task_id: str
    task_type: str
    assigner: str
    assignee: str
    status: str
    deadline: str | None


@_register
@dataclass(frozen=True)
class TaskClaimed(TaskAssigned):
    TYPE: ClassVar[str] = "task.claimed"


@_register
@dataclass(frozen=True)
class TaskCompleted(TaskAssigned):
    TYPE: ClassVar[str] = "task.completed"
    result: Any


@_register
@dataclass(frozen=True)
class TaskFailed(TaskCompleted):
    TYPE: ClassVar[str] = "task.failed"


# --- outgoing webhooks ------------------------------------------------------------------

@_register
@dataclass(frozen=True)
class WebhookDisabled(EventPayload):
    """An endpoint stopped receiving deliveries: it answered 410 Gone, or failed too long."""

    TYPE: ClassVar[str] = "webhook.disabled"
    endpoint: str
    url: str
    reason: str


@_register
@dataclass(frozen=True)
class WebhookTest(EventPayload):
    """A test event, delivered to the one endpoint it was sent for."""

    TYPE: ClassVar[str] = "webhook.test"
    endpoint: str


MESSAGE_NEW = MessageNew.TYPE
MESSAGE_SPAM = MessageSpam.TYPE
MESSAGE_FLAGS = MessageFlags.TYPE
MESSAGE_EXPUNGED = MessageExpunged.TYPE
MESSAGE_SENT = MessageSent.TYPE
MESSAGE_DELAYED = MessageDelayed.TYPE
MESSAGE_FAILED = MessageFailed.TYPE
MESSAGE_BOUNCED = MessageBounced.TYPE
SUPPRESSION_ADDED = SuppressionAdded.TYPE
DMARC_REPORT = DmarcReport.TYPE
MESSAGE_HELD = MessageHeld.TYPE
MESSAGE_APPROVED = MessageApproved.TYPE
MESSAGE_REJECTED = MessageRejected.TYPE
AGENT_CREATED = AgentCreated.TYPE
AGENT_DELETED = AgentDeleted.TYPE
RELAY_CONFIGURED = RelayConfigured.TYPE
RELAY_DISABLED = RelayDisabled.TYPE
RELAY_DELIVERED = RelayDelivered.TYPE
TASK_ASSIGNED = TaskAssigned.TYPE
TASK_CLAIMED = TaskClaimed.TYPE
TASK_COMPLETED = TaskCompleted.TYPE
TASK_FAILED = TaskFailed.TYPE
WEBHOOK_DISABLED = WebhookDisabled.TYPE
WEBHOOK_TEST = WebhookTest.TYPE
RELAY_SIGNIN_REQUIRED = RelaySigninRequired.TYPE
DOMAIN_DELIVERED = DomainDelivered.TYPE


def _fits(value: object, annotation: Any) -> bool:
    """Whether ``value`` is of the (simple) annotated type: classes, ``X | None``, ``list[X]``,
    ``dict[K, V]`` and ``Any``; a bool is not an int."""
    if annotation is Any:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return any(_fits(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    if annotation is int and isinstance(value, bool):
        return False
    return isinstance(value, annotation)


_HINTS: dict[type[EventPayload], dict[str, Any]] = {}


def _hints(cls: type[EventPayload]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]


def payload(type_: str, data: Mapping[str, Any] | EventPayload) -> EventPayload:
    """The checked model of an event of ``type_`` built from ``data`` (a mapping with exactly
    the model's fields, those with a default optional, or the model itself);
    :class:`InvalidEventPayload` if it does not fit."""
    cls = REGISTRY.get(type_)
    if cls is None:
        raise InvalidEventPayload(f"unknown event type {type_!r}: add a model to "
                                  "agenticmail.event_types")
    if isinstance(data, EventPayload):
        if type_ != data.TYPE:
            raise InvalidEventPayload(f"a {data.TYPE} payload emitted as {type_}")
        fields = data.to_dict()
    else:
        fields = dict(data)
    hints = _hints(cls)
    for f in dataclasses.fields(cls):  # a field added later, with a default: compatible
        if f.name not in fields and f.default_factory is not dataclasses.MISSING:
            fields[f.name] = f.default_factory()
        elif f.name not in fields and f.default is not dataclasses.MISSING:
            fields[f.name] = f.default
    missing = sorted(set(hints) - set(fields))
    unknown = sorted(set(fields) - set(hints))
    if missing or unknown:
        raise InvalidEventPayload(f"{type_} payload: missing {missing}, unknown {unknown}")
    for name, annotation in hints.items():
        if not _fits(fields[name], annotation):
            raise InvalidEventPayload(
                f"{type_} payload: {name}={fields[name]!r} is not {annotation}")
    return data if isinstance(data, EventPayload) else cls(**fields)
