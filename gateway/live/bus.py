"""How job events reach every replica: in process, or over one Redis pub/sub channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from gateway.live.events import Message, decode_message, encode_message

logger = logging.getLogger("gateway.live")

DEFAULT_CHANNEL = "metastudio-gateway:job-events"
# How long a lost Redis connection waits before the feed subscribes again.
RECONNECT_DELAY = 0.5


class EventBus(Protocol):
    """Fan-out between replicas; every published message also reaches this replica's feeds."""

    async def publish(self, message: Message) -> None: ...

    def messages(self) -> AsyncIterator[Message]: ...

    async def aclose(self) -> None: ...


async def listen(
    feed: AsyncIterator[Message],
    receive: Callable[[Message], None],
    *,
    stopping: Callable[[], bool],
    pause: float,
) -> None:
    """Hand each message of `feed` to `receive` until the feed ends or `stopping()`; a failure is logged
    and listening starts again after `pause` seconds."""
    while not stopping():
        try:
            async for message in feed:
                receive(message)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if stopping():
                return
            logger.exception("job event listener failed; listening again")
            await asyncio.sleep(pause)


class BusFeed:
    """The messages one listener receives; `open()` returns once every later publish will reach it."""

    async def open(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def __aiter__(self) -> BusFeed:
        return self

    async def __anext__(self) -> Message:
        raise StopAsyncIteration


class MemoryBus:
    """One process: a message goes straight into each open feed's queue."""

    def __init__(self) -> None:
        self._feeds: set[_MemoryFeed] = set()

    async def publish(self, message: Message) -> None:
        for feed in list(self._feeds):
            feed.queue.put_nowait(message)

    def messages(self) -> BusFeed:
        feed = _MemoryFeed(self)
        self._feeds.add(feed)
        return feed

    async def aclose(self) -> None:
        for feed in list(self._feeds):
            await feed.aclose()

    def forget(self, feed: _MemoryFeed) -> None:
        self._feeds.discard(feed)


class _MemoryFeed(BusFeed):
    _CLOSED: Any = object()

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.bus.forget(self)
            self.queue.put_nowait(self._CLOSED)

    async def __anext__(self) -> Message:
        if self.closed and self.queue.empty():
            raise StopAsyncIteration
        message = await self.queue.get()
        if message is self._CLOSED:
            raise StopAsyncIteration
        result: Message = message
        return result


class RedisBus:
    """Replicas sharing one Redis: each message is published as JSON on one channel."""

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        from redis.asyncio import Redis

        self.channel = channel
        self._redis: Redis = Redis.from_url(url)
        self._feeds: set[_RedisFeed] = set()

    def __repr__(self) -> str:
        return f"RedisBus(channel={self.channel!r})"  # the URL may hold a password

    async def publish(self, message: Message) -> None:
        await self._redis.publish(self.channel, encode_message(message))

    def messages(self) -> BusFeed:
        feed = _RedisFeed(self)
        self._feeds.add(feed)
        return feed

    async def aclose(self) -> None:
        for feed in list(self._feeds):
            await feed.aclose()
        await self._redis.aclose()

    def forget(self, feed: _RedisFeed) -> None:
        self._feeds.discard(feed)

    def pubsub(self) -> Any:
        return self._redis.pubsub(ignore_subscribe_messages=True)


class _RedisFeed(BusFeed):
    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus
        self._pubsub: Any = None
        self.closed = False

    async def open(self) -> None:
        if self._pubsub is None and not self.closed:
            pubsub = self.bus.pubsub()
            try:
                await pubsub.subscribe(self.bus.channel)
            except BaseException:
                await pubsub.aclose()
                raise
            self._pubsub = pubsub

    async def aclose(self) -> None:
        self.closed = True
        self.bus.forget(self)
        await self._drop()

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await pubsub.aclose()

    async def __anext__(self) -> Message:
        from redis.exceptions import RedisError

        task = asyncio.current_task()
        while not self.closed:
            try:
                await self.open()
                raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisError, OSError) as exc:
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError() from exc
                # Messages published while the connection is down never reach this replica.
                logger.warning(
                    "job event feed lost its Redis connection (%s); subscribing again", type(exc).__name__
                )
                await self._drop()
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            if task is not None and task.cancelling():
                # redis-py's get_message answers a cancellation with None instead of raising it.
                raise asyncio.CancelledError()
            if raw is None or raw.get("type") != "message":
                continue
            message = decode_message(raw["data"])
            if message is not None:
                return message
        raise StopAsyncIteration
