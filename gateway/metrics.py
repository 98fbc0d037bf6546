"""Prometheus metrics of one gateway app, served at /metrics: a registry per app, labels kept bounded."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, get_args

from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from gateway.upstream.readcache import OUTCOMES as READ_OUTCOMES

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gateway.live.hub import JobStateHub
    from gateway.upstream import UpstreamClient

# `_created` series would double every counter's series for a start time Prometheus does not read from
# the text format.
disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated in prometheus-client

PREFIX = "metastudio_gateway"
OPERATION_TYPES = ("query", "mutation", "subscription", "unknown")
Outcome = Literal["ok", "client_error", "refused", "upstream_error", "internal"]
# Refusals for rate reasons; the label takes no other value.
RateLimitReason = Literal[
    "subscriptions_per_connection",
    "subscriptions_per_caller",
    "subscriptions_total",
    "call_budget",
    "request_rate",
]
# The Literal says the values once; the tuple is read from it.
RATE_LIMIT_REASONS: tuple[RateLimitReason, ...] = get_args(RateLimitReason)
# Why a caller's bearer token was refused (GATEWAY_CLIENT_AUTH=jwt); the label takes no other value.
UnauthenticatedReason = Literal[
    "missing",
    "malformed",
    "bad_algorithm",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "bad_claims",
]
UNAUTHENTICATED_REASONS: tuple[UnauthenticatedReason, ...] = get_args(UnauthenticatedReason)
# The worse outcome wins when one request has errors of several classes.
_SEVERITY: dict[Outcome, int] = {"ok": 0, "client_error": 1, "refused": 2, "upstream_error": 3, "internal": 4}
_CODE_OUTCOMES: dict[str, Outcome] = {
    "RATE_LIMITED": "refused",
    "OPERATION_LIMIT_EXCEEDED": "refused",
    "UPSTREAM_ERROR": "upstream_error",
    "UPSTREAM_TIMEOUT": "upstream_error",
    "UPSTREAM_UNAVAILABLE": "upstream_error",
    "INTERNAL": "internal",
}
# GraphQL answers take milliseconds to a few upstream round trips; subscriptions last minutes.
_GRAPHQL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
_UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The app's metrics; `rate_limited` is what a refusal for rate reasons calls."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.graphql_requests = self._counter(
            "graphql_requests",
            "GraphQL operations by type and outcome (ok, or the class of their worst error).",
            ["operation_type", "outcome"],
        )
        self.graphql_duration = self._histogram(
            "graphql_request_duration_seconds",
            "Time from parsing to the last result of a GraphQL operation (a subscription's whole life).",
            ["operation_type"],
            _GRAPHQL_BUCKETS,
        )
        self.upstream_requests = self._counter(
            "upstream_requests",
            "HTTP requests to MetaStudio (each attempt) by operation and HTTP status or transport outcome.",
            ["operation", "status"],
        )
        self.upstream_duration = self._histogram(
            "upstream_request_duration_seconds",
            "Time of one HTTP request to MetaStudio, waiting for a pooled connection included.",
            ["operation"],
            _UPSTREAM_BUCKETS,
        )
        self.subscriptions_active = Gauge(
            f"{PREFIX}_subscriptions_active",
            "Subscriptions running now, over every transport.",
            registry=self.registry,
        )
        self.rate_limited_total = self._counter(
            "rate_limited", "Requests or subscriptions the gateway refused for rate reasons.", ["reason"]
        )
        self.unauthenticated_total = self._counter(
            "unauthenticated",
            "Requests and WebSocket connections refused for their bearer token, by reason.",
            ["reason"],
        )
        # Every reason is a series from the start, at 0, so a first refusal shows as an increase.
        for reason in RATE_LIMIT_REASONS:
            self.rate_limited_total.labels(reason)
        for unauthenticated in UNAUTHENTICATED_REASONS:
            self.unauthenticated_total.labels(unauthenticated)
        self.hub: JobStateHub | None = None
        self.upstream: UpstreamClient | None = None
        self.registry.register(_LiveFigures(self))
        # Children looked up once: `labels()` costs a lock and a tuple per call.
        self._requests: dict[tuple[str, str], Any] = {}
        self._durations = {kind: self.graphql_duration.labels(kind) for kind in OPERATION_TYPES}
        self._upstream: dict[tuple[str, str], Any] = {}
        self._upstream_durations: dict[str, Any] = {}

    def _counter(self, name: str, documentation: str, labels: list[str]) -> Counter:
        return Counter(f"{PREFIX}_{name}", documentation, labels, registry=self.registry)

    def _histogram(
        self, name: str, documentation: str, labels: list[str], buckets: tuple[float, ...]
    ) -> Histogram:
        return Histogram(f"{PREFIX}_{name}", documentation, labels, buckets=buckets, registry=self.registry)

    def graphql_request(self, operation_type: str, outcome: Outcome, seconds: float) -> None:
        key = (operation_type, outcome)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.graphql_requests.labels(operation_type, outcome)
        child.inc()
        self._durations[operation_type].observe(seconds)

    def upstream_request(self, operation: str, status: str, seconds: float) -> None:
        key = (operation, status)
        child = self._upstream.get(key)
        if child is None:
            child = self._upstream[key] = self.upstream_requests.labels(operation, status)
        child.inc()
        duration = self._upstream_durations.get(operation)
        if duration is None:
            duration = self._upstream_durations[operation] = self.upstream_duration.labels(operation)
        duration.observe(seconds)

    def rate_limited(self, reason: RateLimitReason) -> None:
        if reason not in RATE_LIMIT_REASONS:
            raise ValueError(f"unknown rate limit reason {reason!r}")
        self.rate_limited_total.labels(reason).inc()

    def unauthenticated(self, reason: UnauthenticatedReason) -> None:
        if reason not in UNAUTHENTICATED_REASONS:
            raise ValueError(f"unknown unauthenticated reason {reason!r}")
        self.unauthenticated_total.labels(reason).inc()


def metrics_of(app: Starlette) -> Metrics:
    """The metrics of the app serving a request (`request.app`)."""
    metrics: Metrics = app.state.metrics
    return metrics


def rate_limited(app: Starlette, reason: RateLimitReason) -> None:
    """Count one refusal for rate reasons in the app's metrics."""
    metrics_of(app).rate_limited(reason)


