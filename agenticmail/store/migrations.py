"""The only DDL in the project: named, append-only migration steps.

Each step is data: the SQL statements it runs, in order, in one transaction. A step, once
released, is never edited (``tests/store/test_migrations.py`` holds a digest of every
released step and fails when one changes); schema changes add a new step at the end. No other
module holds DDL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .db import Database

Step = tuple[str, ...]  # SQL statements


_INITIAL = (
    """CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        display_name TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        mail_password_enc TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('master', 'agent')),
        agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT)""",
    "CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        message_id TEXT,
        thread_id TEXT,
        from_addr TEXT,
        to_addrs TEXT,
        subject TEXT,
        date TEXT,
        flags TEXT NOT NULL DEFAULT '[]',
        indexed_at TEXT NOT NULL,
        UNIQUE (agent_id, folder, uidvalidity, uid))""",
    "CREATE INDEX messages_message_id ON messages(message_id)",
    "CREATE INDEX messages_thread_id ON messages(agent_id, thread_id)",
    """CREATE TABLE watch_state (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, folder))""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        agent TEXT,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX events_agent ON events(agent, id)",
    """CREATE TABLE deletions (
        id INTEGER PRIMARY KEY,
        agent_name TEXT NOT NULL,
        address TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        archive_path TEXT NOT NULL,
        report TEXT NOT NULL)""",
)


# the hash-chained audit log (store/audit.py); triggers refuse UPDATE and DELETE
_AUDIT_LOG = (
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX audit_log_action ON audit_log(action, id)",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
)


# the outbox, held mail and sent Message-IDs (store/outbox.py, store/pending.py)
_OUTBOUND = (
    """CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
        message_id TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        local_rcpts TEXT NOT NULL,
        external_rcpts TEXT NOT NULL,
        bcc TEXT NOT NULL DEFAULT '[]',
        raw BLOB NOT NULL,
        thread_id TEXT,
        subject TEXT NOT NULL DEFAULT '',
        idempotency_key TEXT,
        pending_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        delivered_local INTEGER NOT NULL DEFAULT 0,
        delivered_external INTEGER NOT NULL DEFAULT 0,
        external_started REAL,
        in_doubt INTEGER NOT NULL DEFAULT 0,
        filed INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        send_at TEXT,
        created REAL NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT)""",
    "CREATE UNIQUE INDEX outbox_idempotency ON outbox(agent, idempotency_key)",
    "CREATE INDEX outbox_due ON outbox(status, next_attempt_at)",
    "CREATE INDEX outbox_agent_created ON outbox(agent, created)",
    "CREATE INDEX outbox_thread ON outbox(agent, thread_id, created)",
    """CREATE TABLE pending_outbound (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        request TEXT NOT NULL,
        message_id TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        findings TEXT NOT NULL,
        summary TEXT NOT NULL,
        idempotency_key TEXT,
        code_enc TEXT,
        notification_message_id TEXT,
        owner_notified INTEGER NOT NULL DEFAULT 0,
        resolved_by TEXT,
        resolved_at TEXT,
        outbox_id TEXT,
        created REAL NOT NULL,
        created_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX pending_idempotency ON pending_outbound(agent, idempotency_key)",
    "CREATE INDEX pending_notification ON pending_outbound(notification_message_id)",
    """CREATE TABLE sent_messages (
        message_id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        thread_id TEXT,
        sent_at TEXT NOT NULL)""",
)

# the spam log (store/spam.py); messages.security is no longer read since 0007
_INBOUND_PROTECTION = (
    """CREATE TABLE spam_log (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        message_id TEXT,
        from_addr TEXT,
        subject TEXT,
        score INTEGER NOT NULL,
        category TEXT,
        rules TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'spam' CHECK (status IN ('spam', 'not_spam')),
        created_at TEXT NOT NULL)""",
    "CREATE INDEX spam_log_agent ON spam_log(agent, id)",
    "ALTER TABLE messages ADD COLUMN security TEXT",
)

