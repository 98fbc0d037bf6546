"""Where the upstream is, how to authenticate to it, and who a call is made for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

AuthMode = Literal["token", "aksk"]


@dataclass(frozen=True)
class Credentials:
    """The caller a call is made for; in token mode its IAM token is forwarded as it is."""

    token: str | None = field(default=None, repr=False)
    app_user_id: str | None = None

    def __repr__(self) -> str:
        token = "<set>" if self.token else None
        return f"Credentials(token={token}, app_user_id={self.app_user_id!r})"

    @cached_property
    def key(self) -> str:
        """A stable, non-reversible key for this caller, so caches never hold a token in the clear;
        worked out once for the credentials of a request, which its loaders, read cache, rate limits
        and backoffs all ask for."""
        digest = hashlib.sha256()
        for part in (self.token or "", self.app_user_id or ""):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()


def credentials_key(credentials: Credentials) -> str:
    """`credentials.key`: a stable, non-reversible key for one caller."""
    return credentials.key


@dataclass(frozen=True)
class UpstreamConfig:
    """How to reach MetaStudio; timeouts are seconds, `total_timeout` bounds a call with its retries."""

    endpoint: str
    project_id: str
    auth_mode: AuthMode = "token"
    ak: str | None = None
    sk: str | None = field(default=None, repr=False)
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_retries: int = 2
    backoff_base: float = 0.1
    backoff_max: float = 2.0
    max_connections: int = 100
    max_keepalive: int = 20
    # Answers to GETs kept per caller (gateway/upstream/readcache.py); 0 keeps none, identical reads
    # in flight are shared all the same. A terminal job's show answer is kept the longer time, which
    # also bounds how long any answer is kept through renewals.
    read_cache_seconds: float = 0.0
    read_cache_terminal_seconds: float = 0.0
    read_cache_max_entries: int = 10_000
    read_cache_max_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.auth_mode not in ("token", "aksk"):
            raise ValueError(f"auth_mode must be 'token' or 'aksk', not {self.auth_mode!r}")
        if self.auth_mode == "aksk" and not (self.ak and self.sk):
            raise ValueError("auth_mode 'aksk' needs both ak and sk")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("read_cache_seconds", "read_cache_terminal_seconds"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more")
        if self.read_cache_max_entries < 1 or self.read_cache_max_bytes < 1:
            raise ValueError("read_cache_max_entries and read_cache_max_bytes must be at least 1")
