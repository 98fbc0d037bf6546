"""A stand-in upstream that records each request exactly as it came off the wire and answers as told."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Received:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: str) -> bytes | None:
        wanted = name.lower().encode()
        return next((value for key, value in self.headers if key == wanted), None)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"


class RecordingUpstream:
    """ASGI app: keeps every request's raw path, query, headers and body; answers from a queue."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[Answer] = deque()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with self._lock:
            self.received.append(
                Received(
                    scope["method"], scope["raw_path"], scope["query_string"], tuple(scope["headers"]), body
                )
            )
            answer = self.answers.popleft() if self.answers else Answer()
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.content_type.encode()),
                    (b"x-request-id", uuid.uuid4().hex.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})
