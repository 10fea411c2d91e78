"""Request bodies (pydantic) and their conversion to the shared models.

Answers are described by the Python client's own models (``agenticmail.client.models``):
routes declare them as ``response_model``, so ``/v1/openapi.json`` and ``agenticmail.Client``
describe the same JSON, written once. Routes whose answer has keys only some callers see
(``/v1/health``, ``/v1/relay``, held-mail lists) also set ``response_model_exclude_unset``, so
the model never adds keys the route did not return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field, field_validator

from ..models import Attachment, OutgoingMail
from ..services.attachments import AttachmentSource

# SQLite's INTEGER is 64-bit: a larger number cannot even be bound as a parameter.
SQL_INT_MAX = 2**63 - 1
Offset = Annotated[int, Query(ge=0, le=SQL_INT_MAX, description="entries to skip")]


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


class AgentCreate(BaseModel):
    name: str = Field(max_length=64)
    role: str = "secretary"
    display_name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None


class MetadataPatch(BaseModel):
    metadata: dict[str, Any]


class AttachmentBody(BaseModel):
    """One attachment: exactly one of ``content_base64``, ``path`` (master key only: a file
    on the owner's disk) or ``url`` (https, fetched SSRF-safely)."""

    filename: str | None = Field(default=None, min_length=1, max_length=255)
    content_type: str | None = Field(default=None, max_length=255)
    content_base64: str | None = None
    path: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=4096)

    def source(self) -> AttachmentSource:
        return AttachmentSource(self.filename, self.content_type, self.content_base64,
                                self.path, self.url)


def sources(bodies: list[AttachmentBody]) -> list[AttachmentSource]:
    return [b.source() for b in bodies]


class SendBody(BaseModel):
    agent: str | None = None
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    subject: str = Field(default="", max_length=998)
    text: str | None = None
    html: str | None = None
    reply_to: str | None = None
    from_name: str | None = Field(default=None, max_length=200)
    headers: dict[str, str] = Field(default_factory=dict)
    attachments: list[AttachmentBody] = Field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    idempotency_key: str | None = Field(default=None, max_length=200)
    send_at: str | None = Field(default=None, description="ISO 8601 time to send at")
    template: str | None = Field(default=None, max_length=64,
                                 description="fill subject and body from this template")
    variables: dict[str, Any] | None = Field(default=None,
                                             description="values of the template's placeholders")
    signature: bool = Field(default=True, description="append the default signature")
    bulk: bool = Field(default=False, description=(
        "bulk mail (one recipient): adds one-click List-Unsubscribe headers (RFC 8058)"))

    _split = field_validator("to", "cc", "bcc", "references", mode="before")(_as_list)

    def to_mail(self, attachments: tuple[Attachment, ...] = ()) -> OutgoingMail:
        """The message, with ``attachments`` already loaded (``services.attachments``)."""
        return OutgoingMail(
            to=tuple(self.to), cc=tuple(self.cc), bcc=tuple(self.bcc), subject=self.subject,
            text=self.text, html=self.html, reply_to=self.reply_to, from_name=self.from_name,
            headers=tuple(self.headers.items()), attachments=tuple(attachments),
            in_reply_to=self.in_reply_to, references=tuple(self.references), bulk=self.bulk,
        )


class MoveBody(BaseModel):
    agent: str | None = None
    folder: str = "INBOX"
    to: str


class FlagsBody(BaseModel):
    agent: str | None = None
    folder: str = "INBOX"
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    seen: bool | None = None

    def changes(self) -> tuple[list[str], list[str]]:
        add, remove = list(self.add), list(self.remove)
        if self.seen is True:
            add.append("seen")
        elif self.seen is False:
            remove.append("seen")
        return add, remove


class BatchBody(BaseModel):
    agent: str | None = None
    action: str
    folder: str = "INBOX"
    uids: list[int]
    to: str | None = None


class FolderBody(BaseModel):
    agent: str | None = None
    name: str = Field(min_length=1, max_length=200)


class RouteBody(BaseModel):
    host: str = Field(min_length=1, max_length=255)
    port: int = 465
    tls: str = "implicit"
    address: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None


class ReplyBody(BaseModel):
    agent: str | None = None
    folder: str = Field(default="INBOX", max_length=200)
    text: str | None = None
    html: str | None = None
    reply_all: bool = False
    attachments: list[AttachmentBody] = Field(default_factory=list)
    idempotency_key: str | None = Field(default=None, max_length=200)
    signature: bool = Field(default=True, description="append the default signature")


class ForwardBody(BaseModel):
    agent: str | None = None
    folder: str = Field(default="INBOX", max_length=200)
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    text: str | None = None
    html: str | None = None
    as_attachment: bool = False
    attachments: list[AttachmentBody] = Field(default_factory=list)
    idempotency_key: str | None = Field(default=None, max_length=200)
    signature: bool = Field(default=True, description="append the default signature")

    _split = field_validator("to", "cc", mode="before")(_as_list)


