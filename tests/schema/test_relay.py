"""What every row reads, read quickly: times, enum values, base64 ids and cursors come out exactly as
the plain readings they stand in for."""

from __future__ import annotations

import base64
import enum
import json
import random
from datetime import datetime
from typing import Any

import pytest

from schema.direct import UNANSWERED
from schema.enums import enum_value
from schema.paging import Cursor, ListOrder, _anchored_cursors, _encode, decode_cursor
from schema.relay import to_base64
from schema.times import parse_time, read_time, time_answer

TIMES: list[Any] = [
    "2024-05-10T09:02:37Z",
    "2024-05-10T09:02:37z",
    "2024-05-10T09:02:37.123Z",
    "2024-05-10T09:02:37.123456+08:00",
    "2024-05-10T09:02:37-05:30",
    "2024-05-10T09:02:37",
    "2024-05-10",
    "2024-05-10Z",
    "2024-05-10z",
    " 2024-05-10T09:02:37Z ",
    "20240510T090237Z",
    "2024-05-10 09:02:37Z",
    "2024-05-10T09Z",
    "2024-W19-5T09:00Z",
    "2024-05-10T24:00:00Z",
    "2024-13-10T09:02:37Z",
    "Z",
    "",
    "   ",
    "yesterday",
    1715331757,
    1715331757000,
    1715331757.5,
    True,
    None,
    ["2024-05-10T09:02:37Z"],
]


@pytest.mark.parametrize("value", TIMES)
def test_upstream_times_read_as_the_plain_reading_reads_them(value: Any) -> None:
    read, plain = parse_time(value), read_time(value)
    assert read == plain
    assert (read and read.isoformat()) == (plain and plain.isoformat())


ODD_USUAL_LOOKING_TIMES = [
    "2024-02-30T09:02:37Z",  # no such day
    "2024-05-10T09:02:60Z",  # no such second
    "2024-05-10T25:02:37Z",
    "\u0662\u0660\u0662\u0664-05-10T09:02:37Z",  # digits, but not ASCII ones
    "2024-05-10t09:02:37Z",
    "2024-05-10T09:02:37\u0396",
]


@pytest.mark.parametrize("value", [*TIMES, *ODD_USUAL_LOOKING_TIMES])
def test_a_time_answered_from_the_upstream_text_is_what_the_scalar_writes_for_its_reading(value: Any) -> None:
    answer = time_answer(value)
    read = parse_time(value)
    if answer is not UNANSWERED:
        assert answer == (read and read.isoformat())
    # The upstream's usual form is the one answered at once.
    assert (answer is not UNANSWERED) == (value is None or value in ("2024-05-10T09:02:37Z",))


class Colour(enum.Enum):
    RED = "red"
    V3_2 = "V3.2"
    SAME = "red"  # an alias: the same member as RED
    UNKNOWN = "UNKNOWN"


def plain_enum_value(enum_cls: type[Colour], raw: object, aliases: dict[str, str] | None = None) -> Colour:
    unknown = enum_cls["UNKNOWN"]
    if not isinstance(raw, str):
        return unknown
    name = (aliases or {}).get(raw, raw)
    member = enum_cls.__members__.get(name)
    if member is None:
        member = next((m for m in enum_cls if m.value == raw), None)
    return unknown if member is None else member


@pytest.mark.parametrize("raw", ["RED", "red", "SAME", "V3_2", "V3.2", "BLUE", "", "UNKNOWN", 3, None, "R"])
@pytest.mark.parametrize("aliases", [None, {}, {"R": "RED", "red": "V3_2"}])
def test_enum_values_read_by_name_value_or_alias_as_before(
    raw: object, aliases: dict[str, str] | None
) -> None:
    assert enum_value(Colour, raw, aliases) is plain_enum_value(Colour, raw, aliases)


@pytest.mark.parametrize("text", ["", "a", "ab", "abc", "VideoJob:1", "é漢字", '[2,"x"]', "~~~???>>>"])
def test_base64_ids_are_urlsafe_and_unpadded(text: str) -> None:
    assert to_base64(text) == base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def test_anchored_cursors_are_what_json_dumps_writes() -> None:
    rng = random.Random(7)
    ids: list[Any] = ["af80c80a-8238", "", "x y", "é", 'q"', "a\\b", "id\n", "12", 5, None]
    times: list[Any] = [
        "2024-05-10T09:02:37Z",
        None,
        1715331757000,
        "bad",
        "2024-05-10T09:02:37.5+08:00",
        ["x"],
    ]
    jobs = [{"job_id": rng.choice(ids), "create_time": rng.choice(times)} for _ in range(300)]
    for order in (
        ListOrder("VideoJob", "create_time", True, True),
        ListOrder('Odd "kind"', "k", False, True),
    ):
        for descending in (True, False):
            page = jobs[10:60]
            seen: dict[datetime | None, int] = {}
            ties: dict[int, int] = {}
            for job in jobs:
                time = parse_time(job["create_time"])
                seen[time] = seen.get(time, 0) + 1
                ties[id(job)] = seen[time]
            expected = []
            for job in page:
                cursor = Cursor(
                    time=parse_time(job["create_time"]),
                    job_id=str(job["job_id"] or ""),
                    ties=ties[id(job)],
                    walked_descending=descending,
                )
                expected.append(_encode(order, cursor))
                if cursor.job_id:
                    assert decode_cursor(expected[-1], order, "after") == cursor
            assert _anchored_cursors(order, page, jobs, "create_time", descending) == expected
            fields = json.loads(base64.urlsafe_b64decode(expected[0] + "==").decode())
            assert fields[:4] == [2, order.kind, order.tag, "k"]
