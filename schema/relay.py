"""Relay plumbing shared by every job domain: Node and Job interfaces, global ids, cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeAlias, TypeVar, cast

import strawberry

from gateway.context import RequestContext
from schema.direct import MaybeAwaitable, direct_field, reads_known_summary
from schema.errors import BadUserInput
from schema.resolvers import GatewayInfo
from schema.times import parse_time, time_answer

GlobalIdArgument: TypeAlias = Annotated[
    strawberry.ID, strawberry.argument(description="A job's global id (its `id` field), of any kind.")
]
GlobalIdsArgument: TypeAlias = Annotated[
    list[strawberry.ID],
    strawberry.argument(description="Global ids (`id` fields) of jobs of any kinds, in any mix."),
]

T = TypeVar("T")
J = TypeVar("J", bound="Job")
Summary: TypeAlias = Mapping[str, Any]


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


# Besides its own names, what schema/picture.py, training.py, training_types.py, video.py, video_types.py
# and paging.py import from here, whose homes are schema/enums.py, schema/times.py and schema/resolvers.py.
