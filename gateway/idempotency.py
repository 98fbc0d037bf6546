"""Where idempotency keys remember their first result: in this process, or in Redis for replicas."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import orjson

from gateway.expiring import make_room

Status = Literal["pending", "done", "unknown"]
REMEMBER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Claim:
    """What a key holds: who it belongs to (the input's fingerprint) and how its create went."""

    fingerprint: str
    status: Status
    result: dict[str, Any] | None = None


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str, ttl: float) -> Claim | None:
        """Take the key for a new create (None), or return what an earlier request left there."""

    async def settle(self, key: str, claim: Claim, ttl: float) -> None:
        """Record how the create that holds the key ended."""

    async def release(self, key: str) -> None:
        """Forget the key: its create certainly created nothing, so a retry may try again."""

    async def aclose(self) -> None: ...


class MemoryIdempotencyStore:
    """One process's keys; enough for a single replica, and the default."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._claims: dict[str, tuple[float, Claim]] = {}

    def __len__(self) -> int:
        return len(self._claims)

    async def claim(self, key: str, fingerprint: str, ttl: float) -> Claim | None:
        # No await between the look and the write: two requests on one loop cannot both take the key.
        now = time.monotonic()
        held = self._claims.get(key)
        if held is not None and held[0] > now:
            return held[1]
        if len(self._claims) >= self.capacity:
            # Should live keys fill it, the oldest go rather than refuse creates.
            make_room(self._claims, now, self.capacity)
        self._claims[key] = (now + ttl, Claim(fingerprint, "pending"))
        return None

    async def settle(self, key: str, claim: Claim, ttl: float) -> None:
        self._claims[key] = (time.monotonic() + ttl, claim)

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def aclose(self) -> None:
        self._claims.clear()


class StoreUnavailable(Exception):
    """The shared store cannot be reached: a claim cannot be made, so no create may run."""


# Seconds to wait for Redis before a claim counts as impossible; a create then fails fast and cleanly.
REDIS_TIMEOUT = 2.0


class RedisIdempotencyStore:
    """Keys shared by every replica through one Redis; SET NX makes the claim atomic across them."""

    PREFIX = "metastudio-gateway:idempotency:"

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )

    async def claim(self, key: str, fingerprint: str, ttl: float) -> Claim | None:
        from redis.exceptions import RedisError

        try:
            return await self._claim(key, fingerprint, ttl)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"Redis cannot be reached ({type(exc).__name__})") from exc

    async def _claim(self, key: str, fingerprint: str, ttl: float) -> Claim | None:
        name = self.PREFIX + key
        pending = orjson.dumps(asdict(Claim(fingerprint, "pending")))
        if await self._redis.set(name, pending, nx=True, px=int(ttl * 1000)):
            return None
        held = await self._redis.get(name)
        if held is None:
            # It expired between the two commands: take it now.
            return await self._claim(key, fingerprint, ttl)
        return Claim(**orjson.loads(held))

    async def settle(self, key: str, claim: Claim, ttl: float) -> None:
        await self._redis.set(self.PREFIX + key, orjson.dumps(asdict(claim)), px=int(ttl * 1000))

    async def release(self, key: str) -> None:
        await self._redis.delete(self.PREFIX + key)

    async def aclose(self) -> None:
        await self._redis.aclose()


def idempotency_store(redis_url: str | None) -> IdempotencyStore:
    return RedisIdempotencyStore(redis_url) if redis_url else MemoryIdempotencyStore()
