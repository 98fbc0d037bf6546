"""`python -m bench.polling`: the polling economy. Many clients of one principal each poll the same 50-job
page and the same 10 job details every second through `metastudio-gateway serve` with its default read
cache, in front of the emulator. Measures the upstream calls per second, the age of the oldest answer a
client got, and how soon every client sees a job's state change, whether a callback told the gateway of
it or its own reads found it. `--json` prints the rows as one JSON line (for `python -m bench`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench import startup
from tests.support.gateway import VIDEO_BODY

QUERIES = Path(__file__).resolve().parents[1] / "queries"
PAGE = (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8")
DETAIL = (QUERIES / "video_job_detail.graphql").read_text(encoding="utf-8")
CREATE = """
mutation ($input: CreateVideoJobInput!) {
  createVideoJob(input: $input) { job { jobId } userErrors { message } }
}
"""
VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
JOBS, DETAILS = 50, 10
UPSTREAM_LATENCY = 0.02
POLL_EVERY = 1.0
# A job of the page (not one of the details) whose error message the bench rewrites with the time this
# often: the stamp a client reads is at most this much older than the upstream answer it came in.
PROBE_EVERY = 0.05
CLIENTS, CLIENTS_QUICK = (10, 25, 50), (25,)
WARMUP, STEADY, STEADY_QUICK = 4.0, 15.0, 8.0
CHANGES, CHANGES_QUICK = 6, 2
# After the last change: the keeping time and a poll interval, and room to spare.
SETTLE = 3.0
_PROBE = re.compile(rb'"message":"probe ([0-9.]+)"')
_STATE = re.compile(rb'"state":"([A-Z_]+)"')


@dataclass
class Jobs:
    probe: str
    details: list[str]


@dataclass
class Client:
    """What one client saw: its answers' ages and times, and when it first saw each (job, state)."""

    ages: list[tuple[float, float]] = field(default_factory=list)  # (received, age of the answer)
    page_ms: list[float] = field(default_factory=list)
    detail_ms: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # when each poll round ended
    first: dict[tuple[str, str], float] = field(default_factory=dict)
    errors: int = 0


@dataclass
class Change:
    job_id: str
    state: str
    told: bool  # a callback tells the gateway; else only its own reads find it
    at: float


def request(port: int, body: dict[str, Any]) -> bytes:
    data = orjson.dumps(body)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {startup.HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nX-Auth-Token: {startup.TOKEN}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode("ascii") + data


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sent: bytes
) -> tuple[bool, bytes]:
    writer.write(sent)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200") and b'"errors"' not in body, body


async def poll(port: int, jobs: Jobs, start_at: float, stop: asyncio.Event, seen: Client) -> None:
    """One client: the page, then each detail, once a second from `start_at` until `stop`."""
    page = request(port, {"query": PAGE, "variables": {"first": JOBS}, "operationName": "VideoJobList"})
    details = [
        (job_id, request(port, {"query": DETAIL, "variables": {"jobId": job_id}})) for job_id in jobs.details
    ]
    in_page = {
        job_id: re.compile(b'"jobId":"' + job_id.encode() + rb'","kind":"[^"]*","state":"([A-Z_]+)"')
        for job_id in jobs.details
    }
    reader, writer = await asyncio.open_connection(startup.HOST, port)
    next_at = start_at
    try:
        while not stop.is_set():
            wait = next_at - time.time()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    return
                except TimeoutError:
                    pass
            next_at += POLL_EVERY
            sent = time.time()
            ok, body = await exchange(reader, writer, page)
            received = time.time()
            seen.page_ms.append((received - sent) * 1000)
            if not ok:
                seen.errors += 1
            if stamp := _PROBE.search(body):
                seen.ages.append((received, received - float(stamp.group(1))))
            for job_id, pattern in in_page.items():
                if state := pattern.search(body):
                    seen.first.setdefault((job_id, state.group(1).decode()), received)
            for job_id, sent_detail in details:
                sent = time.time()
                ok, body = await exchange(reader, writer, sent_detail)
                received = time.time()
                seen.detail_ms.append((received - sent) * 1000)
                if not ok:
                    seen.errors += 1
                if state := _STATE.search(body):
                    seen.first.setdefault((job_id, state.group(1).decode()), received)
            seen.rounds.append(time.time())
    finally:
        writer.close()


def serve_gateway(emulator_url: str, keep: str | None) -> startup.Process:
    """`serve` with its default read cache (or GATEWAY_READ_CACHE_SECONDS=`keep`), its own address as
    its public URL (so the emulator's callbacks reach it), and no rate limit (every client is one caller)."""
    port = startup.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "METASTUDIO_", "REDIS_URL"))}
    env.update(startup.gateway_env(emulator_url))
    env.pop("GATEWAY_READ_CACHE_SECONDS", None)
    if keep is not None:
        env["GATEWAY_READ_CACHE_SECONDS"] = keep
    env.update({"GATEWAY_LOG_LEVEL": "warning", "GATEWAY_PUBLIC_URL": f"http://{startup.HOST}:{port}"})
    popen = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return startup.Process("gateway", popen, port, time.monotonic())


