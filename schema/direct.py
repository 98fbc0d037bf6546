"""Fields graphql-core resolves by calling their resolver itself, without Strawberry's per-field wrapper.

A list page resolves the same dozen fields on every row: 50 rows make 600 resolver calls, and
Strawberry wraps each one (an Info object, argument conversion, the field-extension chain) at several
times the cost of the resolver. A field marked here keeps its Strawberry declaration (its type, its
description, its place in the SDL) while `install` hands its resolver to graphql-core as the field's
resolve function, so a row's fields cost what their own code costs. DirectExecutor goes one step
further for them: it resolves and completes them in place, without graphql-core's per-field
ResolveInfo and type dispatch.

A direct resolver takes `self` and optionally `info`, and reads nothing of `info` but `.context`:
what arrives is graphql-core's `GraphQLResolveInfo`, or on DirectExecutor's short path an object
with the context alone. It may return its value or an awaitable of it (graphql-core awaits it),
which is how a field answers at once from data at hand and awaits a loader otherwise. It only reads,
so calling it twice is harmless: the short path hands a field it cannot finish back to graphql-core,
which calls the resolver again.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import version
from typing import Any, NamedTuple, TypeAlias, TypeVar, cast

import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInterfaceType,
    GraphQLLeafType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
# What a direct resolver may return: the value itself when the data is at hand, else an awaitable of it.
MaybeAwaitable: TypeAlias = T | Awaitable[T]

_MARK = "__resolves_directly__"
_READS_KNOWN = "__reads_known_summary__"
_ANSWERS_KNOWN = "__answers_known_summary__"


class _Unanswered:
    """What a summary field's `answer` gives where it leaves the value to the field's read and its
    type's coercion."""

    def __repr__(self) -> str:
        return "UNANSWERED"


UNANSWERED: Any = _Unanswered()


def direct_field(description: str, graphql_type: object) -> Callable[[F], F]:
    """`strawberry.field` for a resolver graphql-core calls directly. The GraphQL type is given here, as
    the resolver's own annotation also admits the awaitable."""

    def mark(resolver: F) -> F:
        setattr(resolver, _MARK, True)
        return cast(F, strawberry.field(description=description, graphql_type=graphql_type)(resolver))

    return mark


def reads_known_summary(
    resolver: Callable[..., Any],
    read: Callable[[Any, Any], Any],
    answer: Callable[[Any], Any] | None = None,
) -> None:
    """Records that the direct `resolver` answers `read(source, source.known_summary)` whenever the
    source's `known_summary` is set (schema/relay.py's summary fields): plans then call `read` alone.
    `answer(summary)`, where given, is what the field's type writes for that value (the coerced
    answer itself), or UNANSWERED where it cannot tell at once: plans then skip the read and the
    coercion."""
    setattr(resolver, _READS_KNOWN, read)
    if answer is not None:
        setattr(resolver, _ANSWERS_KNOWN, answer)


def direct(resolver: F) -> F:
    """Marks a resolver already declared with `strawberry.field` (or `described`) as direct; put it
    under that decorator."""
    setattr(resolver, _MARK, True)
    return resolver


class DirectField(NamedTuple):
    """A field whose resolver needs no Info and whose value DirectExecutor completes itself: a leaf
    (scalar or enum) or an object of one concrete type. Its resolver is a direct one, or Strawberry's
    attribute read for a field without a resolver."""

    resolve: Callable[[Any, Any], Any]
    field_type: GraphQLOutputType
    named_type: GraphQLLeafType | GraphQLObjectType
    non_null: bool
    # Value types the leaf type gives back unchanged (str for String and ID, bool for Boolean).
    unchanged: tuple[type, ...]
    # For a summary field: what it reads of a source's known summary (see reads_known_summary).
    read_known: Callable[[Any, Any], Any] | None = None
    # For a resolver that takes `self` alone: the resolver itself, without the wrapper adding `info`.
    resolve_self: Callable[[Any], Any] | None = None
    # For a summary field: its answer from a known summary, where it has one (see reads_known_summary).
    answer_known: Callable[[Any], Any] | None = None


# Where `install` leaves the schema's direct fields, by (type name, field name), for DirectExecutor.
FIELDS = "metastudio-gateway/direct-fields"
# Where it leaves, by interface name, the object type each class's instances resolve to (see
# _runtime_types), for PlannedExecutor.
RUNTIME_TYPES = "metastudio-gateway/runtime-types"
_UNCHANGED: dict[GraphQLNamedType, tuple[type, ...]] = {
    GraphQLString: (str,),
    GraphQLID: (str,),
    GraphQLBoolean: (bool,),
}


# The releases whose internals the shortcuts here and in schema/plans.py were read against and tested
# with: Strawberry's schema converter (the graphql-core schema it keeps, its field definitions, enum types
# and attribute resolvers) and graphql-core's executor (its per-field and per-object methods).
CHECKED_VERSIONS: dict[str, tuple[str, ...]] = {"strawberry-graphql": ("0.341.",), "graphql-core": ("3.3.",)}


