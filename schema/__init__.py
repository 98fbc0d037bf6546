"""The GraphQL API: one Strawberry schema over the three MetaStudio job domains."""

from __future__ import annotations

from functools import cache, partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from gateway.metrics import RequestMetrics
from schema import direct
from schema.errors import ErrorMapping, log_errors
from schema.limits import CheckedValidationCache, OperationLimits
from schema.nodes import NodeQueries
from schema.operation_log import OperationLog
from schema.picture import PictureModelingJob, PictureModelingQueries
from schema.picture_mutations import PictureModelingMutations
from schema.slices import SlicedExecutor
from schema.subscriptions import StreamedOperations, Subscription
from schema.training import TrainingJob, TrainingQueries
from schema.training_mutations import TrainingMutations
from schema.video import VIDEO_TYPES, VideoQueries
from schema.video_mutations import VideoMutations


@strawberry.type(description="Read MetaStudio jobs: by id, in pages, or any mix by global id.")
class Query(VideoQueries, TrainingQueries, PictureModelingQueries, NodeQueries):
    pass


@strawberry.type(description="Create, cancel, submit and delete MetaStudio jobs.")
class Mutation(VideoMutations, TrainingMutations, PictureModelingMutations):
    pass


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, logging a request's errors in bounded lines instead of one traceback and
    the whole document per error."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = request_id = None
        if execution_context is not None:
            operation = execution_context.operation_name
            request_id = getattr(execution_context.context, "request_id", None)
        log_errors(errors, operation, request_id)


def build_schema(*, direct_fields: bool = True, traced: bool = False) -> strawberry.Schema:
    """The schema; with `direct_fields=False` the same schema resolved wholly through Strawberry's
    per-field wrapper and graphql-core's own executor (the tests compare the two); `traced` adds a span
    per operation (gateway/tracing.py)."""
    tracing: list[Any] = []
    if traced:
        from gateway.tracing import OperationSpans

        tracing.append(OperationSpans)
    built = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*VIDEO_TYPES, TrainingJob, PictureModelingJob],
        extensions=[
            # Outermost when traced: its span then covers the others' work and ends after theirs.
            *tracing,
            # Before the others: a WebSocket operation's log fields are its own from its start to its end.
            OperationLog,
            # First, so that it sees the operation's errors once the others have given them their codes.
            RequestMetrics,
            # Parses (with a cache of its own) within the limits, and checks them before validation.
            OperationLimits,
            partial(CheckedValidationCache, maxsize=512),
            ErrorMapping,
            StreamedOperations,
        ],
        execution_context_class=direct.DirectExecutor if direct_fields else SlicedExecutor,
    )
    if direct_fields:
        direct.install(built)
    return built


schema = build_schema()


@cache
def traced_schema() -> strawberry.Schema:
    """The schema of apps that trace, built when the first one starts: the others pay nothing for it."""
    return build_schema(traced=True)
