"""The load generator: N clients, each on its own keep-alive connection, sending one GraphQL request
after another for a fixed time; run as its own process (`python -m bench.http ...`), never inside the
process under test. Reads the request body on stdin: one JSON object for every client, or a JSON array
of them, client i sending body i (modulo their number); likewise client i sends token i of those given.
Prints one JSON line: requests (answered after the warm-up), sent (answered in all, warm-up included),
errors, p50/p99 in ms and requests per second."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from urllib.parse import urlsplit

import orjson
import uvloop


def request_bytes(host: str, port: int, path: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nX-Auth-Token: {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def one_client(
    host: str, port: int, request: bytes, warm_until: float, stop_at: float, latencies: list[float]
) -> tuple[int, int]:
    """Requests until stop_at; keeps latencies of those sent after warm_until; returns the errors and
    the requests answered."""
    errors = answered = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return errors, answered
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            ended = time.perf_counter()
            answered += 1
            if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in body:
                errors += 1
            elif started >= warm_until:
                latencies.append(ended - started)
    finally:
        writer.close()


async def load(
    url: str, bodies: list[bytes], tokens: list[str], clients: int, warmup: float, duration: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        request_bytes(host, port, parts.path or "/", bodies[i % len(bodies)], tokens[i % len(tokens)])
        for i in range(clients)
    ]
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + duration
    latencies: list[float] = []
    outcomes = await asyncio.gather(
        *(one_client(host, port, request, warm_until, stop_at, latencies) for request in requests)
    )
    latencies.sort()
    count = len(latencies)

    def quantile(q: float) -> float:
        return latencies[min(count - 1, int(q * count))] * 1000 if count else float("nan")

    return {
        "requests": count,
        "sent": sum(answered for _, answered in outcomes),
        "errors": sum(errors for errors, _ in outcomes),
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "rps": count / duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, action="append", help="repeatable: one per client")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    body = sys.stdin.buffer.read()
    given = orjson.loads(body)
    bodies = [orjson.dumps(one) for one in given] if isinstance(given, list) else [body]
    result = uvloop.run(load(args.url, bodies, args.token, args.clients, args.warmup, args.duration))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
