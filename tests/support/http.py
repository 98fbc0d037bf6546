"""HTTP clients for the servers the tests start on loopback."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

# httpx loads the whole CA store for every client it builds, about 20 ms of CPU each time; the tests'
# clients speak plain HTTP to loopback and share one.
TLS = ssl.create_default_context()


def loopback(base_url: str = "", **options: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for `base_url` (any keyword argument of httpx's but `verify`)."""
    return httpx.AsyncClient(base_url=base_url, verify=TLS, **options)


def loopback_sync(base_url: str = "", **options: Any) -> httpx.Client:
    """The same as a synchronous `httpx.Client`."""
    return httpx.Client(base_url=base_url, verify=TLS, **options)
