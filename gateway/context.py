"""The per-request context every resolver sees: who is calling, and the loaders that act for them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from gateway.idempotency import IdempotencyStore
from gateway.loaders.base import KindCache, RequestUpstream
from gateway.loaders.picture import PictureLoaders
from gateway.loaders.training import TrainingLoaders
from gateway.loaders.video import VideoLoaders
from gateway.settings import Settings
from gateway.upstream import Credentials, UpstreamClient

MISSING_TOKEN = "send your IAM token as X-Auth-Token or Authorization: Bearer <token>"  # noqa: S105 - an instruction, not a secret


class Loaders:
    """Every dataloader of one request (or one subscription event), all acting for one caller."""

    def __init__(self, upstream: RequestUpstream, kinds: KindCache) -> None:
        self.video = VideoLoaders(upstream, kinds)
        self.training = TrainingLoaders(upstream)
        self.picture = PictureLoaders(upstream)


@dataclass
class RequestContext:
    request: HTTPConnection | None
    credentials: Credentials
    upstream: RequestUpstream
    loaders: Loaders
    settings: Settings
    idempotency: IdempotencyStore


def credentials_from(connection: HTTPConnection | None, settings: Settings) -> Credentials:
    """The caller's credentials from its headers: its token in token mode, its app user id in both."""
    headers = connection.headers if connection is not None else {}
    app_user_id = _utf8_header(headers.get("x-app-userid") or "").strip() or None
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


def build_context(
    connection: HTTPConnection | None,
    credentials: Credentials,
    *,
    client: UpstreamClient,
    kinds: KindCache,
    settings: Settings,
    idempotency: IdempotencyStore,
) -> RequestContext:
    missing = MISSING_TOKEN if settings.auth_mode == "token" and not credentials.token else None
    upstream = RequestUpstream(client, credentials, settings.call_budget, missing_credentials=missing)
    return RequestContext(
        request=connection,
        credentials=credentials,
        upstream=upstream,
        loaders=Loaders(upstream, kinds),
        settings=settings,
        idempotency=idempotency,
    )
