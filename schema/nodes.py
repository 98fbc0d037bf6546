"""`node` and `nodes`: any mix of job kinds by global id, batched like the single lookups."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

import strawberry

from schema.errors import BadUserInput, NotFound
from schema.picture import picture_modeling_job_by_id
from schema.relay import (
    GatewayInfo,
    GlobalIdArgument,
    GlobalIdsArgument,
    Job,
    Node,
    decode_global_id,
    described,
)
from schema.training import training_job_by_id
from schema.video import video_job_by_id

Lookup = Callable[[GatewayInfo, str], Awaitable[Job | None]]

_LOOKUPS: dict[str, Lookup] = {
    "VideoJob": video_job_by_id,
    "TrainingJob": training_job_by_id,
    "PictureModelingJob": picture_modeling_job_by_id,
}


async def _node(info: GatewayInfo, global_id: str) -> Node:
    type_name, job_id = decode_global_id(global_id)
    lookup = _LOOKUPS.get(type_name)
    if lookup is None:
        raise BadUserInput(f"{global_id!r} is not the id of any object this API serves")
    job = await lookup(info, job_id)
    if job is None:
        raise NotFound(type_name, job_id)
    return job


@strawberry.type
class NodeQueries:
    @described("Any job by its global id; null with a NOT_FOUND error when it is missing.")
    async def node(self, info: GatewayInfo, id: GlobalIdArgument) -> Node | None:
        return await _node(info, id)

    @described(
        "Jobs of any kinds by global id, in the order asked; a missing one is null with its own error."
    )
    async def nodes(self, info: GatewayInfo, ids: GlobalIdsArgument) -> list[Node | None]:
        # Started together so every kind's loader sees all its keys in one batch; an exception in the
        # list becomes that item's error and null, never its siblings'.
        found = await asyncio.gather(*(_node(info, i) for i in ids), return_exceptions=True)
        for item in found:
            if isinstance(item, BaseException) and not isinstance(item, Exception):
                raise item
        return cast(list[Node | None], found)
