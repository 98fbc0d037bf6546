"""Relay plumbing shared by every job domain: Node and Job interfaces, global ids, cursors, pages."""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, NamedTuple, TypeAlias, TypeVar, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway.context import RequestContext
from schema.direct import UNANSWERED, MaybeAwaitable, direct_field, reads_known_summary
from schema.errors import BadUserInput

GatewayInfo: TypeAlias = strawberry.Info[RequestContext, None]

JobIdArgument: TypeAlias = Annotated[
    str, strawberry.argument(description="The job's upstream id (its jobId), e.g. from a create.")
]
GlobalIdArgument: TypeAlias = Annotated[
    strawberry.ID, strawberry.argument(description="A job's global id (its `id` field), of any kind.")
]
GlobalIdsArgument: TypeAlias = Annotated[
    list[strawberry.ID],
    strawberry.argument(description="Global ids (`id` fields) of jobs of any kinds, in any mix."),
]

E = TypeVar("E", bound=enum.Enum)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
J = TypeVar("J", bound="Job")
Summary: TypeAlias = Mapping[str, Any]


def described(description: str) -> Callable[[F], F]:
    """`strawberry.field` for a resolver, keeping the resolver's own signature for the type checker."""
    return cast(Callable[[F], F], strawberry.field(description=description))


def selected_fields(selections: Iterable[Selection], type_names: frozenset[str]) -> Iterator[SelectedField]:
    """The fields selected on an object, through fragments that apply to one of its type names."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, InlineFragment | FragmentSpread):
            if selection.type_condition is None or selection.type_condition in type_names:
                yield from selected_fields(selection.selections, type_names)


# base64.urlsafe_b64encode's translation, applied to binascii's encoding directly (ids and cursors of
# every row are encoded).
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def to_base64(text: str) -> str:
    return (
        binascii.b2a_base64(text.encode("utf-8"), newline=False)
        .translate(_URLSAFE)
        .decode("ascii")
        .rstrip("=")
    )


def from_base64(value: str) -> str:
    padded = value + "=" * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")


def encode_global_id(type_name: str, job_id: str) -> str:
    return to_base64(f"{type_name}:{job_id}")


def decode_global_id(value: str) -> tuple[str, str]:
    """(type name, upstream job id) of a global id; BAD_USER_INPUT when it is not one of ours."""
    try:
        type_name, _, job_id = from_base64(value).partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(f"{value!r} is not a valid global id") from None
    if not type_name or not job_id:
        raise BadUserInput(f"{value!r} is not a valid global id")
    return type_name, job_id


def encode_cursor(kind: str, offset: int) -> str:
    """An offset cursor as earlier versions made them (`kind:offset`); lists still read them."""
    return to_base64(f"{kind}:{offset}")


def parse_time(value: object) -> datetime | None:
    """An upstream time as an aware UTC datetime; None for empty or unreadable values.

    The upstream mostly sends `2024-05-10T09:02:37Z`, sometimes with milliseconds or an offset,
    and a few nested models send epoch milliseconds.
    """
    if type(value) is str:
        # Most upstream times read as they are (Python reads a trailing `Z` as UTC); the rest go the
        # long way below, which reads the same times alike.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# The upstream's usual time: UTC to the second, `Z`; ASCII digits only.
_USUAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def time_answer(value: object) -> object:
    """What the DateTime scalar writes for `parse_time(value)`, without making the datetime where the
    upstream sent its usual text (`2024-05-10T09:02:37Z` is written `2024-05-10T09:02:37+00:00`): null
    for no value, UNANSWERED for any other form (parse_time and the scalar then decide). The scalar's
    isoformat is most of a time field's cost on a page of rows."""
    if value is None:
        return None
    if type(value) is str and _USUAL_TIME.fullmatch(value):
        try:
            datetime.fromisoformat(value)  # a real day and time of day
        except ValueError:
            return UNANSWERED
        return value[:19] + "+00:00"
    return UNANSWERED


