"""Bytes on the wire for a 100-job page over `serve`: plain, gzip, brotli, and a 304 revalidation; and
the size and CPU of each compression level for that page."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import brotli
import httpx
import orjson

from bench import startup
from bench.reliability import HEADERS, VIDEO

PAGE = (Path(__file__).resolve().parents[1] / "queries" / "video_job_list.graphql").read_text()


async def exchange(port: int, target: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    """One GET over a fresh connection: the response head and body exactly as they crossed the wire."""
    reader, writer = await asyncio.open_connection(startup.HOST, port)
    lines = [f"GET {target} HTTP/1.1", f"Host: {startup.HOST}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    received = await reader.read()
    writer.close()
    head, _, body = received.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body


def etag_of(head: bytes) -> str:
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "etag":
            return value.strip()
    raise RuntimeError("the answer has no ETag")


def timed(compress: Callable[[], bytes], rounds: int) -> tuple[int, float]:
    """The compressed size and the CPU milliseconds one compression takes (process time, so that other
    work on a busy machine does not count)."""
    size = len(compress())
    started = time.process_time()
    for _ in range(rounds):
        compress()
    return size, (time.process_time() - started) * 1000 / rounds


def _brotli(body: bytes, quality: int) -> bytes:
    return bytes(brotli.compress(body, quality=quality, mode=brotli.MODE_TEXT))


def _gzip(body: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


async def main() -> None:
    with startup.running(startup.emulator(), "/_emulator/calls") as emulator:
        async with httpx.AsyncClient(base_url=emulator.url, timeout=30) as admin:
            path = f"/v1/{startup.PROJECT}/2d-digital-human-videos"
            for _ in range(100):
                await admin.post(path, json=VIDEO, headers=HEADERS)
        with startup.running(startup.gateway(emulator.url), "/healthz") as served:
            variables = orjson.dumps({"first": 100}).decode()
            target = "/graphql?" + urlencode({"query": PAGE, "variables": variables})
            print("## A 100-job page (queries/video_job_list.graphql, GET), bytes on the wire")
            print("| Accept-Encoding | 200: head + body | 304 revalidation: head + body |")
            print("|---|---:|---:|")
            plain = b""
            for coding in ("identity", "gzip", "br"):
                head, body = await exchange(served.port, target, {**HEADERS, "Accept-Encoding": coding})
                plain = plain or body
                again, empty = await exchange(
                    served.port,
                    target,
                    {**HEADERS, "Accept-Encoding": coding, "If-None-Match": etag_of(head)},
                )
                print(
                    f"| {coding} | {len(head):,} + {len(body):,} = {len(head) + len(body):,} "
                    f"| {len(again):,} + {len(empty):,} = {len(again) + len(empty):,} |"
                )
    print(f"\n## Compression of that page's {len(plain):,} bytes, per level (ms of CPU per answer)")
    print("| coding | level | bytes | ms |\n|---|---:|---:|---:|")
    for level in (1, 6, 9):
        size, ms = timed(functools.partial(_gzip, plain, level), 200)
        print(f"| gzip | {level} | {size:,} | {ms:.2f} |")
    for quality in (4, 5, 6, 9, 11):
        size, ms = timed(functools.partial(_brotli, plain, quality), 200 if quality < 9 else 20)
        print(f"| br | {quality} | {size:,} | {ms:.2f} |")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
