"""Processes under measurement: the emulator, the gateway and the floor, each in its own process, and
the gateway's start-up time to ready and idle resident memory."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import httpx

PROJECT = "demo-project"
TOKEN = "bench-token"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    """One server process on the loopback interface."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    started: float

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"{self.name} has no VmRSS")

    def wait_ready(self, path: str, timeout: float = 30.0) -> float:
        """Seconds from spawn until `path` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1.0).status_code == 200:
                    return time.monotonic() - self.started
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def spawn(name: str, args: list[str], env: Mapping[str, str] | None = None) -> Process:
    port = free_port()
    full_env = {**os.environ, "GATEWAY_LOG_LEVEL": "warning", **(env or {})}
    started = time.monotonic()
    popen = subprocess.Popen(
        [sys.executable, *[a.replace("{port}", str(port)) for a in args]],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Process(name, popen, port, started)


@contextlib.contextmanager
def running(process: Process, ready_path: str) -> Iterator[Process]:
    try:
        process.wait_ready(ready_path)
        yield process
    finally:
        process.stop()


def emulator(tokens: Sequence[str] = (TOKEN,)) -> Process:
    """The emulator, accepting each of `tokens` as a caller of its own."""
    # Job life cycles a billion times slower: every job keeps the state it was seeded with.
    return spawn(
        "emulator",
        [
            "-m",
            "gateway",
            "emulator",
            "--port",
            "{port}",
            "--admin",
            "--no-seed",
            *(arg for token in tokens for arg in ("--token", token)),
            "--speed",
            "1e-9",
        ],
        {"METASTUDIO_PROJECT_ID": PROJECT},
    )


def gateway_env(emulator_url: str) -> dict[str, str]:
    """The gateway's settings under measurement: the emulator in token mode, no retries."""
    return {
        "METASTUDIO_ENDPOINT": emulator_url,
        "METASTUDIO_PROJECT_ID": PROJECT,
        "METASTUDIO_AUTH_MODE": "token",
        "METASTUDIO_MAX_RETRIES": "0",
        # The load comes from one caller: a per-caller limit would measure the limit, not the gateway.
        "GATEWAY_RATE_LIMIT_PER_SECOND": "off",
        "GATEWAY_CREATE_RATE_LIMIT_PER_SECOND": "off",
        # Every request makes its upstream calls, as the floor's do: kept answers would measure the
        # read cache, not the gateway (bench/polling.py measures the cache, at its default).
        "GATEWAY_READ_CACHE_SECONDS": "0",
    }


def gateway(emulator_url: str) -> Process:
    return spawn("gateway", ["-m", "gateway", "serve", "--port", "{port}"], gateway_env(emulator_url))


def floor(emulator_url: str) -> Process:
    return spawn("floor", ["-m", "bench.floor", "--port", "{port}", "--upstream", emulator_url])


def measure(emulator_url: str, runs: int) -> dict[str, float]:
    """Start-up to ready (median of `runs` cold starts) and resident memory once idle."""
    times: list[float] = []
    rss = 0.0
    for _ in range(runs):
        process = gateway(emulator_url)
        try:
            times.append(process.wait_ready("/readyz"))
            time.sleep(1.0)
            rss = max(rss, process.rss_mb())
        finally:
            process.stop()
    times.sort()
    return {"startup_s": times[len(times) // 2], "startup_max_s": times[-1], "idle_rss_mb": rss}