def shortcuts_supported(versions: Mapping[str, str] | None = None) -> bool:
    """Whether the installed Strawberry and graphql-core are releases the shortcuts were checked with;
    `versions` (by distribution name) stands in for the installed ones."""
    found = versions if versions is not None else {name: version(name) for name in CHECKED_VERSIONS}
    return all(found.get(name, "").startswith(prefixes) for name, prefixes in CHECKED_VERSIONS.items())


def install(schema: strawberry.Schema, *, resolve_directly: bool = True) -> int:
    """Give every marked field of the schema's object types its resolver as graphql-core's resolve
    function, and list the fields DirectExecutor completes itself; returns how many fields were
    marked. A marked resolver that takes arguments is refused, as is one on a field with extensions or
    permissions: those need Strawberry's wrapper. With `resolve_directly` off the fields are listed and
    nothing is replaced: the list also tells the operation limits which fields a job's summary answers
    (schema/cost.py), which holds however the schema executes."""
    marked = 0
    fields: dict[tuple[str, str], DirectField] = {}
    # Strawberry keeps the graphql-core schema it executes on this attribute; it has no public accessor.
    graphql_schema = schema._schema
    for graphql_type in graphql_schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for name, field in graphql_type.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField):
                continue
            resolver = definition.base_resolver.wrapped_func if definition.base_resolver else None
            read_known = getattr(resolver, _READS_KNOWN, None)
            answer_known = getattr(resolver, _ANSWERS_KNOWN, None)
            resolve_self = None
            if callable(resolver) and getattr(resolver, _MARK, False):
                where = f"{graphql_type.name}.{name}"
                if field.args or definition.extensions or definition.permission_classes:
                    raise TypeError(f"{where} has arguments, extensions or permissions: it needs Strawberry")
                direct_resolve = _resolve_function(resolver, where)
                resolve_self = resolver if direct_resolve is not resolver else None
                if resolve_directly:
                    field.resolve = direct_resolve
                marked += 1
            elif not getattr(field.resolve, "_is_default", False):
                continue
            non_null = isinstance(field.type, GraphQLNonNull)
            named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if field.resolve is None or field.args:
                continue
            if is_leaf_type(named) or isinstance(named, GraphQLObjectType):
                fields[graphql_type.name, name] = DirectField(
                    field.resolve,
                    field.type,
                    named,
                    non_null,
                    _UNCHANGED.get(named, ()),
                    read_known,
                    resolve_self,
                    answer_known,
                )
    graphql_schema.extensions[FIELDS] = fields
    graphql_schema.extensions[RUNTIME_TYPES] = _runtime_types(graphql_schema)
    return marked


def _runtime_types(graphql_schema: GraphQLSchema) -> dict[str, dict[type, GraphQLObjectType]]:
    """By interface: the object type an instance of each implementing class resolves to, where that
    is settled by its class alone. Strawberry's own resolve_type answers an instance of a subclass of the
    interface with its class's type (unless it is cast with strawberry.cast, which the executor checks per
    object), and that type's is_type_of then holds; so for a class with no is_type_of of its own that is
    not generic, the instance's type is its class's. Interfaces with a resolve_type of their own are
    left out."""
    found: dict[str, dict[type, GraphQLObjectType]] = {}
    for interface in graphql_schema.type_map.values():
        if not isinstance(interface, GraphQLInterfaceType):
            continue
        definition = interface.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or definition.resolve_type is not None:
            continue
        by_class = {}
        for object_type in graphql_schema.get_possible_types(interface):
            origin = settling_class(object_type)
            if origin is not None and issubclass(origin, definition.origin):
                by_class[origin] = object_type
        found[interface.name] = by_class
    return found


def settling_class(object_type: GraphQLObjectType) -> type | None:
    """The Strawberry class whose instances are objects of `object_type` by their class alone (unless
    cast to another type with strawberry.cast, which callers check per object): one with no is_type_of
    of its own, not generic, never cast at the class level and not awaitable. None where there is none."""
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if (
        isinstance(definition, StrawberryObjectDefinition)
        and isinstance(origin, type)
        and definition.is_type_of is None
        and not definition.is_graphql_generic
        and not hasattr(origin, TYPE_CAST_ATTRIBUTE)
        and not hasattr(origin, "__await__")
    ):
        return origin
    return None


def _resolve_function(resolver: Callable[..., Any], where: str) -> Callable[..., Any]:
    parameters = list(inspect.signature(resolver).parameters)
    if parameters == ["self", "info"]:
        return resolver
    if parameters == ["self"]:

        def without_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return resolver(source)

        return without_info
    raise TypeError(f"{where}: a direct resolver takes (self) or (self, info), not {parameters}")


__all__ = [
    "CHECKED_VERSIONS",
    "UNANSWERED",
    "MaybeAwaitable",
    "direct",
    "direct_field",
    "install",
    "reads_known_summary",
    "shortcuts_supported",
]
