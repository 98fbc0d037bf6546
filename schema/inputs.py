"""Input objects built from their GraphQL values along fields worked out once per input type.

For each input object of each request, Strawberry's argument conversion goes through all the fields of
the input's class, converting each one's name to its GraphQL name and resolving its type again (with
the checks for generics that come with it): for the video list's filter that is most of what its
arguments cost. `prepare_inputs` gives every input type of a schema a `from_input` (the hook Strawberry
calls instead, when an input's definition has one) doing the same with the names and types worked out
at its first use: the same keyword arguments, each value converted by Strawberry's own
`convert_argument`, the same class called (tests/schema/test_inputs.py compares both ways). A field
whose value Strawberry's conversion would hand back as it is (a scalar or an enum, optional or not) is
taken as it is, and a list of them copied, as Strawberry does, without the conversion's type dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import InputContext, _is_leaf_type, _is_optional_leaf_type, convert_argument
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.unset import UNSET

# How a field's value becomes its argument: as it is, copied (a list of leaves), or converted.
AS_IS, COPIED, CONVERTED = 0, 1, 2
_NOT_LEAVES = (GlobalID,)


class _PreparedInput:
    """`from_input` for one input definition."""

    def __init__(self, definition: StrawberryObjectDefinition) -> None:
        self.definition = definition
        # Fields without a default are None unless given, as Strawberry builds inputs.
        self.absent = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
        self._for: tuple[object, object] | None = None
        self._fields: list[tuple[str, str, StrawberryType | type, int]] = []

    def fields(self, context: InputContext) -> list[tuple[str, str, StrawberryType | type, int]]:
        """(GraphQL name, Python name, type, way) of each field, under the schema's name converter and
        scalars."""
        if (
            self._for is None
            or self._for[0] is not context.config
            or self._for[1] is not context.scalar_registry
        ):
            definition, registry = self.definition, context.scalar_registry
            self._fields = []
            for field in definition.fields:
                field_type = field.resolve_type(type_definition=definition)
                graphql_name = context.config.name_converter.from_field(field)
                self._fields.append((graphql_name, field.python_name, field_type, _way(field_type, registry)))
            self._for = (context.config, registry)
        return self._fields

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, object] = dict(self.absent)
        registry, config, info, path = context.scalar_registry, context.config, context.info, context.path
        for graphql_name, python_name, field_type, way in self.fields(context):
            if graphql_name in value:
                given = value[graphql_name]
                if way == AS_IS:
                    kwargs[python_name] = given
                elif way == COPIED:
                    # graphql-core gives every request the same default list: each gets a copy.
                    kwargs[python_name] = given if given is None or given is UNSET else list(given)
                else:
                    kwargs[python_name] = convert_argument(
                        given, field_type, registry, config, info, path=(*path, graphql_name)
                    )
        return cls(**kwargs)


def _way(field_type: StrawberryType | type, registry: Mapping[object, Any]) -> int:
    """How `convert_argument` would treat a value of `field_type`: hand it back (a scalar or an enum,
    optional or not), copy it (a list of those), or anything else."""
    while isinstance(field_type, StrawberryOptional) and not isinstance(field_type, StrawberryMaybe):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryMaybe):
        return CONVERTED
    if isinstance(field_type, StrawberryList):
        item = field_type.of_type
        leaves = _is_leaf_type(item, registry, skip_classes=_NOT_LEAVES) or _is_optional_leaf_type(
            item, registry, skip_classes=_NOT_LEAVES
        )
        return COPIED if leaves else CONVERTED
    if field_type in _NOT_LEAVES:
        return CONVERTED
    if has_enum_definition(field_type) or _is_leaf_type(field_type, registry):
        return AS_IS
    return CONVERTED


def prepare_inputs(schema: strawberry.Schema) -> None:
    """Give each input type of the schema that has none a prepared `from_input`."""
    for definition in schema.schema_converter.type_map.values():
        own = definition.definition
        if isinstance(own, StrawberryObjectDefinition) and own.is_input and own.from_input is None:
            own.from_input = _PreparedInput(own)
