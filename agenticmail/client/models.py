"""Typed models of the API's answers (pydantic; unknown fields are kept, so a newer daemon's
additions never break an older client)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Agent(Model):
    id: int | None = None
    name: str
    address: str
    role: str = "secretary"
    display_name: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    key_prefix: str = ""
    created_at: str = ""


class AttachmentInfo(Model):
    index: int
    filename: str
    content_type: str
    size: int


class MessageSummary(Model):
    uid: int
    folder: str
    message_id: str | None = None
    subject: str = ""
    from_: str = Field("", alias="from")
    to: list[str] = Field(default_factory=list)
    date: str | None = None
    flags: list[str] = Field(default_factory=list)
    size: int = 0
    has_attachments: bool = False


class MessagePage(Model):
    folder: str
    total: int
    limit: int
    offset: int
    messages: list[MessageSummary]


class Message(Model):
    """A message as an agent sees it: sanitised bodies; ``security`` is the verdict."""

    uid: int
    folder: str
    message_id: str | None = None
    subject: str = ""
    from_: str = Field("", alias="from")
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    date: str | None = None
    text: str = ""
    html: str | None = None
    quoted: str | None = None
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    security: dict[str, Any] | None = None
    automated: dict[str, Any] | None = None
    fence: dict[str, Any] | None = None


class SearchResult(Model):
    folder: str
    uids: list[int]
    messages: list[MessageSummary]


class Accepted(Model):
    """A send accepted by the daemon: queued, scheduled, or held for the owner."""

    id: str
    status: str
    message_id: str
    pending_id: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    hint: str | None = None
    send_at: str | None = None
    duplicate: bool = False


class OutboxEntry(Model):
    id: str
    status: str
    message_id: str
    subject: str = ""


class ThreadSummary(Model):
    id: str
    subject: str
    participants: list[str]
    message_count: int
    unread_count: int
    snippet: str
    last_activity: str


class ThreadPage(Model):
    total: int
    limit: int
    offset: int
    threads: list[ThreadSummary]


class Thread(Model):
    id: str
    subject: str
    message_count: int
    messages: list[Message]


class Draft(Model):
    id: str
    folder: str
    uid: int | None = None
    message_id: str
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""


class Folder(Model):
    name: str
    flags: list[str] = Field(default_factory=list)
    special_use: str | None = None


class Event(Model):
    """One event from ``GET /v1/events`` (``id`` is what ``Last-Event-ID`` resumes from)."""

    id: int
    type: str
    agent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str = ""


class WaitResult(Model):
    """A message that arrived (``timed_out`` False) or nothing before the timeout."""

    timed_out: bool
    message: Message | None = None
    event_id: int | None = None
    uid: int | None = None
    folder: str | None = None
    thread_id: str | None = None


class KeyInfo(Model):
    name: str
    prefix: str
    created_at: str = ""


class CreatedKey(Model):
    key: KeyInfo
    api_key: str


class HeldItem(Model):
    id: str
    status: str
