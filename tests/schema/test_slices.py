"""Long lists are completed in slices: the same answers and errors as graphql-core, and the event loop
gets its turns while they are."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry

from gateway import turns
from schema.slices import SlicedExecutor


@strawberry.type
class Row:
    n: int

    @strawberry.field
    def maybe(self) -> int | None:
        if self.n % 7 == 0:
            raise ValueError(f"row {self.n} has no value")
        return self.n

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return self.n * 2

    @strawberry.field
    def strict(self) -> int:
        if self.n == 33:
            raise ValueError("row 33 refuses")
        return self.n


@strawberry.type
class Query:
    @strawberry.field
    async def rows(self, count: int) -> list[Row]:
        return [Row(n=n) for n in range(count)]

    @strawberry.field
    def numbers(self, count: int) -> list[int | None]:
        return [None if n % 5 == 0 else n for n in range(count)]

    @strawberry.field
    def strict_numbers(self, count: int) -> list[int]:
        return [n if n != 40 else None for n in range(count)]  # type: ignore[misc]

    @strawberry.field
    def futures(self, count: int) -> list[int]:
        async def value(n: int) -> int:
            await asyncio.sleep(0)
            return n

        return [value(n) for n in range(count)]  # type: ignore[misc]


DOCUMENTS = [
    "{ rows(count: 100) { n maybe } }",
    "{ rows(count: 100) { n later } }",
    "{ rows(count: 60) { n strict } }",
    "{ numbers(count: 200) }",
    "{ strictNumbers(count: 50) }",
    "{ futures(count: 40) }",
    "{ a: rows(count: 20) { n } b: rows(count: 3) { n } c: numbers(count: 16) }",
]


def plain(result: Any) -> dict[str, Any]:
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.parametrize("slice_seconds", [0.0, 0.002, 1.0])
@pytest.mark.parametrize("document", DOCUMENTS)
async def test_sliced_lists_answer_exactly_as_graphql_core(
    document: str, slice_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turns, "SLICE_SECONDS", slice_seconds)
    sliced = strawberry.Schema(Query, execution_context_class=SlicedExecutor)
    reference = strawberry.Schema(Query)
    assert plain(await sliced.execute(document)) == plain(await reference.execute(document))


async def count_turns(document: str, schema: strawberry.Schema) -> tuple[int, Any]:
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    result = await schema.execute(document)
    done = True
    await task
    return turns, result


async def test_a_long_list_lets_the_event_loop_turn_while_it_is_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slice of nothing: every item waits for the loop's next turn, so other tasks run in between.
    monkeypatch.setattr(turns, "SLICE_SECONDS", 0.0)
    document = "{ numbers(count: 500) }"
    sliced_turns, sliced = await count_turns(
        document, strawberry.Schema(Query, execution_context_class=SlicedExecutor)
    )
    core_turns, core = await count_turns(document, strawberry.Schema(Query))
    assert plain(sliced) == plain(core)
    assert sliced_turns >= 500
    assert core_turns < 10


async def test_short_lists_complete_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns, "SLICE_SECONDS", 0.0)
    taken, result = await count_turns(
        "{ numbers(count: 15) }", strawberry.Schema(Query, execution_context_class=SlicedExecutor)
    )
    assert result.data == {"numbers": [None, *range(1, 5), None, *range(6, 10), None, *range(11, 15)]}
    assert taken < 10
