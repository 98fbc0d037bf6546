"""Client authentication: a caller's bearer JWT, verified against a shared secret or a JWKS, names the end
user (X-App-UserId) its upstream calls are for."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.edge.headers import header
from gateway.metrics import UnauthenticatedReason, metrics_of
from gateway.settings import Settings

if TYPE_CHECKING:
    # Imported where tokens are checked: PyJWT loads cryptography, some 9 MB of a process that never
    # checks a token (GATEWAY_CLIENT_AUTH=none).
    import jwt

logger = logging.getLogger("gateway.clientauth")

# Where the verified caller is kept, for the HTTP request or the WebSocket connection alike.
SCOPE_KEY = "gateway.client_identity"
# Pinned: a shared secret verifies HS256 only, a JWKS's public keys RS256 and ES256 only; never "none",
# and never HMAC keyed with a public key.
SECRET_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")
JWKS_MAX_AGE = 300.0
# However many tokens name unknown kids, the JWKS is fetched again at most this often.
JWKS_MIN_REFETCH_SECONDS = 30.0
JWKS_TIMEOUT = 5.0
JWKS_MAX_BYTES = 512 * 1024

# WebSocket close codes: graphql-ws servers close 4403 when they refuse a connection_init, and
# graphql-ws clients retry it (re-reading their connectionParams, so a refreshed token goes along);
# 4400 (a request that cannot succeed as sent) they do not; 1013 asks them to try again later.
CLOSE_UNAUTHENTICATED = 4403
CLOSE_BAD_REQUEST = 4400
CLOSE_TRY_AGAIN_LATER = 1013

MISSING = "send a bearer JWT as Authorization: Bearer <token>"
KEYS_UNAVAILABLE = (
    "the identity provider's signing keys (GATEWAY_JWKS_URL) cannot be fetched, so no token can be checked; "
    "retry later"
)


def user_header_refused(claim: str) -> str:
    return f"X-App-UserId is not accepted: the end user comes from the bearer token's {claim} claim"


@dataclass(frozen=True)
class ClientIdentity:
    """A verified caller: the end user its token names, and when the token expires (epoch seconds)."""

    user_id: str
    expires_at: float


class Unauthenticated(Exception):
    """A token refused; `message` says why without repeating any of the token."""

    def __init__(self, reason: UnauthenticatedReason, message: str) -> None:
        super().__init__(message)
        self.reason: UnauthenticatedReason = reason
        self.message = message


class KeysUnavailable(Exception):
    """The JWKS cannot be fetched and holds no answer for the token: nobody's token can be checked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(KEYS_UNAVAILABLE)
        self.retry_after = retry_after


class JwksError(Exception):
    pass


