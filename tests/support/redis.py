"""The Redis server the tests use: one database per pytest-xdist worker, so parallel workers never
share a key (an idempotency record, a kept answer, a poll lease) with each other's tests."""

from __future__ import annotations

import os

# PYTEST_XDIST_WORKER is gw0, gw1, ... under `pytest -n N` and unset in a plain run; Redis has 16 databases.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
REDIS_URL = f"redis://127.0.0.1:6379/{WORKER % 16}"
