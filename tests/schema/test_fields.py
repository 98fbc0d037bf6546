"""Fields declared once (schema/fields.py): an upstream object read by its declarations, enum members
whose value is their name, and the job fields that need the show call."""

from __future__ import annotations

import enum
import random

import pytest
import strawberry

from schema.enums import enum_value
from schema.fields import INTEGER, LINK, TEXT, Upstream, detail_fields, enum_type, many, member, upstream
from schema.training import TrainingJob
from schema.training_types import TrainingAudioSourceType, TrainingModelVersion


@strawberry.type(description="A label.")
class Label(Upstream):
    text: str | None = upstream(TEXT, "Its text.")


@strawberry.type(description="A layer.")
class Layer(Upstream):
    width: int | None = upstream(INTEGER, "Width.")
    image_url: str | None = upstream(LINK, "Image.", key="image_download_url")
    labels: list[Label] = upstream(many(Label), "Labels.")


def test_an_upstream_object_reads_each_field_under_its_key() -> None:
    layer = Layer.from_upstream(
        {"width": "640", "image_download_url": "https://x/y.png", "labels": [{"text": "a"}, 7, {"text": 2}]}
    )
    assert layer == Layer(width=640, image_url="https://x/y.png", labels=[Label(text="a"), Label(text="2")])


def test_a_missing_or_wrong_value_reads_as_absent() -> None:
    assert Layer.from_upstream({"width": True, "image_download_url": "null", "labels": "no"}) == Layer(
        width=None, image_url=None, labels=[]
    )


def test_a_field_not_declared_with_upstream_is_refused_when_the_type_is_made() -> None:
    with pytest.raises(TypeError, match=r"Broken\.height: declare it with upstream"):

        @strawberry.type
        class Broken(Upstream):
            height: int | None = strawberry.field(description="Height.")


def test_an_enum_members_value_is_its_name() -> None:
    @enum_type("Colours.")
    class Colour(enum.Enum):
        RED = member("Red.")
        DARK_BLUE = member("Dark blue.")
        UNKNOWN = member("Not known.")

    assert [c.value for c in Colour] == ["RED", "DARK_BLUE", "UNKNOWN"]
    assert Colour("DARK_BLUE") is Colour.DARK_BLUE
    assert enum_value(Colour, "RED") is Colour.RED
    assert enum_value(Colour, "GREEN") is Colour.UNKNOWN
    values = {v.name: v.description for v in Colour.__strawberry_definition__.values}  # type: ignore[attr-defined]
    assert values == {"RED": "Red.", "DARK_BLUE": "Dark blue.", "UNKNOWN": "Not known."}


def test_members_with_their_own_value_keep_it_beside_declared_ones() -> None:
    assert TrainingModelVersion("V3.2") is TrainingModelVersion.V3_2
    assert TrainingAudioSourceType("AUDIO") is TrainingAudioSourceType.AUDIO


def test_detail_fields_are_the_ones_the_show_call_answers() -> None:
    fields = detail_fields(TrainingJob)
    assert {"trainingVideoDownloadUrl", "voiceProperties", "operationLogs"} <= fields
    assert not {"name", "state", "createTime"} & fields


def _upstream_types() -> list[type[Upstream]]:
    import schema  # noqa: F401 - every type of the schema declared

    found, todo = [], list(Upstream.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("schema."):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


VALUES: list[object] = [
    None,
    "",
    "text",
    "12",
    "null",
    12,
    1.5,
    True,
    "true",
    "2024-05-10T09:02:37Z",
    1715331757000,
    {},
    {"width": 3, "text": "a"},
    [{"width": 3}, "x", 2],
    ["x", 2, None],
]


@pytest.mark.parametrize("upstream_type", _upstream_types(), ids=lambda cls: cls.__qualname__)
def test_the_written_out_reading_reads_as_field_by_field_does(upstream_type: type[Upstream]) -> None:
    rng = random.Random(upstream_type.__qualname__)
    keys = [key for _, key, _ in upstream_type._READINGS]
    assert keys, upstream_type
    for _ in range(50):
        data = {key: rng.choice(VALUES) for key in keys if rng.random() < 0.8}
        assert upstream_type.from_upstream(data) == upstream_type.read_fields(data), data
