"""Long lists completed a slice of time at a time, so that one request cannot hold the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLOutputType, GraphQLResolveInfo
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.turns import Turns

# Shorter lists are completed at once: they cost less than a slice, and checking the clock has a price.
SLICED_LIST_MIN = 16


class SlicedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, completing lists of SLICED_LIST_MIN items or more within slices.

    graphql-core completes a list in one synchronous stretch once its value is there, and the lists of
    one operation become ready together (their upstream answers arrive together): 30 pages of 100 rows
    held the event loop for a quarter of a second, during which no other request, health check
    included, was served. Here every list of one operation shares one slice of time (gateway/turns.py);
    once it is spent, each list stops at its next item and waits for the event loop's next turn, where
    the operation gets a new slice. Items are completed by graphql-core's own per-item method, with their
    real paths, so answers and errors are the same as graphql-core's.
    """

    _own_turns: Turns | None = None

    @property
    def turns(self) -> Turns:
        """The operation's turns: its request context's, shared with its resolvers, else its own."""
        found = getattr(self.context_value, "turns", None)
        if isinstance(found, Turns):
            return found
        if self._own_turns is None:
            self._own_turns = Turns()
        return self._own_turns

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        if (
            not isinstance(items, list | tuple)
            or len(items) < SLICED_LIST_MIN
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        stopped = 0
        if self.turns.open():
            try:
                stopped = self._complete_items(
                    items,
                    0,
                    completed,
                    awaitable_indices,
                    item_type,
                    field_details_list,
                    info,
                    path,
                    position_context,
                )
            except BaseException:
                self._settle(completed, awaitable_indices)
                raise
        if stopped == len(items) and not awaitable_indices:
            return completed
        return self._complete_later(
            items,
            stopped,
            completed,
            awaitable_indices,
            item_type,
            field_details_list,
            info,
            path,
            position_context,
        )

    def _settle(self, completed: list[Any], awaitable_indices: list[int]) -> None:
        # As graphql-core does when an item fails: the items still pending are settled, not orphaned.
        pending = [completed[i] for i in awaitable_indices]
        if pending:
            self.settle_in_background(pending)

    def _complete_items(
        self,
        items: Sequence[Any],
        start: int,
        completed: list[Any],
        awaitable_indices: list[int],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        position_context: Any,
    ) -> int:
        """Complete items from `start` while the slice lasts; the index of the first item left."""
        is_awaitable = self.is_awaitable
        turns = self.turns
        index, count = start, len(items)
        while index < count:
            item = items[index]
            item_path = path.add_key(index, None)
            if is_awaitable(item):
                completed.append(
                    self.complete_awaitable_list_item_value(
                        item, item_type, field_details_list, info, item_path, position_context
                    )
                )
                awaitable_indices.append(index)
            elif self.complete_list_item_value(
                item, completed, item_type, field_details_list, info, item_path, position_context
            ):
                awaitable_indices.append(index)
            index += 1
            if not turns.open():
                break
        return index

    async def _complete_later(
        self,
        items: Sequence[Any],
        start: int,
        completed: list[Any],
        awaitable_indices: list[int],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        position_context: Any,
    ) -> list[Any]:
        index = start
        try:
            while index < len(items):
                await self.turns.wait()
                index = self._complete_items(
                    items,
                    index,
                    completed,
                    awaitable_indices,
                    item_type,
                    field_details_list,
                    info,
                    path,
                    position_context,
                )
        except BaseException:
            self._settle(completed, awaitable_indices)
            raise
        if awaitable_indices:
            results = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
            for i, result in zip(awaitable_indices, results, strict=True):
                completed[i] = result
        return completed
