"""The live machinery's table of job kinds (gateway/live/kinds.py): every kind in it, each one polled
one way or the other."""

from __future__ import annotations

import pytest

from gateway.live.events import JOB_KINDS, JobKind
from gateway.live.kinds import LIVE_KINDS
from gateway.upstream import UpstreamClient, UpstreamConfig


def test_every_kind_has_an_entry() -> None:
    assert set(LIVE_KINDS) == set(JOB_KINDS)


@pytest.mark.parametrize("kind", JOB_KINDS)
async def test_a_kind_not_polled_through_the_list_has_a_show_call_of_the_client(kind: JobKind) -> None:
    entry = LIVE_KINDS[kind]
    if entry.listed:
        assert entry.show is None
        return
    assert entry.show is not None
    async with UpstreamClient(UpstreamConfig("http://127.0.0.1:9", "p")) as client:
        show = entry.show(client)
        assert getattr(show, "__self__", None) is client
        assert getattr(show, "__name__", "").startswith("show_")
