"""Working out the plans of an object selection and of the objects selected within it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from graphql import GraphQLField, GraphQLList, GraphQLNonNull, GraphQLObjectType, get_nullable_type
from graphql.execution.collect_fields import FieldDetailsList, collect_subfields
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.direct import FIELDS, DirectField
from schema.plan_code import (
    BY_ATTRIBUTE,
    BY_KNOWN,
    BY_RESOLVER,
    BY_SELF,
    GENERAL,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Plan,
    Step,
)

if TYPE_CHECKING:
    from schema.plans import PlannedExecutor


class Planner:
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

    def _step(self, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> Step | None:
        node = details[0].node
        field_name = node.name.value
        if field_name == "__typename":
            return Step(name, TYPENAME, details)
        field = self.executor.schema.get_field(parent, field_name)
        if field is None:
            # graphql-core leaves out a field the type does not have.
            return None
        general = Step(name, GENERAL, details, field)
        if node.arguments or any(d.defer_usage is not None for d in details):
            return general
        attribute = _attribute_of(field)
        direct = self.direct_fields.get((parent.name, field_name))
        if direct is None:
            return self._list_step(name, field, details, attribute) or general
        if attribute is not None:
            how = BY_ATTRIBUTE
        elif direct.read_known is not None:
            how = BY_KNOWN
        else:
            how = BY_SELF if direct.resolve_self is not None else BY_RESOLVER
        read = Step(
            name,
            LEAF,
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
            return general if plan is None else read._replace(kind=OBJECT, object_type=named, plan=plan)
        if isinstance(named, CustomGraphQLEnumType):
            return read._replace(members=named.wrapped_cls, names=_enum_names(named))
        return read._replace(unchanged=direct.unchanged, coerce=named.coerce_output_value)

    def _list_step(
        self, name: str, field: GraphQLField, details: FieldDetailsList, attribute: str | None
    ) -> Step | None:
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
        return Step(
            name,
            LIST,
            details,
            field,
            how=BY_ATTRIBUTE,
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
