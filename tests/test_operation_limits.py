"""Operations over the limits are refused before execution and any upstream call; logs stay bounded."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from schema.limits import Limits, count_tokens, parse_within
from tests.support.gateway import GatewayClient

QUERIES = Path(__file__).resolve().parents[1] / "queries"


def limit_of(body: dict[str, Any]) -> dict[str, Any]:
    [error] = body["errors"]
    assert error["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED", error
    limit: dict[str, Any] = error["extensions"]["limit"]
    return limit


@pytest.mark.parametrize(
    ("document", "limit"),
    [
        (
            "{" + " ".join(f"a{i}: __typename" for i in range(31)) + "}",
            {"name": "aliases", "max": 30, "actual": 31},
        ),
        (
            "{ videoJobs { edges { node { shootScripts { shootScript { textConfig { text } " + "} } } } } }",
            None,
        ),
        ("{ " + "__typename " * 1001 + "}", {"name": "tokens", "max": 1000, "actual": 1003}),
        ("{" + " " * 100_001 + "__typename }", {"name": "documentBytes", "max": 100_000, "actual": 100_014}),
        (
            "{ videoJobs(first: 100) { edges { node { voiceConfig { voiceAssetId } } } }"
            " trainingJobs(first: 100) { edges { node { operationLogs { operateTime } } } } }",
            {"name": "cost", "max": 200, "actual": 202},
        ),
    ],
    ids=["aliases", "depth within", "tokens", "bytes", "cost"],
)
async def test_operations_over_a_limit_are_refused_before_any_upstream_call(
    gateway: GatewayClient, document: str, limit: dict[str, Any] | None
) -> None:
    body = await gateway.query(document)
    if limit is None:
        assert "errors" not in body, body
        return
    assert limit_of(body) == limit
    assert body["data"] is None
    assert await gateway.calls() == []


async def test_a_deep_operation_is_refused_by_depth(gateway: GatewayClient) -> None:
    fragment = "fragment F on VideoJob { outputAsset { assetName } }"
    # Depth counts through fragments: 13 levels of nesting, one more than the default of 12.
    nested = (
        "{ videoJobs { edges { node { ...F " + "shootScripts { " * 9 + "sequenceNo" + " }" * 9 + " } } } }"
    )
    body = await gateway.query(nested + " " + fragment)
    assert limit_of(body) == {"name": "depth", "max": 12, "actual": 13}


async def test_introspection_depth_does_not_count(gateway: GatewayClient) -> None:
    from graphql import get_introspection_query

    body = await gateway.query(get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_limits_are_settings(emulator: Any) -> None:
    from tests.support.gateway import gateway_client

    async with gateway_client(emulator.url, max_aliases=2, max_depth=2, call_budget=1) as gateway:
        assert limit_of(await gateway.query("{ a: __typename b: __typename c: __typename }")) == {
            "name": "aliases",
            "max": 2,
            "actual": 3,
        }
        assert limit_of(await gateway.query("{ videoJobs { edges { node { jobId } } } }"))["name"] == "depth"
        assert limit_of(await gateway.query("{ videoJobs { totalCount } trainingJobs { totalCount } }")) == {
            "name": "cost",
            "max": 1,
            "actual": 2,
        }


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.graphql")), ids=lambda p: p.stem)
def test_every_document_in_queries_passes_the_default_limits_with_room(path: Path) -> None:
    text = path.read_text()
    defaults = Limits()
    parse_within(text, defaults)
    assert len(text) * 10 <= defaults.document_bytes
    assert count_tokens(text) * 4 <= defaults.tokens


async def test_a_subscription_over_a_limit_is_refused(gateway: GatewayClient) -> None:
    document = (
        "subscription { "
        + " ".join(f'a{i}: videoJobStateChanged(jobId: "x") {{ state }}' for i in range(31))
        + " }"
    )
    response = await gateway.http.post(
        "/graphql",
        json={"query": document},
        headers={"Accept": "text/event-stream", "X-Auth-Token": "alice-token"},
    )
    assert "OPERATION_LIMIT_EXCEEDED" in response.text
    assert await gateway.calls() == []


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The gateway's own lines (the test's HTTP client logs its requests too).
        if record.name.startswith(("gateway", "strawberry", "uvicorn")):
            self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Any:
    handler = Captured()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def test_client_errors_log_one_bounded_line_without_a_traceback(
    gateway: GatewayClient, captured_logs: Captured
) -> None:
    # The worst a client can send within the limits: every alias a missing job, each error long.
    fields = " ".join(f'a{i}: trainingJob(jobId: "{"x" * 64}") {{ name }}' for i in range(30))
    body = await gateway.query("query " + "N" * 5000 + " { " + fields + " }")
    assert len(body["errors"]) == 30
    assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_FOUND"}

    written = "\n".join(captured_logs.lines)
    assert "Traceback" not in written
    request_lines = [line for line in captured_logs.lines if "error(s)" in line]
    assert len(request_lines) == 1
    assert " INFO " in request_lines[0] and "NOT_FOUND x30" in request_lines[0]
    # The operation name is cut, and no document text is written.
    assert "N" * 101 not in written and "trainingJob(" not in written
    assert len(written.encode()) < 2_000, written


async def test_an_unexpected_error_logs_one_traceback_per_request(
    gateway: GatewayClient, captured_logs: Captured
) -> None:
    await gateway.query('{ a: trainingJob(jobId: "x") { name } b: trainingJob(jobId: "y") { name } }')
    written = "\n".join(captured_logs.lines)
    assert written.count("Traceback") == 0


async def test_a_refused_document_logs_one_line(gateway: GatewayClient, captured_logs: Captured) -> None:
    await gateway.query("{" + " ".join(f"a{i}: __typename" for i in range(500)) + "}")
    written = "\n".join(captured_logs.lines)
    # The refusal's one line, beside the access line every request gets.
    assert len(captured_logs.lines) == 2, written
    assert sum("gateway.access POST /graphql 200" in line for line in captured_logs.lines) == 1, written
    assert "OPERATION_LIMIT_EXCEEDED x1" in written
    assert len(written.encode()) < 1_000
