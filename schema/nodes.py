"""`node` and `nodes`: any mix of job kinds by global id, batched like the single lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import cast

import strawberry

from schema.errors import BadUserInput, NotFound
from schema.kinds import BY_TYPE_NAME
from schema.relay import GlobalIdArgument, GlobalIdsArgument, Job, Node, decode_global_id
from schema.resolvers import GatewayInfo, described


def _node(info: GatewayInfo, global_id: str) -> Awaitable[Node]:
    """The node of `global_id`, its lookup queued at the call; raises at once for an id of no kind."""
    type_name, job_id = decode_global_id(global_id)
    kind = BY_TYPE_NAME.get(type_name)
    if kind is None:
        raise BadUserInput(f"{global_id!r} is not the id of any object this API serves")
    return _found(type_name, job_id, kind.lookup(info, job_id))


async def _found(type_name: str, job_id: str, job: Awaitable[Job | None]) -> Node:
    found = await job
    if found is None:
        raise NotFound(type_name, job_id)
    return found


@strawberry.type
class NodeQueries:
    @described("Any job by its global id; null with a NOT_FOUND error when it is missing.")
    async def node(self, info: GatewayInfo, id: GlobalIdArgument) -> Node | None:
        return await _node(info, id)

    @described(
        "Jobs of any kinds by global id, in the order asked; a missing one is null with its own error."
    )
    async def nodes(self, info: GatewayInfo, ids: GlobalIdsArgument) -> list[Node | None]:
        # Every lookup is queued before any is awaited, so each kind's loader sees all its keys in one
        # batch, and then awaited in turn: no task per id. An exception becomes that item's error and
        # null, never its siblings'.
        started: list[Awaitable[Node] | Exception] = []
        for global_id in ids:
            try:
                started.append(_node(info, global_id))
            except Exception as error:
                started.append(error)
        found: list[Node | Exception] = []
        try:
            for item in started:
                if isinstance(item, Exception):
                    found.append(item)
                    continue
                try:
                    found.append(await item)
                except Exception as error:
                    found.append(error)
        finally:
            # Cancelled part-way: the lookups not awaited yet are dropped, not left unawaited.
            for item in started[len(found) :]:
                if isinstance(item, Coroutine):
                    item.close()
        return cast(list[Node | None], found)
