"""The command line: `serve` on the embedded emulator, the standalone emulator, and bad settings."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.servers import free_port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METASTUDIO_", "GATEWAY_", "REDIS_URL"))}
    return {**env, **extra}


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early: {process.communicate()}")
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_serve_starts_on_the_embedded_emulator_and_becomes_ready(stop: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    process = start(["serve", "--port", str(port)], clean_env())
    stop.append(process)
    assert wait_for(f"http://127.0.0.1:{port}/healthz", process).json() == {"status": "ok"}
    assert wait_for(f"http://127.0.0.1:{port}/readyz", process).status_code == 200
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    assert f"GraphiQL:   http://127.0.0.1:{port}/graphql" in output
    assert "(embedded)" in output


def test_the_emulator_runs_alone_and_checks_credentials(stop: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    process = start(["emulator", "--port", str(port), "--token", "t-cli"], clean_env())
    stop.append(process)
    base = f"http://127.0.0.1:{port}/v1/demo-project/digital-human-videos"
    wait_for(base, process)
    assert httpx.get(base).status_code == 401
    listed = httpx.get(base, headers={"X-Auth-Token": "t-cli"})
    assert listed.status_code == 200
    assert listed.json()["count"] > 0
    assert httpx.get(f"http://127.0.0.1:{port}/_emulator/calls").status_code == 404


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"METASTUDIO_AUTH_MODE": "ldap"}, "METASTUDIO_AUTH_MODE: 'ldap' is not one of token, aksk"),
        (
            {
                "METASTUDIO_ENDPOINT": "https://m.example.com",
                "METASTUDIO_PROJECT_ID": "p",
                "METASTUDIO_AUTH_MODE": "aksk",
            },
            "METASTUDIO_AK: required when METASTUDIO_AUTH_MODE is aksk",
        ),
        ({"METASTUDIO_ENDPOINT": "m.example.com"}, "METASTUDIO_ENDPOINT: 'm.example.com' is not an http://"),
    ],
)
def test_bad_settings_stop_the_start_with_a_clear_message(env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr
