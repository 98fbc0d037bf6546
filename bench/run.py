"""The one command: `python -m bench [--quick]` measures upstream calls per operation, latency and
throughput against the floor, start-up and idle memory (and subscriptions when bench/subscriptions.py
is there), the gateway's own CPU per request, the gateway side by side with Hive Gateway and the polling
economy (bench/polling.py), prints the tables and writes them to bench/RESULTS.md. `--only hive`
measures the side by side alone and rewrites only its section."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib
import importlib.util
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import calls, polling, startup
from schema.relay import encode_global_id
from tests.support.gateway import VIDEO_BODY

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
QUERIES = Path(__file__).resolve().parents[1] / "queries"
# Everything below this line in RESULTS.md is written by hand (profiles, changes) and kept on rewrite.
KEPT = "<!-- Measured above by `python -m bench`; written by hand below, kept when it rewrites. -->"
CLIENTS = (1, 10, 50)
# One caller per client, each with its jobs: the gateway shares a read in flight among identical
# requests of one caller, which the floor (and Hive) do not; with a caller per client both sides make
# one upstream call per request.
TOKENS = [f"{startup.TOKEN}-{i}" for i in range(max(CLIENTS))]
SEEDED_JOBS = 100
UPSTREAM_LATENCY = 0.02
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
ONE_JOB = (
    "query OneJob($jobId: String!) {\n"
    "  videoJob(jobId: $jobId) { id jobId state rawState terminal createTime }\n}\n"
)
PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "httpx",
    "orjson",
    "websockets",
)


async def seed(emulator_url: str) -> list[str]:
    """The jobs every operation reads: 100 video jobs, frozen in their first state."""
    headers = {"X-Auth-Token": startup.TOKEN}
    async with httpx.AsyncClient(base_url=f"{emulator_url}/v1/{startup.PROJECT}", headers=headers) as client:
        responses = await asyncio.gather(
            *(client.post("/2d-digital-human-videos", json=VIDEO_BODY) for _ in range(SEEDED_JOBS))
        )
        admin = await client.put(f"{emulator_url}/_emulator/latency", json={"seconds": UPSTREAM_LATENCY})
        admin.raise_for_status()
    return [r.raise_for_status().json()["job_id"] for r in responses]


async def seed_callers(emulator_url: str, tokens: list[str]) -> list[list[str]]:
    """The same jobs for every caller of `tokens`, then the upstream latency: each caller's job ids."""
    async with httpx.AsyncClient(base_url=f"{emulator_url}/v1/{startup.PROJECT}", timeout=60) as client:
        ids = []
        for token in tokens:
            headers = {"X-Auth-Token": token}
            answers = await asyncio.gather(
                *(
                    client.post("/2d-digital-human-videos", json=VIDEO_BODY, headers=headers)
                    for _ in range(SEEDED_JOBS)
                )
            )
            ids.append([answer.raise_for_status().json()["job_id"] for answer in answers])
        latency = {"seconds": UPSTREAM_LATENCY}
        (await client.put(f"{emulator_url}/_emulator/latency", json=latency)).raise_for_status()
    return ids