class JwksKeys:
    """An identity provider's signing keys by kid: fetched when first needed, again after `max_age`, and
    again when a token names a kid they lack (a key rotation), at most once per `min_interval` however
    many such tokens come; concurrent misses share one fetch. A failed fetch keeps the keys it had."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float = JWKS_MAX_AGE,
        min_interval: float = JWKS_MIN_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.min_interval = min_interval
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._failing = False
        self._fetching: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key named `kid`, or None when the JWKS has no usable key by that name."""
        if self._keys is None or self.clock() - self._fetched_at >= self.max_age or kid not in self._keys:
            await self._refresh()
        if self._keys is None or (kid not in self._keys and self._failing):
            raise KeysUnavailable(self.retry_after())
        return self._keys.get(kid)

    def retry_after(self) -> int:
        return max(1, math.ceil(self._attempted_at + self.min_interval - self.clock()))

    async def aclose(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetching
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _refresh(self) -> None:
        if self._fetching is None:
            now = self.clock()
            if now - self._attempted_at < self.min_interval:
                return
            self._attempted_at = now
            self._fetching = asyncio.create_task(self._fetch())
        # One caller's cancellation (its client left) must not cancel the fetch the others wait for.
        await asyncio.shield(self._fetching)

    async def _fetch(self) -> None:
        try:
            keys = await self._download()
        except Exception as exc:  # whatever went wrong, the keys known so far stay in use
            self._failing = True
            known = "no key known yet" if self._keys is None else f"keeping the {len(self._keys)} keys known"
            logger.warning("could not fetch the JWKS from %s (%s); %s", self.url, _why(exc), known)
        else:
            self._keys = keys
            self._fetched_at = self.clock()
            self._failing = False
        finally:
            self._fetching = None

    async def _download(self) -> dict[str, jwt.PyJWK]:
        import jwt
        from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        if self._http is None:
            # No redirects: they could lead from the https:// URL the operator named to anywhere.
            self._http = httpx.AsyncClient(timeout=JWKS_TIMEOUT, follow_redirects=False)
        async with self._http.stream("GET", self.url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise JwksError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > JWKS_MAX_BYTES:
                    raise JwksError(f"the answer is larger than {JWKS_MAX_BYTES} bytes")
        document = orjson.loads(body)
        if not isinstance(document, dict):
            raise JwksError("the answer is not a JSON object")
        keys: dict[str, jwt.PyJWK] = {}
        for key in jwt.PyJWKSet.from_dict(document):
            if (
                isinstance(key.key_id, str)
                and key.algorithm_name in JWKS_ALGORITHMS
                and key.public_key_use in (None, "sig")
                and isinstance(key.key, RSAPublicKey | EllipticCurvePublicKey)
            ):
                keys[key.key_id] = key
        if not keys:
            raise JwksError("it holds no RS256 or ES256 signing key with a kid")
        return keys


def _why(exc: Exception) -> str:
    if isinstance(exc, JwksError):
        return str(exc)
    if isinstance(exc, orjson.JSONDecodeError):
        return "the answer is not JSON"
    return type(exc).__name__


class TokenVerifier:
    """Checks a bearer JWT: signature with a pinned algorithm, `exp` (required), `nbf` and `iat`, the
    issuer and audience when set, all within the leeway; then the claim that names the end user."""

    def __init__(self, settings: Settings, keys: JwksKeys | None = None) -> None:
        # PyJWT is loaded with the first verifier, not by the first request.
        importlib.import_module("jwt")
        self.secret = settings.jwt_secret
        if keys is None and settings.jwks_url is not None and self.secret is None:
            keys = JwksKeys(settings.jwks_url)
        self.keys = keys
        self.algorithms = list(SECRET_ALGORITHMS if self.keys is None else JWKS_ALGORITHMS)
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway
        self.user_claim = settings.jwt_user_claim

    async def verify(self, token: str | None) -> ClientIdentity:
        import jwt

        if not token:
            raise Unauthenticated("missing", MISSING)
        try:
            sent = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed", "the bearer token is not a well-formed JWT") from None
        if sent.get("alg") not in self.algorithms:
            accepted = ", ".join(self.algorithms)
            raise Unauthenticated(
                "bad_algorithm", f"the token's algorithm (alg) is not one this gateway accepts ({accepted})"
            )
        claims = self._decode(token, await self._key_for(sent))
        user = claims.get(self.user_claim)
        if not isinstance(user, str) or not user.strip() or not user.isprintable():
            raise Unauthenticated(
                "bad_claims",
                f"the token's {self.user_claim} claim must be a non-empty string: it names the end user",
            )
        return ClientIdentity(user_id=user.strip(), expires_at=float(claims["exp"]))

    async def aclose(self) -> None:
        if self.keys is not None:
            await self.keys.aclose()

    async def _key_for(self, sent: Mapping[str, Any]) -> Any:
        if self.keys is None:
            return self.secret
        kid = sent.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("unknown_key", "the token names no signing key (kid)")
        key = await self.keys.key(kid)
        if key is None:
            raise Unauthenticated(
                "unknown_key", "the token's signing key (kid) is not among the issuer's keys"
            )
        return key

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        import jwt

        required = ["exp", *(["iss"] if self.issuer else []), *(["aud"] if self.audience else [])]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                # The user claim, `sub` or another, is checked below, with a message naming it.
                options={"require": required, "verify_aud": self.audience is not None, "verify_sub": False},
            )
        except jwt.InvalidSignatureError:
            raise Unauthenticated("bad_signature", "the token's signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("not_yet_valid", "the token is not valid yet (nbf or iat)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("wrong_audience", "the token is meant for another audience (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("wrong_issuer", "the token comes from another issuer (iss)") from None
        except jwt.MissingRequiredClaimError as missing:
            raise _missing_claim(missing.claim) from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(
                "bad_algorithm", "the token's algorithm (alg) does not fit its key"
            ) from None
        except jwt.DecodeError:
            raise Unauthenticated("malformed", "the bearer token is not a well-formed JWT") from None
        except jwt.PyJWTError:
            raise Unauthenticated("bad_claims", "the token's claims are not valid") from None
        return claims


def _missing_claim(claim: str) -> Unauthenticated:
    if claim == "aud":
        return Unauthenticated("wrong_audience", "the token names no audience (aud)")
    if claim == "iss":
        return Unauthenticated("wrong_issuer", "the token names no issuer (iss)")
    return Unauthenticated("bad_claims", f"the token has no {claim} claim")


def client_auth(settings: Settings) -> TokenVerifier | None:
    """The verifier GATEWAY_CLIENT_AUTH asks for, or None when callers are trusted as they come."""
    return TokenVerifier(settings) if settings.client_auth == "jwt" else None


def identity_of(scope: Scope) -> ClientIdentity | None:
    """The caller verified for this request or WebSocket connection, if any."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, ClientIdentity) else None


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _count(connection: HTTPConnection, reason: UnauthenticatedReason) -> None:
    metrics_of(connection.app).unauthenticated(reason)


class ClientAuthMiddleware:
    """Pure ASGI middleware for the GraphQL path, before the rate limits so that they count the verified
    caller. A request needs a valid bearer JWT, and must not name its own X-App-UserId (400); refusals
    cost no upstream call. CORS preflights pass, and so does a browser's GET of GraphiQL's page (its
    queries then need the token). WebSockets are checked at connection_init instead (gateway/graphql.py)."""

    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier, settings: Settings, path: str) -> None:
        self.app = app
        self.verifier = verifier
        self.settings = settings
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        if (header(raw, b"x-app-userid") or b"").strip():
            message = user_header_refused(self.settings.jwt_user_claim)
            await _refuse(scope, send, 400, message, {"code": "BAD_USER_INPUT"})
            return
        if self.settings.graphiql and _asks_for_graphiql(scope):
            await self.app(scope, receive, send)
            return
        authorization = header(raw, b"authorization")
        try:
            identity = await self.verifier.verify(bearer_token((authorization or b"").decode("latin-1")))
        except Unauthenticated as refused:
            _count(HTTPConnection(scope), refused.reason)
            challenge = [(b"www-authenticate", _challenge(refused))]
            coded = {"code": "UNAUTHENTICATED", "reason": refused.reason}
            await _refuse(scope, send, 401, refused.message, coded, challenge)
            return
        except KeysUnavailable as unavailable:
            retry = [(b"retry-after", str(unavailable.retry_after).encode())]
            unavailable_code = {"code": "UPSTREAM_UNAVAILABLE", "retryable": True, "dependency": "jwks"}
            await _refuse(scope, send, 503, KEYS_UNAVAILABLE, unavailable_code, retry)
            return
        scope[SCOPE_KEY] = identity
        await self.app(scope, receive, send)


def _asks_for_graphiql(scope: Scope) -> bool:
    """A browser's GET of the page: no operation in the query string, and HTML accepted."""
    if scope["method"] != "GET":
        return False
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    accept = (header(scope["headers"], b"accept") or b"").decode("latin-1")
    return "text/html" in accept and not {"query", "extensions", "documentId"} & params.keys()


def _challenge(refused: Unauthenticated) -> bytes:
    if refused.reason == "missing":
        return b"Bearer"
    description = refused.message.replace('"', "'").replace("\\", "/")
    return f'Bearer error="invalid_token", error_description="{description}"'.encode("ascii", "replace")


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    extensions: Mapping[str, object],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    accept = (header(scope["headers"], b"accept") or b"").decode("latin-1")
    media_type = (
        "application/graphql-response+json" if "graphql-response+json" in accept else "application/json"
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", f"{media_type}; charset=utf-8".encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class ConnectionRefusal:
    """How a WebSocket is closed when its connection_init is refused."""

    code: int
    reason: str


async def authenticate_connection(
    connection: HTTPConnection, sent: Mapping[str, str]
) -> ConnectionRefusal | None:
    """Verifies a WebSocket caller at connection_init and keeps its identity in the connection's scope.

    `sent` holds the credential headers of the connection_init payload by lowercase name; those it lacks
    come from the handshake. None when the caller is accepted, or when no client authentication is on."""
    verifier: TokenVerifier | None = getattr(connection.app.state, "client_auth", None)
    if verifier is None:
        return None
    user_header = sent.get("x-app-userid") or connection.headers.get("x-app-userid") or ""
    if user_header.strip():
        return ConnectionRefusal(CLOSE_BAD_REQUEST, _close_reason(user_header_refused(verifier.user_claim)))
    authorization = (
        sent["authorization"] if "authorization" in sent else connection.headers.get("authorization")
    )
    try:
        identity = await verifier.verify(bearer_token(authorization))
    except Unauthenticated as refused:
        _count(connection, refused.reason)
        return ConnectionRefusal(CLOSE_UNAUTHENTICATED, _close_reason(refused.message))
    except KeysUnavailable:
        return ConnectionRefusal(CLOSE_TRY_AGAIN_LATER, _close_reason(KEYS_UNAVAILABLE))
    connection.scope[SCOPE_KEY] = identity
    return None


def close_at_expiry(
    connection: HTTPConnection, close: Callable[[int, str], Awaitable[None]]
) -> asyncio.Task[None] | None:
    """Closes a verified WebSocket (4403) once its token would no longer be accepted: at its expiry, plus
    the leeway. The caller cancels the task when the connection ends first."""
    verifier: TokenVerifier | None = getattr(connection.app.state, "client_auth", None)
    identity = identity_of(connection.scope)
    if verifier is None or identity is None:
        return None
    delay = identity.expires_at + verifier.leeway - time.time()

    async def expire() -> None:
        await asyncio.sleep(max(0.0, delay))
        try:
            await close(CLOSE_UNAUTHENTICATED, "the token has expired")
        except Exception as exc:  # the connection ended on its own meanwhile
            logger.debug("a WebSocket was gone before its token expired (%s)", type(exc).__name__)

    return asyncio.create_task(expire())


def _close_reason(message: str) -> str:
    # A close frame's reason holds at most 123 bytes.
    return message.encode("utf-8")[:123].decode("utf-8", "ignore")
