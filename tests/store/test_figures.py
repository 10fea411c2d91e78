"""The webhook hook of the metrics: deliveries are reported from ``webhook_deliveries`` as
soon as that table exists (outcome counter, response-time histogram, failing endpoints), with
the columns the webhooks feature writes; before it exists, nothing is reported."""

from __future__ import annotations

import sqlite3

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agenticmail.services.metrics import WEBHOOK_BUCKETS, webhook_families
from agenticmail.store.figures import FAILING_WINDOW, message_counts, webhook_deliveries


def _deliveries() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY, endpoint_id TEXT, "
                 "outcome TEXT, status_code INTEGER, duration_ms REAL)")
    rows = [("we_ok", "success", 200, 40.0), ("we_ok", "failure", 500, 900.0)]
    rows += [("we_down", "failure", 503, 3000.0)] * FAILING_WINDOW
    rows += [("we_ok", "success", 200, 120.0)]
    conn.executemany("INSERT INTO webhook_deliveries (endpoint_id, outcome, status_code, "
                     "duration_ms) VALUES (?, ?, ?, ?)", rows)
    return conn


def test_no_table_no_webhook_figures() -> None:
    assert webhook_deliveries(sqlite3.connect(":memory:"), WEBHOOK_BUCKETS) is None


def test_deliveries_by_outcome_in_buckets_and_the_failing_endpoints() -> None:
    found = webhook_deliveries(_deliveries(), WEBHOOK_BUCKETS)
    assert found is not None
    assert found.by_outcome == {"success": 2, "failure": FAILING_WINDOW + 1}
    assert found.timed == FAILING_WINDOW + 3
    assert found.buckets[0.05] == 1 and found.buckets[0.25] == 2 and found.buckets[1.0] == 3
    assert found.buckets[5.0] == FAILING_WINDOW + 3
    assert round(found.seconds, 3) == round((40 + 900 + 120 + 3000 * FAILING_WINDOW) / 1000, 3)
    assert found.failing_endpoints == ["we_down"]


class _Families:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def collect(self):  # type: ignore[no-untyped-def]
        found = webhook_deliveries(self.conn, WEBHOOK_BUCKETS)
        assert found is not None
        return webhook_families(found)


def test_exposed_as_a_counter_and_a_histogram() -> None:
    registry = CollectorRegistry()
    registry.register(_Families(_deliveries()))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(generate_latest(registry).decode())
               for s in f.samples}
    assert samples[("agenticmail_webhook_deliveries_total", (("outcome", "failure"),))] \
        == FAILING_WINDOW + 1
    assert samples[("agenticmail_webhook_delivery_duration_seconds_bucket", (("le", "+Inf"),))] \
        == FAILING_WINDOW + 3
    assert samples[("agenticmail_webhook_delivery_duration_seconds_bucket", (("le", "0.25"),))] \
        == 2
    assert samples[("agenticmail_webhook_delivery_duration_seconds_count", ())] \
        == FAILING_WINDOW + 3


def test_a_bounced_message_stays_counted_as_sent() -> None:
    """A bounce marks a sent outbox row (its ``bounce`` says a recipient failed; the row stays
    'sent'): counted as bounced, and the sent count does not go down (a Prometheus counter
    never decreases)."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        "CREATE TABLE agents (id INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE verdicts (agent_id INTEGER, content_sha256 TEXT);"
        "CREATE TABLE outbox (agent TEXT, status TEXT, bounce TEXT);"
        "CREATE TABLE pending_outbound (agent TEXT);"
        "INSERT INTO agents VALUES (1, 'alice');"
        "INSERT INTO outbox VALUES ('alice', 'sent', NULL), ('alice', 'sent', NULL), "
        "('alice', 'failed', NULL);")
    assert message_counts(conn)["alice"] == {"received": 0, "sent": 2, "failed": 1}
    conn.execute("""UPDATE outbox SET bounce = '{"failed": false}' WHERE rowid = 2""")
    assert message_counts(conn)["alice"] == {"received": 0, "sent": 2, "failed": 1}
    conn.execute("""UPDATE outbox SET bounce = '{"failed": true}' WHERE rowid = 1""")
    assert message_counts(conn)["alice"] == {"received": 0, "sent": 2, "failed": 1, "bounced": 1}
