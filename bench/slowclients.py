"""Slow and idle clients against `serve` on loopback: what they hold, and how /healthz answers meanwhile."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import resource
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import httpx
import uvloop

HOST = "127.0.0.1"
TRICKLE_HEAD = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n"
TRICKLE_EVERY = 2.0
ANNOUNCED_BODY = 5_000_000
SENT_BODY = 468
PROBE_EVERY = 0.25
PROBE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
# Connections one idle worker process opens at most: each holds a descriptor of the worker's own.
IDLE_PER_WORKER = 7_000
CONNECTS_AT_ONCE = 500


@dataclass(frozen=True)
class Plan:
    trickle_clients: int
    trickle_seconds: float
    idle_clients: int
    idle_seconds: float
    body_clients: int
    body_wait: float


FULL = Plan(
    trickle_clients=1_500,
    trickle_seconds=60,
    idle_clients=20_000,
    idle_seconds=20,
    body_clients=200,
    body_wait=45,
)
QUICK = Plan(
    trickle_clients=1_500,
    trickle_seconds=20,
    idle_clients=12_000,
    idle_seconds=15,
    body_clients=100,
    body_wait=40,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def lift_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def gateway() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`serve` with its default connection settings, on the embedded emulator."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "METASTUDIO_", "REDIS"))}
    env["GATEWAY_LOG_LEVEL"] = "warning"
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield port, child
    finally:
        child.terminate()
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass
class Probe:
    """/healthz on a fresh connection every PROBE_EVERY seconds: the worst latency, and the failures."""

    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    async def run(self, port: int, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, limits=limits) as http:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = await http.get(f"http://{HOST}:{port}/healthz")
                    if response.status_code == 200:
                        self.latencies.append(time.monotonic() - started)
                    else:
                        self.failures[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    self.failures[type(exc).__name__] += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), PROBE_EVERY)

    def summary(self) -> str:
        worst = f"{max(self.latencies) * 1000:.0f} ms" if self.latencies else "none answered"
        failed = ", ".join(f"{n} {kind}" for kind, n in self.failures.items()) or "none"
        return f"{len(self.latencies)} answered, worst {worst}; failed: {failed}"


async def watched(port: int, attack: asyncio.Future[dict[str, object]]) -> tuple[dict[str, object], Probe]:
    probe = Probe()
    stop = asyncio.Event()
    probing = asyncio.create_task(probe.run(port, stop))
    try:
        result = await attack
    finally:
        stop.set()
        await probing
    return result, probe


async def closed_after(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing the connection."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(4096):
            received += chunk
    return received


# Trickling heads


async def trickle_one(port: int, seconds: float, held: list[float], answers: Counter[str]) -> None:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        answers["connect failed"] += 1
        return
    closing = asyncio.create_task(closed_after(reader))
    head = TRICKLE_HEAD + b"X-Trickle: " + b"a" * 10_000
    try:
        for byte in head:
            if closing.done() or time.monotonic() - started >= seconds:
                break
            writer.write(bytes([byte]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(closing), TRICKLE_EVERY)
    except ConnectionError:
        pass
    if closing.done():
        answer = closing.result()
        answers[answer.split(b"\r\n", 1)[0].decode() or "closed without an answer"] += 1
        held.append(time.monotonic() - started)
    else:
        answers["still open"] += 1
        closing.cancel()
    writer.close()


async def trickle(port: int, clients: int, seconds: float) -> dict[str, object]:
    held: list[float] = []
    answers: Counter[str] = Counter()
    await asyncio.gather(*(trickle_one(port, seconds, held, answers) for _ in range(clients)))
    return {"answers": answers, "longest": max(held, default=0.0)}


# Idle connections, from worker processes (each connection is a descriptor on this side too)


async def idle_connections(port: int, count: int, seconds: float) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    ends = time.monotonic() + seconds

    async def one() -> None:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                outcomes["connect failed"] += 1
                return
        try:
            answer = await asyncio.wait_for(closed_after(reader), max(0.0, ends - time.monotonic()))
        except TimeoutError:
            outcomes["still open"] += 1
        else:
            outcomes[answer.split(b"\r\n", 1)[0].decode() or "closed without an answer"] += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(count)))
    return outcomes


def idle_worker(port: int, count: int, seconds: float) -> Counter[str]:
    lift_open_file_limit()
    return uvloop.run(idle_connections(port, count, seconds))


async def idle(port: int, clients: int, seconds: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    workers = max(1, -(-clients // IDLE_PER_WORKER))
    shares = [clients // workers + (1 if n < clients % workers else 0) for n in range(workers)]
    outcomes: Counter[str] = Counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        done = await asyncio.gather(
            *(loop.run_in_executor(pool, idle_worker, port, share, seconds) for share in shares)
        )
    for counts in done:
        outcomes.update(counts)
    return {"answers": outcomes}


# Stalled bodies


async def stalled_body(port: int, wait: float, answered: list[float], answers: Counter[str]) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        answers["connect failed"] += 1
        return
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % ANNOUNCED_BODY + b'{"query": "' + b" " * (SENT_BODY - 11)
    )
    sent = time.monotonic()
    try:
        answer = await asyncio.wait_for(closed_after(reader), wait)
    except TimeoutError:
        answers["no answer"] += 1
    else:
        answered.append(time.monotonic() - sent)
        answers[answer.split(b"\r\n", 1)[0].decode() or "closed without an answer"] += 1
    writer.close()


async def bodies(port: int, clients: int, wait: float) -> dict[str, object]:
    answered: list[float] = []
    answers: Counter[str] = Counter()
    await asyncio.gather(*(stalled_body(port, wait, answered, answers) for _ in range(clients)))
    return {"answers": answers, "longest": max(answered, default=0.0)}


def report(title: str, result: dict[str, object], probe: Probe) -> None:
    print(title)
    answers = result["answers"]
    assert isinstance(answers, Counter)
    for outcome, count in answers.most_common():
        print(f"    {count:6d}  {outcome}")
    print(f"    still held by the gateway at the end: {answers['still open']}")
    if "longest" in result:
        print(f"    longest held: {result['longest']:.1f} s")
    print(f"    /healthz meanwhile: {probe.summary()}")


async def run(plan: Plan) -> None:
    with gateway() as (port, _):
        print(f"gateway on {HOST}:{port}, default connection settings")
        attack = trickle(port, plan.trickle_clients, plan.trickle_seconds)
        outcome, probe = await watched(port, asyncio.ensure_future(attack))
        report(
            f"{plan.trickle_clients} clients trickling a header byte every {TRICKLE_EVERY:g} s "
            f"for up to {plan.trickle_seconds:g} s:",
            outcome,
            probe,
        )
        attack = idle(port, plan.idle_clients, plan.idle_seconds)
        outcome, probe = await watched(port, asyncio.ensure_future(attack))
        report(
            f"{plan.idle_clients} idle connections, each kept for up to {plan.idle_seconds:g} s:",
            outcome,
            probe,
        )
        attack = bodies(port, plan.body_clients, plan.body_wait)
        outcome, probe = await watched(port, asyncio.ensure_future(attack))
        report(
            f"{plan.body_clients} bodies announced as {ANNOUNCED_BODY:,} B with {SENT_BODY} B sent, "
            f"waiting up to {plan.body_wait:g} s:",
            outcome,
            probe,
        )


def main() -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="trickle for up to 20 s, 12,000 idle connections, 100 bodies"
    )
    parser.add_argument("--trickle-seconds", type=float, help="how long the trickling clients keep at it")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.trickle_seconds is not None:
        plan = dataclasses.replace(plan, trickle_seconds=args.trickle_seconds)
    lift_open_file_limit()
    uvloop.run(run(plan))
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
