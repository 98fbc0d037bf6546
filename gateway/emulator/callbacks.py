"""Callbacks the emulator POSTs when a job ends, and the log of what each receiver answered."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.emulator import background

logger = logging.getLogger("gateway.emulator")

# Short, so a slow or dead receiver never holds the emulator up for long.
CALLBACK_TIMEOUT = httpx.Timeout(2.0, connect=1.0)


@dataclass(frozen=True)
class Callback:
    url: str
    job_id: str
    state: str
    body: dict[str, Any]


class CallbackSender:
    """Queues callbacks and sends them one by one from a task that lives with the app."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[Callback] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def enqueue(self, callback: Callback) -> None:
        self._queue.put_nowait(callback)

    async def _deliver(self, client: httpx.AsyncClient, callback: Callback) -> None:
        status: int | None = None
        try:
            response = await client.post(callback.url, json=callback.body)
            status = response.status_code
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("callback for job %s failed: %s", callback.job_id, type(exc).__name__)
        self.sent.append(
            {
                "url": callback.url,
                "job_id": callback.job_id,
                "state": callback.state,
                "status": status,
                "body": callback.body,
            }
        )

    async def _run(self) -> None:
        while True:
            callback = await self._queue.get()
            if self._client is None:
                # Made for the first callback: most runs send none, and each client loads a CA store.
                self._client = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, follow_redirects=False)
            try:
                await self._deliver(self._client, callback)
            except Exception:
                logger.exception("callback delivery crashed")

    def start(self) -> None:
        # Jobs may have ended before the app started; keep what was queued.
        pending: list[Callback] = []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        self._queue = asyncio.Queue()
        for callback in pending:
            self._queue.put_nowait(callback)
        self._task = asyncio.create_task(self._run(), name="emulator-callbacks")

    async def stop(self) -> None:
        await background.cancel(self._task)
        self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
