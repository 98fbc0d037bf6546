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

import enum
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from keyword import iskeyword
from typing import Any, NamedTuple, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, collect_subfields
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

from schema.direct import (
    FIELDS,
    RUNTIME_TYPES,
    UNANSWERED,
    ContextOnly,
    DirectExecutor,
    DirectField,
    settling_class,
)
from schema.slices import SLICED_LIST_MIN, _ListCompletion, _new_path

# Object selections whose plans are kept; a plan holds its document's nodes, so this bounds the memory.
PLANS_KEPT = 2048

# By interface name: the object type of each class whose instances' type their class settles.
_RuntimeTypes = Mapping[str, Mapping[type, GraphQLObjectType]]

# Step kinds.
_LEAF, _OBJECT, _LIST, _TYPENAME, _GENERAL = range(5)
# How a step reads its value: an attribute; the source's known summary when it has one, else the
# resolver; the resolver with the source alone; the resolver with the source and the context.
_BY_ATTRIBUTE, _BY_KNOWN, _BY_SELF, _BY_RESOLVER = range(4)


def _unread(source: Any, info: Any) -> Any:
    raise TypeError("this step reads no value of its own")


class _Step(NamedTuple):
    name: str  # the response name
    kind: int
    field_details: FieldDetailsList
    field: GraphQLField | None = None
    # How to read the value: an attribute of the source (a field without a resolver); what a summary
    # field reads of the source's known summary, when there is one; else the direct resolver, called
    # with the context alone.
    how: int = _BY_RESOLVER
    attribute: str | None = None
    read_known: Callable[[Any, Any], Any] | None = None
    # A summary field's answer from the source's known summary, where it can tell at once.
    answer_known: Callable[[Any], Any] | None = None
    resolve_self: Callable[[Any], Any] | None = None
    resolve: Callable[[Any, Any], Any] = _unread
    non_null: bool = False
    # Leaves: value types the type gives back unchanged; an enum's class and its names by the members'
    # names; the scalar's coercion.
    unchanged: tuple[type, ...] = ()
    members: type | None = None
    names: Mapping[str, str] | None = None
    coerce: Callable[[Any], Any] | None = None
    # Objects, and lists of them: the object type and the plan of the field's own selection.
    object_type: GraphQLObjectType | None = None
    plan: Plan | None = None


class _Raised(NamedTuple):
    """An exception a resolver raised, handed on to graphql-core's handling as if it had called it."""

    error: Exception


class Plan:
    """The steps completing one object type's selection; `complete` is what graphql-core's
    collect_and_execute_subfields would return for it: a function generated for these steps (see
    `_generated`), each step's usual path written out inline and the rest left to `_finish`."""

    __slots__ = ("complete", "object_type", "origin", "source", "steps", "type_name")

    def __init__(self, object_type: GraphQLObjectType, steps: tuple[_Step, ...]) -> None:
        self.object_type = object_type
        self.type_name = object_type.name
        self.steps = steps
        self.origin = settling_class(object_type)
        self.source, self.complete = _generated(self)

    def takes(self, value: Any) -> bool:
        """Whether `value` is an object of the plan's type as graphql-core's checks would find it:
        an instance of the type's own class (not cast to another type), where the class settles that."""
        return value.__class__ is self.origin and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None


def _finish(executor: PlannedExecutor, plan: Plan, step: _Step, path: Path, value: Any) -> Any:
    """A leaf's answer from the value its field read, past the usual cases the generated code answers
    inline: what graphql-core's completion makes of it, errors included."""
    if value is None:
        if not step.non_null:
            return None
    elif type(value) in step.unchanged:
        return value
    elif step.coerce is not None:
        if not isinstance(value, _NOT_VALUES):
            answer = _coerced(step.coerce, value)
            if answer is not None:
                return answer
    elif step.names is not None and value.__class__ is step.members:
        # By the member's name: an enum member's own hash is a Python-level method.
        answer = step.names.get(getattr(value, "_name_", ""))
        if answer is not None:
            return answer
    return executor.complete_resolved(plan.object_type, step, path, value)