# the relay checkpoint, delivered keys and state (store/relay_state.py)
_RELAY = (
    """CREATE TABLE relay_checkpoint (
        account TEXT PRIMARY KEY,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE relay_delivered (
        message_key TEXT NOT NULL,
        agent TEXT NOT NULL,
        uid INTEGER NOT NULL,
        delivered_at TEXT NOT NULL,
        PRIMARY KEY (message_key, agent))""",
    """CREATE TABLE relay_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mode TEXT NOT NULL DEFAULT 'off',
        connected INTEGER NOT NULL DEFAULT 0,
        last_activity_at TEXT,
        last_error TEXT,
        last_error_at TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_retry_at TEXT,
        delivered INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        approvals INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL)""",
)

# codes kept as HMACs only, notifications queued encrypted, the owner-mail ids
_APPROVAL_HARDENING = (
    # the one-time code is kept only as an HMAC (``code_hash``); old clear-ish codes go
    "ALTER TABLE pending_outbound ADD COLUMN code_hash TEXT",
    "UPDATE pending_outbound SET code_enc = NULL",
    # owner notifications are queued encrypted (``sealed``); sent ones are not needed any more
    "ALTER TABLE outbox ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0",
    "UPDATE outbox SET raw = X'' WHERE agent = '_system' AND status IN ('sent', 'failed')",
    "CREATE INDEX outbox_message_id ON outbox(message_id)",
    """CREATE TABLE owner_mail (
        message_id TEXT PRIMARY KEY,
        pending_id TEXT,
        created_at TEXT NOT NULL)""",
    "INSERT OR IGNORE INTO owner_mail (message_id, pending_id, created_at) "
    "SELECT lower(notification_message_id), id, created_at FROM pending_outbound "
    "WHERE notification_message_id IS NOT NULL",
    "INSERT OR IGNORE INTO owner_mail (message_id, pending_id, created_at) "
    "SELECT lower(message_id), NULL, created_at FROM outbox WHERE agent = '_system'",
)

# verdicts keyed by the message bytes (store/verdicts.py), not its Message-ID
_VERDICTS_BY_MESSAGE = (
    """CREATE TABLE verdicts (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        content_sha256 TEXT NOT NULL,
        security TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, content_sha256))""",
)


# Tables whose rows belong to one agent but were keyed by its name, with the column giving
# each row's time (to tell a row of an earlier agent of the same name from the current one's).
_OWNED_BY_NAME = (  # (table, time column, index on agent_id)
    ("events", "created_at", "agent_id, id"),
    ("outbox", "created_at", "agent_id, created"),
    ("pending_outbound", "created_at", "agent_id, created"),
    ("spam_log", "created_at", "agent_id, id"),
    ("relay_delivered", "delivered_at", "agent_id"),
    ("sent_messages", "sent_at", "agent_id"),
)

_AGENT_IDENTITY = (
    # The highest agent id ever given. ``agents.id`` is a plain INTEGER PRIMARY KEY, so SQLite
    # would hand the newest agent's id to the next one after a delete; rebuilding the table
    # with AUTOINCREMENT would need foreign keys off (DROP TABLE would cascade-delete keys,
    # index and checkpoints), which cannot be switched inside a migration's transaction.
    """CREATE TABLE agent_id_seq (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last INTEGER NOT NULL)""",
    "INSERT INTO agent_id_seq (id, last) SELECT 1, coalesce(max(id), 0) FROM agents",
    """CREATE TRIGGER agents_id_never_reused AFTER INSERT ON agents BEGIN
        SELECT RAISE(ABORT, 'agent ids are never reused')
            WHERE NEW.id <= (SELECT last FROM agent_id_seq);
        UPDATE agent_id_seq SET last = NEW.id;
    END""",
    """CREATE TRIGGER agents_id_fixed BEFORE UPDATE OF id ON agents BEGIN
        SELECT RAISE(ABORT, 'an agent id never changes');
    END""",
    "ALTER TABLE deletions ADD COLUMN agent_id INTEGER",
)


