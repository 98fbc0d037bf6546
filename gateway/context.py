"""The per-request context every resolver sees: who is calling, and the loaders that act for them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from gateway.bearer_tokens import MISSING as MISSING_BEARER
from gateway.clientauth import identity_of
from gateway.edge.request_id import scope_request_id
from gateway.idempotency import IdempotencyStore
from gateway.live.events import JobKind
from gateway.loaders.base import KindCache, RequestUpstream
from gateway.loaders.picture import PictureLoaders
from gateway.loaders.training import TrainingLoaders
from gateway.loaders.video import VideoLoaders
from gateway.settings import Settings
from gateway.turns import Turns
from gateway.upstream import Credentials, UpstreamClient

if TYPE_CHECKING:
    from gateway.live.hub import JobStateHub

MISSING_TOKEN = "send your IAM token as X-Auth-Token or Authorization: Bearer <token>"  # noqa: S105 - an instruction, not a secret
CREDENTIAL_HEADERS = ("x-auth-token", "authorization", "x-app-userid")


class Loaders:
    """Every dataloader of one request (or one subscription event), all acting for one caller; each
    job family's are made when the request first asks for them."""

    def __init__(self, upstream: RequestUpstream, kinds: KindCache) -> None:
        self._upstream = upstream
        self._kinds = kinds

    @cached_property
    def video(self) -> VideoLoaders:
        return VideoLoaders(self._upstream, self._kinds)

    @cached_property
    def training(self) -> TrainingLoaders:
        return TrainingLoaders(self._upstream)

    @cached_property
    def picture(self) -> PictureLoaders:
        return PictureLoaders(self._upstream)

    def prime_polled(self, kind: JobKind, job_id: str, data: Mapping[str, Any]) -> None:
        """Take a poll's answer for the job, so that resolving it needs no call of its own; the job's
        family (the attribute named by its kind) knows which of its loaders the answer fills."""
        family: VideoLoaders | TrainingLoaders | PictureLoaders = getattr(self, kind)
        family.prime_polled(job_id, data)


@dataclass
class RequestContext:
    request: HTTPConnection | None
    credentials: Credentials
    upstream: RequestUpstream
    loaders: Loaders
    settings: Settings
    idempotency: IdempotencyStore
    live: JobStateHub | None = None
    # What a WebSocket client sent in `connection_init` (Strawberry's protocols set it).
    connection_params: dict[str, object] | None = None
    # A long-lived connection (a WebSocket) runs many operations; each gets a context of its own from this,
    # with fresh loaders, its own call budget and the credentials of the connection params.
    per_operation: Callable[[RequestContext], RequestContext] | None = field(default=None, repr=False)
    # The operation's share of the event loop, taken by its list resolvers and its executor alike.
    turns: Turns = field(default_factory=Turns, repr=False)
    # Names this request in the gateway's logs: the client's own X-Request-Id when well-formed.
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def credentials_from(connection: HTTPConnection | None, settings: Settings) -> Credentials:
    """The caller's credentials from its headers: its token in token mode, its app user id in both. With
    GATEWAY_CLIENT_AUTH=jwt the app user is the one its verified token names, and no header counts."""
    if settings.client_auth == "jwt":
        identity = identity_of(connection.scope) if connection is not None else None
        return Credentials(app_user_id=identity.user_id if identity is not None else None)
    headers = connection.headers if connection is not None else {}
    sent = {name: headers.get(name) or "" for name in CREDENTIAL_HEADERS}
    sent["x-app-userid"] = _utf8_header(sent["x-app-userid"])
    return credentials_from_headers(sent, settings)


def connection_credentials(
    params: Mapping[str, object] | None, handshake: HTTPConnection | None, settings: Settings
) -> Credentials:
    """A WebSocket caller's credentials: from its `connection_init` payload when that names any (as
    GraphiQL's header editor and graphql-ws clients send headers: top-level keys or a nested "headers"
    object, any case), else from the handshake's headers (clients that can set them). With
    GATEWAY_CLIENT_AUTH=jwt, the identity verified at `connection_init` instead."""
    if settings.client_auth == "jwt":
        return credentials_from(handshake, settings)
    sent = params_headers(params or {})
    if any(sent.get(name) for name in CREDENTIAL_HEADERS):
        return credentials_from_headers(sent, settings)
    return credentials_from(handshake, settings)


def params_headers(params: Mapping[str, object]) -> dict[str, str]:
    """The credential headers in a connection payload, by lowercase name; top-level keys win."""
    found: dict[str, str] = {}
    nested = next((v for k, v in params.items() if k.lower() == "headers"), None)
    for source in (params, nested if isinstance(nested, Mapping) else {}):
        for key, value in source.items():
            name = str(key).lower()
            if name in CREDENTIAL_HEADERS and isinstance(value, str) and name not in found:
                found[name] = value
    return found


def credentials_from_headers(headers: Mapping[str, str], settings: Settings) -> Credentials:
    """Credentials from decoded header values looked up by lowercase name."""
    app_user_id = (headers.get("x-app-userid") or "").strip() or None
    if settings.auth_mode == "aksk":
        return Credentials(app_user_id=app_user_id)
    token = (headers.get("x-auth-token") or "").strip()
    if not token:
        scheme, _, value = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
    return Credentials(token=token or None, app_user_id=app_user_id)


def _utf8_header(value: str) -> str:
    """A header as the UTF-8 text clients send, where the server decoded its bytes as latin-1."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(connection: HTTPConnection | None) -> str:
    """The id the HTTP layer gave this request (and sent back as X-Request-Id); else the client's
    X-Request-Id when it is a short plain token, else a new one."""
    given = scope_request_id(connection.scope) if connection is not None else None
    if given is not None:
        return given
    sent = connection.headers.get("x-request-id") if connection is not None else None
    return sent if sent is not None and _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def build_context(
    connection: HTTPConnection | None,
    credentials: Credentials,
    *,
    client: UpstreamClient,
    kinds: KindCache,
    settings: Settings,
    idempotency: IdempotencyStore,
    live: JobStateHub | None = None,
) -> RequestContext:
    missing = MISSING_TOKEN if settings.auth_mode == "token" and not credentials.token else None
    # With client authentication on, nothing goes upstream as the service itself for want of a token.
    if settings.client_auth == "jwt" and credentials.app_user_id is None:
        missing = MISSING_BEARER
    turns = Turns()
    upstream = RequestUpstream(
        client, credentials, settings.call_budget, missing_credentials=missing, turns=turns
    )
    return RequestContext(
        turns=turns,
        request_id=request_id_of(connection),
        request=connection,
        credentials=credentials,
        upstream=upstream,
        loaders=Loaders(upstream, kinds),
        settings=settings,
        idempotency=idempotency,
        live=live,
    )
