"""Validation kept per parsed document: a document is validated once, its errors are the same on every
request that sends it, and the cache stays within its size."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema

from schema import limit_extensions
from schema.limit_extensions import CheckedValidationCache, OperationLimits
from tests.support.gateway import GatewayClient


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operation names of the documents validated from now on."""
    seen: list[str] = []
    validate: Callable[..., Any] = strawberry_schema.validate_document  # what schema.limit_extensions calls

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        names = [d.name.value if d.name else "" for d in document.definitions]
        seen.append(",".join(names))
        return validate(schema, document, rules)

    monkeypatch.setattr(limit_extensions, "validate_document", counted)
    return seen


async def test_a_document_sent_again_is_not_validated_again(
    gateway: GatewayClient, validations: list[str]
) -> None:
    for _ in range(3):
        body = await gateway.query("query Listing { videoJobs(first: 1) { totalCount } }")
        assert "errors" not in body
    body = await gateway.query("query Other { videoJobs(first: 2) { totalCount } }")
    assert "errors" not in body
    assert validations == ["Listing", "Other"]


async def test_an_invalid_document_fails_alike_every_time(
    gateway: GatewayClient, validations: list[str]
) -> None:
    answers = [(await gateway.post({"query": "query Bad { videoJobs { nope } }"})).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert [e["extensions"]["code"] for e in answers[0]["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "nope" in answers[0]["errors"][0]["message"]
    assert validations == ["Bad"]


async def test_an_operation_over_the_limits_is_refused_before_validation(
    gateway: GatewayClient, validations: list[str]
) -> None:
    deep = "query Deep { videoJobs { edges { node { " + "id " * 3 + "} } } }"
    aliased = "query Aliased { " + " ".join(f"a{i}: __typename" for i in range(500)) + " }"
    body = (await gateway.post({"query": aliased})).json()
    assert body["errors"][0]["extensions"]["code"] != "GRAPHQL_VALIDATION_FAILED"
    assert "errors" not in await gateway.query(deep)
    assert validations == ["Deep"]


def test_the_cache_keeps_at_most_its_size(validations: list[str]) -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self, name: str = "you") -> str:
            return f"hello {name}"

    schema = strawberry.Schema(
        query=Query, extensions=[OperationLimits, partial(CheckedValidationCache, maxsize=2)]
    )
    documents = [f'query Q{i} {{ hello(name: "{i}") }}' for i in range(3)]
    for document in [*documents, documents[2], documents[0]]:
        result = schema.execute_sync(document)
        assert result.errors is None
    # Q2 was kept; Q0 had been pushed out by Q1 and Q2.
    assert validations == ["Q0", "Q1", "Q2", "Q0"]
    assert len(limit_extensions._VALIDATED[2]) == 2
