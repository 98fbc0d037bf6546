"""The upstream connection pool: httpcore's, taking back what cancelled requests leave behind.

httpcore 1.0 (through 1.0.9, the last release) strands a connection when a request is cancelled
after the pool created a connection for it but before the request woke up to use it: the connection
is neither idle, closed, expired nor available, so no request can ever use it and it holds its slot
for the life of the process (encode/httpcore#1093). GraphQL execution cancels sibling resolvers
whenever a non-null field fails, so under load every failed field can strand a few of them, and
after enough failures no upstream call gets a connection at all.

`ReclaimingConnectionPool` drops such orphans each time the pool assigns connections, which is also
the moment a cancelled request leaves the queue. It reads two private names of httpcore (`_requests`,
`_connections`), so it is used only with the httpcore versions it was checked against; with any other
the stock pool is used, and the gateway's health checks still report a pool that stops serving.
"""

from __future__ import annotations

import logging
from importlib.metadata import version

import httpcore
import httpx

logger = logging.getLogger("gateway.upstream")

# The httpcore releases whose pool internals this module was read against and tested with.
CHECKED_HTTPCORE = ("1.0.",)
# `AsyncHTTPConnection.info()` for a connection that has not yet opened its socket and has not failed.
_NOT_YET_CONNECTED = "CONNECTING"


def reclaiming_supported(httpcore_version: str | None = None) -> bool:
    found = httpcore_version or version("httpcore")
    return found.startswith(CHECKED_HTTPCORE)


class ReclaimingConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, minus connections that no request owns and that never opened a socket."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        owned = {id(request.connection) for request in self._requests if request.connection is not None}
        for connection in list(self._connections):
            if id(connection) not in owned and connection.info() == _NOT_YET_CONNECTED:
                # No socket to close: the request that would have opened it is gone.
                self._connections.remove(connection)
        return super()._assign_requests_to_connections()


def upstream_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a pool that survives cancellation, when this httpcore is one we checked."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    if not reclaiming_supported():
        logger.warning(
            "httpcore %s is not one the gateway's pool repair was checked with (%s*); using its pool as is",
            version("httpcore"),
            "*, ".join(CHECKED_HTTPCORE),
        )
        return transport
    transport._pool = ReclaimingConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )
    return transport


class PoolHealth:
    """Whether upstream calls still get connections: starved from the first call that waited in vain
    for one (a pool timeout) until the next call that got one, whatever its answer."""

    def __init__(self, max_connections: int | None) -> None:
        self.max_connections = max_connections
        self.starved_since: float | None = None

    def got_connection(self) -> None:
        self.starved_since = None

    def waited_in_vain(self, now: float) -> None:
        if self.starved_since is None:
            self.starved_since = now

    def starved_for(self, now: float) -> float:
        """Seconds since calls last got a connection while others waited in vain; 0 when they do."""
        return 0.0 if self.starved_since is None else now - self.starved_since
