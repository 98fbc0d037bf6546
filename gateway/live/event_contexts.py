"""Event contexts: the request contexts subscribers resolve a job's events in, primed by the polls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gateway.live.events import JobRef
from gateway.loaders.base import credentials_key
from gateway.settings import Settings
from gateway.upstream import Credentials

if TYPE_CHECKING:
    # gateway.context refers to the hub in turn; at run time contexts are only built and handed out.
    from gateway.context import RequestContext

# Event contexts (and the poll answers priming them) serve the subscribers of one event, who all
# ask within moments; a few intervals later they are stale.
CONTEXT_INTERVALS = 3

ContextKey = tuple[JobRef, str, str]


class EventContexts:
    """One context per event and caller, so N subscribers with the same credentials cost one upstream
    read of each event (none when this replica's poll read the state with those credentials)."""

    def __init__(self, context_for: Callable[[Credentials], RequestContext], settings: Settings) -> None:
        self.context_for = context_for
        self.settings = settings
        self._contexts: dict[ContextKey, tuple[float, RequestContext]] = {}
        self._first_loads: dict[str, tuple[float, RequestContext]] = {}
        self._primes: dict[ContextKey, tuple[float, Mapping[str, Any]]] = {}

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    def context(self, ref: JobRef, credentials: Credentials, state: str | None, now: float) -> RequestContext:
        """The context in which subscribers with these credentials resolve this job in this state;
        `state=None` is a subscriber's first load."""
        key = credentials_key(credentials)
        if state is None:
            return self._first_load_context(key, credentials, now)
        entry: ContextKey = (ref, key, state)
        cached = self._contexts.get(entry)
        if cached is not None and cached[0] > now:
            return cached[1]
        context = self.context_for(credentials)
        primed = self._primes.get(entry)
        if primed is not None and primed[0] > now:
            context.loaders.prime_polled(ref.kind, ref.job_id, primed[1])
        self._contexts[entry] = (now + CONTEXT_INTERVALS * self.interval, context)
        return context

    def _first_load_context(self, key: str, credentials: Credentials, now: float) -> RequestContext:
        """One context for every first load by this caller until the next delivered change: subscribers
        arriving together batch their first reads (100 videos per list call) however many jobs they
        follow. Any delivered change starts a new one, so a first load never shows a state older than
        what this replica has already delivered."""
        cached = self._first_loads.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        context = self.context_for(credentials)
        self._first_loads[key] = (now + self.interval, context)
        return context

    def polled(self, ref: JobRef, key: str, state: str, data: Mapping[str, Any], now: float) -> None:
        """A poll's answer, to prime the event contexts of subscribers with the same credentials."""
        self._primes[(ref, key, state)] = (now + CONTEXT_INTERVALS * self.interval, data)

    def delivered(self) -> None:
        """A change reached local watchers: later first loads must read past it."""
        self._first_loads.clear()

    def forget(self, ref: JobRef) -> None:
        for entry in [entry for entry in self._contexts if entry[0] == ref]:
            del self._contexts[entry]
        for prime in [prime for prime in self._primes if prime[0] == ref]:
            del self._primes[prime]

    def sweep(self, now: float) -> None:
        for entry in [e for e, (expires, _) in self._contexts.items() if expires <= now]:
            del self._contexts[entry]
        for caller in [k for k, (expires, _) in self._first_loads.items() if expires <= now]:
            del self._first_loads[caller]
        for prime in [p for p, (expires, _) in self._primes.items() if expires <= now]:
            del self._primes[prime]