def payloads(job_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {
        "one job": {"operationName": "OneJob", "query": ONE_JOB, "variables": {"jobId": job_ids[0]}},
        "50-job page": {
            "operationName": "VideoJobList",
            "query": (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8"),
            "variables": {"first": 50},
        },
        "detail with scripts": {
            "operationName": "VideoJobDetail",
            "query": (QUERIES / "video_job_detail.graphql").read_text(encoding="utf-8"),
            "variables": {"jobId": job_ids[1]},
        },
        "nodes, 100 ids": {
            "operationName": "JobsById",
            "query": (QUERIES / "jobs_by_id.graphql").read_text(encoding="utf-8"),
            "variables": {"ids": [encode_global_id("VideoJob", j) for j in job_ids]},
        },
    }


def same_answer(gateway_url: str, floor_url: str, payload: dict[str, Any], token: str) -> bool:
    headers = {"X-Auth-Token": token}
    answers = [
        httpx.post(f"{url}/graphql", json=payload, headers=headers, timeout=30).json()
        for url in (gateway_url, floor_url)
    ]
    return bool(answers[0] == answers[1] and "errors" not in answers[0])


def load(
    server: startup.Process,
    payload: dict[str, Any] | list[dict[str, Any]],
    clients: int,
    warmup: float,
    duration: float,
    tokens: Sequence[str] = (startup.TOKEN,),
) -> dict[str, float]:
    """One cell, generated by a process of its own, with the server's CPU time per request. Client i
    sends payload i and token i when given several (see bench/http.py)."""
    url = server.url
    before = server.cpu_seconds()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http",
            "--url",
            f"{url}/graphql",
            *(arg for token in tokens for arg in ("--token", token)),
            "--clients",
            str(clients),
            "--warmup",
            str(warmup),
            "--duration",
            str(duration),
        ],
        input=orjson.dumps(payload),
        capture_output=True,
        check=True,
        timeout=warmup + duration + 60,
    )
    result: dict[str, float] = orjson.loads(completed.stdout)
    # Warm-up requests count too: the CPU time covers every request the load generator sent.
    sent = result["sent"]
    result["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / sent if sent else float("nan")
    return result


def measure_http(quick: bool) -> list[dict[str, Any]]:
    warmup, duration = (1.0, 3.0) if quick else (2.0, 8.0)
    emulator = startup.emulator(TOKENS)
    emulator.wait_ready("/_emulator/calls")
    try:
        callers = [payloads(ids) for ids in asyncio.run(seed_callers(emulator.url, TOKENS))]
        gateway, floor = startup.gateway(emulator.url), startup.floor(emulator.url)
        try:
            gateway.wait_ready("/readyz")
            floor.wait_ready("/readyz")
            rows = []
            for operation in callers[0]:
                # Client i sends caller i's request with caller i's token.
                each = [by_operation[operation] for by_operation in callers]
                same = same_answer(gateway.url, floor.url, each[0], TOKENS[0])
                for clients in CLIENTS:
                    ours = load(gateway, each, clients, warmup, duration, TOKENS)
                    base = load(floor, each, clients, warmup, duration, TOKENS)
                    row = {"operation": operation, "clients": clients, "same_json": same}
                    row.update({f"gw_{k}": v for k, v in ours.items()})
                    row.update({f"floor_{k}": v for k, v in base.items()})
                    row["ratio"] = ours["rps"] / base["rps"] if base["rps"] else float("nan")
                    rows.append(row)
                    print(f"  {operation:<20} {clients:>3} clients: {format_cell(row)}", flush=True)
            return rows
        finally:
            gateway.stop()
            floor.stop()
    finally:
        emulator.stop()


def format_cell(row: dict[str, Any]) -> str:
    return (
        f"gateway p50 {row['gw_p50_ms']:.1f} p99 {row['gw_p99_ms']:.1f} ms {row['gw_rps']:.0f}/s "
        f"{row['gw_cpu_ms']:.2f} ms CPU | "
        f"floor p50 {row['floor_p50_ms']:.1f} p99 {row['floor_p99_ms']:.1f} ms "
        f"{row['floor_rps']:.0f}/s {row['floor_cpu_ms']:.2f} ms CPU | "
        f"ratio {row['ratio']:.2f}"
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


def machine() -> list[str]:
    memory = "unknown"
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), {memory} memory, {platform.platform()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def budgets(
    call_rows: list[dict[str, object]],
    http_rows: list[dict[str, Any]],
    boot: dict[str, float],
    cpu: dict[str, float],
) -> list[tuple[str, bool, str]]:
    def mark(rows: list[dict[str, Any]], test: Any) -> tuple[bool, str]:
        return all(test(r) for r in rows), "; ".join(
            f"{r['operation']} @{r['clients']}: {r['ratio']:.2f}"
            if "ratio" in r and test is throughput
            else f"{r['operation']} @{r['clients']}: {r['gw_p99_ms']:.1f} vs {r['floor_p99_ms']:.1f} + 15 ms"
            for r in rows
        )

    def throughput(r: dict[str, Any]) -> bool:
        return bool(r["ratio"] >= 0.6)

    def tail(r: dict[str, Any]) -> bool:
        return bool(r["gw_p99_ms"] <= r["floor_p99_ms"] + 15)

    budgeted = http_rows
    wrong = [str(r["operation"]) for r in call_rows if not r["met"]]
    result = [
        (
            "every operation in queries/ makes exactly the minimum upstream calls",
            not wrong,
            f"all {len(call_rows)} at the minimum" if not wrong else "over: " + ", ".join(wrong),
        ),
        ("gateway throughput >= 0.6 x floor (every cell)", *mark(budgeted, throughput)),
        (
            "p99 <= floor p99 + 15 ms at 50 clients (every operation)",
            *mark([r for r in budgeted if r["clients"] == 50], tail),
        ),
        (
            "gateway CPU per request of the 50-job page <= 3 ms (section 5)",
            cpu.get("50-job page", float("inf")) <= 3.0,
            f"{cpu.get('50-job page', float('nan')):.2f} ms",
        ),
        ("idle resident memory < 150 MB", boot["idle_rss_mb"] < 150, f"{boot['idle_rss_mb']:.1f} MB"),
    ]
    return result


def report(
    command: str,
    seconds: float,
    call_rows: list[dict[str, object]],
    http_rows: list[dict[str, Any]],
    boot: dict[str, float],
    subscriptions: dict[str, object] | None,
    cpu: dict[str, float],
    peer: list[str],
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"- Command: `{command}` ({seconds:.0f} s), {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        *machine(),
        f"- Set-up: emulator, gateway (token mode, no retries), floor and load generator each in its own "
        f"process on 127.0.0.1; {SEEDED_JOBS} seeded video jobs for each of {len(TOKENS)} callers; the "
        f"emulator answers after {UPSTREAM_LATENCY * 1000:.0f} ms; each client keeps one keep-alive "
        "connection.",
        "",
        "## Budgets",
        "",
        "| Budget | Met | Measured |",
        "|---|---|---|",
        *(
            f"| {name} | {'met' if ok else '**not met**'} | {detail} |"
            for name, ok, detail in budgets(call_rows, http_rows, boot, cpu)
        ),
        "",
        "## 1. Upstream calls per operation",
        "",
        "| Operation | Calls | Minimum | Met |",
        "|---|---:|---:|---|",
        *(
            f"| {r['operation']} | {r['calls']} | {r['minimum']} | {'yes' if r['met'] else 'NO'} |"
            for r in call_rows
        ),
        "",
        "## 2. Latency and throughput, gateway vs floor",
        "",
        "The floor is bench/floor.py: Starlette + httpx, the same upstream calls, the same JSON "
        '("same JSON" compares both answers once). Each client is a caller of its own, with its own '
        "token and jobs, so that both make one upstream call per request (the gateway shares a read in "
        "flight among identical requests of one caller; the floor does not).",
        "",
        "CPU ms/req is the server process's CPU time over the cell (from /proc/<pid>/stat) divided by the "
        "requests it answered, warm-up included: what one request costs the server, whoever is the "
        "bottleneck.",
        "",
        "| Operation | Clients | Gateway p50 ms | Gateway p99 ms | Gateway req/s | Gateway CPU ms/req | "
        "Floor p50 ms | Floor p99 ms | Floor req/s | Floor CPU ms/req | Ratio gw/floor | Same JSON | "
        "Errors gw/floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        *(
            f"| {r['operation']} | {r['clients']} | {r['gw_p50_ms']:.1f} | {r['gw_p99_ms']:.1f} | "
            f"{r['gw_rps']:.0f} | {r['gw_cpu_ms']:.2f} | {r['floor_p50_ms']:.1f} | {r['floor_p99_ms']:.1f} | "
            f"{r['floor_rps']:.0f} | {r['floor_cpu_ms']:.2f} | {r['ratio']:.2f} | "
            f"{'yes' if r['same_json'] else 'NO'} | {r['gw_errors']:.0f}/{r['floor_errors']:.0f} |"
            for r in http_rows
        ),
        "",
        "## 3. Subscriptions",
        "",
        *(
            ["subscriptions: not measured"]
            if subscriptions is None
            else [f"- {key}: {value}" for key, value in subscriptions.items()]
        ),
        "",
        "## 4. Start-up and memory",
        "",
        f"- Start-up, spawn to /readyz 200: {boot['startup_s']:.2f} s "
        f"(median; slowest {boot['startup_max_s']:.2f} s)",
        f"- Resident memory idle (VmRSS, 1 s after ready): {boot['idle_rss_mb']:.1f} MB",
        "",
        "## 5. Gateway CPU per request",
        "",
        "bench/cpu.py: each operation of section 2 sent 200 times in a row straight through the gateway's "
        "ASGI app in one process, the upstream answered from a recording, so only the gateway's own work "
        "is timed (CPU time, the fastest round of 200).",
        "",
        "| Operation | ms of CPU per request |",
        "|---|---:|",
        *(f"| {name} | {ms:.2f} |" for name, ms in cpu.items()),
        "",
        *peer,
    ]
    return "\n".join(lines)


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
    # Here, not at the top: bench/hive.py imports this module for the cells it shares with section 2.
    from bench import hive

    command = "python -m bench" + (" --quick" if args.quick else "")
    command += f" --only {args.only}" if args.only else ""
    if args.only == "hive":
        print("6. Hive Gateway side by side", flush=True)
        section = "\n".join(hive.section(measure_hive(args.quick), command))
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
    peer = hive.section(measure_hive(args.quick), command)
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
