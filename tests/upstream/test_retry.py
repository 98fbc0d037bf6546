"""Only reads are repeated, after a jittered, capped wait that honours Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from gateway.upstream.retry import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_retries=2, backoff_base=0.1, backoff_max=1.0)
NOW = datetime(2024, 3, 15, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_are_repeated_on_overload_internal_and_gateway_errors(status: int) -> None:
    assert POLICY.retries_status("GET", status, 0)
    assert POLICY.retries_status("get", status, 1)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_reads_are_not_repeated_on_other_errors(status: int) -> None:
    assert not POLICY.retries_status("GET", status, 0)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_never_repeated(method: str) -> None:
    assert not POLICY.retries_status(method, 503, 0)
    assert not POLICY.retries_status(method, 500, 0)
    assert not POLICY.retries_error(method, httpx.ConnectError("refused"), 0)
    assert not POLICY.retries_error(method, httpx.RemoteProtocolError("dropped"), 0)


def test_repeats_stop_at_max_retries() -> None:
    assert POLICY.retries_status("GET", 503, 1)
    assert not POLICY.retries_status("GET", 503, 2)
    assert not RetryPolicy(0, 0.1, 1.0).retries_status("GET", 503, 0)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("closed without a response"),
    ],
)
def test_reads_are_repeated_on_connection_failures(error: Exception) -> None:
    assert POLICY.retries_error("GET", error, 0)


def test_a_read_timeout_is_not_repeated() -> None:
    assert not POLICY.retries_error("GET", httpx.ReadTimeout("slow"), 0)


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    for retries_done, ceiling in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (10, 1.0)]:
        delays = [POLICY.delay(retries_done) for _ in range(200)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling / 2  # spread over the range, not pinned to zero


def test_retry_after_seconds_replace_the_backoff_up_to_the_cap() -> None:
    assert POLICY.delay(0, "0") == 0.0
    assert POLICY.delay(0, "1") == 1.0
    assert POLICY.delay(0, "120") == 1.0


def test_retry_after_as_an_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, NOW) == 30.0
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=5), usegmt=True), NOW) == 0.0
    assert (
        RetryPolicy(2, 0.1, 5.0).delay(0, format_datetime(NOW + timedelta(seconds=3), usegmt=True), NOW)
        == 3.0
    )


@pytest.mark.parametrize("value", ["soon", "", "-3", "1.5e9x"])
def test_unreadable_retry_after_falls_back_to_backoff(value: str) -> None:
    assert parse_retry_after(value, NOW) is None
    assert 0.0 <= POLICY.delay(0, value) <= 0.1