class _LiveFigures(Collector):
    """Figures read when scraped, costing requests nothing: watched jobs, upstream pool starvation, and
    the read cache's counts, kept as plain integers by the cache itself."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        hub, upstream = self._metrics.hub, self._metrics.upstream
        jobs = GaugeMetricFamily(f"{PREFIX}_watched_jobs", "Jobs whose state this replica follows now.")
        jobs.add_metric([], hub.counts()["jobs"] if hub is not None else 0)
        yield jobs
        starved = GaugeMetricFamily(
            f"{PREFIX}_upstream_pool_starved_seconds",
            "Seconds during which upstream calls waited in vain for a connection and none got one.",
        )
        starved.add_metric([], upstream.pool_starved_for() if upstream is not None else 0.0)
        yield starved
        reads = upstream.reads if upstream is not None else None
        lookups = CounterMetricFamily(
            f"{PREFIX}_read_cache_lookups",
            "Upstream reads by how they were answered: hit (a kept answer), coalesced (a call in flight), "
            "revalidated (a stale show answer proved current by a list call), miss (a call of their own), "
            "bypass (live-state polls, which read the upstream itself).",
            labels=["outcome"],
        )
        for outcome in READ_OUTCOMES:
            lookups.add_metric([outcome], reads.counts[outcome] if reads is not None else 0)
        yield lookups
        entries = GaugeMetricFamily(f"{PREFIX}_read_cache_entries", "Upstream answers kept now.")
        entries.add_metric([], len(reads) if reads is not None else 0)
        yield entries
        kept = GaugeMetricFamily(
            f"{PREFIX}_read_cache_bytes",
            "Bytes of the upstream answers kept now: their JSON and an estimate of what indexing them costs.",
        )
        kept.add_metric([], reads.bytes if reads is not None else 0)
        yield kept

    def describe(self) -> Iterable[Metric]:
        # Described without reading the hub, which may not exist yet when the collector registers.
        yield GaugeMetricFamily(f"{PREFIX}_watched_jobs", "")
        yield GaugeMetricFamily(f"{PREFIX}_upstream_pool_starved_seconds", "")
        yield CounterMetricFamily(f"{PREFIX}_read_cache_lookups", "", labels=["outcome"])
        yield GaugeMetricFamily(f"{PREFIX}_read_cache_entries", "")
        yield GaugeMetricFamily(f"{PREFIX}_read_cache_bytes", "")


async def metrics_endpoint(request: Request) -> Response:
    # Every name is a classic one, so the text is the 0.0.4 format that every Prometheus release reads.
    return Response(
        generate_latest(metrics_of(request.app).registry), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
    )


def _outcome(error: GraphQLError) -> Outcome:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return _CODE_OUTCOMES.get(code, "client_error")
    # Not yet mapped to a code: a document that does not parse, or one the view refused.
    return "client_error" if error.original_error is None else "internal"


def worst_outcome(errors: Iterable[GraphQLError]) -> Outcome:
    """An operation's outcome from its errors, once they have their codes: ok, or the worst class."""
    outcome: Outcome = "ok"
    for error in errors:
        found = _outcome(error)
        if _SEVERITY[found] > _SEVERITY[outcome]:
            outcome = found
    return outcome


