"""The one command: `python -m bench [--quick]` measures upstream calls per operation, latency and
throughput against the floor, start-up and idle memory (and subscriptions when bench/subscriptions.py
is there), the gateway's own CPU per request, the gateway side by side with Hive Gateway and the polling
economy (bench/polling.py), prints the tables and writes them to bench/RESULTS.md. `--only hive`
measures the side by side alone and rewrites only its section."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench import calls, hive_report, polling, startup
from bench.latency import measure_http
from bench.report import report

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
# Everything below this line in RESULTS.md is written by hand (profiles, changes) and kept on rewrite.
KEPT = "<!-- Measured above by `python -m bench`; written by hand below, kept when it rewrites. -->"
SUBSCRIPTIONS_LIMIT, SUBSCRIPTIONS_LIMIT_QUICK = 300.0, 90.0
# The side by side's own bound, an npm install of a few hundred megabytes included.
HIVE_LIMIT, HIVE_LIMIT_QUICK = 2400.0, 1200.0
HIVE_SECTION = "## 6. Hive Gateway side by side"
# bench/polling.py runs three client counts of about 40 s each.
POLLING_LIMIT = 600.0
SUBSCRIPTIONS_CHILD = (
    "import asyncio, sys, orjson\n"
    "from bench.subscriptions import run\n"
    "rows = asyncio.run(run(sys.argv[1] == 'quick'))\n"
    "sys.stdout.buffer.write(b'\\n' + orjson.dumps(rows, default=str) + b'\\n')\n"
)


def measure_startup(quick: bool) -> dict[str, float]:
    emulator = startup.emulator()
    emulator.wait_ready("/_emulator/calls")
    try:
        return startup.measure(emulator.url, runs=1 if quick else 3)
    finally:
        emulator.stop()


def measure_subscriptions(quick: bool) -> dict[str, object] | None:
    """bench/subscriptions.py's rows, when that module is there, run in a process of its own so that
    its time stays bounded: past the limit, that process and every one it started are stopped."""
    if importlib.util.find_spec("bench.subscriptions") is None:
        return None
    limit = SUBSCRIPTIONS_LIMIT_QUICK if quick else SUBSCRIPTIONS_LIMIT
    child = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIPTIONS_CHILD, "quick" if quick else "full"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, _ = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        stop_group(child)
        return {"not measured": f"stopped after {limit:.0f} s"}
    if child.returncode != 0:
        return {"not measured": f"bench/subscriptions.py exited with {child.returncode}"}
    # The last line: anything the benchmark itself printed comes before it.
    result: dict[str, object] = orjson.loads(out.strip().splitlines()[-1])
    return result


def measure_cpu(quick: bool) -> dict[str, float]:
    """bench/cpu.py's milliseconds of gateway CPU per request, in a process of its own."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cpu", "--json", "--rounds", "3" if quick else "7"],
        capture_output=True,
        check=True,
        timeout=300,
    )
    result: dict[str, float] = orjson.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure_polling(quick: bool) -> list[dict[str, Any]] | str:
    """bench/polling.py's rows, in a process of its own (it starts its own emulator and gateway)."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.polling", "--json", *(["--quick"] if quick else [])],
            capture_output=True,
            check=True,
            timeout=POLLING_LIMIT,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return type(exc).__name__
    rows: list[dict[str, Any]] = orjson.loads(completed.stdout.strip().splitlines()[-1])
    return rows


def measure_hive(quick: bool) -> dict[str, Any]:
    """bench/hive.py's side by side, in a process of its own (it starts its own emulator, gateway and
    Hive Gateway, and stops them); past the limit, that process and every one it started are stopped."""
    limit = HIVE_LIMIT_QUICK if quick else HIVE_LIMIT
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.hive", "--json", *(["--quick"] if quick else [])],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, _ = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        stop_group(child)
        return {"not measured": f"stopped after {limit:.0f} s"}
    lines = out.strip().splitlines()
    if child.returncode != 0 or not lines:
        return {"not measured": f"bench/hive.py exited with {child.returncode}"}
    # The last line: the progress it printed comes before it.
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def replace_section(previous: str, section: str) -> str:
    """RESULTS.md with the Hive section replaced, or added at the end of the measured part."""
    if HIVE_SECTION in previous:
        head, rest = previous.split(HIVE_SECTION, 1)
        ends = [at for at in (rest.find("\n## "), rest.find(KEPT)) if at >= 0]
        tail = rest[min(ends) :].lstrip("\n") if ends else ""
        return f"{head}{section}\n{tail}"
    head, marker, tail = previous.partition(KEPT)
    head = f"{head.rstrip()}\n\n" if head.strip() else ""
    return f"{head}{section}\n{marker}{tail}"


def stop_group(child: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            child.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter cells and one start-up (~2 minutes)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument(
        "--only",
        choices=["hive"],
        help="measure one part alone and rewrite only its section (hive: the side by side with Hive Gateway)",
    )
    args = parser.parse_args(argv)
    command = "python -m bench" + (" --quick" if args.quick else "")
    command += f" --only {args.only}" if args.only else ""
    if args.only == "hive":
        print("6. Hive Gateway side by side", flush=True)
        section = "\n".join(hive_report.section(measure_hive(args.quick), command))
        previous = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        args.output.write_text(replace_section(previous, section), encoding="utf-8")
        print(section)
        return 0
    began = time.monotonic()
    print("1. upstream calls per operation", flush=True)
    call_rows = asyncio.run(calls.run())
    print("2. latency and throughput", flush=True)
    http_rows = measure_http(args.quick)
    print("4. start-up and memory", flush=True)
    boot = measure_startup(args.quick)
    print("3. subscriptions", flush=True)
    subscriptions = measure_subscriptions(args.quick)
    print("5. gateway CPU per request", flush=True)
    cpu = measure_cpu(args.quick)
    print("6. Hive Gateway side by side", flush=True)
    peer = hive_report.section(measure_hive(args.quick), command)
    print("7. polling economy", flush=True)
    peer += polling.section(measure_polling(args.quick))
    text = report(command, time.monotonic() - began, call_rows, http_rows, boot, subscriptions, cpu, peer)
    kept = ""
    if args.output.exists():
        previous = args.output.read_text(encoding="utf-8")
        if KEPT in previous:
            kept = previous.split(KEPT, 1)[1]
    args.output.write_text(f"{text}\n{KEPT}{kept or chr(10)}", encoding="utf-8")
    print(text)
    return 0
