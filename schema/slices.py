"""Long lists completed a slice of time at a time, so that one request cannot hold the event loop."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLOutputType, GraphQLResolveInfo
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.turns import Turns
from schema.errors import is_expected

# Shorter lists are completed at once: they cost less than a slice, and checking the clock has a price.
SLICED_LIST_MIN = 16
# Path(prev, key, typename) without the Python-level __new__ NamedTuple classes are given.
_new_path = tuple.__new__


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers its executor's gather and track as bound methods, so that each
        # executor refers to itself: a reference cycle, which kept the request's executor, context,
        # loaders and every job they loaded until the cyclic collector came round. The same two,
        # reaching the executor through a weak reference, let all of it go as the request ends.
        self.async_helpers = _weak_helpers(self)

    def build_response(self, data: dict[str, Any] | None) -> Any:
        # An error keeps the frames it was raised through, and they the executor, whose errors keep
        # it: a cycle. Only the traceback of an unexpected error is ever logged (schema/errors.py
        # `log_errors`); the others let go of theirs, so that a not-found job costs no cycle.
        for error in self.collected_errors.errors:
            if is_expected(error):
                error.__traceback__ = None
                if error.original_error is not None:
                    error.original_error.__traceback__ = None
        return super().build_response(data)

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
        return _ListCompletion(self, items, item_type, field_details_list, info, path, position_context).run()


def _weak_helpers(executor: SlicedExecutor) -> GraphQLResolveInfoHelpers:
    ref = weakref.ref(executor)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return _alive(ref).gather_async_work(values)

    def track(values: Sequence[Any]) -> None:
        _alive(ref).track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(ref: weakref.ref[SlicedExecutor]) -> SlicedExecutor:
    executor = ref()
    if executor is None:
        raise ReferenceError("the operation's executor has ended")
    return executor


@dataclass
class _ListCompletion:
    """One list being completed: its items, what is completed so far, and which of those are awaited."""

    executor: SlicedExecutor
    items: Sequence[Any]
    item_type: GraphQLOutputType
    field_details_list: FieldDetailsList
    info: GraphQLResolveInfo[Any]
    path: Path
    position_context: Any
    completed: list[Any] = field(default_factory=list)
    awaitable_indices: list[int] = field(default_factory=list)
    # Off for a list shorter than SLICED_LIST_MIN, completed at once whatever the slice.
    sliced: bool = True

    def run(self) -> Any:
        """The completed list, or an awaitable of it when the slice ran out or items are awaited."""
        stopped = self.advance(0) if not self.sliced or self.executor.turns.open() else 0
        if stopped == len(self.items) and not self.awaitable_indices:
            return self.completed
        return self.finish(stopped)

    def complete_item(self, item: Any, item_path: Path) -> bool:
        """Append the item's completion to `completed`; True when what it appended is awaited."""
        executor = self.executor
        if executor.is_awaitable(item):
            self.completed.append(
                executor.complete_awaitable_list_item_value(
                    item, self.item_type, self.field_details_list, self.info, item_path, self.position_context
                )
            )
            return True
        return executor.complete_list_item_value(
            item,
            self.completed,
            self.item_type,
            self.field_details_list,
            self.info,
            item_path,
            self.position_context,
        )

    def advance(self, start: int) -> int:
        """Complete items from `start` while the operation's slice lasts; the index of the first left."""
        turns = self.executor.turns
        index, count = start, len(self.items)
        path = self.path
        try:
            while index < count:
                # path.add_key(index), without NamedTuple's Python-level __new__.
                if self.complete_item(self.items[index], _new_path(Path, (path, index, None))):
                    self.awaitable_indices.append(index)
                index += 1
                if self.sliced and not turns.open():
                    break
        except BaseException:
            self._settle()
            raise
        return index

    def _settle(self) -> None:
        # As graphql-core does when an item fails: the items still pending are settled, not orphaned.
        pending = [self.completed[i] for i in self.awaitable_indices]
        if pending:
            self.executor.settle_in_background(pending)

    async def finish(self, start: int) -> list[Any]:
        """Complete the rest a slice at a time, on the loop's later turns, then await awaited items."""
        index = start
        while index < len(self.items):
            try:
                await self.executor.turns.wait()
            except BaseException:
                self._settle()
                raise
            index = self.advance(index)
        if self.awaitable_indices:
            results = await gather_with_cancel(*(self.completed[i] for i in self.awaitable_indices))
            for i, result in zip(self.awaitable_indices, results, strict=True):
                self.completed[i] = result
        return self.completed
