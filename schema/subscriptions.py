"""Live job state: subscriptions that follow jobs from their state now to their end, over any transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.context import RequestContext
from gateway.live.events import JobRef
from gateway.live.hub import CallerLimitReached, HubStopped, JobGone, JobStateHub, TooManySubscriptions
from gateway.loaders.base import CallBudgetExceeded, MissingCredentials
from gateway.upstream import UpstreamError
from schema.errors import (
    INTERNAL_MESSAGE,
    BadUserInput,
    GatewayError,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from schema.kinds import BY_TYPE_NAME, JobKindEntry
from schema.picture import PictureModelingJob
from schema.relay import GlobalIdsArgument, Job, decode_global_id
from schema.resolvers import GatewayInfo, JobIdArgument
from schema.training import TrainingJob
from schema.video import VideoJob

log = logging.getLogger("gateway.subscriptions")

F = TypeVar("F", bound=Callable[..., Any])


def subscription(description: str) -> Callable[[F], F]:
    """`strawberry.subscription` keeping the resolver's own signature for the type checker."""
    return cast(Callable[[F], F], strawberry.subscription(description=description))


def _hub(info: GatewayInfo) -> JobStateHub:
    context = info.context
    if context.live is None:
        log.error("a subscription arrived but live job state is not running in this gateway")
        raise GatewayError(INTERNAL_MESSAGE)
    if context.upstream.missing_credentials is not None:
        raise Unauthenticated(context.upstream.missing_credentials)
    return context.live


async def follow(info: GatewayInfo, kind: JobKindEntry, job_id: str) -> AsyncGenerator[Job, None]:
    """The job as it is now, then the job once per state change, until a terminal state.

    Every event resolves through a context of its own (fresh loaders, shared only with the other
    subscribers with these credentials for this state), so nothing read for one event leaks into the next.
    First reads share one context per caller until the next change, so streams started together batch
    their first reads like a `nodes` query.
    """
    hub = _hub(info)
    credentials = info.context.credentials
    ref = JobRef(kind.kind, job_id)
    try:
        watch = hub.watch(ref, credentials)
    except TooManySubscriptions:
        raise RateLimited(
            f"the gateway follows as many jobs as it can (at most {info.context.settings.max_subscriptions} "
            "subscriptions); try again later"
        ) from None
    except CallerLimitReached as exc:
        raise _caller_limited(exc) from None
    async with watch:
        try:
            state: str | None = None
            while True:
                job = await kind.lookup(info, job_id, hub.event_context(ref, credentials, state))
                if job is None:
                    raise NotFound(kind.type_name, job_id)
                # What this event shows, which may already be past the state the hub saw (a read with other
                # credentials than the poller's): the hub then skips what the subscriber has already seen.
                shown = str((await job.summary(info)).get("state") or "")
                watch.seen(shown)
                yield job
                if kind.job_type.is_terminal(shown):
                    return
                state = await anext(watch, None)
                if state is None:
                    return
        except JobGone:
            raise NotFound(kind.type_name, job_id) from None
        except HubStopped as exc:
            raise GatewayError(str(exc)) from None
        except (GraphQLError, UpstreamError, CallBudgetExceeded, MissingCredentials):
            raise
        except Exception:
            # Raised from the source stream, this would reach the client with no field path; mask it here.
            log.exception("following %s %s failed", kind.type_name, job_id)
            raise GatewayError(INTERNAL_MESSAGE) from None


def _caller_limited(exc: CallerLimitReached) -> RateLimited:
    return RateLimited(str(exc), extensions={"limit": exc.limit, "scope": "caller"})


