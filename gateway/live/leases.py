"""Which replica polls a job: a lease per job, in process or in Redis, renewed while held and expiring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gateway.live.events import JobRef

DEFAULT_PREFIX = "metastudio-gateway:lease:"
# Refs per pipeline round trip: big enough to renew thousands of leases in a few calls, small enough
# that one call never blocks Redis for long.
PIPELINE_CHUNK = 500

# Take the lease when free, or renew it when this owner already holds it.
_ACQUIRE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
# Let go only of a lease this owner still holds: an expired one may already be someone else's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases(Protocol):
    async def acquire(self, refs: Sequence[JobRef], ttl: float) -> set[JobRef]:
        """The refs this replica now holds for `ttl` seconds, newly taken or renewed."""

    async def release(self, refs: Sequence[JobRef]) -> None: ...

    async def aclose(self) -> None: ...


class MemoryLeases:
    """A single replica holds every lease."""

    async def acquire(self, refs: Sequence[JobRef], ttl: float) -> set[JobRef]:
        return set(refs)

    async def release(self, refs: Sequence[JobRef]) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisLeases:
    """Leases shared by replicas through one Redis: one key per job holding its owner's name."""

    def __init__(self, url: str, owner: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        from redis.asyncio import Redis

        self.owner = owner
        self.prefix = prefix
        self._redis: Redis = Redis.from_url(url)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._release: Any = self._redis.register_script(_RELEASE)

    def __repr__(self) -> str:
        return f"RedisLeases(owner={self.owner!r})"  # the URL may hold a password

    def key(self, ref: JobRef) -> str:
        return f"{self.prefix}{ref.kind}:{ref.job_id}"

    async def acquire(self, refs: Sequence[JobRef], ttl: float) -> set[JobRef]:
        millis = max(1, int(ttl * 1000))
        held: set[JobRef] = set()
        for chunk in _chunks(refs):
            results = await self._run(self._acquire, chunk, millis)
            held.update(ref for ref, taken in zip(chunk, results, strict=True) if taken)
        return held

    async def release(self, refs: Sequence[JobRef]) -> None:
        for chunk in _chunks(refs):
            await self._run(self._release, chunk)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _run(self, script: Any, refs: Sequence[JobRef], *args: int) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                await script(keys=[self.key(ref)], args=[self.owner, *args], client=pipe)
            results: list[Any] = await pipe.execute()
        return results


def _chunks(refs: Sequence[JobRef]) -> list[Sequence[JobRef]]:
    unique = list(dict.fromkeys(refs))
    return [unique[at : at + PIPELINE_CHUNK] for at in range(0, len(unique), PIPELINE_CHUNK)]