class DraftBody(BaseModel):
    """A draft: every field optional (a draft may be unfinished)."""

    agent: str | None = None
    to: list[str] | None = None
    cc: list[str] | None = None
    bcc: list[str] | None = None
    subject: str | None = Field(default=None, max_length=998)
    text: str | None = None
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] | None = None
    attachments: list[AttachmentBody] | None = None

    _split = field_validator("to", "cc", "bcc", "references", mode="before")(_as_list)

    def changes(self) -> dict[str, Any]:
        fields = ("to", "cc", "bcc", "subject", "text", "html", "reply_to", "in_reply_to",
                  "references")
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}


class DraftSendBody(BaseModel):
    agent: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)
    signature: bool = Field(default=True, description="append the default signature")


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)


class TagBody(BaseModel):
    agent: str | None = None
    name: str = Field(max_length=200)
    color: str | None = Field(default=None, max_length=40)


class TagMessagesBody(BaseModel):
    agent: str | None = None
    folder: str = Field(default="INBOX", max_length=200)
    uids: list[int]


class RuleBody(BaseModel):
    """A server-side rule (``docs/organising.md``): conditions and actions."""

    agent: str | None = None
    name: str = Field(max_length=200)
    match: str = "all"
    conditions: list[Any] = Field(default_factory=list)
    actions: list[Any] = Field(default_factory=list)
    position: int | None = Field(default=None, ge=1, le=10_000)
    enabled: bool = True


class RulePatch(BaseModel):
    agent: str | None = None
    name: str | None = Field(default=None, max_length=200)
    match: str | None = None
    conditions: list[Any] | None = None
    actions: list[Any] | None = None
    position: int | None = Field(default=None, ge=1, le=10_000)
    enabled: bool | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"agent"}).items() if v is not None}


class RuleTestBody(BaseModel):
    """A dry run: every rule in order, one saved rule (``rule``), or an unsaved ``spec``."""

    agent: str | None = None
    rule: str | None = Field(default=None, max_length=200)
    spec: dict[str, Any] | None = None
    folder: str = Field(default="INBOX", max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class ContactPatch(BaseModel):
    agent: str | None = None
    name: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    tags: list[str] | None = None
    status: str | None = Field(default=None, description="block, allow or null")

    def changes(self) -> dict[str, Any]:
        """The fields the request gave (null clears one)."""
        return {k: getattr(self, k) for k in ("name", "notes", "tags", "status")
                if k in self.model_fields_set}


class ContactBody(ContactPatch):
    address: str = Field(max_length=320, description="an address, or @domain")
class PolicyBody(BaseModel):
    policy: str = Field(max_length=64 * 1024, description="The policy as TOML text.")


class PolicyTestBody(BaseModel):
    message: str = Field(max_length=25 * 1024 * 1024,
                         description="A whole message (RFC 5322), as text.")
    policy: str | None = Field(None, max_length=64 * 1024,
                               description="A policy to try instead of the one in force.")


class SignatureBody(BaseModel):
    agent: str | None = None
    name: str = Field(min_length=1, max_length=64)
    text: str | None = None
    html: str | None = None
    default: bool = False


class SignaturePatch(BaseModel):
    agent: str | None = None
    text: str | None = None
    html: str | None = None
    default: bool | None = None


class TemplateBody(BaseModel):
    agent: str | None = None
    name: str = Field(min_length=1, max_length=64)
    subject: str = Field(default="", max_length=998)
    text: str | None = None
    html: str | None = None


class TemplatePatch(BaseModel):
    agent: str | None = None
    subject: str | None = Field(default=None, max_length=998)
    text: str | None = None
    html: str | None = None


class RenderBody(BaseModel):
    agent: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class TaskBody(BaseModel):
    agent: str | None = None
    assignee: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    payload: Any = None
    deadline: str | None = Field(default=None, max_length=64,
                                 description="ISO 8601 time; an open task after it is expired")


class TaskResultBody(BaseModel):
    agent: str | None = None
    result: Any = None


class AgentOnlyBody(BaseModel):
    agent: str | None = None


class ImportBody(BaseModel):
    agent: str | None = None
    raw_base64: str
    flags: list[str] = Field(default_factory=list, max_length=10)
    date: str | None = Field(default=None, max_length=64)


class WebhookCreate(BaseModel):
    """An endpoint: ``events`` filters by type (``message.new``, a group ``message.*``; empty:
    every event); ``agent`` (master key): whose events (default: every agent's)."""

    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(default_factory=list, max_length=64)
    agent: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=500)


class WebhookPatch(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class WebhookReplay(BaseModel):
    """Exactly one of: the ``webhook_id`` of one message, or a time (ISO 8601) since which
    every message is sent again."""

    webhook_id: str | None = Field(default=None, min_length=1, max_length=100)
    since: str | None = Field(default=None, min_length=1, max_length=60)
