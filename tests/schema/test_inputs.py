"""Input objects built along prepared fields are what Strawberry's own conversion builds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryObjectDefinition

from schema import schema_for
from schema.inputs import _PreparedInput

SCHEMA = schema_for("planned")
GRAPHQL_SCHEMA = SCHEMA._schema
SCALARS: dict[str, Any] = {
    "String": "text",
    "ID": "an-id",
    "Int": 7,
    "Float": 2.5,
    "Boolean": True,
    "DateTime": datetime(2024, 5, 10, 9, 2, 37, tzinfo=UTC),
}


def input_definitions() -> list[StrawberryObjectDefinition]:
    found = []
    for concrete in SCHEMA.schema_converter.type_map.values():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
            found.append(definition)
    return sorted(found, key=lambda d: d.name)


def value_of(graphql_type: GraphQLInputType, rng: random.Random, depth: int) -> Any:
    """A value as graphql-core hands it to Strawberry after coercing the arguments."""
    if isinstance(graphql_type, GraphQLNonNull):
        return value_of(graphql_type.of_type, rng, depth)
    if rng.random() < 0.1:
        return None
    if isinstance(graphql_type, GraphQLList):
        return [value_of(graphql_type.of_type, rng, depth) for _ in range(rng.randint(0, 3))]
    if isinstance(graphql_type, GraphQLEnumType):
        return rng.choice(list(graphql_type.values.values())).value
    if isinstance(graphql_type, GraphQLInputObjectType):
        return object_value(graphql_type, rng, depth + 1)
    assert isinstance(graphql_type, GraphQLScalarType)
    return SCALARS.get(graphql_type.name, "text")


def object_value(input_type: GraphQLInputObjectType, rng: random.Random, depth: int) -> dict[str, Any]:
    value = {}
    for name, field in input_type.fields.items():
        required = isinstance(field.type, GraphQLNonNull)
        if field.type.__class__ is GraphQLScalarType and field.type.name not in SCALARS:
            continue  # uploads and the like are never part of a value built here
        if required or (depth < 3 and rng.random() < 0.7):
            value[name] = value_of(field.type, rng, depth)
    return value


@pytest.mark.parametrize("definition", input_definitions(), ids=lambda d: d.name)
def test_an_input_built_along_prepared_fields_is_the_one_strawberry_builds(
    definition: StrawberryObjectDefinition,
) -> None:
    input_type = GRAPHQL_SCHEMA.type_map[definition.name]
    assert isinstance(input_type, GraphQLInputObjectType)
    context = InputContext(
        info=None, config=SCHEMA.config, scalar_registry=SCHEMA.schema_converter.scalar_registry, path=("a",)
    )
    prepared = definition.from_input
    assert isinstance(prepared, _PreparedInput)
    rng = random.Random(definition.name)
    for _ in range(25):
        value = object_value(input_type, rng, 0)
        built = prepared(definition.origin, value, context)
        definition.from_input = None
        try:
            plain = convert_argument(
                value, definition.origin, SCHEMA.schema_converter.scalar_registry, SCHEMA.config, path=("a",)
            )
        finally:
            definition.from_input = prepared
        assert built == plain, value
        assert type(built) is type(plain)
        # graphql-core gives every request the same default list: each input gets a list of its own.
        for graphql_name, python_name, _, _ in prepared.fields(context):
            if isinstance(value.get(graphql_name), list):
                assert getattr(built, python_name) is not value[graphql_name], graphql_name
