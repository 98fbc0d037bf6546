"""The emulator's background tasks (job life cycles, callback delivery): how one is stopped."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` and wait until it has ended; None (never started, or stopped already) is fine."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
