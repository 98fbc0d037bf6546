"""DirectExecutor: graphql-core's executor resolving and completing direct fields in place."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, cast

from graphql import GraphQLLeafType, GraphQLObjectType, GraphQLOutputType, Undefined
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel

from schema.direct import FIELDS, DirectField
from schema.slices import SlicedExecutor


class ContextOnly(NamedTuple):
    """The `info` DirectExecutor gives a direct field: the operation's context and nothing else."""

    context: Any


# Returned for a field graphql-core must resolve itself after all.
_ELSEWHERE: Any = object()


class DirectExecutor(SlicedExecutor):
    """graphql-core's executor with a short path for direct fields.

    For every field graphql-core makes a GraphQLResolveInfo and runs a round of type dispatch to
    complete the value, several times what a field of a list row costs itself. A direct field is
    resolved here and completed in place: a leaf's value coerced, an object's fields executed.
    Whatever does not fit that path (an awaitable, an error raised by the resolver, a null for a
    non-null field, a value the type refuses) goes back to graphql-core's own handling, which calls the
    resolver again, so answers and errors are the same either way.
    """

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        direct_fields: dict[tuple[str, str], DirectField] = self.schema.extensions.get(FIELDS) or {}
        if not direct_fields or (self.middleware_manager is not None and self.middleware_manager.middlewares):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        info = ContextOnly(self.context_value)
        type_name = parent_type.name
        is_awaitable = self.is_awaitable
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                direct = direct_fields.get((type_name, field_details_list[0].node.name.value))
                result: Any = _ELSEWHERE
                if direct is not None:
                    value = _resolved(direct, source_value, info, is_awaitable)
                    if value is None or value is _ELSEWHERE:
                        result = value
                    elif isinstance(direct.named_type, GraphQLObjectType):
                        result = self._complete_object(
                            direct,
                            field_details_list,
                            Path(path, response_name, type_name),
                            value,
                            info,
                            position_context,
                        )
                    else:
                        result = _coerced(direct, value)
                if result is _ELSEWHERE:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, type_name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            values = await gather_with_cancel(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
            return results

        return get_results()

    def _complete_object(
        self,
        direct: DirectField,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        info: ContextOnly,
        position_context: Any,
    ) -> Any:
        """An object value's fields, with errors handled as graphql-core's execute_field does."""
        object_type = cast(GraphQLObjectType, direct.named_type)
        # Strawberry's is_type_of (the one for types with interfaces) reads the value alone.
        if object_type.is_type_of is not None and object_type.is_type_of(value, cast(Any, info)) is not True:
            return _ELSEWHERE
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, direct.field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._completed_later(completed, direct.field_type, field_details_list, path)
        return completed

    async def _completed_later(
        self,
        completed: Awaitable[Any],
        field_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None


def _resolved(
    direct: DirectField, source: Any, info: ContextOnly, is_awaitable: Callable[[Any], bool]
) -> Any:
    """The resolver's value when it is at hand, None when it is a null the field allows, else
    _ELSEWHERE."""
    try:
        value = direct.resolve(source, info)
    except Exception:
        return _ELSEWHERE
    if value is None:
        return _ELSEWHERE if direct.non_null else None
    if is_awaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        return _ELSEWHERE
    return _ELSEWHERE if isinstance(value, Exception) else value


def _coerced(direct: DirectField, value: Any) -> Any:
    if type(value) in direct.unchanged:
        return value
    try:
        coerced = cast(GraphQLLeafType, direct.named_type).coerce_output_value(value)
    except Exception:
        return _ELSEWHERE
    return _ELSEWHERE if coerced is None or coerced is Undefined else coerced


__all__ = ["ContextOnly", "DirectExecutor"]