# Every row an agent owns carries its never-reused id; reads filter by it. Existing rows get the
# id of the live agent of that name, unless they are older than it (a deleted agent's rows,
# which a re-created name would otherwise inherit): those keep no id and so are the owner's
# alone, and give up their idempotency keys (a name-keyed unique index would otherwise refuse
# the new agent's first use of the same key).
_AGENT_IDENTITY_STEP: Step = (
    *_AGENT_IDENTITY,
    *(statement for table, at, indexed in _OWNED_BY_NAME for statement in (
        f"ALTER TABLE {table} ADD COLUMN agent_id INTEGER",
        f"UPDATE {table} SET agent_id = (SELECT a.id FROM agents a WHERE "
        f"a.name = {table}.agent AND a.created_at <= {table}.{at})",
        f"CREATE INDEX {table}_agent_id ON {table}({indexed})")),
    *(f"UPDATE {table} SET idempotency_key = NULL WHERE agent_id IS NULL"
      for table in ("outbox", "pending_outbound")),
)


# named agent keys (several per agent, each separately revocable, one per tool); the subject
# key JWZ threading falls back to and a short sanitised snippet in the index; drafts
_AGENT_MAIL_OPS: Step = (
    "ALTER TABLE api_keys ADD COLUMN name TEXT",
    """CREATE UNIQUE INDEX api_keys_agent_name ON api_keys(agent_id, name)
        WHERE name IS NOT NULL AND revoked_at IS NULL""",
    "ALTER TABLE messages ADD COLUMN subject_norm TEXT",
    "ALTER TABLE messages ADD COLUMN snippet TEXT",
    "CREATE INDEX messages_subject_norm ON messages(agent_id, subject_norm)",
    """CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uid INTEGER,
        message_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX drafts_agent ON drafts(agent_id, updated_at)",
)


# Sends retry by time, not by count (``services/delivery.py``): when ``message.delayed`` was
# announced (once per message), and why the Sent copy of a delivered message was given up
# (it is retried on its own until then).
_OUTBOX_RETRY_BUDGET: Step = (
    "ALTER TABLE outbox ADD COLUMN delayed_at REAL",
    "ALTER TABLE outbox ADD COLUMN file_error TEXT",
)


# Outgoing webhooks (store/webhooks.py): the endpoints (secrets encrypted), one queued message
# per endpoint and event (written in the event's own transaction, delivered in id order per
# endpoint) and every delivery attempt with its outcome (what status, doctor and /metrics read).
_WEBHOOKS: Step = (
    """CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE,
        agent TEXT,
        url TEXT NOT NULL,
        events TEXT NOT NULL DEFAULT '[]',
        description TEXT NOT NULL DEFAULT '',
        secret_enc TEXT NOT NULL,
        owner_url INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        disabled_reason TEXT,
        failing_since REAL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX webhook_endpoints_agent ON webhook_endpoints(agent_id)",
    """CREATE TABLE webhook_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL)""",
    "CREATE INDEX webhook_messages_queue ON webhook_messages(endpoint_id, status, id)",
    "CREATE UNIQUE INDEX webhook_messages_webhook_id ON webhook_messages(endpoint_id, webhook_id)",
    """CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
        endpoint_id TEXT NOT NULL,
        agent_id INTEGER,
        event_type TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status_code INTEGER,
        duration_ms REAL NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        at REAL NOT NULL)""",
    "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id)",
    "CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at)",
)


_SEARCH_INDEX: Step = (
    # One row per message in any folder of an agent's mailbox; the full-text columns live in
    # search_fts under the same rowid. ``flags`` is a JSON list (system flags and keywords).
    """CREATE TABLE search_docs (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        message_id TEXT,
        from_addr TEXT NOT NULL,
        to_addrs TEXT NOT NULL,
        subject TEXT NOT NULL,
        date TEXT,
        date_ts REAL NOT NULL,
        flags TEXT NOT NULL,
        seen INTEGER NOT NULL,
        has_attachment INTEGER NOT NULL,
        size INTEGER NOT NULL,
        UNIQUE (agent_id, folder, uid))""",
    "CREATE INDEX search_docs_date ON search_docs(agent_id, date_ts)",
    # ``scope`` holds one token naming the agent (``a<id>``), so a per-agent query can be an
    # FTS5 intersection rather than a filter over every agent's matches; prefix indexes make
    # ``ab*``, ``abc*`` and ``abcd*`` lookups rather than scans of the vocabulary.
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        scope, subject, sender, recipients, body, attachments,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4')""",
    # bm25 weights per column: subject and sender above recipients, attachments and body
    "INSERT INTO search_fts (search_fts, rank) "
    "VALUES ('rank', 'bm25(0.0, 6.0, 4.0, 2.0, 1.0, 2.0)')",
    """CREATE TRIGGER search_docs_gone AFTER DELETE ON search_docs BEGIN
        DELETE FROM search_fts WHERE rowid = old.id;
    END""",
    # Embeddings (float32, L2-normalised) of a document, by the model that made them.
    """CREATE TABLE search_vectors (
        doc_id INTEGER PRIMARY KEY REFERENCES search_docs(id) ON DELETE CASCADE,
        agent_id INTEGER NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL)""",
    "CREATE INDEX search_vectors_agent ON search_vectors(agent_id)",
    # Per-agent state of the index: when it was last rebuilt from the mailbox.
    """CREATE TABLE search_state (
        agent_id INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
        rebuilt_at TEXT)""",
)


