"""One upstream call on the wire: authentication, signing, retries, timeouts and error mapping."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import orjson

from gateway.logs import note_upstream_call, upstream_attempt_fields
from gateway.upstream.backoff import Backoffs
from gateway.upstream.config import Credentials, UpstreamConfig
from gateway.upstream.errors import (
    CredentialsError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamInvalidResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.upstream.multipart import MultipartBody
from gateway.upstream.pool import ConnectionSlots, PoolHealth, transport_error, upstream_transport
from gateway.upstream.retry import RetryPolicy
from gateway.upstream.signer import canonical_query_string, sign_request

if TYPE_CHECKING:
    from gateway.upstream.tracing import UpstreamSpans

logger = logging.getLogger("gateway.upstream")

JSONObject = dict[str, Any]
_ERROR_TEXT_LIMIT = 200
_UNSENDABLE = frozenset("\r\n\0")


@dataclass(frozen=True)
class Call:
    """One upstream operation; `path` lies below /v1/{project_id} and is already percent-encoded."""

    operation: str
    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    json: Mapping[str, Any] | None = field(default=None, repr=False)
    form: MultipartBody | None = field(default=None, repr=False)


# What a request target the session makes consists of: percent-encoded path segments and query parts.
_ENCODED_TARGET = re.compile(r"/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*(\?[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*)?")


class RequestUrls:
    """URLs on the upstream's origin for request targets as the session makes them (path and query
    percent-encoded, the query exactly as signed), without httpx parsing each one again: its parser
    checks every character in Python, which for a 100-id list call cost more than the rest of making
    the request. A target of any other form, or an httpx that keeps its parsed URL otherwise than
    the release this was read against, gets httpx's parsing (tests/upstream/test_session_urls.py)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        parsed = getattr(httpx.URL(origin), "_uri_reference", None)
        fields = getattr(parsed, "_fields", ())
        self._origin_parsed = parsed if fields[4:6] == ("path", "query") else None

    def of(self, target: str) -> httpx.URL:
        if self._origin_parsed is None or not _ENCODED_TARGET.fullmatch(target):
            return httpx.URL(self.origin + target)
        path, mark, query = target.partition("?")
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = self._origin_parsed._replace(path=path, query=query if mark else None)
        return url


