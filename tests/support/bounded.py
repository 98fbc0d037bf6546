"""Many requests from one test with a bounded number in flight, so that a busy machine slows them down
rather than timing them out in the client's connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")

# Far below httpx's 100 pooled connections, and enough to keep the emulator busy.
IN_FLIGHT = 20


async def gather_bounded(awaitables: Iterable[Awaitable[T]], limit: int = IN_FLIGHT) -> list[T]:
    """The results of every awaitable, in their order, with at most `limit` running at once."""
    slots = asyncio.Semaphore(limit)

    async def one(awaitable: Awaitable[T]) -> T:
        async with slots:
            return await awaitable

    return list(await asyncio.gather(*(one(awaitable) for awaitable in awaitables)))
