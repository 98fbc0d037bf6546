"""Subscription benchmark: thousands of WebSocket subscribers on video jobs in one gateway process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import httpx

from bench import ws_clients

TOKEN = "bench-token"  # the frozen emulator's made-up token
PROJECT = "demo-project"
INTERVAL = 2.0
SUBSCRIPTIONS_PER_CONNECTION = 1000
CLIENT_PROCESSES = 2
# The budgets.
MAX_KB_PER_SUBSCRIBER = 30.0
MAX_LIST_CALLS_PER_100_JOBS = 1.0
MAX_LAG = INTERVAL + 0.25
VIDEO_BODY: dict[str, Any] = {
    "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voice_config": {"voice_asset_id": "f5e6a13eab4443fa85421191ad061780", "speed": 100, "pitch": 100},
    "video_config": {"codec": "H264", "bitrate": 5000, "width": 1080, "height": 1920, "frame_rate": "25"},
    "shoot_scripts": [
        {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hello there."}}}
    ],
    "output_asset_config": {"asset_name": "Benchmark"},
}


@dataclass(frozen=True)
class Scale:
    subscribers: int
    jobs: int
    window_intervals: int  # how long upstream calls are counted
    sampled_jobs: int  # jobs changed one by one at random moments, for the lag


FULL = Scale(subscribers=10_000, jobs=1_000, window_intervals=5, sampled_jobs=200)
QUICK = Scale(subscribers=2_000, jobs=200, window_intervals=3, sampled_jobs=40)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def until_up(child: subprocess.Popen[bytes], url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if child.poll() is not None:
                error = child.stderr.read().decode() if child.stderr else ""
                raise RuntimeError(f"{url} exited: {error[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def create_jobs(http: httpx.AsyncClient, count: int) -> list[str]:
    gate = asyncio.Semaphore(32)

    async def create() -> str:
        async with gate:
            answer = await http.post(
                f"/v1/{PROJECT}/2d-digital-human-videos", json=VIDEO_BODY, headers={"X-Auth-Token": TOKEN}
            )
            answer.raise_for_status()
            job_id: str = answer.json()["job_id"]
            return job_id

    return list(await asyncio.gather(*(create() for _ in range(count))))


async def set_state(http: httpx.AsyncClient, job_id: str, state: str) -> float:
    """Move a job now; returns the wall-clock moment the request left (the change happens after it)."""
    sent = time.time()
    answer = await http.put(f"/_emulator/jobs/{job_id}/state", json={"state": state})
    answer.raise_for_status()
    return sent


async def operations(http: httpx.AsyncClient) -> dict[str, int]:
    calls = (await http.get("/_emulator/calls")).json()["calls"]
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["operation"]] = counts.get(call["operation"], 0) + 1
    return counts


class Subscribers:
    """Subscriber processes, each with a few connections of up to 1,000 subscriptions."""

    def __init__(self, url: str, job_ids: Sequence[str], subscribers: int) -> None:
        per_process = math.ceil(subscribers / CLIENT_PROCESSES)
        assigned = [job_ids[n % len(job_ids)] for n in range(subscribers)]
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for first in range(0, subscribers, per_process):
            mine = assigned[first : first + per_process]
            connections = [
                mine[at : at + SUBSCRIPTIONS_PER_CONNECTION]
                for at in range(0, len(mine), SUBSCRIPTIONS_PER_CONNECTION)
            ]
            parent, child = context.Pipe()
            worker = context.Process(
                target=ws_clients.main, args=(child, url, TOKEN, connections), daemon=True
            )
            worker.start()
            self.pipes.append(parent)
            self.processes.append(worker)

    async def ask(self, command: str) -> list[dict[str, Any]]:
        for pipe in self.pipes:
            pipe.send(command)
        return [await asyncio.to_thread(pipe.recv) for pipe in self.pipes]

    async def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        for worker in self.processes:
            await asyncio.to_thread(worker.join, 10)
            if worker.is_alive():
                worker.kill()


def lags(changes: dict[tuple[str, str], float], reports: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Lag of every event of a change made at a recorded moment; and how many such events came."""
    found: list[float] = []
    for report in reports:
        for event, arrivals in report["arrivals"].items():
            changed = changes.get(event)
            if changed is not None:
                found.extend(arrival - changed for arrival in arrivals)
    return found, len(found)


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[httpx.AsyncClient, int, int]]:
    """A frozen emulator and a gateway on it, each in its own process.

    Yields a client of the emulator, the gateway's port and the gateway's pid.
    """
    emulator_port, gateway_port = free_port(), free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "METASTUDIO_", "REDIS"))}
    base_env["GATEWAY_LOG_LEVEL"] = "warning"
    emulator_args = [sys.executable, "-m", "gateway", "emulator", "--port", str(emulator_port)]
    emulator_args += ["--admin", "--no-seed", "--frozen", "--token", TOKEN]
    gateway_env = base_env | {
        "METASTUDIO_ENDPOINT": f"http://127.0.0.1:{emulator_port}",
        "METASTUDIO_PROJECT_ID": PROJECT,
        "METASTUDIO_AUTH_MODE": "token",
        "GATEWAY_POLL_INTERVAL": str(INTERVAL),
        "GATEWAY_MAX_SUBSCRIPTIONS": "100000",
        # All benchmark subscribers send one token, so they are one caller: its quota and request rate
        # limit would measure the limits, not the live machinery.
        "GATEWAY_MAX_SUBSCRIPTIONS_PER_CALLER": "100000",
        "GATEWAY_RATE_LIMIT_PER_SECOND": "off",
        "GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION": str(SUBSCRIPTIONS_PER_CONNECTION),
    }
    gateway_args = [sys.executable, "-m", "gateway", "serve", "--port", str(gateway_port)]
    with process(emulator_args, base_env) as emulator:
        await until_up(emulator, f"http://127.0.0.1:{emulator_port}/_emulator/calls")
        with process(gateway_args, gateway_env) as gateway:
            await until_up(gateway, f"http://127.0.0.1:{gateway_port}/readyz")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{emulator_port}", timeout=30) as http:
                yield http, gateway_port, gateway.pid


