"""The schema documents itself: every type, field, argument, input field and enum value says what it is."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)

from schema import schema


def undescribed(named: GraphQLNamedType) -> Iterator[str]:
    """Coordinates (`Type.field(argument:)`, `Enum.VALUE`) of what `named` leaves undescribed."""
    if not (named.description or "").strip():
        yield named.name
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for name, field in named.fields.items():
            if not (field.description or "").strip():
                yield f"{named.name}.{name}"
            for argument_name, argument in field.args.items():
                if not (argument.description or "").strip():
                    yield f"{named.name}.{name}({argument_name}:)"
    elif isinstance(named, GraphQLInputObjectType):
        for name, input_field in named.fields.items():
            if not (input_field.description or "").strip():
                yield f"{named.name}.{name}"
    elif isinstance(named, GraphQLEnumType):
        for name, value in named.values.items():
            if not (value.description or "").strip():
                yield f"{named.name}.{name}"


def test_every_type_field_argument_input_field_and_enum_value_has_a_description() -> None:
    built = schema._schema
    missing = [
        coordinate
        for name, named in sorted(built.type_map.items())
        # Introspection's own types come documented by graphql-core.
        if not name.startswith("__")
        for coordinate in undescribed(named)
    ]
    assert missing == [], f"{len(missing)} without a description:\n" + "\n".join(missing)
