"""The daemon's metrics: Prometheus text for ``GET /metrics`` and the same figures as JSON for
``agenticmail status``.

One :class:`Metrics` per API application, with a registry of its own (two daemons in one
process never share a series). Two kinds of figures:

* read at scrape time (:class:`StateCollector`): message counts by agent, the outbox queue and
  the filter's verdicts are counted from the database (:mod:`agenticmail.store.figures`), so
  they survive a restart and no code path has to remember to bump one; the daemon's
  components and watchers come from the live runtime report, the mail host from asking it;
* observed as they happen: API request latency, by route *template* (``/v1/agents/{name}``,
  never the raw path: the series stay bounded whatever paths callers try).

Webhook deliveries are reported from the ``webhook_deliveries`` table whenever it exists
(outcome counter and response-time histogram; see ``store.figures.webhook_deliveries`` for the
columns read): installing the webhooks feature needs no change here.

Every metric name is listed in ``METRIC_NAMES`` (and in README.md, kept in step by a test).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from .. import __version__
from ..errors import AgenticMailError
from ..store import figures as store_figures
from .context import ServiceContext

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
PREFIX = "agenticmail_"
MESSAGE_EVENTS = ("received", "sent", "held", "failed", "bounced")
COMPONENT_STATES = ("starting", "running", "failed", "restarting", "stopped")
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WEBHOOK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
UNMATCHED_ROUTE = "<unmatched>"  # a path no route serves (one series for all of them)

RuntimeStatus = Callable[[], Mapping[str, Any]]
"""The running daemon's own report (``Daemon.status``: components, watchers, uptime)."""

# name (as exposed, without the _total/_bucket suffixes) -> what it counts
METRIC_NAMES: dict[str, str] = {
    "agenticmail_build_info": "the running version",
    "agenticmail_daemon_uptime_seconds": "seconds since the daemon started",
    "agenticmail_messages_total": "messages by agent and event (received, sent, held, failed, "
                                  "bounced), counted from the database",
    "agenticmail_outbox_depth": "outbox rows waiting to go out, by status (queued, sending)",
    "agenticmail_outbox_oldest_age_seconds": "age of the oldest waiting outbox row (0: none)",
    "agenticmail_outbox_overdue": "queued rows more than outbox_stuck_minutes past their due "
                                  "time",
    "agenticmail_filter_verdicts_total": "inbound filter verdicts by verdict (clean, warning, "
                                         "spam) and category",
    "agenticmail_watcher_connected": "1 while an agent's IDLE watcher is connected",
    "agenticmail_watcher_reconnects_total": "an agent's watcher reconnects since the daemon "
                                            "started",
    "agenticmail_watcher_crashes_total": "an agent's watcher thread restarts after a crash",
    "agenticmail_component_up": "1 while a daemon component is running",
    "agenticmail_component_state": "a daemon component's state (1 for the current one)",
    "agenticmail_component_restarts_total": "a daemon component's restarts by the supervisor",
    "agenticmail_mail_host_up": "1 while the mail host is healthy",
    "agenticmail_storage_writable": "1 while the database can be written",
    "agenticmail_api_request_duration_seconds": "API request latency by method and route "
                                                "template (histogram)",
    "agenticmail_api_requests_total": "API requests by method, route template and status",
    "agenticmail_webhook_deliveries_total": "webhook deliveries by outcome (when webhooks are "
                                            "installed)",
    "agenticmail_webhook_delivery_duration_seconds": "webhook response times (histogram, when "
                                                     "webhooks are installed)",
}


def collect_figures(ctx: ServiceContext) -> store_figures.Figures:
    """Every database figure, from one snapshot."""
    return store_figures.collect(ctx.db, now=time.time(),
                                 late=ctx.settings.outbox_stuck_minutes * 60.0,
                                 webhook_buckets=WEBHOOK_BUCKETS)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _doc(name: str) -> str:
    return METRIC_NAMES[name]