def _decoded(ids: Sequence[str], limit: int) -> list[tuple[JobKindEntry, str]]:
    if not ids:
        raise BadUserInput("ids: give at least one job id")
    jobs: dict[tuple[str, str], tuple[JobKindEntry, str]] = {}
    for global_id in ids:
        type_name, job_id = decode_global_id(global_id)
        kind = BY_TYPE_NAME.get(type_name)
        if kind is None:
            raise BadUserInput(f"{global_id!r} is not the id of a job")
        # The same job twice would deliver each of its events twice.
        jobs.setdefault((type_name, job_id), (kind, job_id))
    if len(jobs) > limit:
        raise BadUserInput(f"ids: at most {limit} jobs per subscription, got {len(jobs)}")
    return list(jobs.values())


async def merged(streams: Sequence[AsyncGenerator[Job, None]]) -> AsyncGenerator[Job, None]:
    """Events of every stream in the order they arrive; ends when all have ended or with the first error."""
    # One slot: a stream whose event waits here waits in its own watch, which coalesces a backlog there.
    arrivals: asyncio.Queue[Job | BaseException | None] = asyncio.Queue(maxsize=1)

    async def pump(stream: AsyncGenerator[Job, None]) -> None:
        try:
            async with contextlib.aclosing(stream):
                async for job in stream:
                    await arrivals.put(job)
        except Exception as exc:  # handed to the consumer, which raises it
            await arrivals.put(exc)
            return
        await arrivals.put(None)

    tasks = [asyncio.create_task(pump(stream)) for stream in streams]
    try:
        running = len(tasks)
        while running:
            item = await arrivals.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        # Each stream leaves its watch (unregistering it) before the subscription counts as over.
        await asyncio.gather(*tasks, return_exceptions=True)


def _one_kind(job_type: type[Job], description: str) -> Any:
    """The subscription following one job of `job_type` by its upstream id."""
    kind = BY_TYPE_NAME[job_type.__name__]

    async def state_changed(self: Any, info: GatewayInfo, job_id: JobIdArgument) -> AsyncGenerator[Job, None]:
        async for job in follow(info, kind, job_id):
            yield job

    # Each stream's items are of its kind's own type in the schema, not the Job interface.
    generator: Any = AsyncGenerator
    state_changed.__annotations__ = {**state_changed.__annotations__, "return": generator[job_type, None]}
    return strawberry.subscription(resolver=state_changed, description=description)


@strawberry.type(
    description="Follow jobs through their states: each stream sends the job as it is now, then the job "
    "again after every state change, and completes after a terminal state. A job that is unknown, or that "
    "your credentials cannot read, ends the stream with a NOT_FOUND error."
)
class Subscription:
    video_job_state_changed = _one_kind(
        VideoJob, "A video job (2D or photo), as it is now and after each change."
    )
    training_job_state_changed = _one_kind(TrainingJob, "A training job, as it is now and after each change.")
    picture_modeling_job_state_changed = _one_kind(
        PictureModelingJob, "A picture modeling job, as it is now and after each change."
    )

    @subscription(
        "Jobs of any kinds by global id, in one stream: each job's events in the order they "
        "happen, completing once every job has reached a terminal state. A bad id is BAD_USER_INPUT; "
        "a job that cannot be read ends the whole stream with NOT_FOUND."
    )
    async def job_state_changed(self, info: GatewayInfo, ids: GlobalIdsArgument) -> AsyncGenerator[Job, None]:
        jobs = _decoded(ids, info.context.settings.max_subscriptions_per_connection)
        try:
            # All or none: refused halfway, the stream would have started first loads for nothing.
            _hub(info).check_room(info.context.credentials, len(jobs))
        except CallerLimitReached as exc:
            raise _caller_limited(exc) from None
        streams = [follow(info, kind, job_id) for kind, job_id in jobs]
        async with contextlib.aclosing(merged(streams)) as events:
            async for job in events:
                yield job


class StreamedOperations(SchemaExtension):
    """A WebSocket carries many operations under one context: each gets a context of its own (fresh
    loaders, its own call budget, the credentials of the connection's `connection_init` payload)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, RequestContext) and context.per_operation is not None:
            self.execution_context.context = context.per_operation(context)
        yield