async def seed(emulator: httpx.AsyncClient, gateway: httpx.AsyncClient) -> Jobs:
    """50 video jobs: 40 made at the emulator (the first is the probe), and the 10 whose details are
    polled made through the gateway, so that each carries the gateway's callback."""
    made = await asyncio.gather(
        *(
            emulator.post(f"/v1/{startup.PROJECT}/2d-digital-human-videos", json=VIDEO_BODY)
            for _ in range(JOBS - DETAILS)
        )
    )
    probe = made[0].raise_for_status().json()["job_id"]
    details = []
    for _ in range(DETAILS):
        created = await gateway.post("/graphql", json={"query": CREATE, "variables": {"input": VIDEO_INPUT}})
        details.append(created.json()["data"]["createVideoJob"]["job"]["jobId"])
    (await emulator.put("/_emulator/latency", json={"seconds": UPSTREAM_LATENCY})).raise_for_status()
    return Jobs(probe, details)


async def stamp_probe(emulator: httpx.AsyncClient, probe: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        body = {"state": "PROCESSING", "error_code": "PROBE", "error_msg": f"probe {time.time():.6f}"}
        (await emulator.put(f"/_emulator/jobs/{probe}/state", json=body)).raise_for_status()
        try:
            await asyncio.wait_for(stop.wait(), PROBE_EVERY)
        except TimeoutError:
            pass


async def upstream_calls(emulator: httpx.AsyncClient) -> Counter[str]:
    calls = (await emulator.get("/_emulator/calls")).json()["calls"]
    return Counter(str(call["operation"]) for call in calls)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(clients: int, quick: bool, keep: str | None = None) -> dict[str, Any]:
    steady = STEADY_QUICK if quick else STEADY
    emulator_process = startup.emulator()
    gateway_process: startup.Process | None = None
    try:
        emulator_process.wait_ready("/_emulator/calls")
        gateway_process = serve_gateway(emulator_process.url, keep)
        gateway_process.wait_ready("/readyz")
        headers = {"X-Auth-Token": startup.TOKEN}
        async with (
            httpx.AsyncClient(base_url=emulator_process.url, headers=headers, timeout=30) as emulator,
            httpx.AsyncClient(base_url=gateway_process.url, headers=headers, timeout=30) as gateway,
        ):
            jobs = await seed(emulator, gateway)
            stop = asyncio.Event()
            seen = [Client() for _ in range(clients)]
            began = time.time() + 0.2
            tasks = [
                asyncio.create_task(poll(gateway_process.port, jobs, began + i / clients, stop, seen[i]))
                for i in range(clients)
            ]
            tasks.append(asyncio.create_task(stamp_probe(emulator, jobs.probe, stop)))
            await asyncio.sleep(WARMUP)

            await emulator.delete("/_emulator/calls")
            began_at, cpu, own = time.time(), gateway_process.cpu_seconds(), time.process_time()
            await asyncio.sleep(steady)
            steady_calls = await upstream_calls(emulator)
            window = (began_at, time.time())
            cpu, own = gateway_process.cpu_seconds() - cpu, time.process_time() - own
            load = os.getloadavg()[0]

            await emulator.delete("/_emulator/calls")
            changes: list[Change] = []
            changes_began = time.time()
            for n, job_id in enumerate(jobs.details[: CHANGES_QUICK if quick else CHANGES]):
                await asyncio.sleep(random.uniform(1.0, 2.0))
                told = n % 2 == 0
                state = "SUCCEED" if told else "PROCESSING"
                at = time.time()
                moved = await emulator.put(f"/_emulator/jobs/{job_id}/state", json={"state": state})
                moved.raise_for_status()
                changes.append(Change(job_id, state, told, at))
            await asyncio.sleep(SETTLE)
            change_calls = await upstream_calls(emulator)
            changes_took = time.time() - changes_began
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        if gateway_process is not None:
            gateway_process.stop()
        emulator_process.stop()
    row = summarize(clients, seen, window, steady_calls, cpu, changes, change_calls, changes_took)
    # Others' work on the machine shows here: the clients and the gateway share its cores.
    row["load generator CPU %"] = 100 * own / (window[1] - window[0])
    row["machine load average (1 min)"] = load
    return row


def summarize(
    clients: int,
    seen: list[Client],
    window: tuple[float, float],
    steady_calls: Counter[str],
    cpu: float,
    changes: list[Change],
    change_calls: Counter[str],
    changes_took: float,
) -> dict[str, Any]:
    start, end = window
    seconds = end - start
    ages = [age for client in seen for received, age in client.ages if start <= received <= end]
    rounds = sum(1 for client in seen for at in client.rounds if start <= at <= end)
    row: dict[str, Any] = {
        "clients": clients,
        "poll rounds per client per second": rounds / clients / seconds,
        "requests per second": rounds * (1 + DETAILS) / seconds,
        "page p50/p99 ms": (quantile(all_of(seen, "page_ms"), 0.5), quantile(all_of(seen, "page_ms"), 0.99)),
        "detail p50/p99 ms": (
            quantile(all_of(seen, "detail_ms"), 0.5),
            quantile(all_of(seen, "detail_ms"), 0.99),
        ),
        "errors": sum(client.errors for client in seen),
        "gateway CPU %": 100 * cpu / seconds,
        "upstream calls per second": sum(steady_calls.values()) / seconds,
        "upstream calls by operation": dict(steady_calls),
        "oldest answer age ms": max(ages) * 1000 if ages else float("nan"),
        "answer age p50/p99 ms": (quantile(ages, 0.5) * 1000, quantile(ages, 0.99) * 1000),
        "upstream calls per second while jobs changed": sum(change_calls.values()) / changes_took,
    }
    for told, name in ((True, "told by a callback"), (False, "found by its reads")):
        firsts, lasts, missed = [], [], 0
        for change in (c for c in changes if c.told is told):
            sightings = [client.first.get((change.job_id, change.state)) for client in seen]
            found = [at - change.at for at in sightings if at is not None]
            missed += len(sightings) - len(found)
            if found:
                firsts.append(min(found))
                lasts.append(max(found))
        row[f"change {name}: first client ms"] = max(firsts) * 1000 if firsts else float("nan")
        row[f"change {name}: last client ms"] = max(lasts) * 1000 if lasts else float("nan")
        spreads = [last - first for first, last in zip(firsts, lasts, strict=True)]
        row[f"change {name}: last minus first ms"] = max(spreads) * 1000 if spreads else float("nan")
        row[f"change {name}: clients that missed it"] = missed
    return row


def all_of(seen: list[Client], name: str) -> list[float]:
    return [value for client in seen for value in getattr(client, name)]


def section(rows: list[dict[str, Any]] | str) -> list[str]:
    """The RESULTS.md section of these rows, or of why there are none."""
    lines = [
        "## 7. Polling economy",
        "",
        f"bench/polling.py: clients of one principal each poll the {JOBS}-job page "
        f"(queries/video_job_list.graphql) and the same {DETAILS} job details "
        "(queries/video_job_detail.graphql) every second, on one keep-alive connection each, through `serve` "
        f"with its default read cache; the emulator answers after {UPSTREAM_LATENCY * 1000:.0f} ms. Answer "
        "ages come from a job of the page whose error message the bench stamps with the time every "
        f"{PROBE_EVERY * 1000:.0f} ms (so they are upper bounds, the client's own wait included). Then the "
        "details' jobs change state one at a time: told to the gateway by the emulator's callback "
        "(SUCCEED), or found by its own reads (PROCESSING); delays run from the change to each client's "
        "first answer showing it.",
        "",
    ]
    if isinstance(rows, str):
        return [*lines, f"polling economy: not measured ({rows})", ""]
    return [*lines, *table(rows), ""]


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as a Markdown table, one column per client count."""
    if not rows:
        return []
    lines = [
        "| | " + " | ".join(f"{row['clients']} clients" for row in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for name in rows[0]:
        if name == "clients":
            continue
        lines.append(f"| {name} | " + " | ".join(cell(row[name]) for row in rows) + " |")
    return lines


def cell(value: Any) -> str:
    if isinstance(value, tuple | list):  # lists when the rows went through JSON
        return " / ".join(cell(part) for part in value)
    if isinstance(value, dict):
        return ", ".join(f"{name} {count}" for name, count in sorted(value.items()))
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return str(value)


async def run(counts: tuple[int, ...], quick: bool, keep: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for clients in counts:
        print(f"  {clients} clients", file=sys.stderr, flush=True)
        rows.append(await measure(clients, quick, keep))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.polling", description=__doc__)
    parser.add_argument("--clients", type=int, action="append", help="repeatable; default 10, 25 and 50")
    parser.add_argument("--quick", action="store_true", help="25 clients, shorter windows")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line")
    parser.add_argument(
        "--read-cache-seconds", metavar="SECONDS", help="GATEWAY_READ_CACHE_SECONDS instead of its default"
    )
    args = parser.parse_args()
    counts = tuple(args.clients) if args.clients else CLIENTS_QUICK if args.quick else CLIENTS
    rows = uvloop.run(run(counts, args.quick, args.read_cache_seconds))
    if args.json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
    else:
        print("\n".join(table(rows)))
    rates = [row["upstream calls per second"] for row in rows]
    print(f"upstream calls per second: {statistics.mean(rates):.2f}, mean of {len(rates)}", file=sys.stderr)


if __name__ == "__main__":
    main()