class StateCollector:
    """Reads the database, the runtime report and the mail host each time it is collected."""

    def __init__(self, ctx: ServiceContext, runtime: RuntimeStatus | None) -> None:
        self.ctx, self.runtime = ctx, runtime

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not read the database: the names are checked at scrape

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("agenticmail_build", _doc("agenticmail_build_info"))
        info.add_metric([], {"version": __version__})
        yield info
        yield from self._store()
        yield from self._runtime()
        yield from self._health()

    def _store(self) -> Iterator[Metric]:
        try:
            found = collect_figures(self.ctx)
        except AgenticMailError as exc:  # the database is unreadable: storage says so below
            log.warning("metrics: cannot read the database: %s", exc.message)
            return
        messages = _counter("agenticmail_messages", _doc("agenticmail_messages_total"),
                            ["agent", "event"])
        for agent, counts in sorted(found.messages.items()):
            for event in MESSAGE_EVENTS:
                messages.add_metric([agent, event], counts.get(event, 0))
        yield messages
        depth = _gauge("agenticmail_outbox_depth", _doc("agenticmail_outbox_depth"), ["status"])
        for status, n in found.outbox.depth.items():
            depth.add_metric([status], n)
        yield depth
        oldest = found.outbox.oldest_created
        yield _single(_gauge("agenticmail_outbox_oldest_age_seconds",
                             _doc("agenticmail_outbox_oldest_age_seconds")),
                      0.0 if oldest is None else max(0.0, time.time() - oldest))
        yield _single(_gauge("agenticmail_outbox_overdue", _doc("agenticmail_outbox_overdue")),
                      found.outbox.overdue)
        verdicts = _counter("agenticmail_filter_verdicts",
                            _doc("agenticmail_filter_verdicts_total"), ["verdict", "category"])
        for (verdict, category), n in sorted(found.verdicts.items()):
            verdicts.add_metric([verdict, category], n)
        yield verdicts
        if found.webhooks is not None:
            yield from webhook_families(found.webhooks)

    def _runtime(self) -> Iterator[Metric]:
        report = self.runtime() if self.runtime is not None else {}
        uptime = report.get("uptime_seconds")
        if uptime is not None:
            yield _single(_gauge("agenticmail_daemon_uptime_seconds",
                                 _doc("agenticmail_daemon_uptime_seconds")), float(uptime))
        components = _map(report.get("components"))
        up = _gauge("agenticmail_component_up", _doc("agenticmail_component_up"), ["component"])
        state = _gauge("agenticmail_component_state", _doc("agenticmail_component_state"),
                       ["component", "state"])
        restarts = _counter("agenticmail_component_restarts",
                            _doc("agenticmail_component_restarts_total"), ["component"])
        for name, c in components.items():
            now = _map(c).get("state")
            up.add_metric([name], 1.0 if now == "running" else 0.0)
            for s in COMPONENT_STATES:
                state.add_metric([name, s], 1.0 if now == s else 0.0)
            restarts.add_metric([name], int(_map(c).get("restarts") or 0))
        yield from (up, state, restarts)
        watchers = _map(report.get("watchers"))
        connected = _gauge("agenticmail_watcher_connected", _doc("agenticmail_watcher_connected"),
                           ["agent"])
        reconnects = _counter("agenticmail_watcher_reconnects",
                              _doc("agenticmail_watcher_reconnects_total"), ["agent"])
        crashes = _counter("agenticmail_watcher_crashes",
                           _doc("agenticmail_watcher_crashes_total"), ["agent"])
        for agent, w in sorted(watchers.items()):
            connected.add_metric([agent], 1.0 if _map(w).get("connected") else 0.0)
            reconnects.add_metric([agent], int(_map(w).get("reconnects") or 0))
            crashes.add_metric([agent], int(_map(w).get("crashes") or 0))
        yield from (connected, reconnects, crashes)

    def _health(self) -> Iterator[Metric]:
        host = self.ctx.host
        try:
            ok = host.health().ok
        except AgenticMailError:
            ok = False
        yield _single(_gauge("agenticmail_mail_host_up", _doc("agenticmail_mail_host_up"),
                             ["kind"]), 1.0 if ok else 0.0, [str(host.kind)])
        yield _single(_gauge("agenticmail_storage_writable",
                             _doc("agenticmail_storage_writable")),
                      0.0 if self.ctx.db.problem() else 1.0)


