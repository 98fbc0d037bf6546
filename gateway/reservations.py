"""graphql-sse's single connection mode: reserved event streams that carry many operations each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Mapping

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from schema.errors import INTERNAL_MESSAGE

log = logging.getLogger("gateway.graphql")

# Where a client names its reservation: the token is a capability, not a credential of the client's.
TOKEN_HEADER = "x-graphql-event-stream-token"  # noqa: S105 - a header name
TOKEN_PARAM = "token"  # noqa: S105 - a query parameter name
# A reservation no stream has claimed within this time is let go: clients connect right after reserving.
UNCLAIMED_SECONDS = 60.0
# Comments keep an idle stream open through proxies that close quiet connections.
HEARTBEAT_SECONDS = 12.0
HEARTBEAT = ":\n\n"
# Events waiting for a slow (or not yet connected) stream; past it operations wait, and the live job
# states behind them coalesce as they do for any slow subscriber.
QUEUED_EVENTS = 64
# On shutdown, how long streams wait for their operations' last events before they close.
CLOSING_GRACE_SECONDS = 1.0

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def event(name: str, data: Mapping[str, object]) -> str:
    # LF line endings: every SSE parser splits on them, not all on CRLF.
    return f"event: {name}\ndata: {orjson.dumps(data).decode('utf-8')}\n\n"


class Reservation:
    """One reserved stream: the events of its operations, queued until the stream takes them."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.claimed = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._events: asyncio.Queue[str] = asyncio.Queue(QUEUED_EVENTS)
        self._ending = asyncio.Event()
        self.expiry: asyncio.TimerHandle | None = None

    def has(self, operation_id: str) -> bool:
        return operation_id in self.operations

    def start(self, operation_id: str, results: AsyncGenerator[Mapping[str, object], None]) -> None:
        """Runs an operation, sending its results and then its completion down the stream."""
        self.operations[operation_id] = asyncio.create_task(
            self._run(operation_id, results), name=f"graphql-sse {operation_id[:40]}"
        )

    async def _run(self, operation_id: str, results: AsyncGenerator[Mapping[str, object], None]) -> None:
        try:
            try:
                async with contextlib.aclosing(results):
                    async for payload in results:
                        await self._events.put(event("next", {"id": operation_id, "payload": payload}))
            except Exception:
                # Errors of the operation itself arrive as results; this is a fault of the gateway's, and
                # the client still hears that its operation ended.
                log.exception("an operation on a graphql-sse event stream failed")
                failed = {"errors": [{"message": INTERNAL_MESSAGE, "extensions": {"code": "INTERNAL"}}]}
                await self._events.put(event("next", {"id": operation_id, "payload": failed}))
            await self._events.put(event("complete", {"id": operation_id}))
        finally:
            self.operations.pop(operation_id, None)

    async def stop(self, operation_id: str) -> None:
        """Stops one operation at the client's request; it sends nothing more."""
        task = self.operations.pop(operation_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def events(self) -> AsyncIterator[str]:
        # The first bytes flush the response head, which some browsers wait for.
        yield HEARTBEAT
        while True:
            getter = asyncio.ensure_future(self._events.get())
            ending = asyncio.ensure_future(self._ending.wait())
            try:
                await asyncio.wait(
                    {getter, ending}, timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                ending.cancel()
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()
            elif self._ending.is_set():
                while not self._events.empty():
                    yield self._events.get_nowait()
                return
            else:
                yield HEARTBEAT

    async def close(self, grace: float = 0.0) -> None:
        """Ends the stream: after `grace` seconds for what its operations still have to send, the rest of
        them are cancelled and the stream sends what is queued, then ends."""
        if self.expiry is not None:
            self.expiry.cancel()
        running = list(self.operations.values())
        if running and grace > 0:
            await asyncio.wait(running, timeout=grace)
        for operation_id in list(self.operations):
            await self.stop(operation_id)
        self._ending.set()


class Reservations:
    """The reservations of one process. A client's reservation, its stream and its operations must reach
    the same replica (sticky sessions behind a load balancer)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_token: dict[str, Reservation] = {}

    def __len__(self) -> int:
        return len(self._by_token)

    def reserve(self) -> Reservation | None:
        """A new reservation under a fresh unguessable token, or None when the process holds its limit."""
        if len(self._by_token) >= self.limit:
            return None
        reservation = Reservation(secrets.token_urlsafe(32))
        self._by_token[reservation.token] = reservation
        reservation.expiry = asyncio.get_running_loop().call_later(
            UNCLAIMED_SECONDS, self._expire, reservation
        )
        return reservation

    def get(self, token: str) -> Reservation | None:
        return self._by_token.get(token)

    def _expire(self, reservation: Reservation) -> None:
        if not reservation.claimed:
            self._by_token.pop(reservation.token, None)
            asyncio.get_running_loop().create_task(reservation.close())

    def stream(self, reservation: Reservation) -> StreamingResponse:
        """The reservation's event stream; once the client goes, its operations stop and the token lapses."""
        reservation.claimed = True
        if reservation.expiry is not None:
            reservation.expiry.cancel()
        return _ReservedStream(self, reservation)

    async def release(self, reservation: Reservation) -> None:
        if self._by_token.get(reservation.token) is reservation:
            del self._by_token[reservation.token]
        await reservation.close()

    async def close(self) -> None:
        """Ends every stream (on shutdown), once the live job hub has ended their subscriptions."""
        reservations = list(self._by_token.values())
        self._by_token.clear()
        await asyncio.gather(*(r.close(CLOSING_GRACE_SECONDS) for r in reservations))


class _ReservedStream(StreamingResponse):
    """Lets the reservation go however the response ends: completed, cancelled by the client's disconnect,
    or failed on a write to a closed connection."""

    def __init__(self, reservations: Reservations, reservation: Reservation) -> None:
        super().__init__(
            reservation.events(),
            media_type="text/event-stream; charset=utf-8",
            headers=STREAM_HEADERS,
        )
        self._reservations = reservations
        self._reservation = reservation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await asyncio.shield(self._reservations.release(self._reservation))
