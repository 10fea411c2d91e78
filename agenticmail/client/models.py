"""Typed models of the API's answers (pydantic; unknown fields are kept, so a newer daemon's
additions never break an older client).

The owner's answers below are also the routes' ``response_model``: the API serialises through
them, so their fields are in the order the routes build their JSON, and a change to a route's
answer must be made here too (the schema fuzz checks every answer against them)."""

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


class SearchHit(MessageSummary):
    """A message the search index found: where it is, a highlighted snippet, its score."""

    snippet: str = ""
    highlighted_subject: str = ""
    score: float | None = None


class SearchHits(Model):
    """One page of a search of every folder (``GET /v1/mail/search?q=``)."""

    query: str
    mode: str
    order: str
    total: int
    limit: int
    offset: int
    uids: list[int]
    messages: list[SearchHit]


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


class Signature(Model):
    id: str
    name: str
    text: str | None = None
    html: str | None = None
    default: bool = False
    created_at: str = ""
    updated_at: str = ""


class Template(Model):
    id: str
    name: str
    subject: str = ""
    text: str | None = None
    html: str | None = None
    variables: list[str] = Field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""


class Rendered(Model):
    subject: str
    text: str | None = None
    html: str | None = None


class Task(Model):
    """A task one agent gave another; ``expired``: open past its deadline."""

    id: str
    type: str
    assigner: str
    assignee: str
    status: str
    expired: bool = False
    payload: Any = None
    result: Any = None
    deadline: str | None = None
    created_at: str = ""
    updated_at: str = ""
    claimed_at: str | None = None
    finished_at: str | None = None


class ExportedMessage(Model):
    uid: int
    flags: list[str] = Field(default_factory=list)
    date: str | None = None
    raw_base64: str


class ExportPage(Model):
    folder: str
    messages: list[ExportedMessage]
    next_after: int
    total: int = 0  # messages in the folder
    done: bool = True


class Imported(Model):
    status: str
    message_id: str
    uid: int | None = None


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


# -- the owner's answers; the API declares these as its response models too -------------
class HeldMail(Model):
    """Mail the outbound guard held for the owner; ``request`` (the message for review) only
    in ``GET /v1/pending/{id}``."""

    id: str
    agent: str
    status: str
    message_id: str
    subject: str
    findings: list[dict[str, Any]]
    summary: str
    owner_notified: bool
    resolved_by: str | None
    resolved_at: str | None
    outbox_id: str | None
    created_at: str
    request: dict[str, Any] | None = None


class HeldList(Model):
    pending: list[HeldMail]


class HeldOne(Model):
    pending: HeldMail


class SpamLogEntry(Model):
    """Why one message was moved to Spam (``rules``: the spam rules that fired)."""

    id: int
    agent: str
    message_id: str | None
    from_addr: str | None
    subject: str | None
    score: int
    category: str | None
    rules: list[dict[str, Any]]
    status: str
    created_at: str


class SpamLog(Model):
    spam: list[SpamLogEntry]


class DeletionReport(Model):
    message_count: int
    first_date: str | None
    last_date: str | None
    top_correspondents: list[tuple[str, int]]
    folders: dict[str, int]


class DeletedAgent(Model):
    """An agent removed: its mail and rows were archived to ``archive`` first."""

    deleted: str
    archive: str
    report: DeletionReport


class RotatedKey(Model):
    agent: Agent
    api_key: str


class MailLogin(Model):
    username: str
    password: str


class MailAccount(MailLogin):
    """An agent's IMAP/SMTP login and where the mail host listens for it."""

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int


class CreatedAgent(Model):
    """A new agent: its main key and mail password are in this answer only."""

    agent: Agent
    api_key: str
    mail: MailAccount


class BatchResult(Model):
    action: str
    folder: str
    uids: list[int]
    count: int


class RotatedPassword(Model):
    agent: Agent
    mail: MailLogin


