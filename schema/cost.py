"""Upstream calls an operation may make, at most: what the call budget (the `cost` limit) is held to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
)

from schema.paging import DEFAULT_PAGE, MAX_PAGE

# The job types whose rows come with their summary; any other field of theirs costs a detail call.
JOB_TYPES = frozenset({"VideoJob", "TrainingJob", "PictureModelingJob"})
# Root lookups the loaders answer together, this many per upstream call (the video list's job_ids).
BATCHED_LOOKUPS = {"videoJob": 100}
# Root fields that take a list of ids cost a call per id, at most (the loaders batch where they can).
ID_LIST_ARGUMENTS = ("ids",)


class CostEstimate:
    """Upstream calls an operation may make, at most: one per root field (one per id for a list of ids),
    and one detail call per job row whose selection goes beyond the summary the row comes with. Lists
    multiply what lies under them by their `first` (default page size) or by their number of ids."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        direct_fields: Mapping[tuple[str, str], object],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        # Variables whose values the estimate read: the cost is kept for those values only.
        self.used_variables: set[str] = set()
        self.variables = variables
        self.direct_fields = direct_fields

    def root(self, selection_set: SelectionSetNode, root: GraphQLObjectType) -> int:
        total = 0
        batched: dict[str, int] = {}
        for node, parent in self._fields(selection_set, root, frozenset()):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = parent.fields.get(name)
            if field is None:
                continue
            ids = self._list_size(node, ID_LIST_ARGUMENTS)
            if root.name == "Query" and name in BATCHED_LOOKUPS:
                batched[name] = batched.get(name, 0) + 1
            else:
                total += ids if ids is not None else 1
            if root.name == "Query" and self._from_a_cursor(node):
                # A page from a cursor asks for the jobs past it; its totalCount is a count apart.
                total += 1
            if node.selection_set is not None:
                total += self._below(node, get_named_type(field.type), 1)
        return total + sum(-(-count // BATCHED_LOOKUPS[name]) for name, count in batched.items())

    def _below(self, node: FieldNode, named: object, multiplier: int) -> int:
        assert node.selection_set is not None
        size = self._list_size(node, ID_LIST_ARGUMENTS) or self._page_size(node)
        multiplier *= size or 1
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        needs_detail = False
        for child, parent in self._fields(node.selection_set, named, frozenset()):
            name = child.name.value
            if name.startswith("__"):
                continue
            if parent.name in JOB_TYPES or (
                isinstance(parent, GraphQLInterfaceType) and parent.name != "Node"
            ):
                if not self._is_summary(parent, name):
                    needs_detail = True
            field = parent.fields.get(name)
            if field is not None and child.selection_set is not None:
                total += self._below(child, get_named_type(field.type), multiplier)
        return total + (multiplier if needs_detail else 0)

    def _is_summary(self, parent: GraphQLObjectType | GraphQLInterfaceType, name: str) -> bool:
        if isinstance(parent, GraphQLObjectType):
            return (parent.name, name) in self.direct_fields
        return all((job, name) in self.direct_fields for job in JOB_TYPES)

    def _fields(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        seen: frozenset[str],
    ) -> Iterator[tuple[FieldNode, GraphQLObjectType | GraphQLInterfaceType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
                continue
            if isinstance(selection, InlineFragmentNode):
                fragment_set, condition = selection.selection_set, selection.type_condition
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self.fragments or name in seen:
                    continue
                seen = seen | {name}
                fragment_set = self.fragments[name].selection_set
                condition = self.fragments[name].type_condition
            else:
                continue
            narrowed = parent
            if condition is not None:
                named = self.schema.get_type(condition.name.value)
                if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                    narrowed = named
            yield from self._fields(fragment_set, narrowed, seen)

    def _page_size(self, node: FieldNode) -> int | None:
        sized = [a.name.value for a in node.arguments or () if a.name.value in ("first", "last")]
        if not sized:
            # Connections without `first` or `last` get the default page; other fields are single values.
            return DEFAULT_PAGE if node.name.value.endswith("Jobs") else None
        value = self._argument(node, sized[0])
        if isinstance(value, int):
            return max(1, min(value, MAX_PAGE))
        return DEFAULT_PAGE

    def _from_a_cursor(self, node: FieldNode) -> bool:
        if not node.name.value.endswith("Jobs"):
            return False
        for argument in node.arguments or ():
            if argument.name.value not in ("after", "before"):
                continue
            if isinstance(argument.value, StringValueNode) or self._argument(node, argument.name.value):
                return True
        return False

    def _list_size(self, node: FieldNode, names: tuple[str, ...]) -> int | None:
        for name in names:
            value = self._argument(node, name)
            if isinstance(value, list):
                return len(value)
        return None

    def _argument(self, node: FieldNode, name: str) -> object:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                self.used_variables.add(value.name.value)
                return self.variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
        return None
