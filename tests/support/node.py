"""Node scripts from tests/js run against a real gateway: one JSON message a line until they end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

JS = Path(__file__).resolve().parents[1] / "js"


async def run_script(
    script: str,
    options: dict[str, Any],
    *,
    seconds: float,
    progress: str | None = None,
    move: Callable[[int], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """Every message `script` prints for `options`; after each message holding the key `progress`,
    `move` is called with how many such messages came so far. The script must exit 0 within `seconds`."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(JS / script),
        json.dumps(options),
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    messages: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while line := await process.stdout.readline():
                message: dict[str, Any] = json.loads(line)
                messages.append(message)
                if progress is not None and progress in message and move is not None:
                    await move(sum(progress in m for m in messages))
            stderr = await process.stderr.read()
            assert await process.wait() == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return messages