def upstream_time(value: datetime) -> str:
    """A filter time as the upstream expects it: UTC, seconds, `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


UNKNOWN_DESCRIPTION = (
    "A value the upstream sent that this gateway does not know yet; answers only, refused in inputs."
)


class _EnumTable(NamedTuple):
    by_name: dict[str, enum.Enum]
    # The first member of each value: what a scan in definition order finds.
    by_value: dict[object, enum.Enum]
    unknown: enum.Enum


_ENUM_TABLES: dict[type[enum.Enum], _EnumTable] = {}


def _enum_table(enum_cls: type[enum.Enum]) -> _EnumTable:
    table = _ENUM_TABLES.get(enum_cls)
    if table is None:
        by_value: dict[object, enum.Enum] = {}
        for member in enum_cls:
            by_value.setdefault(member.value, member)
        table = _ENUM_TABLES[enum_cls] = _EnumTable(dict(enum_cls.__members__), by_value, enum_cls["UNKNOWN"])
    return table


def enum_value(enum_cls: type[E], raw: object, aliases: Mapping[str, str] | None = None) -> E:
    """The enum member named by an upstream string (its name, or its value where the two differ, as
    V3_2 for "V3.2"), or UNKNOWN for anything the gateway does not know."""
    # Every row of a page reads a few enums: a table per enum instead of a scan of its members.
    table = _ENUM_TABLES.get(enum_cls) or _enum_table(enum_cls)
    if not isinstance(raw, str):
        return table.unknown  # type: ignore[return-value]
    member = table.by_name.get(aliases.get(raw, raw) if aliases else raw)
    if member is None:
        member = table.by_value.get(raw)
    return table.unknown if member is None else member  # type: ignore[return-value]


def optional_enum_value(enum_cls: type[E], raw: object) -> E | None:
    """As enum_value, but null for a value the upstream left out."""
    return None if raw is None or raw == "" else enum_value(enum_cls, raw)


def enum_values(enum_cls: type[E], raw: object) -> list[E]:
    """Each string of an upstream list as its enum member (UNKNOWN for those the gateway does not know)."""
    return [enum_value(enum_cls, item) for item in raw] if isinstance(raw, list) else []


def raw_state_of(summary: Mapping[str, Any]) -> str:
    return str(summary.get("state") or "")


@strawberry.type(description="Why a job failed, as the upstream reported it.")
class JobError:
    code: str = strawberry.field(description="The upstream error code, e.g. MSS.00000004.")
    message: str = strawberry.field(description="The upstream error message.")

    @classmethod
    def from_upstream(cls, error_info: object) -> JobError | None:
        # Most jobs have none: answered before the Mapping check, which costs more than the rest.
        if error_info is None or (type(error_info) is not dict and not isinstance(error_info, Mapping)):
            return None
        code, message = error_info.get("error_code"), error_info.get("error_msg")
        if not code and not message:
            return None
        return cls(code=str(code or ""), message=str(message or ""))


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    @direct_field("Global, opaque id of this object.", strawberry.ID)
    def id(self) -> MaybeAwaitable[str]:
        return encode_global_id(type(self).__name__, getattr(self, "job_id", ""))


def summary_field(
    description: str, graphql_type: object, answer: Callable[[Summary], object] | None = None
) -> Callable[[Callable[[J, Summary], T]], Callable[[J, Summary], T]]:
    """A direct field of a job answered by `read(job, summary)` from the job's summary: at once when the
    summary is known (a listed job), else once the job's loader answers. Plans (schema/plans.py) call
    `read` themselves for a job whose summary is known, or `answer(summary)` where given: the value the
    field's type writes for `read`'s, or UNANSWERED where it cannot tell without `read`. The type
    checker keeps seeing `read`."""

    def declare(read: Callable[[J, Summary], T]) -> Callable[[J, Summary], T]:
        def resolve(self: Any, info: GatewayInfo) -> Any:
            return self.read_summary(info, read)

        resolve.__name__, resolve.__qualname__ = read.__name__, read.__qualname__
        reads_known_summary(resolve, read, answer)
        return cast(Callable[[J, Summary], T], direct_field(description, graphql_type)(resolve))

    return declare


def summary_time(description: str, key: str) -> Any:
    """A summary field for the upstream time under `key`: parse_time's reading of it, answered straight
    from the upstream's text where that has the usual form (`time_answer`)."""

    def read(job: Any, summary: Summary) -> datetime | None:
        return parse_time(summary.get(key))

    def answer(summary: Summary) -> object:
        return time_answer(summary.get(key))

    read.__name__ = read.__qualname__ = key
    return summary_field(description, datetime | None, answer)(read)


