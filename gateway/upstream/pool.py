"""The upstream connection pool: aiohttp's connector under httpx's request and response types.

httpx's own pool (httpcore 1.0, through 1.0.9) strands a connection when a request is cancelled after
the pool created a connection for it but before the request woke up to use it (encode/httpcore#1093),
and spends much of a call's CPU in anyio locks and socket polls. aiohttp's connector gives a cancelled
request's connection back and parses answers with llhttp; httpx-aiohttp puts it under httpx's API, so
requests are still built, signed and read as httpx objects. What is the gateway's own:

- **Pool waits.** aiohttp's `connect` timeout covers waiting for a free connection and opening one
  together, and it raises the same error for both. `ConnectionSlots` admits at most as many calls as
  the pool has connections and raises httpx.PoolTimeout for a call that waited the pool wait in vain:
  what health and readiness report as a starved pool.
- **Requests sent as built.** The request target goes out byte for byte as signed (yarl would
  otherwise re-quote a percent-encoded `/` or `,` in the query, and the signature would no longer
  match), and aiohttp adds nothing it was not given.
- **Repeats are the retry policy's.** aiohttp's own repeat of a dropped GET, PUT or DELETE is off.
- **One CA store.** Upstream TLS is verified against OpenSSL's default CA paths (SSL_CERT_FILE and
  SSL_CERT_DIR honoured), through the default context aiohttp loads when imported; a context of our
  own would load the same bundle a second time (0.8 MB of the process's allocations). Where OpenSSL
  finds no CA store at all, certifi's bundle instead.
- **Failures named by what happened.** httpx-aiohttp maps every aiohttp connection error, a server
  that closed the connection before answering included, to httpx.ConnectTimeout, which says the
  request never left, so that even a create would be sent again. `transport_error` names the failure
  from the aiohttp exception itself.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream


class UpstreamTransport(AiohttpTransport):
    """httpx-aiohttp's transport on a connector of the pool's size, with no cookie jar (an upstream
    cookie never goes back with a later call) and nothing decoded or added by aiohttp."""

    def __init__(self, limits: httpx.Limits) -> None:
        # verify=False only spares the base class a CA bundle of its own; the connector is given
        # `self.tls`, and the base class's context is not kept, so that nothing can use it.
        super().__init__(verify=False, limits=limits, trust_env=False)
        del self.ssl_context
        self.tls = upstream_tls()

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry or 0,
            ssl=self.tls,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
        )
        # aiohttp sends a GET, PUT or DELETE once more by itself when the connection drops; whether an
        # upstream call is repeated is the retry policy's to say (a PUT or DELETE never is), and only
        # this attribute of the session turns that off (tests/upstream/test_wire.py pins it).
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeouts = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            assert isinstance(request.stream, httpx.AsyncByteStream)
            data = request.stream
            request.headers.pop("Transfer-Encoding", None)  # aiohttp chunks a body of unknown length
        response = await self.client.request(
            request.method,
            yarl.URL(str(request.url), encoded=True),
            headers=request.headers.multi_items(),
            data=data,
            allow_redirects=False,
            timeout=_client_timeout(timeouts.get("connect"), timeouts.get("read")),
        )
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=AiohttpResponseStream(response),
            request=request,
            extensions=extensions,
        )


_TIMEOUTS: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}


def _client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for httpx's: connecting, and each read. The wait for a free connection is
    ConnectionSlots', and the call's whole time the session's total timeout."""
    timeout = _TIMEOUTS.get((connect, read))
    if timeout is None:
        timeout = _TIMEOUTS[(connect, read)] = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
    return timeout


def upstream_tls() -> ssl.SSLContext | bool:
    """How upstream certificates are verified: True, aiohttp's default context (loaded at its import,
    from OpenSSL's default CA paths), where those paths exist; else a context of certifi's bundle."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile is not None or paths.capath is not None:
        return True
    return httpx.create_ssl_context(trust_env=False)


def upstream_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    return UpstreamTransport(limits)


class ConnectionSlots:
    """Calls on the wire at once, at most the pool's connections; waiting longer than `wait` for a
    slot is httpx.PoolTimeout."""

    def __init__(self, size: int | None, wait: float) -> None:
        self._free = asyncio.Semaphore(size) if size else None
        self._wait = wait

    async def take(self) -> None:
        free = self._free
        if free is None:
            return
        if not free.locked():
            await free.acquire()  # at once: a slot is free
            return
        try:
            async with asyncio.timeout(self._wait):
                await free.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"no free connection within {self._wait:g} s") from None

    def give_back(self) -> None:
        if self._free is not None:
            self._free.release()


def transport_error(exc: BaseException) -> BaseException:
    """The httpx error that says what happened, for an aiohttp error or httpx-aiohttp's mapping of
    one; any other exception as it is."""
    cause = exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__
    if not isinstance(cause, aiohttp.ClientError):
        return exc
    message = str(cause) or type(cause).__name__
    named: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        named = httpx.ConnectTimeout
    elif isinstance(cause, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        named = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch):
        named = httpx.ConnectError
    elif isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        named = httpx.RemoteProtocolError
    elif isinstance(cause, aiohttp.ClientResponseError):
        named = httpx.RemoteProtocolError
    elif isinstance(cause, aiohttp.ClientConnectionError):
        named = httpx.ReadError
    elif isinstance(cause, aiohttp.InvalidURL):
        named = httpx.UnsupportedProtocol
    else:
        named = httpx.RemoteProtocolError
    error = named(message)
    error.__cause__ = cause
    return error


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
