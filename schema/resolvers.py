"""What resolvers are written with: the Info type, the jobId argument, `described`, selected fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, TypeAlias, TypeVar, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway.context import RequestContext

GatewayInfo: TypeAlias = strawberry.Info[RequestContext, None]

JobIdArgument: TypeAlias = Annotated[
    str, strawberry.argument(description="The job's upstream id (its jobId), e.g. from a create.")
]

F = TypeVar("F", bound=Callable[..., Any])


def described(description: str) -> Callable[[F], F]:
    """`strawberry.field` for a resolver, keeping the resolver's own signature for the type checker."""
    return cast(Callable[[F], F], strawberry.field(description=description))


def selected_fields(selections: Iterable[Selection], type_names: frozenset[str]) -> Iterator[SelectedField]:
    """The fields selected on an object, through fragments that apply to one of its type names."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, InlineFragment | FragmentSpread):
            if selection.type_condition is None or selection.type_condition in type_names:
                yield from selected_fields(selection.selections, type_names)
