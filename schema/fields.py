"""Fields declared once: each field's upstream key, GraphQL name, type and reading in one declaration.

A `Reading` says how the value under an upstream key reads (leniently, schema/reading.py: a wrong or
missing value reads as absent) and which GraphQL type it answers as: TEXT, LINK, INTEGER, FLAG, TIME,
..., `enum_of(Enum)`, `one(Type)`, `many(Type)`. The declarations, each the shape of Strawberry's own
(the GraphQL name is the attribute's, the upstream key too unless `key=` names another):

- `upstream(READING, description)` for a field of an object read from one upstream object:

      @strawberry.type(description="A layer's size on the canvas.")
      class LayerSizeConfig(Upstream):
          width: int | None = upstream(INTEGER, "Width, in canvas pixels.")

  `Upstream` gives the type `from_upstream(data)`, written once from its fields;
- `summary(READING, description)` for a field of a job (a `JobFields` type) its summary (a list row)
  answers: a direct field (schema/direct.py) that plans read straight from a known summary
  (schema/relay.py summary_field);
- `detail(READING, description)` for a job field only the job's show call answers: an awaited
  resolver of `job.load_detail(info)`, so it costs that call once per job per request (schema/limits.py
  counts it so, as it is not a direct field);
- `job_by_id(Type, find, description)` for a root field looking a job up by its upstream id;
- `member(description)` for a member of an `enum_type` enum whose value is its name.

Everything is built at import: a request runs the same calls a hand-written resolver would.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, cast

import strawberry
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from schema.enums import enum_values, optional_enum_value
from schema.errors import NotFound
from schema.reading import Data, flag, integer, link, real, records, text, texts
from schema.relay import summary_field, summary_time
from schema.resolvers import GatewayInfo, JobIdArgument, described
from schema.times import parse_time

T = TypeVar("T")
U = TypeVar("U", bound="Upstream")
E = TypeVar("E", bound=enum.Enum)
J = TypeVar("J")
F = TypeVar("F", bound=Callable[..., Any])

# The mark of a resolver that awaits the job's detail (its show call).
_READS_DETAIL = "__reads_detail__"
# Where `upstream` leaves a field's (key, read) in the Strawberry field's metadata.
_READING = "metastudio-gateway/upstream-reading"


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """How the value under an upstream key reads (`read(data, key)`) and the GraphQL type it answers as."""

    read: Callable[[Data, str], T]
    graphql_type: object


def _time(data: Data, key: str) -> datetime | None:
    return parse_time(data.get(key))


TEXT = Reading(text, str | None)
TEXTS = Reading(texts, list[str])
LINK = Reading(link, str | None)
INTEGER = Reading(integer, int | None)
REAL = Reading(real, float | None)
FLAG = Reading(flag, bool | None)
TIME = Reading(_time, datetime | None)


def enum_of(enum_cls: type[E]) -> Reading[E | None]:
    """An upstream string as its enum member: null when left out, UNKNOWN when not known."""

    def read(data: Data, key: str) -> E | None:
        return optional_enum_value(enum_cls, text(data, key))

    return Reading(read, enum_cls | None)


def enums_of(enum_cls: type[E]) -> Reading[list[E]]:
    """Each string of an upstream list as its enum member (UNKNOWN for those not known)."""

    def read(data: Data, key: str) -> list[E]:
        return enum_values(enum_cls, data.get(key))

    return Reading(read, list[enum_cls])  # type: ignore[valid-type]


def one(object_type: type[U]) -> Reading[U | None]:
    """The upstream object under the key read as `object_type`; null when there is none."""
    build = object_type.from_upstream

    def read(data: Data, key: str) -> U | None:
        value = data.get(key)
        # As schema/reading.py record: decoded JSON holds plain dicts, checked before the Mapping check.
        return build(value) if type(value) is dict or isinstance(value, Mapping) else None

    return Reading(read, object_type | None)


def many(object_type: type[U]) -> Reading[list[U]]:
    """The objects of an upstream list read as `object_type`, skipping anything that is not one."""
    build = object_type.from_upstream

    def read(data: Data, key: str) -> list[U]:
        return [build(item) for item in records(data, key)]

    return Reading(read, list[object_type])  # type: ignore[valid-type]


def upstream(reading: Reading[T], description: str, key: str | None = None) -> T:
    """A field of an `Upstream` type: `reading` of the value under `key` (the field's own name when
    not given). The type checker sees the reading's value, so the field's annotation is checked
    against it."""
    field = strawberry.field(description=description, metadata={_READING: (key, reading.read)})
    return field  # type: ignore[no-any-return]


class Upstream:
    """A GraphQL object read from one upstream object, its fields declared with `upstream`:
    `from_upstream(data)` reads each of them, inherited ones first (Strawberry's field order)."""

    # (field name, upstream key, read) of each field, in field order.
    _READINGS: ClassVar[tuple[tuple[str, str, Callable[[Data, str], object]], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = []
        for name, value in vars(cls).items():
            if isinstance(value, StrawberryField):
                if _READING not in value.metadata:
                    raise TypeError(f"{cls.__qualname__}.{name}: declare it with upstream(...)")
                key, read = value.metadata[_READING]
                own.append((name, key or name, read))
        cls._READINGS = (*cls._READINGS, *own)
        cls.from_upstream = classmethod(_constructor(cls.__qualname__, cls._READINGS))  # type: ignore[method-assign,assignment]

    @classmethod
    def read_fields(cls, data: Data) -> Self:
        """The object read from the upstream's `data`, field by field."""
        return cls(**{name: read(data, key) for name, key, read in cls._READINGS})

    @classmethod
    def from_upstream(cls, data: Data) -> Self:
        """The object read from the upstream's `data`. Each subclass gets this reading written out as
        code (_constructor), without the loop and the dict; the tests compare it with read_fields."""
        return cls.read_fields(data)


def _constructor(
    owner: str, readings: tuple[tuple[str, str, Callable[[Data, str], object]], ...]
) -> Callable[..., Any]:
    """`from_upstream(cls, data)` calling `cls(name=read(data, "key"), ...)` with each reading written
    out, as dataclasses write `__init__`: as cheap as the hand-written reading (no loop, no dict per
    object). Only field names (identifiers) and key literals are written into the code."""
    namespace: dict[str, object] = {}
    arguments = []
    for index, (name, key, read) in enumerate(readings):
        if not name.isidentifier():
            raise ValueError(f"{owner}: {name!r} is not a field name")
        namespace[f"_read{index}"] = read
        arguments.append(f"{name}=_read{index}(data, {key!r})")
    source = f"def from_upstream(cls, data):\n    return cls({', '.join(arguments)})\n"
    exec(compile(source, f"<{owner}.from_upstream>", "exec"), namespace)  # noqa: S102
    built = cast(Callable[..., Any], namespace["from_upstream"])
    built.__qualname__ = f"{owner}.from_upstream"
    return built


class JobFields:
    """A job type whose fields are declared with `summary` and `detail`: each reads the upstream key
    named like the field unless it names its own (`key=`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if isinstance(value, _JobField):
                setattr(cls, name, value.build(value.key or name, value.reading, value.description))


@dataclass(frozen=True, slots=True)
class _JobField:
    """A `summary` or `detail` declaration, made into its Strawberry field once its name is known."""

    build: Callable[[str, Reading[Any], str], Any]
    reading: Reading[Any]
    description: str
    key: str | None


def summary(reading: Reading[Any], description: str, key: str | None = None) -> Any:
    """A field of a `JobFields` job its summary (a list row) answers: `reading` of the summary's value
    under `key`."""
    return _JobField(_summary_field, reading, description, key)


def _summary_field(key: str, reading: Reading[Any], description: str) -> Any:
    if reading is TIME:
        # Answered straight from the upstream's text where that has the usual form.
        return summary_time(description, key)
    read_value = reading.read

    def read(job: object, data: Data) -> object:
        return read_value(data, key)

    read.__name__ = read.__qualname__ = key
    return summary_field(description, reading.graphql_type)(read)


class Detailed(Protocol):
    """A job whose show call answers its detail fields."""

    def load_detail(self, info: GatewayInfo) -> Awaitable[Data]: ...


def detail(reading: Reading[Any], description: str, key: str | None = None) -> Any:
    """A field of a `JobFields` job only its show call answers: `reading` of the detail's value under
    `key`, awaiting `job.load_detail(info)`."""
    return _JobField(_detail_field, reading, description, key)


def _detail_field(key: str, reading: Reading[Any], description: str) -> Any:
    read_value = reading.read

    async def resolve(self: Detailed, info: GatewayInfo) -> object:
        return read_value(await self.load_detail(info), key)

    resolve.__name__ = resolve.__qualname__ = key
    setattr(resolve, _READS_DETAIL, True)
    return strawberry.field(resolver=resolve, description=description, graphql_type=reading.graphql_type)


def detailed(description: str) -> Callable[[F], F]:
    """`described` (schema/relay.py) for a hand-written detail field: a resolver that awaits
    `load_detail`, counted among the job's detail fields."""

    def declare(resolver: F) -> F:
        setattr(resolver, _READS_DETAIL, True)
        return described(description)(resolver)

    return declare


def detail_fields(job_type: type) -> frozenset[str]:
    """The GraphQL names of a job type's detail fields (`detail` or `detailed`)."""
    definition: StrawberryObjectDefinition = job_type.__strawberry_definition__  # type: ignore[attr-defined]
    return frozenset(
        field.graphql_name or to_camel_case(field.python_name)
        for field in definition.fields
        if field.base_resolver is not None and getattr(field.base_resolver.wrapped_func, _READS_DETAIL, False)
    )


def job_by_id(
    job_type: type[J], find: Callable[[GatewayInfo, str], Awaitable[J | None]], description: str
) -> Any:
    """A root field answering the job `find(info, job_id)` finds: null with a NOT_FOUND error when the
    caller has no such job."""
    type_name = job_type.__name__

    async def resolve(self: object, info: GatewayInfo, job_id: JobIdArgument) -> J | None:
        job = await find(info, job_id)
        if job is None:
            raise NotFound(type_name, job_id)
        return job

    return strawberry.field(resolver=resolve, description=description, graphql_type=job_type | None)


class _Member:
    """A `member` placeholder until `enum_type` gives it its value: unique, so that no two members are
    taken for aliases of one value."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description


def member(description: str) -> Any:
    """A member of an `enum_type` enum whose value is its own name (the upstream's word for it)."""
    return _Member(description)


def enum_type(description: str) -> Callable[[type[E]], type[E]]:
    """`strawberry.enum` for an enum whose members are declared with `member(description)` (or, where
    the value differs from the name, with `strawberry.enum_value`): `NAME = member("...")` stands for
    `NAME = strawberry.enum_value("NAME", description="...")`."""

    def declare(cls: type[E]) -> type[E]:
        for item in cls:
            placeholder = item._value_
            if isinstance(placeholder, _Member):
                del cls._value2member_map_[placeholder]
                item._value_ = strawberry.enum_value(item.name, description=placeholder.description)
        return strawberry.enum(cls, description=description)

    return declare