class AuditEntry(Model):
    id: int
    at: str
    actor: str
    action: str
    subject: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Model):
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


class ChainHead(Model):
    id: int
    hash: str


class AuditCheck(Model):
    """The audit chain verified: a broken chain is ``ok`` False with its ``problems``."""

    ok: bool
    checked: int
    problems: list[str]
    head: ChainHead | None


class Route(Model):
    """The outbound SMTP route for mail to the internet (the password is never shown)."""

    host: str
    port: int
    tls: str
    address: str
    username: str | None
    has_password: bool  # (and ``auth: "oauth2"`` when the relay's OAuth2 grant signs in)


class RouteAnswer(Model):
    route: Route | None


class DomainOutboundLast(Model):
    """The last domain-mode delivery attempt (``OUTBOUND_LAST_KEY``)."""

    at: str
    path: str
    ok: bool
    error: str | None
    outbox_id: str | None = None


class DomainOutbound(Model):
    """How domain-mode mail leaves: the path (cloudflare | smarthost | direct), whether domain
    mode is on, the DKIM selector and whether a key is stored, the last attempt."""

    active: bool
    domain: str | None
    path: str | None
    dkim_selector: str | None
    dkim_key: bool
    last: DomainOutboundLast | None


class SmtpEndpoint(Model):
    host: str
    port: int
    tls: str  # implicit | starttls | none


class ImapEndpoint(Model):
    host: str
    port: int
    tls: bool


class RelayAccount(Model):
    provider: str
    address: str
    username: str
    smtp: SmtpEndpoint
    imap: ImapEndpoint
    default_agent: str | None
    default_scope: str
    trusted_authserv_ids: list[str]
    reply_approval: str
    auth: str = "basic"  # an app password; or "oauth2"


class RelayOAuth(Model):
    """The relay's OAuth2 grant (never a token): ``signin_required`` says why it stopped."""

    provider: str
    client_id: str
    access_token_expires_at: str
    signin_required: str | None


class RelaySaved(RelayAccount):
    """A relay account saved; ``idle``: whether its IMAP server supports IDLE."""

    idle: bool | None


class RelayCheckpoint(Model):
    uidvalidity: int
    last_uid: int


class RelayStatus(Model):
    """The relay gateway's state; ``account`` and ``checkpoint`` only when configured."""

    configured: bool
    mode: str
    connected: bool
    last_activity_at: str | None
    last_error: str | None
    last_error_at: str | None
    failures: int
    next_retry_at: str | None
    delivered: int
    skipped: int
    approvals: int
    failed: int
    sent: int
    poll_seconds: int
    account: RelayAccount | None = None
    checkpoint: RelayCheckpoint | None = None
    oauth: RelayOAuth | None = None
    healthy: bool


class RelayAnswer(Model):
    relay: RelayStatus


class RelaySavedAnswer(Model):
    relay: RelaySaved | None


class RelayPreset(Model):
    name: str
    label: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    imap_host: str
    imap_port: int
    authserv_ids: list[str]
    help: str


class RelayPresets(Model):
    presets: dict[str, RelayPreset]


class MailHostState(Model):
    """The mail host as ``/v1/health`` shows it (``detail``/``checks``: master key only)."""

    kind: str
    ok: bool
    detail: str | None = None
    checks: dict[str, str] | None = None


class StorageState(Model):
    """Whether the database can be written (``detail``/``hint``: master key only)."""

    ok: bool
    detail: str | None = None
    hint: str | None = None


class Health(Model):
    """``GET /v1/health``: ``status`` and ``version`` for anyone; with an agent key also the
    mail host and its own watcher; with the master key every component, watcher and more."""

    status: str
    version: str
    mail_host: MailHostState | None = None
    storage: StorageState | None = None
    agents: int | None = None
    pid: int | None = None
    uptime_seconds: float | None = None
    api_url: str | None = None
    submission: dict[str, Any] | None = None
    components: dict[str, dict[str, Any]] | None = None
    watchers: dict[str, dict[str, Any]] | None = None
    host_restarts: int | None = None
    tunnel: dict[str, Any] | None = None  # master key: domain mode's cloudflared, live
    figures: dict[str, Any] | None = None  # master key: what /metrics counts, as JSON


