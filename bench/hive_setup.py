"""Hive Gateway's side of bench/hive.py: its npm packages, the composed supergraph and the Node process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from bench import startup

Json = dict[str, Any]
HIVE = Path(__file__).resolve().parent / "hive"
# Written after a successful `npm ci`: the hash of the lock file it installed.
STAMP = HIVE / "node_modules" / ".bench-installed"
PACKAGES = ("@graphql-hive/gateway", "@graphql-mesh/compose-cli", "@omnigraph/openapi", "graphql")


class Unavailable(Exception):
    """Why Hive Gateway could not be measured here."""


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
