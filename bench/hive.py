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
import datetime
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson

from bench import run, startup

Json = dict[str, Any]
HIVE = Path(__file__).resolve().parent / "hive"
# Written after a successful `npm ci`: the hash of the lock file it installed.
STAMP = HIVE / "node_modules" / ".bench-installed"
PACKAGES = ("@graphql-hive/gateway", "@graphql-mesh/compose-cli", "@omnigraph/openapi", "graphql")
REPEATS, REPEATS_QUICK = 3, 1
# Unmeasured load on each gateway and operation before the cells: Node compiles hot code as it runs.
WARM_SECONDS, WARM_SECONDS_QUICK = 5.0, 2.0
# Hive keeps no upstream answer between requests, so the gateway's read cache (gateway/upstream/readcache.py)
# is off here: with it, most of the gateway's requests would make no upstream call at all.
SAME_CALLS = {"GATEWAY_READ_CACHE_SECONDS": "0", "GATEWAY_READ_CACHE_TERMINAL_SECONDS": "0"}
# Each client is a caller of its own, with its own token and jobs: the gateway shares an upstream read
# in flight among identical requests of one caller (which no setting turns off, and Hive does not do
# over REST), so one shared token would spare the gateway upstream calls that Hive makes.
TOKENS = run.TOKENS
# What the gateway's VideoJobKind values are upstream (Hive shows the upstream value, with a leading
# underscore where GraphQL names cannot start with a digit).
JOB_TYPES = {"DIGITAL_HUMAN_2D": "2D_DIGITAL_HUMAN_VIDEO", "PHOTO_DIGITAL_HUMAN": "PHOTO_DIGITAL_HUMAN_VIDEO"}


class Unavailable(Exception):
    """Why Hive Gateway could not be measured here."""


def when(value: str | None) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)


def dig(value: Json | None, path: str) -> Any:
    for name in path.split("."):
        if value is None:
            return None
        value = value.get(name)
    return value


def our_row(job: Json) -> tuple[Any, ...]:
    return (
        job["jobId"],
        JOB_TYPES.get(job["kind"], job["kind"]),
        job["state"],
        when(job["createTime"]),
        when(job["lastUpdateTime"]),
        job["duration"],
        dig(job, "outputAsset.assetName"),
        dig(job, "outputAsset.coverUrl"),
        dig(job, "error.code"),
        dig(job, "error.message"),
    )


def hive_row(job: Json) -> tuple[Any, ...]:
    return (
        job["job_id"],
        (job["job_type"] or "").lstrip("_") or None,
        job["state"],
        when(job["create_time"]),
        when(job["lastupdate_time"]),
        job["duration"],
        dig(job, "output_asset_config.asset_name"),
        dig(job, "output_asset_config.cover_url"),
        dig(job, "error_info.error_code"),
        dig(job, "error_info.error_msg"),
    )


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation: the gateway's request (bench/run.py's payloads), Hive's closest
    equivalent (a document in bench/hive/), and each side's answer reduced to the data both carry."""

    document: str
    variables: Callable[[list[str]], Json]
    ours: Callable[[Json], list[Any]]
    hive: Callable[[Json], list[Any]]

    def hive_payload(self, job_ids: list[str]) -> Json:
        query = (HIVE / self.document).read_text(encoding="utf-8")
        name = re.search(r"^query (\w+)", query, re.MULTILINE)
        if name is None:
            raise ValueError(f"bench/hive/{self.document} has no named query")
        return {"operationName": name[1], "query": query, "variables": self.variables(job_ids)}


OPERATIONS = {
    "one job": Operation(
        document="one_job.graphql",
        variables=lambda ids: {"jobId": ids[0]},
        ours=lambda d: [(d["videoJob"]["jobId"], d["videoJob"]["state"], when(d["videoJob"]["createTime"]))],
        hive=lambda d: [
            (d["videoJob"]["job_id"], d["videoJob"]["state"], when(d["videoJob"]["create_time"]))
        ],
    ),
    "50-job page": Operation(
        document="video_job_list.graphql",
        variables=lambda ids: {"first": 50},
        ours=lambda d: [
            d["videoJobs"]["totalCount"],
            *(our_row(edge["node"]) for edge in d["videoJobs"]["edges"]),
        ],
        hive=lambda d: [
            d["ListDigitalHumanVideo"]["count"],
            *(hive_row(job) for job in d["ListDigitalHumanVideo"]["jobs"]),
        ],
    ),
}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Unavailable(f"{name} is not on PATH")
    return path


def install() -> None:
    """`npm ci` into bench/hive/node_modules, unless it already holds what package-lock.json pins."""
    npm = tool("npm")
    lock = hashlib.sha256((HIVE / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text(encoding="ascii").strip() == lock:
        return
    print("  installing bench/hive/node_modules (npm ci)", flush=True)
    done = subprocess.run(
        [npm, "ci", "--prefix", str(HIVE), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if done.returncode != 0:
        raise Unavailable(f"npm ci failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    STAMP.write_text(lock + "\n", encoding="ascii")


def versions() -> dict[str, str]:
    found = {
        "node": subprocess.run(
            [tool("node"), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    }
    for name in PACKAGES:
        manifest = json.loads((HIVE / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
        found[name] = manifest["version"]
    return found


def node_bin(name: str) -> list[str]:
    return [tool("node"), str(HIVE / "node_modules" / ".bin" / name)]


def compose(emulator_url: str, into: Path) -> Path:
    """The supergraph for this emulator: mesh-compose with bench/hive/mesh.config.ts."""
    supergraph = into / "supergraph.graphql"
    env = {**os.environ, "METASTUDIO_ENDPOINT": emulator_url, "METASTUDIO_PROJECT_ID": startup.PROJECT}
    done = subprocess.run(
        [*node_bin("mesh-compose"), "--output", str(supergraph)],
        cwd=HIVE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not supergraph.exists():
        raise Unavailable(f"mesh-compose failed ({done.returncode}): {(done.stdout + done.stderr)[-600:]}")
    return supergraph


def start_hive(supergraph: Path, log: IO[bytes]) -> startup.Process:
    """Hive Gateway as one Node process (no cluster workers), in production mode."""
    port = startup.free_port()
    started = time.monotonic()
    popen = subprocess.Popen(
        [
            *node_bin("hive-gateway"),
            "supergraph",
            str(supergraph),
            "--config-path",
            str(HIVE / "gateway.config.ts"),
            "--host",
            startup.HOST,
            "--port",
            str(port),
            "--fork",
            "1",
        ],
        cwd=HIVE,
        env={**os.environ, "NODE_ENV": "production"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return startup.Process("Hive Gateway", popen, port, started)


def call_line(call: Json) -> str:
    """An upstream call as method, path and its query parameters in a stable order."""
    query = urlencode(sorted(parse_qsl(call["query"], keep_blank_values=True)))
    return f"{call['method']} {call['path']}" + (f"?{query}" if query else "")


def answer_and_calls(emulator_url: str, server_url: str, payload: Json) -> tuple[Json, list[str]]:
    httpx.delete(f"{emulator_url}/_emulator/calls").raise_for_status()
    headers = {"X-Auth-Token": TOKENS[0]}
    answer: Json = httpx.post(f"{server_url}/graphql", json=payload, headers=headers, timeout=30).json()
    calls = httpx.get(f"{emulator_url}/_emulator/calls").raise_for_status().json()["calls"]
    return answer, sorted(call_line(call) for call in calls)


def check(emulator_url: str, ours: str, hive: str, name: str, payloads: dict[str, list[Json]]) -> Json:
    """One request of an operation (the first caller's) to each gateway: the upstream calls each made
    and whether the data both carry is the same."""
    operation = OPERATIONS[name]
    our_answer, our_calls = answer_and_calls(emulator_url, ours, payloads["ours"][0])
    hive_answer, hive_calls = answer_and_calls(emulator_url, hive, payloads["hive"][0])
    problems = [
        f"{side}: {answer.get('errors')}"
        for side, answer in (("ours", our_answer), ("Hive", hive_answer))
        if "errors" in answer or not answer.get("data")
    ]
    same_data = False
    if not problems:
        try:
            same_data = operation.ours(our_answer["data"]) == operation.hive(hive_answer["data"])
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"unexpected answer: {error!r}")
    return {
        "operation": name,
        "our_calls": our_calls,
        "hive_calls": hive_calls,
        "same_calls": our_calls == hive_calls,
        "same_data": same_data,
        "problems": problems,
    }


def upstream_calls(emulator_url: str) -> int:
    calls = httpx.get(f"{emulator_url}/_emulator/calls", timeout=30).raise_for_status().json()["calls"]
    httpx.delete(f"{emulator_url}/_emulator/calls").raise_for_status()
    return len(calls)


async def seed(emulator_url: str) -> list[list[str]]:
    """bench/run.py's jobs for every caller (TOKENS), then its upstream latency: each caller's job ids."""
    return await run.seed_callers(emulator_url, TOKENS)


def cell(
    emulator_url: str,
    server: startup.Process,
    payloads: list[Json],
    clients: int,
    warmup: float,
    duration: float,
) -> Json:
    """One load of one gateway, client i as caller i: bench/run.py's cell, plus upstream calls per request
    and resident memory."""
    upstream_calls(emulator_url)
    result: Json = run.load(server, payloads, clients, warmup, duration, TOKENS)
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
        ours_payloads = [run.payloads(ids) for ids in callers]
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
                    run.load(server, payloads[name][side], 10, 0.0, warm, TOKENS)
            cells = [
                measure_cell(emulator.url, sides, payloads[name], name, clients, repeats, (warmup, duration))
                for name in OPERATIONS
                for clients in run.CLIENTS
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


def summary(row: Json, side: str, key: str) -> tuple[float, float, float]:
    values = [r[side][key] for r in row["runs"]]
    return statistics.median(values), min(values), max(values)


def ratios(row: Json) -> tuple[float, float, float]:
    values = [r["ours"]["rps"] / r["hive"]["rps"] if r["hive"]["rps"] else float("nan") for r in row["runs"]]
    return statistics.median(values), min(values), max(values)


def spread(value: tuple[float, float, float], digits: int) -> str:
    median, low, high = value
    if low == high:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def format_cell(row: Json) -> str:
    sides = (
        f"{label} {spread(summary(row, side, 'rps'), 0)}/s {spread(summary(row, side, 'cpu_ms'), 2)} ms CPU"
        for label, side in (("ours", "ours"), ("Hive", "hive"))
    )
    return " | ".join([*sides, f"ratio {spread(ratios(row), 2)}"])


def ahead(row: Json) -> bool:
    """The goal of a cell: more requests a second than Hive and less CPU per request, by the medians."""
    return ratios(row)[0] >= 1.0 and summary(row, "ours", "cpu_ms")[0] < summary(row, "hive", "cpu_ms")[0]


def calls_text(calls: list[str]) -> str:
    return "<br>".join(f"`{call}`" for call in calls) or "none"


# What the section says of how it was measured, after the versions.
METHOD = """\
- Set-up: the emulator, the gateway, Hive Gateway and the load generator each in its own process, as in
  section 2 (the same upstream latency and seeded jobs, for each caller). Hive serves
  bench/hive/metastudio.openapi.json (the emulator's list and show video routes, written by hand)
  composed by bench/hive/mesh.config.ts, as one Node process (`--fork 1`, `NODE_ENV=production`, no
  response cache, no JIT), the caller's X-Auth-Token forwarded upstream by the source's operationHeaders.
  Hive's `videoJob(jobId)` (bench/hive/gateway.config.ts) goes through Mesh's batch delegation onto the
  list route's job_ids, the call the gateway's loader makes; its 50-job page is the generated list field.
  Each side asks for the fields the upstream data has (bench/hive/*.graphql beside bench/run.py's
  payloads). The gateway runs as in section 2 but with its read cache off (Hive keeps no upstream
  answers), and each client is a caller of its own, with its own token and jobs (the gateway shares an
  upstream read in flight among identical requests of one caller, which Hive does not do over REST): so
  both make the same upstream calls for every request.
- Cells: after {warm:.0f} s of unmeasured load per gateway and operation, {warmup:.0f} s warm-up and
  {duration:.0f} s measured per gateway, {repeats} run(s) per cell, the two gateways in turn, the first to
  go swapped every run. Figures are medians, the lowest and highest run in brackets.
- Ratio: our requests a second over Hive's in the same run (above 1.0: we serve more). CPU ms/req: each
  server process's user + system time (/proc/<pid>/stat; every thread of Node's process for Hive) over
  the requests it answered, warm-up included. Calls/req: upstream calls the emulator recorded over the
  requests answered in the cell."""


def section(result: Json, command: str) -> list[str]:
    """The side-by-side as a RESULTS.md section."""
    lines = ["## 6. Hive Gateway side by side", ""]
    if "not measured" in result:
        return [*lines, f"Not measured: {result['not measured']}", ""]
    found, cells, boot = result["versions"], result["cells"], result["boot"]
    met = [row for row in cells if ahead(row)]
    ran = datetime.datetime.now(datetime.UTC)
    rss = {side: max(r[side]["rss_mb"] for row in cells for r in row["runs"]) for side in ("ours", "hive")}

    def side_by_side(row: Json, key: str, digits: int) -> str:
        return f"{spread(summary(row, 'ours', key), digits)} | {spread(summary(row, 'hive', key), digits)}"

    def pair(row: Json, key: str, digits: int) -> str:
        return " / ".join(f"{summary(row, side, key)[0]:.{digits}f}" for side in ("ours", "hive"))

    def errors(row: Json) -> str:
        return " / ".join(f"{sum(r[side]['errors'] for r in row['runs']):.0f}" for side in ("ours", "hive"))

    return [
        *lines,
        f"- Command: `{command}` (this section {result['seconds']:.0f} s), {ran:%Y-%m-%d %H:%M} UTC",
        f"- Peer: Hive Gateway {found['@graphql-hive/gateway']} on Node {found['node']}; supergraph "
        f"composed by @graphql-mesh/compose-cli {found['@graphql-mesh/compose-cli']} with "
        f"@omnigraph/openapi {found['@omnigraph/openapi']}, graphql {found['graphql']} "
        "(bench/hive/package-lock.json)",
        METHOD.format(
            warm=result["warm_s"],
            warmup=result["warmup_s"],
            duration=result["duration_s"],
            repeats=result["repeats"],
        ),
        f"- Goal of issue #13 (ratio >= 1.0 and less CPU per request than Hive, every cell): "
        f"{'met' if len(met) == len(cells) else '**not met**'}, {len(met)} of {len(cells)} cells.",
        "",
        "Upstream calls for one request of each operation (the emulator's call log, parameters sorted) and "
        "whether the data both answers carry is the same:",
        "",
        "| Operation | Gateway's upstream calls | Hive's upstream calls | Same calls | Same data |",
        "|---|---|---|---|---|",
        *(
            f"| {c['operation']} | {calls_text(c['our_calls'])} | {calls_text(c['hive_calls'])} | "
            f"{'yes' if c['same_calls'] else '**NO**'} | {'yes' if c['same_data'] else '**NO**'} |"
            for c in result["checks"]
        ),
        "",
        "| Operation | Clients | Ours req/s | Hive req/s | Ratio ours/Hive | Ours CPU ms/req | "
        "Hive CPU ms/req | p50 ms ours/Hive | p99 ms ours/Hive | Calls/req ours/Hive | Errors ours/Hive |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {row['operation']} | {row['clients']} | {side_by_side(row, 'rps', 0)} | "
            f"{spread(ratios(row), 2)} | {side_by_side(row, 'cpu_ms', 2)} | {pair(row, 'p50_ms', 1)} | "
            f"{pair(row, 'p99_ms', 1)} | {pair(row, 'calls_per_request', 2)} | {errors(row)} |"
            for row in cells
        ),
        "",
        f"- Resident memory (VmRSS): idle 1 s after ready, ours {boot['idle_rss_mb']['ours']:.1f} MB and "
        f"Hive {boot['idle_rss_mb']['hive']:.1f} MB; highest after a cell, ours {rss['ours']:.1f} MB and "
        f"Hive {rss['hive']:.1f} MB.",
        f"- Spawn to ready: ours {boot['ready_s']['ours']:.2f} s (/readyz), Hive "
        f"{boot['ready_s']['hive']:.2f} s (/healthcheck; the supergraph composed before).",
        "",
    ]


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
