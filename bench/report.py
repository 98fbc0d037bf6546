"""The report `python -m bench` writes: the machine, the budgets and every section's table."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from typing import Any

from bench.latency import SEEDED_JOBS, TOKENS, UPSTREAM_LATENCY

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
