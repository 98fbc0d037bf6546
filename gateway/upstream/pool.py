"""The upstream connection pool: httpcore's, taking back what cancelled requests leave behind.

httpcore 1.0 (through 1.0.9, the last release) strands a connection when a request is cancelled
after the pool created a connection for it but before the request woke up to use it: the connection
is neither idle, closed, expired nor available, so no request can ever use it and it holds its slot
for the life of the process (encode/httpcore#1093). GraphQL execution cancels sibling resolvers
whenever a non-null field fails, so under load every failed field can strand a few of them, and
after enough failures no upstream call gets a connection at all.

`ReclaimingConnectionPool` drops such orphans each time the pool assigns connections, which is also
the moment a cancelled request leaves the queue. It reads private names of httpcore (the pool's
requests, connections and settings, a connection's keep-alive deadline), so it is used only with the
httpcore versions it was checked against; with any other the stock pool is used, and the gateway's
health checks still report a pool that stops serving.
"""

from __future__ import annotations

import logging
import time
from importlib.metadata import version

import httpcore
import httpx

logger = logging.getLogger("gateway.upstream")

# The httpcore releases whose pool internals this module was read against and tested with.
CHECKED_HTTPCORE = ("1.0.",)
# How long after its last answer a connection is taken to be open without polling its socket.
RECENT_SECONDS = 0.5
# `AsyncHTTPConnection.info()` for a connection that has not yet opened its socket and has not failed.
_NOT_YET_CONNECTED = "CONNECTING"


def reclaiming_supported(httpcore_version: str | None = None) -> bool:
    found = httpcore_version or version("httpcore")
    return found.startswith(CHECKED_HTTPCORE)


class ReclaimingConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, minus connections that no request owns and that never opened a socket, and
    with its bookkeeping linear in the number of connections.

    `_assign_requests_to_connections` keeps httpcore 1.0's rules (drop closed connections, close
    expired ones and idle ones past `max_keepalive_connections`; give each queued request an available
    connection, else a new one, else one in place of an idle one). httpcore's own counted every
    connection once per connection, and polled the socket of every idle connection on every request:
    at 30 calls in flight that held the event loop for tens of milliseconds."""

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        if self._proxy is not None:
            return super().create_connection(origin)
        return RecentlyUsedConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        owned = {id(request.connection) for request in self._requests if request.connection is not None}
        remaining = len(self._connections)
        kept: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                remaining -= 1
            elif id(connection) not in owned and connection.info() == _NOT_YET_CONNECTED:
                # No socket to close: the request that would have opened it is gone.
                remaining -= 1
            elif connection.has_expired() or (
                connection.is_idle() and remaining > self._max_keepalive_connections
            ):
                remaining -= 1
                closing.append(connection)
            else:
                kept.append(connection)
        self._connections = kept

        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (c for c in self._connections if c.can_handle_request(origin) and c.is_available()), None
            )
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if c.is_idle()), None)
                if idle is None:
                    continue
                self._connections.remove(idle)
                closing.append(idle)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


class RecentlyUsedConnection(httpcore.AsyncHTTPConnection):
    """A connection that skips the socket poll of its expiry check while it has been idle for less than
    RECENT_SECONDS: a server closes an idle connection only after an idle timeout of seconds, so one
    that answered a moment ago is still open (a server that closes after a response says so in the
    response, which httpcore reads as a closed connection without any poll)."""

    def has_expired(self) -> bool:
        connection = self._connection
        expire_at = getattr(connection, "_expire_at", None)
        if connection is not None and expire_at is not None and self._keepalive_expiry is not None:
            idle_since = expire_at - self._keepalive_expiry
            if time.monotonic() - idle_since < RECENT_SECONDS:
                return False
        return super().has_expired()


def upstream_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a pool that survives cancellation, when this httpcore is one we checked."""
    # One context for both: each loads the CA bundle, a megabyte or two of the idle process.
    ssl_context = httpx.create_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    if not reclaiming_supported():
        logger.warning(
            "httpcore %s is not one the gateway's pool repair was checked with (%s*); using its pool as is",
            version("httpcore"),
            "*, ".join(CHECKED_HTTPCORE),
        )
        return transport
    transport._pool = ReclaimingConnectionPool(
        ssl_context=ssl_context,
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
