"""The extensions' hooks, prepared once per class, run as Strawberry's own runner runs them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema import GatewaySchema, build_schema
from schema.hooks import PreparedHooksRunner

Events = list[str]


def recording(name: str, events: Events, fail_on: str | None = None) -> type[SchemaExtension]:
    class Recording(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            events.append(f"{name} operation in")
            try:
                yield
            except Exception as error:
                events.append(f"{name} operation saw {error}")
                raise
            result = self.execution_context.result
            errors = result.errors if result is not None else None
            events.append(f"{name} operation out, errors: {len(errors or [])}")

        def on_parse(self) -> Iterator[None]:
            events.append(f"{name} parse in")
            if fail_on == "parse":
                raise ValueError(f"{name} refuses the document")
            yield
            events.append(f"{name} parse out")

        def on_validate(self) -> Iterator[None]:
            events.append(f"{name} validate in")
            yield
            events.append(f"{name} validate out")

        def on_execute(self) -> Iterator[None]:
            events.append(f"{name} execute in")
            yield
            events.append(f"{name} execute out")

    return Recording


def with_async_hook(events: Events) -> type[SchemaExtension]:
    class AsyncOperation(SchemaExtension):
        async def on_operation(self) -> AsyncIterator[None]:
            events.append("async operation in")
            yield
            events.append("async operation out")

    return AsyncOperation


@strawberry.type
class Query:
    @strawberry.field
    def greeting(self) -> str:
        return "hello"

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("resolver failed")


DOCUMENTS = [
    "{ greeting }",
    "{ broken }",
    "{ nothing }",
    "{ greeting",
    "query A { greeting } query B { greeting }",
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("fail_on", [None, "parse"])
@pytest.mark.parametrize("with_async", [False, True])
async def test_hooks_run_in_the_order_and_with_the_outcome_strawberry_s_runner_gives(
    document: str, fail_on: str | None, with_async: bool
) -> None:
    outcomes = []
    for prepared in (True, False):
        events: Events = []
        extensions: list[Any] = [recording("first", events), recording("second", events, fail_on)]
        if with_async:
            extensions.insert(1, with_async_hook(events))
        schema = GatewaySchema(query=Query, extensions=extensions)
        schema.prepared_hooks = prepared
        try:
            result = await schema.execute(document)
        except Exception as error:  # a hook's failure on the way in leaves the operation
            outcomes.append((events, f"raised {type(error).__name__}: {error}"))
            continue
        errors = [e.message for e in result.errors or []]
        outcomes.append((events, f"data {result.data}, errors {errors}"))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0][0] == "first operation in"


def test_the_gateway_schema_prepares_its_hooks_unless_it_executes_in_standard_mode() -> None:
    assert build_schema(execution="planned").prepared_hooks is True
    assert build_schema(execution="standard").prepared_hooks is False


async def test_a_phase_with_a_hook_written_otherwise_runs_through_strawberry_s_manager() -> None:
    events: Events = []
    runner = PreparedHooksRunner(execution_context=None, extensions=[with_async_hook(events)()])  # type: ignore[arg-type]
    async with runner.operation():
        events.append("inside")
    assert events == ["async operation in", "inside", "async operation out"]
