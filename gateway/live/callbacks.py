"""The gateway's own job callbacks: signed per-job URLs sent upstream, and the route that receives them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Protocol, cast

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.live.events import JOB_KINDS, JobKind, JobRef
from gateway.settings import Settings
from gateway.upstream import JSONObject

if TYPE_CHECKING:
    from gateway.context import RequestContext
    from gateway.live.hub import JobStateHub

logger = logging.getLogger("gateway.callbacks")

CALLBACK_PATH = "/callbacks/"
# Upstream keeps a job's callback for as long as the job runs; a day covers every job we know of.
BINDING_SECONDS = 24 * 3600
# CallBackConfig.callback_url and notify_url allow at most this many characters.
MAX_URL_LENGTH = 2048
# A job notification is a few hundred bytes; anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024
NONCE_BYTES = 16
_NONCE_CHARS = 22  # base64url of 16 bytes, unpadded
_SIGNATURE_CHARS = 43  # base64url of an HMAC-SHA256, unpadded
# Without GATEWAY_CALLBACK_SECRET, tokens are signed with a key of this process only, so they verify
# only here; replicas must share a secret for a callback to land on any of them.
_PROCESS_KEY = secrets.token_bytes(32)
# uvicorn's access log writes each request's path; httpx logs each URL it calls at INFO (the embedded
# emulator posts its callbacks with it).
URL_LOGGERS = ("uvicorn.access", "httpx")
_TOKEN_IN_PATH = re.compile(r"(/callbacks/)[^/?#\s\"]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url text, or None (so one nonce has one spelling)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None


def _key(settings: Settings) -> bytes:
    secret = settings.callback_secret
    if secret is None:
        return _PROCESS_KEY
    # A key of its own, so the secret signs nothing but callback tokens.
    return hmac.new(secret.encode(), b"metastudio-gateway callback tokens", hashlib.sha256).digest()


def _signature(key: bytes, kind: JobKind, nonce: bytes) -> bytes:
    return hmac.new(key, kind.encode("ascii") + b"|" + nonce, hashlib.sha256).digest()


def callback_token(settings: Settings, kind: JobKind, nonce: str) -> str:
    """The URL part naming one job's callback: base64url(nonce) "." base64url(HMAC(key, kind|nonce))."""
    raw = _unb64(nonce)
    if raw is None:
        raise ValueError("a callback nonce is unpadded base64url text")
    return f"{nonce}.{_b64(_signature(_key(settings), kind, raw))}"


def verified_token(settings: Settings, token: str) -> tuple[str, JobKind] | None:
    """(nonce, kind) of a token this gateway signed, or None for anything else."""
    nonce, dot, signature = token.partition(".")
    if not dot or len(nonce) != _NONCE_CHARS or len(signature) != _SIGNATURE_CHARS:
        return None
    raw, claimed = _unb64(nonce), _unb64(signature)
    if raw is None or claimed is None:
        return None
    key = _key(settings)
    found: JobKind | None = None
    # Every kind is compared, so the time taken says nothing about which one matched.
    for kind in JOB_KINDS:
        if hmac.compare_digest(claimed, _signature(key, kind, raw)):
            found = kind
    return None if found is None else (nonce, found)


def gateway_callback(settings: Settings, kind: JobKind) -> tuple[str, str] | None:
    """(url, nonce) of a fresh callback for a job about to be created, when the gateway has a public URL."""
    if settings.public_url is None:
        return None
    nonce = _b64(secrets.token_bytes(NONCE_BYTES))
    url = f"{settings.public_url}{CALLBACK_PATH}{callback_token(settings, kind, nonce)}"
    if len(url) > MAX_URL_LENGTH:
        return None
    return url, nonce


class CallbackBindings(Protocol):
    """Which job each callback nonce stands for, for BINDING_SECONDS after the job's create."""

    async def bind(self, nonce: str, ref: JobRef) -> None: ...

    async def job_of(self, nonce: str) -> JobRef | None: ...

    async def aclose(self) -> None: ...


class MemoryCallbackBindings:
    """One process's bindings; enough for a single replica, and the default."""

    def __init__(self, capacity: int = 100_000, ttl: float = BINDING_SECONDS) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._jobs: dict[str, tuple[float, JobRef]] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    async def bind(self, nonce: str, ref: JobRef) -> None:
        now = time.monotonic()
        if len(self._jobs) >= self.capacity:
            self._forget_expired(now)
        self._jobs[nonce] = (now + self.ttl, ref)

    async def job_of(self, nonce: str) -> JobRef | None:
        held = self._jobs.get(nonce)
        if held is None:
            return None
        if held[0] <= time.monotonic():
            del self._jobs[nonce]
            return None
        return held[1]

    async def aclose(self) -> None:
        self._jobs.clear()

    def _forget_expired(self, now: float) -> None:
        for nonce in [n for n, (expires, _) in self._jobs.items() if expires <= now]:
            del self._jobs[nonce]
        # Still full of live bindings: the oldest go first; their jobs are still polled.
        while len(self._jobs) >= self.capacity:
            del self._jobs[next(iter(self._jobs))]


