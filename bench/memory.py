"""Resident memory before and after a load: `python -m bench.memory [--short]`.

One gateway process over the emulator, as in section 2 of bench/RESULTS.md (50 callers, each with its
own token and jobs, the read cache off); its VmRSS 1 s after ready, then a load of the page at 10
clients, nodes at 10, the page at 50, one job at 50 and the detail at 10, and its VmRSS right after and
10 s later. Issue #13's goal: idle <= 60 MB, and within 20 % of idle after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench import latency, startup

CALLERS = 50
# (operation, clients, seconds measured)
LOAD = (
    ("50-job page", 10, 15.0),
    ("nodes, 100 ids", 10, 10.0),
    ("50-job page", 50, 10.0),
    ("one job", 50, 10.0),
    ("detail with scripts", 10, 5.0),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--short", action="store_true", help="each cell a third as long")
    args = parser.parse_args(argv)
    tokens = latency.TOKENS[:CALLERS]
    emulator = startup.emulator(tokens)
    emulator.wait_ready("/_emulator/calls")
    try:
        callers = [latency.payloads(ids) for ids in asyncio.run(latency.seed_callers(emulator.url, tokens))]
        gateway = startup.gateway(emulator.url)
        try:
            gateway.wait_ready("/readyz")
            time.sleep(1.0)
            idle = gateway.rss_mb()
            print(f"idle: {idle:.1f} MB", flush=True)
            for operation, clients, seconds in LOAD:
                each = [by_operation[operation] for by_operation in callers]
                cell = latency.load(
                    gateway, each, clients, 0.5, seconds / 3 if args.short else seconds, tokens
                )
                print(
                    f"{operation} at {clients}: {cell['rps']:.0f} req/s, {cell['cpu_ms']:.2f} ms CPU per "
                    f"request, {gateway.rss_mb():.1f} MB",
                    flush=True,
                )
            after = gateway.rss_mb()
            time.sleep(10.0)
            later = gateway.rss_mb()
            growth = (later / idle - 1) * 100
            print(f"after the load: {after:.1f} MB; 10 s later: {later:.1f} MB ({growth:+.0f} % of idle)")
        finally:
            gateway.stop()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