async def measure(scale: Scale) -> dict[str, object]:
    started = time.monotonic()
    async with servers() as (http, gateway_port, pid):
        job_ids = await create_jobs(http, scale.jobs)
        url = f"ws://127.0.0.1:{gateway_port}/graphql"
        # One subscriber first, so code paths loaded on first use are not counted per subscriber.
        warm = Subscribers(url, job_ids[:1], 1)
        await warm.ask("ready")
        await warm.close()
        await asyncio.sleep(1)
        before = rss_kb(pid)

        subscribers = Subscribers(url, job_ids, scale.subscribers)
        subscribed_at = time.monotonic()
        ready = await subscribers.ask("ready")
        subscribe_seconds = time.monotonic() - subscribed_at
        first = sum(r["first"] for r in ready)
        errors = [e for r in ready for e in r["errors"]]
        if first < scale.subscribers:
            raise RuntimeError(f"only {first} of {scale.subscribers} subscribers got a first event: {errors}")
        after = rss_kb(pid)

        # Upstream traffic while nothing changes: the steady cost of watching.
        await asyncio.sleep(INTERVAL)
        await http.delete("/_emulator/calls")
        window = scale.window_intervals * INTERVAL
        await asyncio.sleep(window)
        steady = await operations(http)
        list_calls = steady.get("ListDigitalHumanVideo", 0)
        per_interval = list_calls / scale.window_intervals

        # Lag: sampled jobs change one by one at random moments spread over two intervals.
        await http.delete("/_emulator/calls")
        rng = random.Random(6)
        sample = rng.sample(job_ids, scale.sampled_jobs)
        offsets = sorted(rng.uniform(0, 2 * INTERVAL) for _ in sample)
        changes: dict[tuple[str, str], float] = {}
        begin = time.time()
        for job_id, offset in zip(sample, offsets, strict=True):
            await asyncio.sleep(max(0.0, begin + offset - time.time()))
            changes[(job_id, "PROCESSING")] = await set_state(http, job_id, "PROCESSING")
        expected = scale.subscribers // scale.jobs * len(sample)
        sampled, received = await collect(subscribers, changes, expected)
        during_changes = await operations(http)

        # Every job finishing at once: one event for each of the subscribers in the same moment.
        await http.delete("/_emulator/calls")
        burst: dict[tuple[str, str], float] = {}
        gate = asyncio.Semaphore(32)

        async def finish(job_id: str) -> None:
            async with gate:
                burst[(job_id, "SUCCEED")] = await set_state(http, job_id, "SUCCEED")

        await asyncio.gather(*(finish(job_id) for job_id in job_ids))
        finished, burst_received = await collect(subscribers, burst, scale.subscribers)
        peak = rss_kb(pid)
        await subscribers.close()

    return {
        "subscribers": scale.subscribers,
        "video jobs": scale.jobs,
        "poll interval": f"{INTERVAL:g} s",
        "time to subscribe all (first event each)": f"{subscribe_seconds:.1f} s",
        "gateway RSS before subscribing": f"{before / 1024:.1f} MB",
        "gateway RSS with all subscribed": f"{after / 1024:.1f} MB",
        "memory per subscriber": f"{(after - before) / scale.subscribers:.1f} KB"
        f" (budget {MAX_KB_PER_SUBSCRIBER:g} KB)",
        "upstream calls per second (steady)": f"{sum(steady.values()) / window:.2f} /s"
        f" ({', '.join(f'{k} {v}' for k, v in sorted(steady.items())) or 'none'} in {window:g} s)",
        "list calls per interval": f"{per_interval:.1f}",
        "list calls per 100 jobs per interval": f"{per_interval / (scale.jobs / 100):.2f}"
        f" (budget {MAX_LIST_CALLS_PER_100_JOBS:g})",
        "upstream calls while sampled jobs changed": ", ".join(
            f"{k} {v}" for k, v in sorted(during_changes.items())
        ),
        "event lag p50": f"{percentile(sampled, 0.5) * 1000:.0f} ms",
        "event lag p99": f"{percentile(sampled, 0.99) * 1000:.0f} ms (budget {MAX_LAG * 1000:.0f} ms)",
        "event lag sample": f"{received} events of {len(sample)} jobs changed at random moments",
        "event lag, every job at once p50": f"{percentile(finished, 0.5) * 1000:.0f} ms",
        "event lag, every job at once p99": f"{percentile(finished, 0.99) * 1000:.0f} ms"
        f" ({burst_received} events)",
        "gateway RSS at the end": f"{peak / 1024:.1f} MB",
        "run time": f"{time.monotonic() - started:.0f} s",
    }


async def collect(
    subscribers: Subscribers, changes: dict[tuple[str, str], float], expected: int
) -> tuple[list[float], int]:
    """Lags of the events of these changes, waiting until all expected arrived (at most four intervals
    after the last change)."""
    deadline = time.monotonic() + 4 * INTERVAL
    found: list[float] = []
    while True:
        more, _ = lags(changes, await subscribers.ask("report"))
        found += more
        if len(found) >= expected or time.monotonic() > deadline:
            return found, len(found)
        await asyncio.sleep(0.25)


async def run(quick: bool) -> dict[str, object]:
    """Rows of the results table (name -> value with units)."""
    return await measure(QUICK if quick else FULL)


def main() -> None:
    # Stopped from outside (a timeout), still stop the servers and subscribers this run started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers on 200 jobs")
    rows = asyncio.run(run(parser.parse_args().quick))
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
