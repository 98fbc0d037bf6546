"""Content negotiation for /graphql by the GraphQL-over-HTTP spec: which media type answers a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"
EVENT_STREAM = "text/event-stream"
MULTIPART = "multipart/mixed"

JsonType = Literal["application/graphql-response+json", "application/json"]
StreamProtocol = Literal["sse", "multipart-subscription"]


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str]
    q: float

    def matches(self, media_type: str) -> bool:
        kind, _, sub = media_type.partition("/")
        return self.type in ("*", kind) and self.subtype in ("*", sub)

    def names(self, media_type: str) -> bool:
        """Whether the range names this very type, not through a wildcard."""
        return f"{self.type}/{self.subtype}" == media_type

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; a missing or empty header accepts `application/json`, as the
    spec's legacy rule and every client written before it expect."""
    if not header or not header.strip():
        return [MediaRange("application", "json", {}, 1.0)]
    ranges = []
    for part in header.split(","):
        kind, *raw_params = part.split(";")
        kind = kind.strip().lower()
        if kind == "*":
            kind = "*/*"
        main, slash, sub = kind.partition("/")
        if not slash or not main or not sub:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for raw in raw_params:
            name, _, value = raw.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip("'\"")
            if name == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
            elif name:
                params[name] = value
        ranges.append(MediaRange(main, sub, params, q))
    return ranges


def _best_range(ranges: list[MediaRange], media_type: str) -> MediaRange | None:
    """The most specific range covering the type: it alone sets the type's quality (RFC 9110)."""
    covering = [r for r in ranges if r.matches(media_type)]
    return max(covering, key=lambda r: (r.specificity, len(r.params)), default=None)


def quality(ranges: list[MediaRange], media_type: str) -> float:
    best = _best_range(ranges, media_type)
    return 0.0 if best is None else best.q


def json_type(ranges: list[MediaRange]) -> JsonType | None:
    """The JSON media type of a single result: `application/graphql-response+json` when the client names it
    at least as high as `application/json`, else `application/json` when acceptable at all (through a
    wildcard too: clients that send `*/*` predate the new type); None when neither is."""
    new, old = quality(ranges, GRAPHQL_RESPONSE_JSON), quality(ranges, JSON)
    named = any(r.names(GRAPHQL_RESPONSE_JSON) and r.q > 0 for r in ranges)
    if new > 0 and (new > old or (named and new >= old)):
        return GRAPHQL_RESPONSE_JSON
    if old > 0:
        return JSON
    return GRAPHQL_RESPONSE_JSON if new > 0 else None


def stream_protocol(ranges: list[MediaRange]) -> StreamProtocol | None:
    """The stream a subscription may use: one the client names outright (a wildcard never asks for a
    stream), the higher quality first, Server-Sent Events on a tie. Apollo's multipart subscriptions only
    for a range that states `subscriptionSpec`, as the format differs from plain incremental delivery."""
    sse = max((r.q for r in ranges if r.names(EVENT_STREAM)), default=0.0)
    multipart = max(
        (
            r.q
            for r in ranges
            if r.names(MULTIPART)
            and r.params.get("subscriptionspec", "").startswith("1.0")
            and r.params.get("boundary", "graphql") == "graphql"
        ),
        default=0.0,
    )
    if sse <= 0 and multipart <= 0:
        return None
    return "sse" if sse >= multipart else "multipart-subscription"


def accepts_text(ranges: list[MediaRange]) -> bool:
    """Whether a plain-text answer (a graphql-sse reservation token) is acceptable."""
    return quality(ranges, "text/plain") > 0
