"""Hostile and unlucky traffic against `serve` on loopback: pool recovery, /healthz under the worst
allowed request, and log bytes per bad request. `python -m bench.reliability`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import startup

COUNTS = (Path(__file__).resolve().parents[1] / "queries" / "video_job_counts.graphql").read_text()
HEADERS = {"X-Auth-Token": startup.TOKEN}
ROUNDS = 5
VIDEO = {
    "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voice_config": {"voice_asset_id": "f5e6a13eab4443fa85421191ad061780"},
    "video_config": {"codec": "H264", "bitrate": 5000, "width": 1080, "height": 1920, "frame_rate": "25"},
    "shoot_scripts": [
        {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hello."}}}
    ],
    "output_asset_config": {"asset_name": "Bench"},
}


def gateway(emulator_url: str, log: Path) -> startup.Process:
    port = startup.free_port()
    env = {**os.environ, **startup.gateway_env(emulator_url), "GATEWAY_LOG_LEVEL": "info"}
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    return startup.Process("gateway", popen, port, time.monotonic())


async def pool_recovery(http: httpx.AsyncClient, admin: httpx.AsyncClient) -> tuple[str, float, int]:
    """The issue's reproduction: upstream at 3.5 s, 100 dashboards at once; then fast again."""
    await admin.put("/_emulator/latency", json={"seconds": 3.5})
    # A hundred callers: one caller's identical dashboards would share their upstream calls.
    burst = await asyncio.gather(
        *(
            http.post("/graphql", json={"query": COUNTS}, headers={**HEADERS, "X-App-UserId": f"user-{n}"})
            for n in range(100)
        )
    )
    failed = sum(1 for r in burst if r.json().get("errors"))
    await admin.delete("/_emulator/latency")
    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        answer = await http.post("/graphql", json={"query": COUNTS}, headers=HEADERS)
        if not answer.json().get("errors"):
            ready = (await http.get("/readyz")).status_code
            return f"{failed}/100 failed in the burst", time.perf_counter() - started, ready
        await asyncio.sleep(0.05)
    return f"{failed}/100 failed in the burst", float("inf"), (await http.get("/readyz")).status_code


async def healthz_under_worst_request(
    http: httpx.AsyncClient, clients: int
) -> tuple[list[float], list[float], float]:
    """Worst /healthz latency while `clients` clients each send 30 aliases of a 100-row page (30
    upstream calls and 3,000 rows each: within every default limit), beside /healthz when idle."""
    fields = "jobId state kind createTime lastUpdateTime duration outputAsset { assetName coverUrl }"

    def document(client: int) -> str:
        # The same 100 jobs through 30 different filters: identical reads of one caller in flight would
        # share one upstream call. The fragment keeps the document within the default token limit.
        pages = (
            f'p{i}: videoJobs(first: 100, filter: {{ createdSince: "2000-01-01T{client // 60:02d}:'
            f'{client % 60:02d}:{i:02d}Z" }}) {{ edges {{ node {{ ...Row }} }} }}'
            for i in range(30)
        )
        return "{ " + " ".join(pages) + " } fragment Row on VideoJob { " + fields + " }"

    def probe(until: threading.Event, url: str) -> list[float]:
        # A thread of its own: the big answers' parsing in this process must not delay the probe.
        latencies: list[float] = []
        with httpx.Client(base_url=url, timeout=30) as client:
            while not until.is_set():
                started = time.perf_counter()
                client.get("/healthz")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.005)
        return sorted(latencies)

    url = str(http.base_url)
    with ThreadPoolExecutor(max_workers=1) as pool:
        idle_stop = threading.Event()
        idle = pool.submit(probe, idle_stop, url)
        await asyncio.sleep(1.0)
        idle_stop.set()
        idle_latencies = idle.result()
        stop = threading.Event()
        prober = pool.submit(probe, stop, url)
        started = time.perf_counter()
        for _ in range(ROUNDS):
            answers = await asyncio.gather(
                *(http.post("/graphql", json={"query": document(n)}, headers=HEADERS) for n in range(clients))
            )
            assert all(a.status_code == 200 for a in answers), answers[0].text[:300]
        elapsed = time.perf_counter() - started
        stop.set()
        return idle_latencies, prober.result(), elapsed


async def log_bytes(http: httpx.AsyncClient, log: Path) -> list[tuple[str, int, int]]:
    """Bytes the gateway's log grew by for each bad request, with the request's own size."""
    missing = " ".join(f'a{i}: trainingJob(jobId: "{"x" * 64}") {{ name }}' for i in range(30))
    cases = {
        "30 missing jobs, 5,000-character operation name": "query " + "N" * 5000 + " { " + missing + " }",
        "10,000 aliases (refused)": "{" + " ".join(f"a{i}: __typename" for i in range(10_000)) + "}",
        "42 KB of unknown fields": "{ " + " ".join(f"f{i}" for i in range(8_000)) + " }",
        "100 KB jobId": '{ trainingJob(jobId: "%s") { name } }' % ("y" * 100_000),
    }
    sizes = []
    for name, document in cases.items():
        await asyncio.sleep(0.2)
        before = _size(log)
        await http.post("/graphql", json={"query": document}, headers=HEADERS)
        await asyncio.sleep(0.2)
        sizes.append((name, len(document), _size(log) - before))
    return sizes


def _ms(latencies: list[float], quantile: float) -> str:
    at = min(len(latencies) - 1, int(quantile * len(latencies)))
    return f"{latencies[at] * 1000:.1f} ms"


def _size(path: Path) -> int:
    return path.stat().st_size


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "gateway.log"
        with startup.running(startup.emulator(), "/_emulator/calls") as emulator:
            async with httpx.AsyncClient(base_url=emulator.url, timeout=30) as admin:
                path = f"/v1/{startup.PROJECT}/2d-digital-human-videos"
                for _ in range(100):
                    await admin.post(path, json=VIDEO, headers=HEADERS)
            with startup.running(gateway(emulator.url, log), "/healthz") as served:
                async with (
                    httpx.AsyncClient(base_url=served.url, timeout=120) as http,
                    httpx.AsyncClient(base_url=emulator.url, timeout=30) as admin,
                ):
                    print("## /healthz while the worst allowed request runs (30 pages of 100 rows)")
                    for clients in (1, 4):
                        idle, busy, elapsed = await healthz_under_worst_request(http, clients)
                        print(
                            f"{clients} client(s), {ROUNDS} rounds in {elapsed:.1f} s, {len(busy)} probes: "
                            f"/healthz p50 {_ms(busy, 0.5)}, p99 {_ms(busy, 0.99)}, worst {_ms(busy, 1.0)} "
                            f"(idle: p50 {_ms(idle, 0.5)}, worst {_ms(idle, 1.0)})"
                        )
                    print("\n## Log bytes per bad request (GATEWAY_LOG_LEVEL=info)")
                    print("| request | request bytes | log bytes |\n|---|---:|---:|")
                    for name, size, grew in await log_bytes(http, log):
                        print(f"| {name} | {size:,} | {grew:,} |")
                    burst, recovery, ready = await pool_recovery(http, admin)
                    print("\n## Pool recovery (upstream at 3.5 s, 100 x video_job_counts, then fast)")
                    print(
                        f"{burst}; next successful query {recovery * 1000:.0f} ms after the upstream "
                        f"was fast again; /readyz then {ready}"
                    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
