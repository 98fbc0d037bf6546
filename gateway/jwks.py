"""JWKS: an identity provider's signing keys, fetched when needed and again on rotation, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import orjson

if TYPE_CHECKING:
    # Imported where keys are read: PyJWT loads cryptography, some 9 MB of a process that never
    # checks a token (GATEWAY_CLIENT_AUTH=none).
    import jwt

# The client authentication's logger: a JWKS failure is one of its failures.
logger = logging.getLogger("gateway.clientauth")

# Pinned: a JWKS's public keys verify RS256 and ES256 only; never "none", and never HMAC keyed with one.
JWKS_ALGORITHMS = ("RS256", "ES256")
JWKS_MAX_AGE = 300.0
# However many tokens name unknown kids, the JWKS is fetched again at most this often.
JWKS_MIN_REFETCH_SECONDS = 30.0
JWKS_TIMEOUT = 5.0
JWKS_MAX_BYTES = 512 * 1024
KEYS_UNAVAILABLE = (
    "the identity provider's signing keys (GATEWAY_JWKS_URL) cannot be fetched, so no token can be checked; "
    "retry later"
)


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