# issue 12 (organising): per-agent tags (each an IMAP keyword on the messages it marks),
# ordered server-side rules (conditions and actions as JSON) and the address book (filled
# from correspondents; ``status`` block/allow is honoured by the inbound path)
_TAGS_RULES_CONTACTS: Step = (
    """CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        keyword TEXT NOT NULL COLLATE NOCASE,
        color TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (agent_id, name),
        UNIQUE (agent_id, keyword))""",
    """CREATE TABLE rules (
        id TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        position INTEGER NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        match TEXT NOT NULL DEFAULT 'all' CHECK (match IN ('all', 'any')),
        conditions TEXT NOT NULL,
        actions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (agent_id, name))""",
    "CREATE INDEX rules_agent ON rules(agent_id, position)",
    """CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        name TEXT,
        notes TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        status TEXT CHECK (status IN ('block', 'allow')),
        received INTEGER NOT NULL DEFAULT 0,
        sent INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT,
        last_seen TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (agent_id, address))""",
    "CREATE INDEX contacts_last_seen ON contacts(agent_id, last_seen)",
)


# issue 12 (organising, part b): per-agent signatures (one default) and mail templates; tasks
# one agent assigns another (claimed by one conditional UPDATE); a scheduled send the agent
# cancelled (status 'failed' with the time it was cancelled: the status CHECK stays as it is)
_SIGNATURES_TEMPLATES_TASKS: Step = (
    """CREATE TABLE signatures (
        id TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        text TEXT,
        html TEXT,
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (agent_id, name))""",
    "CREATE UNIQUE INDEX signatures_default ON signatures(agent_id) WHERE is_default = 1",
    """CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        text TEXT,
        html TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (agent_id, name))""",
    """CREATE TABLE agent_tasks (
        id TEXT PRIMARY KEY,
        assigner_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
        assigner TEXT NOT NULL,
        assignee_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        assignee TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'assigned'
            CHECK (status IN ('assigned', 'claimed', 'completed', 'failed')),
        result TEXT,
        deadline REAL,
        created REAL NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        claimed_at TEXT,
        finished_at TEXT)""",
    "CREATE INDEX agent_tasks_assignee ON agent_tasks(assignee_id, status, created)",
    "CREATE INDEX agent_tasks_assigner ON agent_tasks(assigner_id, created)",
    "ALTER TABLE outbox ADD COLUMN cancelled_at TEXT",
)


# Bounces and suppression: what bounces said about a sent message (JSON, ``services/bounces``:
# the row reads 'bounced' once a recipient failed; the stored status stays 'sent', so the
# status CHECK stays as it is), and the addresses each agent no longer mails (hard bounces,
# complaints, unsubscribes, by hand)
_BOUNCES: Step = (
    "ALTER TABLE outbox ADD COLUMN bounce TEXT",
    """CREATE TABLE suppressions (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT,
        source TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, address))""",
)


