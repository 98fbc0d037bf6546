"""The GraphQL API: one Strawberry schema over the three MetaStudio job domains."""

from __future__ import annotations

import logging
from functools import cache, partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from gateway.metrics import RequestMetrics
from gateway.settings import ExecutionMode
from schema import direct
from schema.direct_executor import DirectExecutor
from schema.errors import ErrorMapping, log_errors
from schema.hooks import PreparedHooksRunner
from schema.inputs import prepare_inputs
from schema.limit_extensions import CheckedValidationCache, OperationLimits
from schema.nodes import NodeQueries
from schema.operation_log import OperationLog
from schema.picture import PictureModelingJob, PictureModelingQueries
from schema.picture_mutations import PictureModelingMutations
from schema.plans import PlannedExecutor
from schema.slices import SlicedExecutor
from schema.subscriptions import StreamedOperations, Subscription
from schema.training import TrainingJob, TrainingQueries
from schema.training_mutations import TrainingMutations
from schema.video import VIDEO_TYPES, VideoQueries
from schema.video_mutations import VideoMutations

logger = logging.getLogger("gateway.schema")


@strawberry.type(description="Read MetaStudio jobs: by id, in pages, or any mix by global id.")
class Query(VideoQueries, TrainingQueries, PictureModelingQueries, NodeQueries):
    pass


@strawberry.type(description="Create, cancel, submit and delete MetaStudio jobs.")
class Mutation(VideoMutations, TrainingMutations, PictureModelingMutations):
    pass


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, logging a request's errors in bounded lines instead of one traceback and
    the whole document per error, and running its extensions' hooks as prepared once per class."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = request_id = None
        if execution_context is not None:
            operation = execution_context.operation_name
            request_id = getattr(execution_context.context, "request_id", None)
        log_errors(errors, operation, request_id)

    # Set where the Strawberry release is one the shortcuts were checked with (see build_schema).
    prepared_hooks = False

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if self.prepared_hooks:
            return PreparedHooksRunner(execution_context=execution_context, extensions=extensions)
        return super().create_extensions_runner(execution_context, extensions)


def build_schema(*, execution: ExecutionMode = "planned", traced: bool = False) -> GatewaySchema:
    """The schema, executing as `execution` says (GATEWAY_EXECUTION): `planned` completes object
    selections along plans (schema/plans.py) over direct fields (schema/direct.py), `direct` uses direct
    fields alone, `standard` resolves wholly through Strawberry's per-field wrapper and graphql-core's
    own completion (the tests compare the three); `traced` adds a span per operation
    (gateway/tracing.py). Outside `standard`, the extensions' hooks run as schema/hooks.py prepares
    them."""
    tracing: list[Any] = []
    if traced:
        from gateway.tracing import OperationSpans

        tracing.append(OperationSpans)
    executors: dict[ExecutionMode, type[SlicedExecutor]] = {
        "planned": PlannedExecutor,
        "direct": DirectExecutor,
        "standard": SlicedExecutor,
    }
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
        execution_context_class=executors[execution],
    )
    direct.install(built, resolve_directly=execution != "standard")
    built.prepared_hooks = execution != "standard"
    prepare_inputs(built)
    return built


def effective_execution(execution: ExecutionMode) -> ExecutionMode:
    """`execution`, unless it takes shortcuts through Strawberry's or graphql-core's internals and the
    installed releases are not the ones those were checked with: then `standard`, with a warning."""
    if execution == "standard" or direct.shortcuts_supported():
        return execution
    logger.warning(
        "GATEWAY_EXECUTION=%s reads internals of strawberry-graphql and graphql-core checked only with %s; "
        "running standard execution",
        execution,
        ", ".join(
            f"{name} {' or '.join(p + '*' for p in prefixes)}"
            for name, prefixes in direct.CHECKED_VERSIONS.items()
        ),
    )
    return "standard"


@cache
def schema_for(execution: ExecutionMode = "planned", traced: bool = False) -> strawberry.Schema:
    """The schema of apps executing as `execution` (when the installed releases allow it), built when the
    first such app starts: the others pay nothing for it."""
    execution = effective_execution(execution)
    if execution == "planned" and not traced:
        return schema
    return build_schema(execution=execution, traced=traced)


schema = build_schema(execution=effective_execution("planned"))


def traced_schema() -> strawberry.Schema:
    """The schema of apps that trace (and execute the default way)."""
    return schema_for("planned", traced=True)
