"""The live machinery's table of job kinds (gateway/live/kinds.py): every kind in it, each one polled
one way or the other."""

from __future__ import annotations

import pytest

from gateway.live.events import JOB_KINDS, JobKind
from gateway.live.kinds import LIVE_KINDS
from gateway.upstream import UpstreamClient, UpstreamConfig


def test_every_kind_has_an_entry() -> None:
    assert set(LIVE_KINDS) == set(JOB_KINDS)


def test_video_jobs_alone_are_polled_through_the_list() -> None:
    assert {kind for kind, entry in LIVE_KINDS.items() if entry.show is None} == {"video"}


@pytest.mark.parametrize("kind", [kind for kind in JOB_KINDS if LIVE_KINDS[kind].show is not None])
async def test_a_kind_polled_by_a_show_call_names_one_of_the_clients(kind: JobKind) -> None:
    shows = LIVE_KINDS[kind].show
    assert shows is not None
    async with UpstreamClient(UpstreamConfig("http://127.0.0.1:9", "p")) as client:
        show = shows(client)
        assert getattr(show, "__self__", None) is client
        assert getattr(show, "__name__", "").startswith("show_")