def _single(family: GaugeMetricFamily, value: float, labels: list[str] | None = None
            ) -> GaugeMetricFamily:
    family.add_metric(labels or [], value)
    return family


def webhook_families(found: store_figures.WebhookDeliveries) -> Iterator[Metric]:
    """The webhook deliveries as metric families: outcomes (counter), response times
    (histogram over WEBHOOK_BUCKETS)."""
    outcomes = _counter("agenticmail_webhook_deliveries",
                        _doc("agenticmail_webhook_deliveries_total"), ["outcome"])
    for outcome, n in sorted(found.by_outcome.items()):
        outcomes.add_metric([outcome], n)
    yield outcomes
    buckets = [(str(bound), float(found.buckets.get(bound, 0))) for bound in WEBHOOK_BUCKETS]
    buckets.append(("+Inf", float(found.timed)))
    yield HistogramMetricFamily("agenticmail_webhook_delivery_duration_seconds",
                                _doc("agenticmail_webhook_delivery_duration_seconds"),
                                buckets=buckets, sum_value=found.seconds)


class Metrics:
    """One API application's metrics: the scrape-time collector and the request latencies."""

    content_type = CONTENT_TYPE

    def __init__(self, ctx: ServiceContext, runtime: RuntimeStatus | None = None) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "agenticmail_api_request_duration_seconds",
            _doc("agenticmail_api_request_duration_seconds"), ["method", "route"],
            buckets=API_BUCKETS, registry=self.registry)
        self.requests = Counter(
            "agenticmail_api_requests", _doc("agenticmail_api_requests_total"),
            ["method", "route", "status"], registry=self.registry)
        self.registry.register(StateCollector(ctx, runtime))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One API request answered: its latency and status, by route template."""
        self.latency.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition (reads the database and asks the mail host)."""
        return generate_latest(self.registry)

    def api_figures(self) -> dict[str, dict[str, float]]:
        """``"METHOD /route" -> {requests, mean_ms}`` since the daemon started (read from the
        latency histogram's count and sum)."""
        seen: dict[str, dict[str, float]] = {}
        for family in self.latency.collect():
            for sample in family.samples:
                kind = sample.name.removeprefix(family.name)
                if kind in ("_count", "_sum"):
                    key = f"{sample.labels['method']} {sample.labels['route']}"
                    seen.setdefault(key, {})[kind] = sample.value
        return {key: {"requests": int(v["_count"]),
                      "mean_ms": round(v["_sum"] / v["_count"] * 1000, 1)}
                for key, v in sorted(seen.items()) if v.get("_count")}


def summary(ctx: ServiceContext, metrics: Metrics | None = None) -> dict[str, Any]:
    """The figures ``/metrics`` exposes, as JSON for people (``agenticmail status``): messages
    by agent, the outbox queue, filter verdicts, webhook deliveries (when installed) and API
    requests by route. The runtime parts (components, watchers, mail host) are in the health
    report already."""
    found = collect_figures(ctx)
    oldest = found.outbox.oldest_created
    report: dict[str, Any] = {
        "messages": {agent: {e: counts.get(e, 0) for e in MESSAGE_EVENTS}
                     for agent, counts in sorted(found.messages.items())},
        "outbox": {**found.outbox.depth,
                   "oldest_age_seconds": None if oldest is None
                   else round(max(0.0, time.time() - oldest), 1),
                   "overdue": found.outbox.overdue},
        "filter": {f"{verdict}/{category}" if category != "none" else verdict: n
                   for (verdict, category), n in sorted(found.verdicts.items())},
    }
    if found.webhooks is not None:
        hooks = found.webhooks
        report["webhooks"] = {
            "by_outcome": dict(sorted(hooks.by_outcome.items())),
            "mean_ms": round(hooks.seconds / hooks.timed * 1000, 1) if hooks.timed else None,
            "failing_endpoints": hooks.failing_endpoints}
    if metrics is not None:
        report["api"] = metrics.api_figures()
    return report
