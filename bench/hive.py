"""The peer, side by side: `python -m bench.hive [--quick] [--repeats N] [--json]` measures the gateway
against Hive Gateway serving a Mesh-composed OpenAPI description of the emulator's video routes.

bench/hive/ holds the npm packages (installed here on demand with `npm ci`, never by `make test`), the
OpenAPI document, the composition and gateway settings and Hive's side of each operation. One emulator
serves both gateways; each gateway, the emulator and the load generator (bench/http.py) run in their own
process, Hive as one Node process; each client of a cell is a caller of its own. Before any load, each
operation is sent once to each gateway and the upstream calls the emulator recorded, and the data, are
compared; then every cell runs on both gateways in turn, several times, the first to go swapping each time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from bench import latency, startup
from bench.hive_operations import OPERATIONS, TOKENS, check, upstream_calls
from bench.hive_report import format_cell, section
from bench.hive_setup import Json, Unavailable, compose, install, start_hive, versions

REPEATS, REPEATS_QUICK = 3, 1
# Unmeasured load on each gateway and operation before the cells: Node compiles hot code as it runs.
WARM_SECONDS, WARM_SECONDS_QUICK = 5.0, 2.0
# Hive keeps no upstream answer between requests, so the gateway's read cache (gateway/upstream/readcache.py)
# is off here: with it, most of the gateway's requests would make no upstream call at all.
SAME_CALLS = {"GATEWAY_READ_CACHE_SECONDS": "0", "GATEWAY_READ_CACHE_TERMINAL_SECONDS": "0"}


async def seed(emulator_url: str) -> list[list[str]]:
    """bench/latency.py's jobs for every caller (TOKENS), then its upstream latency: each caller's job ids."""
    return await latency.seed_callers(emulator_url, TOKENS)


def cell(
    emulator_url: str,
    server: startup.Process,
    payloads: list[Json],
    clients: int,
    warmup: float,
    duration: float,
) -> Json:
    """One load of one gateway, client i as caller i: bench/latency.py's cell, plus upstream calls per request
    and resident memory."""
    upstream_calls(emulator_url)
    result: Json = latency.load(server, payloads, clients, warmup, duration, TOKENS)
    calls = upstream_calls(emulator_url)
    result["calls_per_request"] = calls / result["sent"] if result["sent"] else float("nan")
    result["rss_mb"] = server.rss_mb()
    return result


@contextlib.contextmanager
def servers(emulator_url: str, workdir: Path) -> Iterator[tuple[startup.Process, startup.Process, Json]]:
    """The gateway and Hive Gateway, started one after the other so that neither start-up slows the
    other's, with their seconds to ready and idle memory."""
    supergraph = compose(emulator_url, workdir)
    log_path = workdir / "hive.log"
    with open(log_path, "wb") as log:
        env = {**startup.gateway_env(emulator_url), **SAME_CALLS}
        gateway = startup.spawn("gateway", ["-m", "gateway", "serve", "--port", "{port}"], env)
        hive: startup.Process | None = None
        try:
            ready = {"ours": gateway.wait_ready("/readyz", timeout=60)}
            hive = start_hive(supergraph, log)
            try:
                ready["hive"] = hive.wait_ready("/healthcheck", timeout=180)
            except RuntimeError as error:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
                raise Unavailable(f"Hive Gateway did not start ({error}): {tail}") from error
            time.sleep(1.0)
            boot = {"ready_s": ready, "idle_rss_mb": {"ours": gateway.rss_mb(), "hive": hive.rss_mb()}}
            yield gateway, hive, boot
        finally:
            gateway.stop()
            if hive is not None:
                hive.stop()


def measure_cell(
    emulator_url: str,
    sides: dict[str, startup.Process],
    payloads: dict[str, list[Json]],
    name: str,
    clients: int,
    repeats: int,
    timing: tuple[float, float],
) -> Json:
    """One cell `repeats` times, on each gateway in turn, the first to go swapped each time."""
    runs = []
    for repeat in range(repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        measured: Json = {"first": order[0]}
        for side in order:
            measured[side] = cell(emulator_url, sides[side], payloads[side], clients, *timing)
        runs.append(measured)
    row = {"operation": name, "clients": clients, "runs": runs}
    print(f"  {name:<12} {clients:>3} clients: {format_cell(row)}", flush=True)
    return row


def measure(quick: bool, repeats: int) -> Json:
    began = time.monotonic()
    install()
    found = versions()
    warmup, duration = (1.0, 3.0) if quick else (2.0, 8.0)
    warm = WARM_SECONDS_QUICK if quick else WARM_SECONDS
    emulator = startup.emulator(TOKENS)
    emulator.wait_ready("/_emulator/calls")
    try:
        callers = asyncio.run(seed(emulator.url))
        ours_payloads = [latency.payloads(ids) for ids in callers]
        payloads = {
            name: {
                "ours": [by_name[name] for by_name in ours_payloads],
                "hive": [operation.hive_payload(ids) for ids in callers],
            }
            for name, operation in OPERATIONS.items()
        }
        with (
            tempfile.TemporaryDirectory(prefix="bench-hive-") as tmp,
            servers(emulator.url, Path(tmp)) as (
                gateway,
                hive,
                boot,
            ),
        ):
            checks = [check(emulator.url, gateway.url, hive.url, name, payloads[name]) for name in OPERATIONS]
            for row in checks:
                print(
                    f"  {row['operation']}: same upstream calls {row['same_calls']}, "
                    f"same data {row['same_data']}",
                    flush=True,
                )
            sides = {"ours": gateway, "hive": hive}
            for name in OPERATIONS:
                for side, server in sides.items():
                    latency.load(server, payloads[name][side], 10, 0.0, warm, TOKENS)
            cells = [
                measure_cell(emulator.url, sides, payloads[name], name, clients, repeats, (warmup, duration))
                for name in OPERATIONS
                for clients in latency.CLIENTS
            ]
    finally:
        emulator.stop()
    return {
        "versions": found,
        "quick": quick,
        "repeats": repeats,
        "warm_s": warm,
        "warmup_s": warmup,
        "duration_s": duration,
        "boot": boot,
        "checks": checks,
        "cells": cells,
        "seconds": time.monotonic() - began,
    }


def measure_or_reason(quick: bool, repeats: int) -> Json:
    try:
        return measure(quick, repeats)
    except Unavailable as why:
        return {"not measured": str(why)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hive", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter cells, one run each")
    parser.add_argument(
        "--repeats", type=int, help=f"runs per cell (default {REPEATS}; {REPEATS_QUICK} with --quick)"
    )
    parser.add_argument("--json", action="store_true", help="print the measurements as one JSON line")
    args = parser.parse_args(argv)
    repeats = args.repeats or (REPEATS_QUICK if args.quick else REPEATS)
    result = measure_or_reason(args.quick, repeats)
    if args.json:
        sys.stdout.buffer.write(b"\n" + orjson.dumps(result, default=str) + b"\n")
        return 0
    command = "python -m bench.hive" + (" --quick" if args.quick else "")
    print("\n".join(section(result, command)))
    return 0 if "not measured" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