class RedisCallbackBindings:
    """Bindings every replica reads through one Redis, so a callback may land on any of them."""

    PREFIX = "metastudio-gateway:callback:"

    def __init__(self, url: str, ttl: float = BINDING_SECONDS) -> None:
        from redis.asyncio import Redis

        self.ttl = ttl
        self._redis: Redis = Redis.from_url(url)

    async def bind(self, nonce: str, ref: JobRef) -> None:
        value = orjson.dumps({"kind": ref.kind, "job_id": ref.job_id})
        await self._redis.set(self.PREFIX + nonce, value, px=int(self.ttl * 1000))

    async def job_of(self, nonce: str) -> JobRef | None:
        held = await self._redis.get(self.PREFIX + nonce)
        if held is None:
            return None
        data = orjson.loads(held)
        kind, job_id = data.get("kind"), data.get("job_id")
        if kind not in JOB_KINDS or not isinstance(job_id, str):
            return None
        return JobRef(cast(JobKind, kind), job_id)

    async def aclose(self) -> None:
        await self._redis.aclose()


def callback_bindings(redis_url: str | None) -> CallbackBindings:
    return RedisCallbackBindings(redis_url) if redis_url else MemoryCallbackBindings()


def bindings_of(connection: HTTPConnection) -> CallbackBindings:
    bindings: CallbackBindings = connection.app.state.callback_bindings
    return bindings


async def job_created(context: RequestContext, kind: JobKind, answer: JSONObject, nonce: str | None) -> None:
    """Right after an upstream create: tie the callback sent with it (if any) to the new job, and have
    the job polled closely for a while."""
    job_id = answer.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        return
    ref = JobRef(kind, job_id)
    if nonce is not None and context.request is not None:
        try:
            await bindings_of(context.request).bind(nonce, ref)
        except Exception as exc:
            # The job exists whatever happens here; without the binding it is simply polled.
            logger.warning("could not bind the callback of %s job %s: %s", kind, job_id, type(exc).__name__)
    if context.live is not None:
        context.live.created(ref)


class _BodyTooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _named_job(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    job_id = data.get("job_id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) and job_id else None


def _refused(request: Request, status: int, reason: str) -> Response:
    # Who sent it and why it was refused; never the token (it is the job's secret) nor the key.
    peer = request.client.host if request.client is not None else "an unknown address"
    logger.warning("refused a job callback from %s: %s", peer, reason)
    messages = {400: "bad request", 401: "unauthorized", 404: "not found", 413: "request too large"}
    return JSONResponse({"error": messages[status]}, status_code=status)


async def receive_callback(request: Request) -> Response:
    """POST /callbacks/{token}: a job notification from upstream; the job is polled at once.

    Cheap on purpose: a signature check, one binding look-up and a nudge to whichever replica polls
    the job; the upstream is never called from here, and nothing about any job is answered.
    """
    settings: Settings = request.app.state.settings
    signed = verified_token(settings, request.path_params["token"])
    if signed is None:
        return _refused(request, 401, "its token was not signed by this gateway")
    nonce, kind = signed
    ref = await bindings_of(request).job_of(nonce)
    if ref is None or ref.kind != kind:
        return _refused(request, 404, "its token is bound to no job (unknown or expired)")
    try:
        body = await _body(request)
    except _BodyTooLarge:
        return _refused(request, 413, f"its body is over {MAX_BODY_BYTES} bytes")
    job_id = _named_job(body)
    if job_id is None:
        return _refused(request, 400, "its body is not a JSON object naming a job_id")
    if job_id != ref.job_id:
        return _refused(request, 401, f"its body names another job than the {kind} job its token is for")
    hub: JobStateHub | None = getattr(request.app.state, "live", None)
    if hub is not None:
        await hub.nudge(ref)
    return Response(status_code=204)


class HideCallbackTokens(logging.Filter):
    """Takes callback tokens out of logged URLs and request lines: a token is its job's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _hidden(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_hidden(arg) for arg in record.args)
        return True


def _hidden(value: object) -> object:
    # URLs come as text (uvicorn) or as URL objects (httpx); numbers and the like pass untouched.
    if isinstance(value, int | float) or CALLBACK_PATH not in (text := str(value)):
        return value
    return _TOKEN_IN_PATH.sub(r"\1<token>", text)


def callback_route() -> Route:
    """The `POST /callbacks/{token}` route, with the loggers that write request URLs told to hide tokens."""
    for name in URL_LOGGERS:
        logger_of_urls = logging.getLogger(name)
        if not any(isinstance(f, HideCallbackTokens) for f in logger_of_urls.filters):
            logger_of_urls.addFilter(HideCallbackTokens())
    return Route(CALLBACK_PATH + "{token}", receive_callback, methods=["POST"])


__all__ = [
    "CALLBACK_PATH",
    "CallbackBindings",
    "HideCallbackTokens",
    "MemoryCallbackBindings",
    "RedisCallbackBindings",
    "bindings_of",
    "callback_bindings",
    "callback_route",
    "callback_token",
    "gateway_callback",
    "job_created",
    "receive_callback",
    "verified_token",
]