class UpstreamSession:
    """Owns the connection pool; sends calls authenticated, retried and bounded in time."""

    def __init__(self, config: UpstreamConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._policy = RetryPolicy(config.max_retries, config.backoff_base, config.backoff_max)
        endpoint = httpx.URL(config.endpoint)
        if endpoint.scheme not in ("http", "https") or not endpoint.host:
            raise ValueError("endpoint must be an http(s) URL with a host")
        self._host = endpoint.netloc.decode("ascii")
        self._origin = f"{endpoint.scheme}://{self._host}"
        self._urls = RequestUrls(self._origin)
        self._base_path = endpoint.raw_path.decode("ascii").partition("?")[0].rstrip("/")
        self._base_path += f"/v1/{quote(config.project_id, safe='')}"
        limits = httpx.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_keepalive
        )
        self.pool_health = PoolHealth(config.max_connections)
        self._slots = ConnectionSlots(config.max_connections, config.connect_timeout)
        # MetaStudio's 429s hold back every later call of the same principal, not just the one refused.
        self.backoffs = Backoffs()
        # Told of every attempt: its operation, HTTP status or transport outcome, and seconds (metrics).
        self.observer: Callable[[str, str, float], None] | None = None
        # Spans of operations and attempts (gateway/upstream/tracing.py); None when tracing is off.
        self.tracing: UpstreamSpans | None = None
        self._transport = transport or upstream_transport(limits)
        self._http = httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
            limits=limits,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, call: Call, credentials: Credentials) -> JSONObject:
        """Send `call` for `credentials`, repeating it only when that is safe; the decoded JSON body."""
        if self.tracing is not None:
            with self.tracing.operation(call):
                return await self._call(call, credentials)
        return await self._call(call, credentials)

    async def _call(self, call: Call, credentials: Credentials) -> JSONObject:
        self._check_credentials(call, credentials)
        deadline = asyncio.get_running_loop().time() + self._config.total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self.backoffs.wait(credentials, call.operation)
                return await self._with_retries(call, credentials, deadline)
        except TimeoutError:
            raise UpstreamTimeout(
                f"no answer within the total timeout of {self._config.total_timeout:g} s",
                operation=call.operation,
            ) from None

    async def probe(self, call: Call) -> int | None:
        """One attempt with the service's own credentials (none in token mode): its status, or None."""
        try:
            async with asyncio.timeout(self._config.total_timeout):
                # Readiness probes are left out of traces: they would be most of them.
                response = await self._attempt(call, None, 1, traced=False)
        except (httpx.TransportError, TimeoutError):
            return None
        return response.status_code

    async def _with_retries(self, call: Call, credentials: Credentials, deadline: float) -> JSONObject:
        loop = asyncio.get_running_loop()
        retries = 0
        while True:
            error: UpstreamError
            try:
                response = await self._attempt(call, credentials, retries + 1)
            except httpx.TransportError as exc:
                error = self._transport_failure(call, exc)
                if not self._policy.retries_error(call.method, exc, retries):
                    raise error from exc
                delay = self._policy.delay(retries)
            else:
                if response.is_success:
                    return _decode(call, response)
                error = _http_failure(call, response)
                if response.status_code == 429:
                    self.backoffs.slow_down(credentials, response.headers.get("Retry-After"))
                if not self._policy.retries_status(call.method, response.status_code, retries):
                    raise error
                delay = self._policy.delay(retries, response.headers.get("Retry-After"))
            if loop.time() + delay >= deadline:
                # Waiting would outlast the total timeout: the failure at hand says more than a timeout.
                raise error
            await asyncio.sleep(delay)
            retries += 1

    async def _attempt(
        self, call: Call, credentials: Credentials | None, attempt: int, *, traced: bool = True
    ) -> httpx.Response:
        request = self._build(call, credentials)
        started = time.perf_counter()
        try:
            if self.tracing is not None and traced:
                response = await self.tracing.attempt(self._send, call, request, attempt)
            else:
                response = await self._send(request)
        except httpx.PoolTimeout:
            self.pool_health.waited_in_vain(time.monotonic())
            self._log(call, request, attempt, "PoolTimeout", started, None)
            self._observe(call, "timeout", started)
            raise
        except httpx.TransportError as exc:
            self.pool_health.got_connection()
            self._log(call, request, attempt, type(exc).__name__, started, None)
            outcome = "timeout" if isinstance(exc, httpx.TimeoutException) else "unavailable"
            self._observe(call, outcome, started)
            raise
        except asyncio.CancelledError:
            # Also how the total timeout ends an attempt in flight.
            self._log(call, request, attempt, "cancelled", started, None)
            self._observe(call, "cancelled", started)
            raise
        self.pool_health.got_connection()
        self._observe(call, str(response.status_code), started)
        self._log(
            call, request, attempt, str(response.status_code), started, response.headers.get("X-Request-Id")
        )
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """The request's whole answer from the transport: what AsyncClient.send does for it, less what no
        upstream call uses (its cookie jar, auth flow, redirects and event hooks), some 40 % of the
        client's CPU per call. Upstream cookies are never kept, so none goes back with a later call."""
        await self._slots.take()
        try:
            response = await self._transport.handle_async_request(request)
            response.request = request
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
            return response
        except Exception as exc:
            named = transport_error(exc)
            if named is exc:
                raise
            raise named from named.__cause__
        finally:
            self._slots.give_back()

    def _observe(self, call: Call, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer(call.operation, outcome, time.perf_counter() - started)

    def _build(self, call: Call, credentials: Credentials | None) -> httpx.Request:
        headers: dict[str, str] = {}
        body = b""
        if call.json is not None:
            body = orjson.dumps(call.json, default=_plain)
            headers["Content-Type"] = "application/json"
        elif call.form is not None:
            headers["Content-Type"] = call.form.content_type
        elif call.method in ("POST", "PUT"):
            # The official SDK declares JSON even for a body-less create or command; keep to that.
            headers["Content-Type"] = "application/json"
        if credentials is not None and credentials.app_user_id:
            headers["X-App-UserId"] = credentials.app_user_id

        target, wire_headers = self._authenticate(call, credentials, headers, body)
        url = self._urls.of(target)
        if call.form is None:
            return self._http.build_request(call.method, url, headers=wire_headers, content=body)
        length = call.form.content_length
        if length is not None:
            wire_headers[b"Content-Length"] = str(length).encode()
        return self._http.build_request(call.method, url, headers=wire_headers, content=call.form)

    def _authenticate(
        self, call: Call, credentials: Credentials | None, headers: dict[str, str], body: bytes
    ) -> tuple[str, dict[bytes, bytes]]:
        """The request target (path and query) and the headers to send, signed or carrying the token."""
        path = self._base_path + call.path
        if self._config.auth_mode == "aksk":
            headers["X-Project-Id"] = self._config.project_id
            signed = sign_request(
                call.method,
                self._host,
                path,
                call.query,
                headers,
                body,
                ak=self._config.ak or "",
                sk=self._config.sk or "",
                body_streamed=call.form is not None,
            )
            return signed.target, {name.encode(): value for name, value in signed.headers.items()}
        if credentials is not None and credentials.token:
            headers["X-Auth-Token"] = credentials.token
        query = canonical_query_string(call.query)
        target = f"{path}?{query}" if query else path
        return target, {name.encode(): value.strip().encode() for name, value in headers.items()}

    def _check_credentials(self, call: Call, credentials: Credentials) -> None:
        if self._config.auth_mode == "token" and not credentials.token:
            raise CredentialsError(
                "token mode needs the caller's token, and this call has none", operation=call.operation
            )
        sent = [("app_user_id", credentials.app_user_id)]
        if self._config.auth_mode == "token":
            sent.append(("token", credentials.token))
        for name, value in sent:
            if value and _UNSENDABLE.intersection(value):
                raise CredentialsError(f"the {name} contains line breaks or NUL", operation=call.operation)

    def _transport_failure(self, call: Call, exc: httpx.TransportError) -> UpstreamError:
        error = self._describe_transport_failure(call, exc)
        # Failing to connect (or to get a pooled connection) means not a byte of the request left.
        never_left = httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        error.request_sent = not isinstance(exc, never_left)
        return error

    def _describe_transport_failure(self, call: Call, exc: httpx.TransportError) -> UpstreamError:
        config, kind = self._config, type(exc).__name__
        waits = {
            httpx.ConnectTimeout: f"could not connect within {config.connect_timeout:g} s",
            httpx.ReadTimeout: f"no answer within the read timeout of {config.read_timeout:g} s",
            httpx.WriteTimeout: f"could not send the request within {config.read_timeout:g} s",
            httpx.PoolTimeout: f"no free connection within {config.connect_timeout:g} s",
        }
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"{kind}: {waits.get(type(exc), 'timed out')}", operation=call.operation)
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            # These messages come from the socket or the response parser, never from our request.
            return UpstreamUnavailable(f"{kind}: {exc}", operation=call.operation)
        return UpstreamUnavailable(f"{kind}: the request could not be sent", operation=call.operation)

    def _log(
        self,
        call: Call,
        request: httpx.Request,
        attempt: int,
        outcome: str,
        started: float,
        request_id: str | None,
    ) -> None:
        note_upstream_call(request_id)
        if not logger.isEnabledFor(logging.DEBUG):
            return
        path, milliseconds = request.url.path, (time.perf_counter() - started) * 1000
        logger.debug(
            "%s %s %s -> %s in %.1f ms (attempt %d, request id %s)",
            call.operation,
            call.method,
            path,
            outcome,
            milliseconds,
            attempt,
            request_id or "-",
            extra=upstream_attempt_fields(
                call.operation, call.method, path, outcome, milliseconds, attempt, request_id
            ),
        )


def _decode(call: Call, response: httpx.Response) -> JSONObject:
    if not response.content.strip():
        return {}
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamInvalidResponse(
            f"HTTP {response.status_code} answer is not a JSON object",
            operation=call.operation,
            request_id=response.headers.get("X-Request-Id"),
        )
    return data


def _http_failure(call: Call, response: httpx.Response) -> UpstreamHTTPError:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    code = message = None
    if isinstance(data, dict):
        code = _text(data.get("error_code")) or _text(data.get("code"))
        message = _text(data.get("error_msg")) or _text(data.get("message"))
    if not message:
        text = " ".join(response.text.split())
        message = text[:_ERROR_TEXT_LIMIT] or response.reason_phrase or "no error message"
    return UpstreamHTTPError(
        response.status_code, code, message, response.headers.get("X-Request-Id"), operation=call.operation
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")
