"""Direct fields answer exactly as Strawberry's own resolution would: the same data, the same errors."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
import strawberry

from gateway.app import upstream_config
from gateway.context import build_context, credentials_from_headers
from gateway.idempotency import MemoryIdempotencyStore
from gateway.loaders.base import KindCache
from gateway.settings import Settings
from gateway.upstream import UpstreamClient
from schema import build_schema
from schema.direct import MaybeAwaitable, direct, direct_field, install
from schema.direct_executor import DirectExecutor
from tests.support.gateway import PROJECT, GatewayClient
from tests.support.servers import LoopbackServer
from tests.test_queries import OPERATIONS, QUERIES

READS = (
    "video_job_list.graphql",
    "video_job_detail.graphql",
    "video_job_counts.graphql",
    "training_job_list.graphql",
    "training_job_detail.graphql",
    "picture_modeling_job_list.graphql",
    "picture_modeling_job_detail.graphql",
    "jobs_by_id.graphql",
)


def answer(result: Any) -> tuple[Any, list[tuple[str, list[str | int] | None, Any]]]:
    errors = [(e.message, e.path, e.extensions) for e in result.errors or []]
    return result.data, errors


@pytest.mark.parametrize("name", READS)
async def test_every_read_operation_answers_the_same_with_and_without_direct_fields(
    name: str, gateway: GatewayClient, emulator: LoopbackServer
) -> None:
    variables = await OPERATIONS[name].variables(gateway)
    document = (QUERIES / name).read_text(encoding="utf-8")
    settings = Settings(endpoint=emulator.url, project_id=PROJECT, auth_mode="token", max_retries=0)
    credentials = credentials_from_headers({"x-auth-token": "alice-token"}, settings)
    answers = []
    async with UpstreamClient(upstream_config(settings)) as client:
        for schema in (build_schema(execution="direct"), build_schema(execution="standard")):
            context = build_context(
                None,
                credentials,
                client=client,
                kinds=KindCache(),
                settings=settings,
                idempotency=MemoryIdempotencyStore(),
            )
            answers.append(answer(await schema.execute(document, variables, context_value=context)))
    direct_answer, strawberry_answer = answers
    assert direct_answer == strawberry_answer
    assert direct_answer[0] is not None


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Part:
    label: str

    @direct_field("The label, loud.", str)
    def loud(self) -> MaybeAwaitable[str]:
        return self.label.upper()

    @direct_field("Never null, yet null for part 2 at once and for part 4 once awaited.", str)
    def sharp(self) -> MaybeAwaitable[str]:
        if self.label == "part 4":
            return later(None)
        return None if self.label == "part 2" else "sharp"  # type: ignore[return-value]


async def later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


@strawberry.type
class Row:
    """Every way a direct field can go: at once, awaited, failing, null where null is not allowed,
    a value its type refuses, an object, a null object, and the caller's context."""

    number: int
    data: strawberry.Private[dict[str, Any]]

    @direct_field("A name, at once or awaited.", str)
    def name(self, info: strawberry.Info) -> MaybeAwaitable[str]:
        value = f"row {self.number}"
        return later(value) if self.data.get("await") else value

    @direct_field("A count that fails for some rows.", int | None)
    def count(self) -> MaybeAwaitable[int | None]:
        if self.data.get("fail"):
            raise ValueError(f"row {self.number} has no count")
        return self.number * 10

    @direct_field("Never null, yet null for some rows.", str)
    def required(self) -> MaybeAwaitable[str]:
        return None if self.data.get("null") else "here"  # type: ignore[return-value]

    @direct_field("A colour, or a value no colour is.", Colour | None)
    def colour(self) -> MaybeAwaitable[Colour | None]:
        return "purple" if self.data.get("bad_colour") else Colour.BLUE  # type: ignore[return-value]

    @direct_field("A part, null for odd rows.", Part | None)
    def part(self) -> MaybeAwaitable[Part | None]:
        return None if self.number % 2 else Part(label=f"part {self.number}")

    @direct_field("Who asks.", str)
    def caller(self, info: strawberry.Info) -> MaybeAwaitable[str]:
        return str(info.context["caller"])

    @strawberry.field
    @direct
    def flag(self) -> bool:
        return self.number > 2


ROWS = [
    {},
    {"await": True},
    {"fail": True},
    {"null": True},
    {"bad_colour": True},
    {"await": True, "fail": True},
]


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row | None]:
        return [Row(number=i, data=data) for i, data in enumerate(ROWS)]


def direct_schema() -> strawberry.Schema:
    built = strawberry.Schema(query=Query, execution_context_class=DirectExecutor)
    assert install(built) == 9
    return built


ROWS_QUERY = """
{ rows { number name count required colour part { label loud sharp } caller flag alias: name __typename } }
"""


async def test_each_way_a_direct_field_can_go_answers_as_strawberry_would() -> None:
    results = [
        answer(await schema.execute(ROWS_QUERY, context_value={"caller": "alice"}))
        for schema in (direct_schema(), strawberry.Schema(query=Query))
    ]
    direct_answer, strawberry_answer = results
    assert direct_answer == strawberry_answer
    data, errors = direct_answer
    assert data is not None
    assert data["rows"][0] == {
        "number": 0,
        "name": "row 0",
        "count": 0,
        "required": "here",
        "colour": "BLUE",
        "part": {"label": "part 0", "loud": "PART 0", "sharp": "sharp"},
        "caller": "alice",
        "flag": False,
        "alias": "row 0",
        "__typename": "Row",
    }
    assert data["rows"][1]["name"] == "row 1"
    assert data["rows"][5]["name"] == "row 5"
    assert data["rows"][2]["count"] is None
    assert data["rows"][3] is None
    assert data["rows"][4]["colour"] is None
    assert data["rows"][2]["part"] is None
    assert data["rows"][4]["part"] is None
    assert {(message.split(":")[0], tuple(path or ())) for message, path, _ in errors} >= {
        ("row 2 has no count", ("rows", 2, "count")),
        ("Cannot return null for non-nullable field Row.required.", ("rows", 3, "required")),
        ("Enum 'Colour' cannot represent value", ("rows", 4, "colour")),
        ("row 5 has no count", ("rows", 5, "count")),
        ("Cannot return null for non-nullable field Part.sharp.", ("rows", 2, "part", "sharp")),
        ("Cannot return null for non-nullable field Part.sharp.", ("rows", 4, "part", "sharp")),
    }


@strawberry.type
class Loud:
    @direct_field("Takes an argument, which a direct field cannot.", str)
    def shout(self, text: str) -> MaybeAwaitable[str]:
        return text.upper()


@strawberry.type
class LoudQuery:
    @strawberry.field
    def loud(self) -> Loud:
        return Loud()


def test_a_direct_field_with_arguments_is_refused_when_the_schema_is_built() -> None:
    with pytest.raises(TypeError, match=r"Loud\.shout has arguments"):
        install(strawberry.Schema(query=LoudQuery))
