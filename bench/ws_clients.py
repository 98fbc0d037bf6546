"""Subscriber processes for the subscription benchmark: many graphql-transport-ws streams per connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import orjson
import websockets

SUBSCRIPTION = "subscription Follow($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state } }"
PROTOCOL = "graphql-transport-ws"
RAMP_BATCH = 100


@dataclass
class Tally:
    """What one process's subscribers received: first events, errors, and when each later event came."""

    first: int = 0
    settled: int = 0  # streams whose first message (an event or an error) came
    errors: list[str] = field(default_factory=list)
    completed: int = 0
    # (job id, state) -> receive times (wall clock) of that event at each subscriber.
    arrivals: dict[tuple[str, str], list[float]] = field(default_factory=dict)


async def subscribe_all(
    url: str, token: str, job_ids: Sequence[str], tally: Tally, first_seen: asyncio.Event, total: int
) -> None:
    """One connection carrying a subscription per entry of job_ids; records what arrives until closed."""
    init = {"type": "connection_init", "payload": {"X-Auth-Token": token}}
    async with websockets.connect(
        url,
        subprotocols=[websockets.Subprotocol(PROTOCOL)],
        ping_interval=None,
        max_size=None,
        open_timeout=120,
    ) as socket:
        await socket.send(orjson.dumps(init).decode())
        ack = orjson.loads(await socket.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"connection refused: {ack}")
        seen: set[str] = set()
        caught_up = asyncio.Event()

        async def send_all() -> None:
            # Batches, each sent once the one before has its first events: clients joining over a few
            # seconds, as they do, rather than in one instant.
            for at in range(0, len(job_ids), RAMP_BATCH):
                for number in range(at, min(at + RAMP_BATCH, len(job_ids))):
                    message = {
                        "id": str(number),
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIPTION, "variables": {"jobId": job_ids[number]}},
                    }
                    await socket.send(orjson.dumps(message).decode())
                while len(seen) < min(at + RAMP_BATCH, len(job_ids)):
                    caught_up.clear()
                    await caught_up.wait()

        sender = asyncio.create_task(send_all())
        async for raw in receiving(socket, sender):
            now = time.time()
            message = orjson.loads(raw)
            kind = message.get("type")
            if kind == "next":
                payload: dict[str, Any] = message["payload"]
                job = (payload.get("data") or {}).get("videoJobStateChanged")
                if job is None:
                    tally.errors.append(str(payload.get("errors")))
                if message["id"] not in seen:
                    # A stream whose first answer is an error is settled too: the parent reports it.
                    seen.add(message["id"])
                    caught_up.set()
                    tally.first += job is not None
                    tally.settled += 1
                    if tally.settled >= total:
                        first_seen.set()
                    continue
                if job is None:
                    continue
                tally.arrivals.setdefault((job["jobId"], job["state"]), []).append(now)
            elif kind == "ping":
                await socket.send('{"type":"pong"}')
            elif kind == "error":
                tally.errors.append(str(message.get("payload")))
                if message.get("id") not in seen:
                    seen.add(message.get("id"))
                    caught_up.set()
                    tally.settled += 1
                    if tally.settled >= total:
                        first_seen.set()
            elif kind == "complete":
                tally.completed += 1


async def receiving(socket: Any, sender: asyncio.Task[None]) -> Any:
    """The connection's messages; the sender stops with them."""
    try:
        async for raw in socket:
            yield raw
    finally:
        sender.cancel()


async def serve(pipe: Connection, url: str, token: str, connections: Sequence[Sequence[str]]) -> None:
    """Open every connection, say "ready" once each subscriber has its first event, then answer the
    parent's "report" (and "stop") requests."""
    tally = Tally()
    total = sum(len(ids) for ids in connections)
    first_seen = asyncio.Event()
    tasks = [
        asyncio.create_task(subscribe_all(url, token, ids, tally, first_seen, total)) for ids in connections
    ]
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "ready":
            failed = [task for task in tasks if task.done() and task.exception() is not None]
            if not failed:
                waiting = asyncio.ensure_future(first_seen.wait())
                await asyncio.wait([waiting, *tasks], timeout=120, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
            failed = [task for task in tasks if task.done() and task.exception() is not None]
            problems = [repr(task.exception()) for task in failed]
            pipe.send({"first": tally.first, "errors": [len(tally.errors), *tally.errors[:3], *problems]})
        elif command == "report":
            pipe.send({"arrivals": tally.arrivals, "completed": tally.completed, "errors": tally.errors[:5]})
            tally.arrivals = {}
        else:
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main(pipe: Connection, url: str, token: str, connections: Sequence[Sequence[str]]) -> None:
    """Entry point of a subscriber process (started with multiprocessing's spawn)."""
    import uvloop

    uvloop.run(serve(pipe, url, token, connections))
