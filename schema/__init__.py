"""The GraphQL API: one Strawberry schema over the three MetaStudio job domains."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.errors import ErrorMapping
from schema.nodes import NodeQueries
from schema.picture import PictureModelingJob, PictureModelingQueries
from schema.picture_mutations import PictureModelingMutations
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


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*VIDEO_TYPES, TrainingJob, PictureModelingJob],
        extensions=[
            partial(ParserCache, maxsize=512),
            partial(ValidationCache, maxsize=512),
            ErrorMapping,
            StreamedOperations,
        ],
    )


schema = build_schema()