# Domain mode's inbound endpoint (``services/domain_inbound``): the webhook ids of the signed
# deliveries it accepted, each kept until its timestamp is out of the tolerance window (a
# replay is refused; older ones are refused by their timestamp), and the (Message-ID, agent)
# log that makes a message delivered once per agent however often the Worker posts it
_DOMAIN_INBOUND: Step = (
    """CREATE TABLE domain_webhook_seen (
        webhook_id TEXT PRIMARY KEY,
        expires REAL NOT NULL)""",
    "CREATE INDEX domain_webhook_seen_expires ON domain_webhook_seen(expires)",
    # the agent's rows go with it (store/deletions.OWNED_TABLES), as relay_delivered's do
    """CREATE TABLE domain_delivered (
        message_key TEXT NOT NULL,
        agent TEXT NOT NULL,
        agent_id INTEGER,
        webhook_id TEXT NOT NULL,
        delivered_at TEXT NOT NULL,
        PRIMARY KEY (message_key, agent))""",
)


# DMARC aggregate reports sent to domain mode's rua address (services/dmarc_reports): one row
# per report, deduplicated by (reporting organisation, report id); its records as rows.
_DMARC_REPORTS = (
    """CREATE TABLE dmarc_reports (
        id INTEGER PRIMARY KEY,
        org_name TEXT NOT NULL,
        report_id TEXT NOT NULL,
        email TEXT NOT NULL,
        domain TEXT NOT NULL,
        begin_at TEXT NOT NULL,
        end_at TEXT NOT NULL,
        policy TEXT NOT NULL,
        errors TEXT NOT NULL DEFAULT '[]',
        messages INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (org_name, report_id))""",
    "CREATE INDEX dmarc_reports_end ON dmarc_reports(end_at)",
    """CREATE TABLE dmarc_rows (
        id INTEGER PRIMARY KEY,
        report INTEGER NOT NULL REFERENCES dmarc_reports(id) ON DELETE CASCADE,
        source_ip TEXT NOT NULL,
        count INTEGER NOT NULL,
        disposition TEXT NOT NULL,
        dkim TEXT NOT NULL,
        spf TEXT NOT NULL,
        header_from TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        envelope_to TEXT NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        auth_dkim TEXT NOT NULL DEFAULT '[]',
        auth_spf TEXT NOT NULL DEFAULT '[]')""",
    "CREATE INDEX dmarc_rows_report ON dmarc_rows(report)",
)


MIGRATIONS: list[tuple[str, Step]] = [
    ("0001_initial", _INITIAL),
    ("0002_audit_log", _AUDIT_LOG),
    ("0003_outbound", _OUTBOUND),
    ("0004_inbound_protection", _INBOUND_PROTECTION),
    ("0005_relay", _RELAY),
    ("0006_approval_hardening", _APPROVAL_HARDENING),
    ("0007_verdicts_by_message", _VERDICTS_BY_MESSAGE),
    ("0008_agent_identity", _AGENT_IDENTITY_STEP),
    ("0009_agent_mail_ops", _AGENT_MAIL_OPS),
    ("0010_outbox_retry_budget", _OUTBOX_RETRY_BUDGET),
    ("0011_webhooks", _WEBHOOKS),
    ("0012_bounces", _BOUNCES),
    ("0013_search_index", _SEARCH_INDEX),
    ("0014_tags_rules_contacts", _TAGS_RULES_CONTACTS),
    ("0015_signatures_templates_tasks", _SIGNATURES_TEMPLATES_TASKS),
    ("0016_domain_inbound", _DOMAIN_INBOUND),
    ("0017_dmarc_reports", _DMARC_REPORTS),
]


def applied(database: Database) -> list[str]:
    if "_migrations" not in database.utils.table_names():
        return []
    return [r["name"] for r in database.query("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(database: Database, *, stop_before: str | None = None) -> list[str]:
    """Apply every pending step, each in its own transaction; return the names applied.
    ``stop_before`` stops short of the named step (tests build an older schema with it)."""
    names = [name for name, _ in MIGRATIONS]
    if stop_before is not None and stop_before not in names:
        raise ValueError(f"no migration step named {stop_before!r}")
    done_now: list[str] = []
    with database.write():
        if "_migrations" not in database.utils.table_names():
            database.utils.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
    for name, step in MIGRATIONS:
        if name == stop_before:
            break
        if name in applied(database):
            continue
        with database.write() as conn:
            conn.execute("PRAGMA defer_foreign_keys=ON")
            for statement in step:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        done_now.append(name)
    return done_now
