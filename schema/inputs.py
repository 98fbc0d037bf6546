"""Input objects built from their GraphQL values along fields worked out once per input type.

For each input object of each request, Strawberry's argument conversion goes through all the fields of
the input's class, converting each one's name to its GraphQL name and resolving its type again (with
the checks for generics that come with it): for the video list's filter that is most of what its
arguments cost. `prepare_inputs` gives every input type of a schema a `from_input` (the hook Strawberry
calls instead, when an input's definition has one) doing the same with the names and types worked out
at its first use: the same keyword arguments, each value converted by Strawberry's own
`convert_argument`, the same class called (tests/schema/test_inputs.py compares both ways).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryObjectDefinition, StrawberryType


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
        self._config: object = None
        self._fields: list[tuple[str, str, StrawberryType | type]] = []

    def fields(self, context: InputContext) -> list[tuple[str, str, StrawberryType | type]]:
        """(GraphQL name, Python name, type) of each field, under the schema's name converter."""
        if self._config is not context.config:
            definition = self.definition
            self._fields = [
                (
                    context.config.name_converter.from_field(field),
                    field.python_name,
                    field.resolve_type(type_definition=definition),
                )
                for field in definition.fields
            ]
            self._config = context.config
        return self._fields

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, object] = dict(self.absent)
        registry, config, info, path = context.scalar_registry, context.config, context.info, context.path
        for graphql_name, python_name, field_type in self.fields(context):
            if graphql_name in value:
                kwargs[python_name] = convert_argument(
                    value[graphql_name], field_type, registry, config, info, path=(*path, graphql_name)
                )
        return cls(**kwargs)


def prepare_inputs(schema: strawberry.Schema) -> None:
    """Give each input type of the schema that has none a prepared `from_input`."""
    for definition in schema.schema_converter.type_map.values():
        own = definition.definition
        if isinstance(own, StrawberryObjectDefinition) and own.is_input and own.from_input is None:
            own.from_input = _PreparedInput(own)
