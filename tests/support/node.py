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
    progress: str | Callable[[dict[str, Any]], bool] | None = None,
    move: Callable[[int], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """Every message `script` prints for `options`; after each message holding the key `progress` (or for
    which `progress` is true, given a function), `move` is called with how many such messages came so far.
    The script must exit 0 within `seconds`."""

    def counts(message: dict[str, Any]) -> bool:
        return progress(message) if callable(progress) else progress in message

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
                if progress is not None and move is not None and counts(message):
                    await move(sum(counts(m) for m in messages))
            stderr = await process.stderr.read()
            assert await process.wait() == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return messages
