"""A request's objects go as it ends: nothing of it waits for the cyclic collector.

Objects in a reference cycle outlive their request until the collector comes round, and with them
everything they hold: the executor, the context, the loaders and every job loaded. Under load that
was most of the process's memory at its peak, and pymalloc gave little of it back afterwards (the
resident size stayed 40 % above idle; bench/RESULTS.md, "Memory"). Every operation of queries/ is run
here with the collector off, then the collector is asked what it would have had to free.

Each operation runs once before it is looked at: a document the gateway has not seen yet is validated
by graphql-core, whose visitors refer to each other, and the outcome is kept for the document's next
requests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.support.gateway import GatewayClient
from tests.test_queries import OPERATIONS, run_operation

# Whose objects count: the gateway's and its GraphQL stack's. The emulator serves from a thread of this
# process, and the test's own HTTP client is not the gateway's.
GATEWAY_MODULES = ("gateway.", "schema.", "graphql.", "strawberry.", "aiodataloader")


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    # What lived before the test is moved out of the collector's sight, so that each look below scans
    # only what the test made, not the whole of the test process.
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.unfreeze()
        gc.enable()


def cyclic_garbage() -> list[str]:
    """The types of the gateway's objects that only the collector could free, collected now."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    names = (f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    found = sorted(n for n in names if n.startswith(GATEWAY_MODULES) and not n.startswith("gateway.emulator"))
    # Saved, they are reachable again: free them for good (they would show up in the next look).
    gc.garbage.clear()
    gc.collect()
    return found


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_an_operation_leaves_nothing_for_the_cyclic_collector(
    gateway: GatewayClient, name: str, collector_off: None
) -> None:
    assert "errors" not in await run_operation(gateway, name)
    cyclic_garbage()
    body = await run_operation(gateway, name)
    assert "errors" not in body, body["errors"]
    assert cyclic_garbage() == []


async def test_failed_operations_leave_nothing_for_the_cyclic_collector(
    gateway: GatewayClient, collector_off: None
) -> None:
    """A job not found (an error raised in a resolver) and a call the upstream refused (an error out of
    the shared upstream read): the frames each error went through let go of the request."""
    missing = '{ videoJob(jobId: "no-such-job") { jobId state } }'
    refused = "{ videoJobs(first: 5) { edges { node { jobId } } } }"
    for _ in range(2):
        cyclic_garbage()
        body = await gateway.query(missing)
        assert body["data"] == {"videoJob": None}
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        missing_left = cyclic_garbage()
        body = await gateway.query(refused, token="unknown-token")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        refused_left = cyclic_garbage()
    assert missing_left == []
    assert refused_left == []