# -- organising: tags, rules, contacts (issue 12) ----------------------------------------------
class Tag(Model):
    name: str
    keyword: str  # the IMAP keyword the tag is on messages
    color: str | None = None
    created_at: str = ""


class Tagged(Model):
    """Messages after tagging or untagging: each ``{"uid", "flags"}``."""

    tag: str
    keyword: str
    folder: str
    messages: list[dict[str, Any]] = Field(default_factory=list)


class TaggedMessages(Model):
    tag: str
    keyword: str
    total: int
    messages: list[MessageSummary] = Field(default_factory=list)


class Rule(Model):
    id: str
    name: str
    position: int
    enabled: bool = True
    match: str = "all"
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""


class RuleTest(Model):
    """A dry run: each match is ``{"uid", "folder", "subject", "from", "rules"}``."""

    folder: str
    checked: int
    matched: int
    matches: list[dict[str, Any]] = Field(default_factory=list)


class Contact(Model):
    address: str
    name: str | None = None
    notes: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: str | None = None  # block | allow
    count: int = 0
    received: int = 0
    sent: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    created_at: str = ""
    updated_at: str = ""


class ContactPage(Model):
    total: int
    limit: int
    offset: int
    contacts: list[Contact] = Field(default_factory=list)
    policy_problems: list[dict[str, Any]] | None = None


class PolicyDecision(Model):
    action: str
    capabilities: list[str]
    rule: int | None = None
    match: str | None = None
    reason: str = ""
    failed: list[str] = Field(default_factory=list)


class PolicyAnswer(Model):
    agent: str
    path: str
    policy: str | None  # the TOML text in force (None: no file, the open policy)
    rules: int  # sender rules in force
    default: str
    capabilities: list[str]
    error: str | None = None  # the file as it is now cannot be used: the last good one holds


class PolicyTestAnswer(Model):
    agent: str
    decision: PolicyDecision
    auth: dict[str, str]
    sender: str


class Webhook(Model):
    """A webhook endpoint (its secret is shown only when it is created or rotated)."""

    id: str
    agent: str | None
    url: str
    events: list[str]
    description: str = ""
    enabled: bool
    disabled_reason: str | None = None
    failing_since: str | None = None
    created_at: str
    updated_at: str


class WebhookOne(Model):
    webhook: Webhook


class WebhookList(Model):
    webhooks: list[Webhook]


class CreatedWebhook(Model):
    """A new endpoint (or a rotated secret): the ``whsec_…`` secret is in this answer only."""

    webhook: Webhook
    secret: str


class WebhookDelivery(Model):
    """One delivery attempt: ``webhook_id`` names the message (the same in every attempt and
    replay); ``status_code`` is None when no answer came (``outcome`` timeout/error/refused)."""

    id: int
    webhook_id: str
    event_type: str
    attempt: int
    status_code: int | None
    duration_ms: float
    outcome: str
    error: str | None
    at: str


class WebhookDeliveries(Model):
    deliveries: list[WebhookDelivery]


class WebhookReplayed(Model):
    replayed: int


class WebhookTestSent(Model):
    event: Event


class DomainStep(Model):
    step: str
    title: str
    done: bool


class DomainAnswer(Model):
    domain: dict[str, Any] | None
    steps: list[DomainStep]
    teardown: list[str]


class DomainStepRun(Model):
    step: str
    title: str
    changed: bool
    changes: list[str]


class DomainStepsAnswer(Model):
    ran: list[DomainStepRun]
    domain: dict[str, Any] | None
    remaining: list[str]
    done: bool