def _refusal(error: GraphQLError) -> RateLimitReason | None:
    extensions = error.extensions or {}
    code = extensions.get("code")
    if code == "RATE_LIMITED":
        # Anything else (MetaStudio's own 429, with `upstream`; the request rate limits) is either no
        # refusal of the gateway's or counted where it is refused.
        if "budget" in extensions:
            return "call_budget"
        if extensions.get("scope") == "caller":
            return "subscriptions_per_caller"
        return "subscriptions_total" if extensions.keys() == {"code"} else None
    if code == "OPERATION_LIMIT_EXCEEDED":
        limit = extensions.get("limit")
        if isinstance(limit, dict) and limit.get("name") == "cost":
            return "call_budget"
    return None


class RequestMetrics(SchemaExtension):
    """Counts and times every GraphQL operation, whatever its transport, and the subscriptions open.

    First among the schema's extensions, so that its end of the operation runs after ErrorMapping has
    given every error its code."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self._subscribed: Metrics | None = None
        self._type: str | None = None
        self._errors: list[GraphQLError] = []
        try:
            yield
        finally:
            if self._subscribed is not None:
                self._subscribed.subscriptions_active.dec()
            self._record(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        self._type = self._operation_type()
        if self._type == "subscription":
            metrics = _metrics(self.execution_context.context)
            if metrics is not None:
                metrics.subscriptions_active.inc()
                self._subscribed = metrics
        yield

    def on_stream_result(self, result: object) -> Iterator[None]:
        yield
        errors = getattr(result, "errors", None)
        if errors:
            self._errors.extend(errors)

    def _record(self, seconds: float) -> None:
        context = self.execution_context
        metrics = _metrics(context.context)
        if metrics is None:
            return
        seen: dict[int, GraphQLError] = {id(error): error for error in self._errors}
        for errors in (context.pre_execution_errors, context.result.errors if context.result else None):
            for error in errors or ():
                seen.setdefault(id(error), error)
        outcome = worst_outcome(seen.values())
        for error in seen.values():
            reason = _refusal(error)
            if reason is not None:
                metrics.rate_limited(reason)
        metrics.graphql_request(self._type or self._operation_type(), outcome, seconds)

    def _operation_type(self) -> str:
        try:
            return str(self.execution_context.operation_type.value)
        except Exception:
            # No document (it did not parse) or no operation of the name the client gave.
            return "unknown"


def _metrics(context: object) -> Metrics | None:
    request = getattr(context, "request", None)
    if request is None:
        return None
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    return metrics
