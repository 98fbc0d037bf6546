"""What every loader shares: the request's upstream view and call budget, the kind cache, show loads."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from aiodataloader import DataLoader

from gateway.turns import Turns
from gateway.upstream import Credentials, UpstreamClient, UpstreamHTTPError

# Re-exported: every cache above the upstream client keys its callers the same way.
from gateway.upstream.config import credentials_key as credentials_key

P = ParamSpec("P")
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

JobData = Mapping[str, Any]
ShowOperation = Callable[[Credentials, str], Awaitable[JobData]]
# Shows run concurrently but never flood the upstream: a page of 100 jobs is 100 calls, 8 at a time.
SHOW_CONCURRENCY = 8

# Lookups by id must reach jobs of any age: the upstream lists only the last month unless told otherwise.
OLDEST_CREATE_SINCE = "2000-01-01T00:00:00Z"


class CallBudgetExceeded(Exception):
    """One GraphQL request asked for more upstream calls than the configured budget allows."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        super().__init__(
            f"this request needs more than {budget} upstream calls; ask for fewer jobs or fields at once"
        )


class MissingCredentials(Exception):
    """The caller sent no credentials the gateway can use; nothing is sent upstream."""


class RequestUpstream:
    """The upstream as one GraphQL request sees it: its caller's credentials and its call budget."""

    def __init__(
        self,
        client: UpstreamClient,
        credentials: Credentials,
        budget: int,
        *,
        missing_credentials: str | None = None,
        turns: Turns | None = None,
    ) -> None:
        self.client = client
        self.turns = turns or Turns()
        self.missing_credentials = missing_credentials
        self.credentials = credentials
        self.key = credentials_key(credentials)
        self.budget = budget
        self.calls = 0

    async def call(
        self,
        operation: Callable[Concatenate[Credentials, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self.missing_credentials is not None:
            raise MissingCredentials(self.missing_credentials)
        if self.calls >= self.budget:
            raise CallBudgetExceeded(self.budget)
        self.calls += 1
        # A request's calls start together and their answers arrive together: sending each, and what is
        # made of each answer (rows, primed loaders), take the request's turns on the event loop.
        await self.turns.wait()
        answer = await operation(self.credentials, *args, **kwargs)
        await self.turns.wait()
        return answer


class KindCache:
    """Which kind each video job is, per caller; a job's kind never changes, so entries never go stale."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._kinds: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, caller_key: str, job_id: str) -> str | None:
        key = (caller_key, job_id)
        kind = self._kinds.get(key)
        if kind is not None:
            self._kinds.move_to_end(key)
        return kind

    def put(self, caller_key: str, job_id: str, job_type: str) -> None:
        self.put_all(caller_key, [(job_id, job_type)])

    def put_all(self, caller_key: str, kinds: Iterable[tuple[str, str]]) -> None:
        """`put` for each (job id, job type) of `kinds`."""
        known = self._kinds
        for job_id, job_type in kinds:
            key = (caller_key, job_id)
            known[key] = job_type
            known.move_to_end(key)
        while len(known) > self.capacity:
            known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kinds)


async def gather_bounded(coroutines: Iterable[Awaitable[T]], limit: int = 8) -> list[T | BaseException]:
    """Await all, at most `limit` at a time, keeping each one's result or exception in order."""
    gate = asyncio.Semaphore(limit)

    async def one(awaitable: Awaitable[T]) -> T:
        async with gate:
            return await awaitable

    results = await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)
    return list(results)


class LoaderOwnerGone(Exception):
    """A batch came due after the loaders that queued it were dropped: nobody is left to answer."""


def weakly(
    method: Callable[[list[K]], Awaitable[list[V | Exception]]],
) -> Callable[[list[K]], Awaitable[list[V | Exception]]]:
    """The bound `method` as a batch function holding its object weakly.

    A loader whose batch function is a bound method of the object owning the loader refers back to that
    object: the two make a reference cycle, and a cycle outlives the request until the cyclic collector
    comes round, with everything the object holds (every job the request loaded). Through a weak
    reference the request's loaders go the moment the request lets go of them."""
    ref = weakref.WeakMethod(method)

    async def batch(keys: list[K]) -> list[V | Exception]:
        bound = ref()
        if bound is None:
            return [LoaderOwnerGone("the request these loads were queued for has ended")] * len(keys)
        return await bound(keys)

    return batch


def settled(result: T | BaseException) -> T | Exception:
    """One gathered result: an Exception fails only its own key, and is kept as that key's value."""
    if isinstance(result, BaseException) and not isinstance(result, Exception):
        # Cancellation belongs to the whole request, not to one job.
        raise result
    return result


def settle(results: Sequence[JobData | BaseException | None]) -> list[JobData | Exception | None]:
    """Each job's own outcome: a 404 is a missing job (None); any other failure stays that job's alone."""
    return [
        None if isinstance(result, UpstreamHTTPError) and result.status == 404 else settled(result)
        for result in results
    ]


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose callers may be cancelled one by one.

    aiodataloader hands every caller of a key the same cached future, and a task cancelled while it
    awaits a future cancels that future: every other caller of the key then fails with CancelledError,
    and later loads of it, served from the cache, fail too. Callers share loads across fields of one
    request and, in the live hub, across subscribers; so each caller gets its own shield, and the load
    itself runs on whoever else still waits for it."""

    def load(self, key: K) -> asyncio.Future[V]:
        future = super().load(key)
        # Awaiting a settled future never suspends, so no cancellation can reach it (primed keys).
        return future if future.done() else asyncio.shield(future)

    def shared(self, key: K) -> Awaitable[V]:
        """The load of `key` queued now, to be awaited once: shielded only if it is still pending when
        awaited. Loads queued together settle together, so of a batch's keys awaited in turn only the
        first waits behind a shield (`nodes` of 100 ids made 100 shields, one per key)."""
        future = super().load(key)
        return future if future.done() else _ShieldedWhenAwaited(future)


class _ShieldedWhenAwaited(Generic[V]):
    __slots__ = ("_future",)

    def __init__(self, future: asyncio.Future[V]) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, V]:
        future = self._future
        if future.done():
            return future.result()
        return (yield from asyncio.shield(future).__await__())


class ShowLoader(SharedLoader[str, JobData | None]):
    """A job's show answer by id, for upstreams with no batch filter: one call per distinct id."""

    def __init__(self, upstream: RequestUpstream, show: ShowOperation) -> None:
        super().__init__()
        self.upstream = upstream
        self.show = show

    # aiodataloader fails just that key's load for an Exception in the list; its annotations omit that.
    async def batch_load_fn(self, keys: list[str]) -> list[JobData | Exception | None]:  # type: ignore[override]
        results = await gather_bounded((self._one(job_id) for job_id in keys), SHOW_CONCURRENCY)
        return settle(results)

    async def _one(self, job_id: str) -> JobData | None:
        if not job_id:
            return None  # no upstream path can name it, so no job has it
        return await self.upstream.call(self.show, job_id)
