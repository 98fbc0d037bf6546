"""Plans answer as graphql-core's own completion does for every way a field can go, and stay bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import (
    GraphQLObjectType,
)

from gateway import turns
from gateway.app import create_app
from gateway.settings import EXECUTION_MODES, ExecutionMode, Settings
from schema import direct, effective_execution, plans, schema_for
from schema.direct import MaybeAwaitable, direct_field
from schema.direct_executor import DirectExecutor
from schema.plans import PlannedExecutor
from schema.slices import SlicedExecutor
from tests.schema.test_direct import ROWS_QUERY
from tests.schema.test_direct import Query as DirectRowsQuery
from tests.support.gateway import PROJECT

TOKEN = "alice-token"


@contextlib.asynccontextmanager
async def app_client(
    execution: ExecutionMode, transport: httpx.AsyncBaseTransport, endpoint: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(
            endpoint=endpoint,
            project_id=PROJECT,
            auth_mode="token",
            max_retries=0,
            read_cache_seconds=0.0,
            execution=execution,
            **settings,
        ),
        upstream_transport=transport,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        yield http


def answer(result: Any) -> bytes:
    return json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]}).encode()


async def test_each_way_a_planned_field_can_go_answers_as_graphql_core_would() -> None:
    planned = strawberry.Schema(query=DirectRowsQuery, execution_context_class=PlannedExecutor)
    direct.install(planned)
    reference = strawberry.Schema(query=DirectRowsQuery)
    for document in (ROWS_QUERY, "{ rows { ...R } } fragment R on Row { part { label } number a: name }"):
        got = answer(await planned.execute(document, context_value={"caller": "alice"}))
        assert got == answer(await reference.execute(document, context_value={"caller": "alice"}))


@strawberry.interface
class Shape:
    sides: int


@strawberry.type
class Square(Shape):
    @direct_field("Its name.", str)
    def name(self) -> MaybeAwaitable[str]:
        return "square"


@strawberry.type
class Triangle(Shape):
    @direct_field("Its name.", str)
    def name(self) -> MaybeAwaitable[str]:
        return "triangle"


@strawberry.type
class ShapesQuery:
    @strawberry.field
    def shapes(self) -> list[Shape | None]:
        # A triangle cast to a square resolves as a square, whatever its class.
        return [Square(sides=4), Triangle(sides=3), strawberry.cast(Square, Triangle(sides=3)), None]

    @strawberry.field
    def shape(self) -> Shape:
        return Triangle(sides=3)


async def test_objects_of_an_interface_resolve_to_the_type_strawberry_gives_them() -> None:
    shapes = [Square, Triangle]
    planned = strawberry.Schema(query=ShapesQuery, types=shapes, execution_context_class=PlannedExecutor)
    direct.install(planned)
    reference = strawberry.Schema(query=ShapesQuery, types=shapes, execution_context_class=SlicedExecutor)
    document = (
        "{ shapes { __typename sides ... on Square { name } ... on Triangle { name } }"
        " shape { __typename ... on Triangle { name sides } } }"
    )
    got = answer(await planned.execute(document))
    assert got == answer(await reference.execute(document))
    assert json.loads(got)["data"]["shapes"][2] == {"__typename": "Square", "sides": 3, "name": "square"}


@strawberry.type
class Leaf:
    n: int

    @direct_field("Fails for every fifth leaf.", int)
    def strict(self) -> MaybeAwaitable[int]:
        if self.n % 5 == 4:
            raise ValueError(f"leaf {self.n} refuses")
        return self.n

    @direct_field("Null for odd leaves, where null is not allowed.", str)
    def never_null(self) -> MaybeAwaitable[str]:
        return None if self.n % 2 else "here"  # type: ignore[return-value]


@strawberry.type
class Branch:
    n: int
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None

    @direct_field("A leaf, or something that is not one.", Leaf | None)
    def odd(self) -> MaybeAwaitable[Leaf | None]:
        return Leaf(n=self.n) if self.n % 3 else "not a leaf"  # type: ignore[return-value]

    @direct_field("A leaf returned as an exception, for some branches.", Leaf | None)
    def returned_error(self) -> MaybeAwaitable[Leaf | None]:
        return ValueError("returned, not raised") if self.n == 2 else Leaf(n=7)  # type: ignore[return-value]


@strawberry.type
class TreeQuery:
    @strawberry.field
    def branches(self) -> list[Branch]:
        return [
            Branch(
                n=n,
                leaves=[Leaf(n=k) for k in range(n * 4)],
                maybe_leaves=None if n == 1 else [Leaf(n=k) if k % 3 else None for k in range(20)],
            )
            for n in range(5)
        ]


TREE_DOCUMENTS = [
    "{ branches { n leaves { n } maybeLeaves { n } } }",
    "{ branches { n leaves { n strict } } }",
    "{ branches { n maybeLeaves { n neverNull } } }",
    "{ branches { odd { n strict } returnedError { n } } }",
    "{ branches { leaves { __typename n } ... on Branch { n } } }",
    "{ branches { n leaves @skip(if: true) { n } } }",
]


@pytest.mark.parametrize("slice_seconds", [0.0, 1.0])
@pytest.mark.parametrize("document", TREE_DOCUMENTS)
async def test_planned_lists_objects_and_their_failures_answer_as_graphql_core_would(
    document: str, slice_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turns, "SLICE_SECONDS", slice_seconds)
    planned = strawberry.Schema(query=TreeQuery, execution_context_class=PlannedExecutor)
    direct.install(planned)
    reference = strawberry.Schema(query=TreeQuery, execution_context_class=SlicedExecutor)
    assert answer(await planned.execute(document)) == answer(await reference.execute(document))


async def count_turns(document: str, schema: strawberry.Schema) -> int:
    turned = 0
    done = False

    async def ticker() -> None:
        nonlocal turned
        while not done:
            turned += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    result = await schema.execute(document)
    done = True
    await task
    assert not result.errors
    return turned


async def test_a_long_planned_list_still_lets_the_event_loop_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    # A slice of nothing: each row of a long list waits for the loop's next turn; short lists do not.
    monkeypatch.setattr(turns, "SLICE_SECONDS", 0.0)
    planned = strawberry.Schema(query=TreeQuery, execution_context_class=PlannedExecutor)
    direct.install(planned)
    long_list = await count_turns("{ branches { leaves { n } } }", planned)
    short_lists = await count_turns("{ branches { n } }", planned)
    assert long_list >= 16
    assert short_lists < 5


def planned_selections() -> int:
    return sum(kept.plan is not None for kept in plans._PLANS.values())


async def test_selections_that_depend_on_the_variables_are_not_planned() -> None:
    planned = strawberry.Schema(query=TreeQuery, execution_context_class=PlannedExecutor)
    direct.install(planned)
    plans._PLANS.clear()
    document = "query Q($all: Boolean!) { branches { n leaves @include(if: $all) { n } } }"
    for flag in (True, False):
        result = await planned.execute(document, variable_values={"all": flag})
        assert not result.errors
        assert result.data is not None and ("leaves" in result.data["branches"][0]) is flag
    assert planned_selections() == 0
    await planned.execute("{ branches { n leaves { n } } }")
    assert planned_selections() > 0


async def test_plans_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "PLANS_KEPT", 3)
    planned = strawberry.Schema(query=TreeQuery, execution_context_class=PlannedExecutor)
    direct.install(planned)
    for k in range(10):
        await planned.execute(f"{{ branches {{ a{k}: n leaves {{ n }} }} }}")
    assert len(plans._PLANS) <= 3


def test_the_execution_setting_picks_how_the_schema_executes() -> None:
    executors = {"planned": PlannedExecutor, "direct": DirectExecutor, "standard": SlicedExecutor}
    for execution in EXECUTION_MODES:
        built = schema_for(execution)
        assert built.execution_context_class is executors[execution]
        video_job = built._schema.type_map["VideoJob"]
        assert isinstance(video_job, GraphQLObjectType)
        # Standard execution leaves every resolver to Strawberry's wrapper.
        wrapped = video_job.fields["state"].resolve.__qualname__.startswith("GraphQLCoreConverter")
        assert wrapped is (execution == "standard")
        # The operation limits read the same summary fields whatever the mode.
        assert ("VideoJob", "state") in built._schema.extensions[direct.FIELDS]
    assert Settings.from_env({"GATEWAY_EXECUTION": "standard"}).execution == "standard"
    assert Settings().execution == "planned"


def test_releases_the_shortcuts_were_not_checked_with_run_standard_execution(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert direct.shortcuts_supported()
    assert not direct.shortcuts_supported({"strawberry-graphql": "0.400.0", "graphql-core": "3.3.2"})
    assert not direct.shortcuts_supported({"strawberry-graphql": "0.341.2", "graphql-core": "3.4.0"})
    monkeypatch.setattr(direct, "shortcuts_supported", lambda: False)
    with caplog.at_level("WARNING", logger="gateway.schema"):
        assert effective_execution("planned") == "standard"
        assert effective_execution("direct") == "standard"
    assert "strawberry-graphql" in caplog.text
    assert effective_execution("standard") == "standard"