def _generated(plan: Plan) -> tuple[str, Callable[[PlannedExecutor, Any, Path], Any]]:
    """The source of the plan's completion and the function it defines. Each step reads its value as
    its `how` says (an attribute read written as one), a leaf whose value is of a type its scalar gives
    back unchanged, or an enum member, is answered inline, and anything else goes to `_finish`, which
    decides as graphql-core would. Names in the source are the steps' constants, bound as globals of
    the function; response names are never part of the source."""
    scope: dict[str, Any] = {
        "Path": Path,
        "Undefined": Undefined,
        "_Raised": _Raised,
        "_NOT_VALUES": _NOT_VALUES,
        "_coerced": _coerced,
        "_finish": _finish,
        "_gathered": _gathered,
        "UNANSWERED": UNANSWERED,
        "PLAN": plan,
        "OBJECT_TYPE": plan.object_type,
        "TYPE_NAME": plan.type_name,
    }
    lines = [
        "def complete(executor, source, path):",
        "    info = executor.context_only",
        "    is_awaitable = executor.is_awaitable",
        "    results = {}",
        "    awaited = None",
        "    try:",
    ]
    body: list[str] = []
    for index, step in enumerate(plan.steps):
        name, step_name = f"N{index}", f"S{index}"
        scope[name], scope[step_name] = step.name, step
        if step.kind == _TYPENAME:
            body.append(f"results[{name}] = TYPE_NAME")
            continue
        if step.kind == _GENERAL:
            body += [
                f"result = executor.execute_field(OBJECT_TYPE, source, {step_name}.field_details,"
                f" Path(path, {name}, TYPE_NAME), None)",
                "if result is not Undefined:",
                f"    results[{name}] = result",
                "    if result is not None and type(result) is not dict and is_awaitable(result):",
                f"        (awaited := awaited or []).append({name})",
            ]
            continue
        body.append("try:")
        attribute = step.attribute
        if step.how == _BY_ATTRIBUTE and attribute and attribute.isidentifier() and not iskeyword(attribute):
            body.append(f"    value = source.{attribute}")
        elif step.how == _BY_ATTRIBUTE:
            scope[f"A{index}"] = step.attribute
            body.append(f"    value = getattr(source, A{index})")
        elif step.how == _BY_SELF:
            scope[f"R{index}"] = step.resolve_self
            body.append(f"    value = R{index}(source)")
        else:
            scope[f"F{index}"] = step.resolve
            if step.how == _BY_KNOWN and step.answer_known is not None:
                # The answer itself from the known summary; where it cannot tell, the read as below.
                scope[f"K{index}"], scope[f"W{index}"] = step.read_known, step.answer_known
                taken = "answer is not UNANSWERED" + (" and answer is not None" if step.non_null else "")
                body += [
                    "    known = getattr(source, 'known_summary', None)",
                    f"    answer = W{index}(known) if known is not None else UNANSWERED",
                    f"    if {taken}:",
                    f"        results[{name}] = answer",
                    "        value = UNANSWERED",
                    "    else:",
                    f"        value = K{index}(source, known) if known is not None"
                    f" else F{index}(source, info)",
                    "except Exception as error:",
                    "    value = _Raised(error)",
                    "if value is not UNANSWERED:",
                ]
                body += [f"    {line}" for line in _finishing(step, index, scope)]
                continue
            if step.how == _BY_KNOWN:
                scope[f"K{index}"] = step.read_known
                body += [
                    "    known = getattr(source, 'known_summary', None)",
                    f"    value = K{index}(source, known) if known is not None else F{index}(source, info)",
                ]
            else:
                body.append(f"    value = F{index}(source, info)")
        body += ["except Exception as error:", "    value = _Raised(error)"]
        body += _finishing(step, index, scope)
    lines += [f"        {line}" for line in body or ["pass"]]
    lines += [
        "    except Exception:",
        "        if awaited:",
        "            executor.settle_in_background([results[name] for name in awaited])",
        "        raise",
        "    if awaited is None:",
        "        return results",
        "    return _gathered(results, awaited)",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<plan of {plan.type_name}>", "exec"), scope)  # noqa: S102 - our own source
    return source, scope["complete"]


def _finishing(step: _Step, index: int, scope: dict[str, Any]) -> list[str]:
    """The lines answering step `index` from its `value`: the usual cases inline, in `_finish`'s order,
    and the rest through `_finish` (or the executor's completion of an object or a list)."""
    name, step_name = f"N{index}", f"S{index}"
    cases: list[tuple[str, str]] = []  # (condition, the answer to keep)
    if step.kind == _LEAF and step.unchanged:
        scope[f"U{index}"] = step.unchanged
        cases.append((f"value is not None and type(value) in U{index}", "value"))
    if not step.non_null:
        cases.append(("value is None", "None"))
    if step.kind == _LEAF and step.names is not None:
        scope[f"M{index}"], scope[f"E{index}"] = step.members, step.names
        cases.append(
            (
                f"value.__class__ is M{index} and"
                f" (answer := E{index}.get(getattr(value, '_name_', ''))) is not None",
                "answer",
            )
        )
    elif step.kind == _LEAF and step.coerce is not None:
        scope[f"C{index}"] = step.coerce
        cases.append(
            (
                f"value is not None and not isinstance(value, _NOT_VALUES)"
                f" and (answer := _coerced(C{index}, value)) is not None",
                "answer",
            )
        )
    if step.kind == _OBJECT:
        completion = f"executor.complete_object(OBJECT_TYPE, {step_name}, path, value)"
    elif step.kind == _LIST:
        completion = f"executor.complete_list(OBJECT_TYPE, {step_name}, path, value)"
    else:
        completion = f"_finish(executor, PLAN, {step_name}, path, value)"
    lines = []
    for position, (condition, answer) in enumerate(cases):
        lines += [f"{'if' if position == 0 else 'elif'} {condition}:", f"    results[{name}] = {answer}"]
    lines += [
        "else:" if cases else "if True:",
        f"    result = {completion}",
        f"    results[{name}] = result",
        "    if result is not None and type(result) is not dict and is_awaitable(result):",
        f"        (awaited := awaited or []).append({name})",
    ]
    return lines


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    """A scalar's answer for `value`, or None where the scalar refuses it (`_finish` then decides)."""
    try:
        answer = coerce(value)
    except Exception:
        return None
    return None if answer is Undefined else answer


# What a resolver may give that is no value: an exception it raised or returned.
_NOT_VALUES = (_Raised, Exception)


async def _gathered(results: dict[str, Any], awaited: list[str]) -> dict[str, Any]:
    if len(awaited) == 1:
        results[awaited[0]] = await results[awaited[0]]
    else:
        values = await gather_with_cancel(*(results[name] for name in awaited))
        results.update(zip(awaited, values, strict=True))
    return results


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

    def complete_resolved(self, parent_type: GraphQLObjectType, step: _Step, path: Path, value: Any) -> Any:
        """graphql-core's execute_field from the point where the resolver has answered `value`."""
        field = step.field
        assert field is not None
        field_details = step.field_details
        field_path = Path(path, step.name, parent_type.name)
        return_type = field.type
        try:
            if isinstance(value, _Raised):
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

    def complete_object(self, parent_type: GraphQLObjectType, step: _Step, path: Path, value: Any) -> Any:
        """An object field's value: along its plan when it is an object of the field's type, else as
        graphql-core completes it."""
        object_type, plan, field = step.object_type, step.plan, step.field
        assert object_type is not None and plan is not None and field is not None
        is_type_of = object_type.is_type_of
        if not plan.takes(value) and (
            value is None
            or isinstance(value, _NOT_VALUES)
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

    def complete_list(self, parent_type: GraphQLObjectType, step: _Step, path: Path, value: Any) -> Any:
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
        plan = _Planner(self).plan(return_type, field_details_list)
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


class _Planner:
    """Works out the plans of one object selection and of the objects selected within it."""

    def __init__(self, executor: PlannedExecutor) -> None:
        self.executor = executor
        self.direct_fields: Mapping[tuple[str, str], DirectField] = (
            executor.schema.extensions.get(FIELDS) or {}
        )

    def plan(self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Plan | None:
        executor = self.executor
        grouped, new_defer_usages, _ = collect_subfields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            executor.operation,
            object_type,
            field_details_list,
            executor.hide_suggestions,
        )
        if new_defer_usages:
            return None
        steps = []
        for name, details in grouped.items():
            step = self._step(object_type, name, details)
            if step is not None:
                steps.append(step)
        return Plan(object_type, tuple(steps))

    def _step(self, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> _Step | None:
        node = details[0].node
        field_name = node.name.value
        if field_name == "__typename":
            return _Step(name, _TYPENAME, details)
        field = self.executor.schema.get_field(parent, field_name)
        if field is None:
            # graphql-core leaves out a field the type does not have.
            return None
        general = _Step(name, _GENERAL, details, field)
        if node.arguments or any(d.defer_usage is not None for d in details):
            return general
        attribute = _attribute_of(field)
        direct = self.direct_fields.get((parent.name, field_name))
        if direct is None:
            return self._list_step(name, field, details, attribute) or general
        if attribute is not None:
            how = _BY_ATTRIBUTE
        elif direct.read_known is not None:
            how = _BY_KNOWN
        else:
            how = _BY_SELF if direct.resolve_self is not None else _BY_RESOLVER
        read = _Step(
            name,
            _LEAF,
            details,
            field,
            how=how,
            attribute=attribute,
            read_known=direct.read_known,
            answer_known=direct.answer_known,
            resolve_self=direct.resolve_self,
            resolve=direct.resolve,
            non_null=direct.non_null,
        )
        named = direct.named_type
        if isinstance(named, GraphQLObjectType):
            plan = self.plan(named, details)
            return general if plan is None else read._replace(kind=_OBJECT, object_type=named, plan=plan)
        if isinstance(named, CustomGraphQLEnumType):
            return read._replace(members=named.wrapped_cls, names=_enum_names(named))
        return read._replace(unchanged=direct.unchanged, coerce=named.coerce_output_value)

    def _list_step(
        self, name: str, field: GraphQLField, details: FieldDetailsList, attribute: str | None
    ) -> _Step | None:
        """A list of objects of one type read from an attribute, or None for any other field."""
        if attribute is None:
            return None
        nullable = get_nullable_type(field.type)
        if not isinstance(nullable, GraphQLList):
            return None
        item = get_nullable_type(nullable.of_type)
        if not isinstance(item, GraphQLObjectType):
            return None
        plan = self.plan(item, details)
        if plan is None:
            return None
        non_null = isinstance(field.type, GraphQLNonNull)
        return _Step(
            name,
            _LIST,
            details,
            field,
            how=_BY_ATTRIBUTE,
            attribute=attribute,
            non_null=non_null,
            object_type=item,
            plan=plan,
        )


def _attribute_of(field: GraphQLField) -> str | None:
    """The attribute Strawberry reads for a field without a resolver (its default resolver, getattr)."""
    if not getattr(field.resolve, "_is_default", False):
        return None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        isinstance(definition, StrawberryField)
        and definition.base_resolver is None
        and not definition.extensions
        and definition.default_resolver is getattr
    ):
        return definition.python_name
    return None


_ENUM_NAMES: dict[CustomGraphQLEnumType, Mapping[str, str]] = {}


def _enum_names(enum_type: CustomGraphQLEnumType) -> Mapping[str, str]:
    """The names Strawberry's enum type gives its members, by the members' Python names: what its
    coerce_output_value answers for each, worked out by calling it once per member."""
    names = _ENUM_NAMES.get(enum_type)
    if names is None:
        found: dict[str, str] = {}
        member: enum.Enum
        for member in enum_type.wrapped_cls:
            try:
                found[member._name_] = enum_type.coerce_output_value(member)
            except Exception:  # noqa: S112 - a member the type refuses is left to graphql-core's completion
                continue
        names = _ENUM_NAMES[enum_type] = found
    return names


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
