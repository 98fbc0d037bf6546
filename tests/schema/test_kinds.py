"""One table of job kinds (schema/kinds.py): every job type of the schema in it once, and each entry's
lookup, live name and terminal states agreeing with the rest of the API."""

from __future__ import annotations

from graphql import GraphQLInterfaceType

from gateway.live.events import JOB_KINDS
from schema import schema
from schema.kinds import BY_KIND, BY_TYPE_NAME, job_is_terminal


def test_every_job_type_of_the_schema_has_an_entry_and_every_live_kind_one_type() -> None:
    job = schema._schema.get_type("Job")
    assert isinstance(job, GraphQLInterfaceType)
    implementations = {t.name for t in schema._schema.get_implementations(job).objects}
    assert set(BY_TYPE_NAME) == implementations
    assert set(BY_KIND) == set(JOB_KINDS)
    for type_name, entry in BY_TYPE_NAME.items():
        assert entry.job_type.__name__ == type_name
        assert BY_KIND[entry.kind] is entry


def test_the_hub_stops_at_each_kinds_own_terminal_states() -> None:
    assert job_is_terminal("video", "SUCCEED") and not job_is_terminal("video", "PROCESSING")
    assert job_is_terminal("training", "JOB_FINISH") and not job_is_terminal("training", "JOB_PENDING")
    assert job_is_terminal("picture", "FAILED") and not job_is_terminal("picture", "WAITING")
