"""Frozen value types shared by every layer (no behaviour beyond small conveniences)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    SECRETARY = "secretary"
    ASSISTANT = "assistant"
    RESEARCHER = "researcher"
    WRITER = "writer"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    address: str
    role: Role
    display_name: str
    metadata: dict[str, Any]
    key_prefix: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["role"] = str(self.role)
        return data


@dataclass(frozen=True)
class Endpoints:
    """Where the mail host listens, as seen from this machine."""

    imap_host: str
    imap_port: int
    submission_host: str
    submission_port: int
    delivery_host: str  # LMTP (local) or SMTP (stalwart) for local delivery
    delivery_port: int
    imap_tls: bool = False
    delivery_protocol: str = "lmtp"  # "lmtp" | "smtp"
    # a unix socket for the daemon's own IMAP sessions ("" = use imap_host:imap_port): it has
    # no remote IP, so the host's per-IP penalty for failed logins of others never slows them
    imap_socket: str = ""


@dataclass(frozen=True)
class HostHealth:
    ok: bool
    detail: str
    checks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Credentials:
    """An agent's mail login (address + plaintext password): held in memory only."""

    username: str
    password: str
    oauth: bool = False  # ``password`` is an OAuth2 access token: AUTHENTICATE XOAUTH2

    def __repr__(self) -> str:  # never leak the password through a repr in a log line
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


@dataclass(frozen=True)
class OutgoingMail:
    """What an agent asks to send (before routing and MIME building)."""

    to: tuple[str, ...]
    subject: str
    text: str | None = None
    html: str | None = None
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: str | None = None
    from_name: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    bulk: bool = False  # one-click List-Unsubscribe headers for its single recipient

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc


@dataclass(frozen=True)
class AttachmentInfo:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageSummary:
    uid: int
    folder: str
    message_id: str | None
    subject: str
    from_: str
    to: tuple[str, ...]
    date: str | None
    flags: tuple[str, ...]
    size: int
    has_attachments: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


@dataclass(frozen=True)
class ParsedMessage:
    uid: int
    folder: str
    message_id: str | None
    subject: str
    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: str | None
    text: str
    html: str | None
    attachments: tuple[AttachmentInfo, ...]
    headers: dict[str, str]
    flags: tuple[str, ...]
    in_reply_to: str | None
    references: tuple[str, ...]
    size: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


@dataclass(frozen=True)
class SearchQuery:
    from_: str | None = None
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    seen: bool | None = None
    keyword: str | None = None
    message_id: str | None = None  # the Message-ID header contains this


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    agent: str | None
    data: dict[str, Any]
    created_at: str
    agent_id: int | None = None  # who may see it (ids are never reused); names can be

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "agent": self.agent, "data": self.data,
                "created_at": self.created_at}
