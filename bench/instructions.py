"""Instructions per request under callgrind: `python -m bench.instructions "50-job page" 10`.

The gateway's app in this process as bench/cpu.py builds it (the upstream's answers replayed from one
recording), 20 warm-up requests, a collection and `gc.freeze()`, then callgrind's instrumentation on
for N requests of the operation alone (switched with callgrind_control from this process). Unlike CPU
time, the count does not move with the load other programs put on the machine: repeated runs of one
tree agree within about 1 %, so a change is measured by running this before and after it. Needs
valgrind; the run takes a minute or two, mostly start-up under callgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile

import httpx
import orjson

from bench import cpu, latency, startup
from gateway import turns
from gateway.app import create_app
from gateway.settings import Settings

UNDER_CALLGRIND = "BENCH_UNDER_CALLGRIND"
WARM_UP = 20
# How many times slower a request runs under callgrind, about: the operation's turns (gateway/turns.py)
# last that much longer, so that a list is completed in as many slices as it would be at full speed and
# the count does not grow with the machine's load.
CALLGRIND_SLOWDOWN = 50


async def requests(operation: str, count: int, query: str | None = None) -> None:
    turns.SLICE_SECONDS *= CALLGRIND_SLOWDOWN
    emulator = startup.emulator()
    emulator.wait_ready("/_emulator/calls")
    try:
        ids = await latency.seed(emulator.url)
        settings = Settings.from_env(startup.gateway_env(emulator.url))
        upstream = cpu.RecordedUpstream(httpx.AsyncHTTPTransport())
        app = create_app(settings, upstream_transport=upstream)
        async with app.router.lifespan_context(app):
            payload = {"query": query} if query else latency.payloads(ids)[operation]
            body = orjson.dumps(payload)
            answer = orjson.loads(await cpu.post(app, body))
            if "errors" in answer:
                raise SystemExit(f"{operation}: {answer['errors']}")
            for _ in range(WARM_UP):
                await cpu.post(app, body)
            upstream.live = None
            gc.collect()
            gc.freeze()
            instrument("on")
            for _ in range(count):
                await cpu.post(app, body)
            instrument("off")
    finally:
        emulator.stop()


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed (Debian: apt-get install valgrind)")
    return found


def instrument(state: str) -> None:
    command = [tool("callgrind_control"), "-i", state, str(os.getpid())]
    subprocess.run(command, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("operation", choices=list(latency.payloads(["job"] * 100)), help="one of section 2's")
    parser.add_argument("count", type=int, nargs="?", default=10, help="requests counted (default 10)")
    parser.add_argument("--query", help="count this document instead (to split an operation's cost)")
    args = parser.parse_args(argv)
    if os.environ.get(UNDER_CALLGRIND):
        asyncio.run(requests(args.operation, args.count, args.query))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                tool("valgrind"),
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable,
                "-m",
                "bench.instructions",
                args.operation,
                str(args.count),
                *(("--query", args.query) if args.query else ()),
            ],
            env={**os.environ, UNDER_CALLGRIND: "1"},
            capture_output=True,
            text=True,
            check=False,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    total = int(found.group(1))
    print(
        f"{args.operation}: {total / args.count / 1e6:.2f} M instructions per request "
        f"({total} over {args.count})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
