"""Relay connections of jobs: the paging and filter arguments, PageInfo, and the Edge and Connection
every list specializes (`class VideoJobConnection(Connection[VideoJobEdge])`), its own description and
count aside."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, Self, TypeVar

import strawberry

from gateway.upstream import QueryValue
from schema.direct import MaybeAwaitable, direct_field
from schema.paging import DEFAULT_PAGE, MAX_PAGE, Lazy, Page

N = TypeVar("N")
E = TypeVar("E")
F = TypeVar("F")

First = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page forward: this many jobs (1-{MAX_PAGE}; {DEFAULT_PAGE} when neither first nor "
        "last is given)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Page forward from the job with this cursor (an edge's cursor, or endCursor)."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page backward: this many jobs (1-{MAX_PAGE}), the last of the list or those just "
        "before `before`, still in list order."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(
        description="Page backward from the job with this cursor (an edge's cursor, or startCursor)."
    ),
]

# A list's `filter` argument, of the list's own filter input.
Filter = Annotated[F | None, strawberry.argument(description="Which jobs, in what order; all by default.")]

# The create-time bounds of the lists whose upstream compares them to the second.
CREATED_SINCE = "Only jobs created at or after this time (the upstream compares whole seconds)."
CREATED_UNTIL = "Only jobs created at or before this time (the upstream compares whole seconds)."


def sort_query(sort_by: enum.Enum | None, direction: enum.Enum | None) -> dict[str, QueryValue]:
    """The upstream's `sort_key` and `sort_dir` for a list's order: its choices' names in lower case."""
    return {
        "sort_key": None if sort_by is None else sort_by.name.lower(),
        "sort_dir": None if direction is None else direction.name.lower(),
    }


def narrows(description: str) -> Any:
    """A field of a list's filter input: unset (null) unless given, when it narrows nothing."""
    return strawberry.field(default=None, description=description)


@strawberry.type(description="Where a page of a connection stands in the whole list.")
class PageInfo:
    next_known: strawberry.Private[Lazy[bool]]
    previous_known: strawberry.Private[Lazy[bool]]
    start_cursor: str | None = strawberry.field(
        description="Cursor of the page's first job (pass as `before` for the page before); null when empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last job (pass as `after` for the page after); null when empty."
    )

    @direct_field("Whether jobs follow this page in list order.", bool)
    def has_next_page(self) -> MaybeAwaitable[bool]:
        return self.next_known.get()

    @direct_field("Whether jobs come before this page in list order.", bool)
    def has_previous_page(self) -> MaybeAwaitable[bool]:
        return self.previous_known.get()


@strawberry.type
class Edge(Generic[N]):
    """A job and its cursor; each list's edge is a subclass for its own description."""

    cursor: str = strawberry.field(
        description="Opaque; pass as `after` to continue after this job, or `before` to go back from it."
    )
    node: N = strawberry.field(description="The job.")


@strawberry.type
class Connection(Generic[E]):
    """A page of a list's edges E; each list's connection is a subclass that declares its description
    and its `total_count = total_count_field("...")`."""

    edges: list[E] = strawberry.field(description="The jobs of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the whole list.")
    total: strawberry.Private[Lazy[int]]

    @classmethod
    def of(cls, page: Page, edge: Callable[[str, Mapping[str, Any]], E]) -> Self:
        """The connection of `page`, `edge(cursor, job)` making each job's edge."""
        cursors = page.cursors
        page_info = PageInfo(
            next_known=page.has_next,
            previous_known=page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )
        edges = [edge(cursor, job) for job, cursor in zip(page.jobs, cursors, strict=True)]
        return cls(edges=edges, page_info=page_info, total=page.total)


def total_count_field(description: str) -> Any:
    """A connection's totalCount field: the list's count, known with the page or asked for on demand."""

    def total_count(self: Connection[Any]) -> MaybeAwaitable[int]:
        return self.total.get()

    return direct_field(description, int)(total_count)
