"""A parsed document's depth, aliases, argument lengths, introspection and cost, held to the limits."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
)

from schema.cost import CostEstimate
from schema.errors import VALIDATION_FAILED, BadUserInput, GatewayError
from schema.limits import PARSE_CACHE_SIZE, Limits, OperationLimitExceeded

# The longest string each root field argument may carry. Job ids are UUIDs or 32 hex digits; MetaStudio
# takes ids, names and asset names of at most 64 characters; a global id is a job id with its type name
# in base64, and a cursor an offset or a sort key with an id.
ARGUMENT_MAX_CHARS = {"jobId": 64, "id": 128, "ids": 128, "after": 256, "before": 256, "filter": 256}
# Costs kept per document, one per distinct set of the values they depend on.
COSTS_PER_DOCUMENT = 64


# The fields that read the schema itself; `__typename` reads only an object's type, and stays allowed.
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


class IntrospectionDisabled(GatewayError):
    """Refused as validation refuses a document: clients already treat that code as a bad document."""

    code = VALIDATION_FAILED

    def __init__(self, field: str) -> None:
        super().__init__(
            f"introspection is off on this gateway (GATEWAY_INTROSPECTION=false): `{field}` may not be "
            "queried; the schema is published with the gateway instead",
            extensions={"field": field},
        )


def check_introspection(document: DocumentNode) -> None:
    """Refuse a document that selects `__schema` or `__type` anywhere, fragments included."""
    measures = _measures_of(document)
    if measures.introspects is None:
        found = (node.name.value for node in _fields_in(document) if node.name.value in INTROSPECTION_FIELDS)
        measures.introspects = next(found, "")
    if measures.introspects:
        raise IntrospectionDisabled(measures.introspects)


def introspection_allowed(request_context: object) -> bool:
    settings = getattr(request_context, "settings", None)
    return True if settings is None else bool(settings.introspection)


@dataclass
class _Measures:
    """What a document asks for, kept with it: aliases and depth, and the cost of its operation for the
    values of the variables the cost depended on (sizes of lists, `first`)."""

    document: DocumentNode
    aliases: int
    depths: dict[str | None, int]
    costs: dict[tuple[str | None, tuple[tuple[str, object], ...]], int]
    cost_variables: dict[str | None, frozenset[str]]
    # The first introspection field the document selects ("" for none), once looked for.
    introspects: str | None = None


# Measures of the documents last checked, by the identity of their (cached) parsed document.
_MEASURES: OrderedDict[int, _Measures] = OrderedDict()


def _measures_of(document: DocumentNode) -> _Measures:
    found = _MEASURES.get(id(document))
    if found is not None and found.document is document:
        _MEASURES.move_to_end(id(document))
        return found
    measures = _Measures(
        document, sum(1 for node in _fields_in(document) if node.alias is not None), {}, {}, {}
    )
    _MEASURES[id(document)] = measures
    if len(_MEASURES) > PARSE_CACHE_SIZE:
        _MEASURES.popitem(last=False)
    return measures


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: Limits,
    direct_fields: Mapping[tuple[str, str], object],
) -> None:
    """Refuse the operation to run when it is deeper, has more aliases or would cost more upstream calls
    than the limits allow. Documents that name no runnable operation pass: validation says why.

    What depends on the document alone is measured once per parsed document; the cost once per
    document and values of the variables it depends on."""
    measures = _measures_of(document)
    if measures.aliases > limits.aliases:
        raise OperationLimitExceeded("aliases", limits.aliases, measures.aliases, "has too many aliases")
    operation = _operation(document, operation_name)
    if operation is None:
        return
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    depth = measures.depths.get(operation_name)
    if depth is None:
        depth = measures.depths[operation_name] = _depth(operation.selection_set, fragments, frozenset())
    if depth > limits.depth:
        raise OperationLimitExceeded("depth", limits.depth, depth, "nests fields too deeply")
    variables = variables or {}
    check_argument_lengths(operation, fragments, variables)
    root = schema.get_root_type(operation.operation)
    if root is None:
        return
    cost = None
    used = measures.cost_variables.get(operation_name)
    if used is not None:
        key = (operation_name, tuple((name, _size(variables.get(name))) for name in sorted(used)))
        cost = measures.costs.get(key)
    if cost is None:
        estimate = CostEstimate(schema, fragments, variables, direct_fields)
        cost = estimate.root(operation.selection_set, root)
        used = measures.cost_variables[operation_name] = frozenset(estimate.used_variables)
        key = (operation_name, tuple((name, _size(variables.get(name))) for name in sorted(used)))
        if len(measures.costs) < COSTS_PER_DOCUMENT:
            measures.costs[key] = cost
    if cost > limits.cost:
        raise OperationLimitExceeded(
            "cost", limits.cost, cost, "would need too many upstream calls; ask for fewer jobs or fields"
        )


def _size(value: object) -> object:
    """What of a variable's value the cost depends on: a list's length, a number itself."""
    if isinstance(value, list):
        return len(value)
    return value if isinstance(value, int | None) else repr(type(value))


def check_argument_lengths(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> None:
    """Refuse an id, cursor or filter text longer than the upstream takes, naming the argument, before it
    becomes part of an upstream URL (create inputs have rules of their own)."""
    for node in _root_fields(operation.selection_set, fragments, frozenset()):
        for argument in node.arguments or ():
            name = argument.name.value
            most = ARGUMENT_MAX_CHARS.get(name)
            if most is None:
                continue
            longest = max(_string_lengths(argument.value, variables), default=0)
            if longest > most:
                raise BadUserInput(
                    f"{node.name.value}({name}:) takes strings of at most {most} characters, got {longest}",
                    extensions={"argument": name, "field": node.name.value},
                )


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from _root_fields(fragments[name].selection_set, fragments, seen | {name})


def _string_lengths(value: object, variables: Mapping[str, Any]) -> Iterator[int]:
    if isinstance(value, VariableNode):
        value = variables.get(value.name.value)
    if isinstance(value, str):
        yield len(value)
    elif isinstance(value, StringValueNode):
        yield len(value.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _string_lengths(item, variables)
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _string_lengths(field.value, variables)
    elif isinstance(value, list):
        for item in value:
            yield from _string_lengths(item, variables)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _string_lengths(item, variables)


def _fields_in(document: DocumentNode) -> Iterator[FieldNode]:
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _depth(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> int:
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            # Introspection is as deep as the schema makes it, whatever the client asks.
            if selection.selection_set is None or selection.name.value.startswith("__"):
                deepest = max(deepest, 1)
            else:
                deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # A cycle of fragments is a validation error; here it only must not loop.
            if name in fragments and name not in seen:
                deepest = max(deepest, _depth(fragments[name].selection_set, fragments, seen | {name}))
    return deepest
