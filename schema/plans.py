"""Plans: each object selection of a document completed along steps worked out once, not per row.

graphql-core completes an object by collecting its selection into fields, looking up each field's
definition, building a ResolveInfo, calling the resolver through Strawberry's wrapper and dispatching on
the field's type; DirectExecutor (schema/direct.py) already skips the wrapper and the ResolveInfo for
direct fields, but still works out the rest for every row of a list, and its fallback calls a resolver
twice. A plan is what those steps come to for one object type and one selection of one parsed document:
per field, how to read it (an attribute of the Strawberry object, what a summary field reads of a listed
job's summary, or the direct resolver), how to make its value an answer (kept as it is, an enum member's
name, the scalar's own coercion) and, for an object or a list of objects, the plan of its own selection.
Plans are kept across requests, keyed by the identity of the document's field nodes (the parse cache
hands every request of one text the same document).

A plan only takes the usual path: a value at hand that its type takes as it is. Anything else (an
exception, an awaitable, a null for a non-null field, a value the type refuses, an object of the wrong
type, anything but a list for a list) goes to graphql-core's own completion of the value the resolver
gave, with a real ResolveInfo and path, so answers and errors are graphql-core's. Lists of 16 items or
more are completed within the operation's turns, as schema/slices.py completes them. Fields with
arguments, abstract types and lists of leaves are run by graphql-core itself, whose objects then enter
their own plans (an object of an interface whose class settles its type goes to its plan at once; see
`complete_abstract_value`). A summary field that can write its answer straight from a listed job's
summary (`answer_known`, as time fields do) skips its read and its coercion. Documents with directives
(`@skip`, `@include`, `@defer`, `@stream`) or fragment variables are not planned at all: their
selections depend on the variables. GATEWAY_EXECUTION turns plans off, and releases of Strawberry or
graphql-core other than those checked (schema/direct.py) do. tests/schema/test_plans.py compares the
answers of every document in queries/ and of a generated corpus, errors and nulls included, byte for
byte with and without plans.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails
from graphql.pyutils import Path
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from schema.direct import FIELDS, RUNTIME_TYPES
from schema.direct_executor import ContextOnly, DirectExecutor
from schema.plan_code import NOT_VALUES, Plan, Raised, Step
from schema.planner import Planner
from schema.slices import SLICED_LIST_MIN, _ListCompletion, _new_path

# Object selections whose plans are kept; a plan holds its document's nodes, so this bounds the memory.
PLANS_KEPT = 2048

# By interface name: the object type of each class whose instances' type their class settles.
_RuntimeTypes = Mapping[str, Mapping[type, GraphQLObjectType]]


class PlannedExecutor(DirectExecutor):
    """DirectExecutor completing object selections along their plans (see the module's docstring)."""

    _plan_memo: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, Plan | None]] | None = None
    _plannable: bool | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What direct resolvers get as `info`, and type checks their `info`: the context alone.
        self.context_only: Any = ContextOnly(self.context_value)
        self._runtime_types: _RuntimeTypes = self.schema.extensions.get(RUNTIME_TYPES) or {}

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if position_context is None:
            plan = self._plan_for(return_type, field_details_list)
            if plan is not None:
                return plan.complete(self, result, path)
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def complete_abstract_value(
        self,
        return_type: GraphQLAbstractType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """An object of an interface type: where its class alone settles its object type (see
        schema/direct.py `_runtime_types`), straight to that type's selection and plan, skipping the
        type resolution and checks that would come to the same; else as graphql-core completes it."""
        if position_context is None and self._may_plan():
            by_class = self._runtime_types.get(return_type.name)
            runtime_type = by_class.get(result.__class__) if by_class else None
            if runtime_type is not None and getattr(result, TYPE_CAST_ATTRIBUTE, None) is None:
                return self.collect_and_execute_subfields(
                    runtime_type, field_details_list, path, result, None
                )
        return super().complete_abstract_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_resolved(self, parent_type: GraphQLObjectType, step: Step, path: Path, value: Any) -> Any:
        """graphql-core's execute_field from the point where the resolver has answered `value`."""
        field = step.field
        assert field is not None
        field_details = step.field_details
        field_path = Path(path, step.name, parent_type.name)
        return_type = field.type
        try:
            if isinstance(value, Raised):
                raise value.error
            info = self.build_resolve_info(field, [d.node for d in field_details], parent_type, field_path)
            if self.is_awaitable(value):
                return self.complete_awaitable_value(
                    return_type, field_details, info, field_path, value, None
                )
            completed = self.complete_value(return_type, field_details, info, field_path, value, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._completed_later(completed, return_type, field_details, field_path)
        return completed

    def complete_object(self, parent_type: GraphQLObjectType, step: Step, path: Path, value: Any) -> Any:
        """An object field's value: along its plan when it is an object of the field's type, else as
        graphql-core completes it."""
        object_type, plan, field = step.object_type, step.plan, step.field
        assert object_type is not None and plan is not None and field is not None
        is_type_of = object_type.is_type_of
        if not plan.takes(value) and (
            value is None
            or isinstance(value, NOT_VALUES)
            # An awaitable is never an object of the type; without a type check it is asked for.
            or (is_type_of(value, self.context_only) is not True if is_type_of else self.is_awaitable(value))
        ):
            return self.complete_resolved(parent_type, step, path, value)
        field_path = _new_path(Path, (path, step.name, parent_type.name))
        return_type = field.type
        try:
            completed = plan.complete(self, value, field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, step.field_details, field_path)
            return None
        if type(completed) is not dict and self.is_awaitable(completed):
            return self._completed_later(completed, return_type, step.field_details, field_path)
        return completed

    def complete_list(self, parent_type: GraphQLObjectType, step: Step, path: Path, value: Any) -> Any:
        """A list of objects: each item along the plan, a slice of the operation's turns at a time as
        schema/slices.py completes lists; anything but a list or tuple as graphql-core completes it."""
        if type(value) is not list and not isinstance(value, list | tuple):
            return self.complete_resolved(parent_type, step, path, value)
        field, plan = step.field, step.plan
        assert field is not None and plan is not None
        field_path = Path(path, step.name, parent_type.name)
        list_type = get_nullable_type(field.type)
        assert isinstance(list_type, GraphQLList)
        info = self.build_resolve_info(field, [d.node for d in step.field_details], parent_type, field_path)
        work = _PlannedList(
            self,
            value,
            list_type.of_type,
            step.field_details,
            info,
            field_path,
            None,
            sliced=len(value) >= SLICED_LIST_MIN,
        )
        work.plan = plan
        work.planned_executor = self
        try:
            completed = work.run()
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.type, step.field_details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._completed_later(completed, field.type, step.field_details, field_path)
        return completed

    def _plan_for(self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Plan | None:
        memo = self._plan_memo
        if memo is None:
            memo = self._plan_memo = {}
        # As graphql-core memoizes collect_subfields: the list kept with its entry keeps its id its own.
        key = (return_type, id(field_details_list))
        found = memo.get(key)
        if found is not None:
            return found[1]
        plan = self._shared_plan(return_type, field_details_list) if self._may_plan() else None
        memo[key] = (field_details_list, plan)
        return plan

    def _may_plan(self) -> bool:
        if self._plannable is None:
            direct_fields = self.schema.extensions.get(FIELDS)
            self._plannable = (
                bool(direct_fields)
                and not (self.middleware_manager is not None and self.middleware_manager.middlewares)
                and _fixed_selections(self.operation, self.fragments)
            )
        return self._plannable

    def _shared_plan(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Plan | None:
        if any(
            d.defer_usage is not None or d.fragment_variable_values is not None for d in field_details_list
        ):
            return None
        nodes = tuple(d.node for d in field_details_list)
        key = (id(return_type), tuple(map(id, nodes)))
        kept = _PLANS.get(key)
        if (
            kept is not None
            and kept.object_type is return_type
            and all(a is b for a, b in zip(kept.nodes, nodes, strict=True))
        ):
            _PLANS.move_to_end(key)
            return kept.plan
        plan = Planner(self).plan(return_type, field_details_list)
        _PLANS[key] = _Kept(return_type, nodes, plan)
        if len(_PLANS) > PLANS_KEPT:
            _PLANS.popitem(last=False)
        return plan


class _PlannedList(_ListCompletion):
    """A list whose items are objects of one type, each completed along the item plan when it is one."""

    plan: Plan
    planned_executor: PlannedExecutor

    def complete_item(self, item: Any, item_path: Path) -> bool:
        executor = self.planned_executor
        plan = self.plan
        is_type_of = plan.object_type.is_type_of
        if not plan.takes(item) and (
            item is None
            or isinstance(item, Exception)
            or (
                is_type_of(item, executor.context_only) is not True
                if is_type_of
                else executor.is_awaitable(item)
            )
        ):
            return super().complete_item(item, item_path)
        try:
            completed = plan.complete(executor, item, item_path)
        except Exception as raw_error:
            executor.handle_field_error(raw_error, self.item_type, self.field_details_list, item_path)
            self.completed.append(None)
            return False
        if type(completed) is not dict and executor.is_awaitable(completed):
            self.completed.append(
                executor._completed_later(completed, self.item_type, self.field_details_list, item_path)
            )
            return True
        self.completed.append(completed)
        return False


class _Kept(NamedTuple):
    object_type: GraphQLObjectType
    # The nodes the key names by identity, held so that no other node can take their ids meanwhile.
    nodes: tuple[FieldNode, ...]
    plan: Plan | None


_PLANS: OrderedDict[tuple[int, tuple[int, ...]], _Kept] = OrderedDict()


def _fixed_selections(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]) -> bool:
    """Whether the operation's selections are the same whatever its variables: no directive anywhere in
    them or in the fragments they spread, and no fragment taking variables."""
    known = _FIXED.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    fixed = (
        not operation.directives
        and all(
            not details.definition.directives and not details.definition.variable_definitions
            for details in fragments.values()
        )
        and not any(
            selection.directives
            for selection_set in (
                operation.selection_set,
                *(details.definition.selection_set for details in fragments.values()),
            )
            for selection in _selections(selection_set)
        )
    )
    _FIXED[id(operation)] = (operation, fixed)
    if len(_FIXED) > PLANS_KEPT:
        _FIXED.popitem(last=False)
    return fixed


_FIXED: OrderedDict[int, tuple[OperationDefinitionNode, bool]] = OrderedDict()


def _selections(
    selection_set: SelectionSetNode,
) -> Iterator[FieldNode | FragmentSpreadNode | InlineFragmentNode]:
    for selection in selection_set.selections:
        yield cast(FieldNode | FragmentSpreadNode | InlineFragmentNode, selection)
        inner = getattr(selection, "selection_set", None)
        if inner is not None:
            yield from _selections(inner)


__all__ = ["PLANS_KEPT", "Plan", "PlannedExecutor"]