@strawberry.interface(description="A long-running MetaStudio job of any kind.")
class Job(Node):
    job_id: str = strawberry.field(description="The upstream job id.")
    # Set for subscription events, which each resolve through a context of their own so no loader
    # or cache outlives the event; queries and mutations use the request's context.
    bound_context: strawberry.Private[RequestContext | None] = None
    # The job's summary when it was at hand where the job was made (a list item, or the answer that
    # showed the job exists): its summary fields then answer at once, without awaiting a loader.
    known_summary: strawberry.Private[Mapping[str, Any] | None] = None

    # Each job type lists the states after which the upstream moves the job no further.
    TERMINAL_STATES: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    async def found(
        cls: type[J],
        job_id: str,
        loading: Awaitable[Mapping[str, Any] | None],
        context: RequestContext | None,
    ) -> J | None:
        """The job from its loader's answer, None when it does not exist; `context` as for
        subscription events. The load is the caller's, queued before this is awaited."""
        summary = await loading
        return None if summary is None else cls(job_id=job_id, bound_context=context, known_summary=summary)

    def context(self, info: GatewayInfo) -> RequestContext:
        """The context this job's fields resolve through."""
        return self.bound_context or info.context

    async def summary(self, info: GatewayInfo) -> Mapping[str, Any]:
        """The job's summary data as the upstream sent it (with `state` and `error_info`): the known
        one, else its loader's answer."""
        if self.known_summary is not None:
            return self.known_summary
        return await self.load_summary(info)

    async def load_summary(self, info: GatewayInfo) -> Mapping[str, Any]:
        """The job's summary from its loader; NOT_FOUND when the caller has no such job."""
        raise TypeError(f"{type(self).__name__} does not say how to load its summary")

    def summarized(self, info: GatewayInfo, read: Callable[[Mapping[str, Any]], T]) -> MaybeAwaitable[T]:
        """`read` of the job's summary: at once when it is known, else once the loader answers."""
        if self.known_summary is not None:
            return read(self.known_summary)
        return self._read_summary(info, read)

    async def _read_summary(self, info: GatewayInfo, read: Callable[[Mapping[str, Any]], T]) -> T:
        return read(await self.load_summary(info))

    def read_summary(self: J, info: GatewayInfo, read: Callable[[J, Summary], T]) -> MaybeAwaitable[T]:
        """`read(self, summary)` of the job's summary: at once when it is known, else once the loader
        answers (the resolver of every summary_field)."""
        if self.known_summary is not None:
            return read(self, self.known_summary)
        return self._read_summary_of(info, read)

    async def _read_summary_of(self: J, info: GatewayInfo, read: Callable[[J, Summary], T]) -> T:
        return read(self, await self.load_summary(info))

    @summary_field("The state string exactly as the upstream sent it.", str)
    def raw_state(self, summary: Summary) -> str:
        return raw_state_of(summary)

    @summary_field("True once the job has reached a state it will not leave by itself.", bool)
    def terminal(self, summary: Summary) -> bool:
        return self.is_terminal(raw_state_of(summary))

    @summary_field("Why the job failed, when it did.", JobError | None)
    def error(self, summary: Summary) -> JobError | None:
        return JobError.from_upstream(summary.get("error_info"))

    @classmethod
    def is_terminal(cls, raw_state: str) -> bool:
        return raw_state in cls.TERMINAL_STATES
