"""A loader's batch function holding its owner weakly: the owner's loads as before while it lives, no
reference cycle between the two, and a clear failure for a batch that comes due after the owner went."""

from __future__ import annotations

import gc
import weakref
from typing import Any, cast

import pytest

from gateway.loaders.base import LoaderOwnerGone, SharedLoader, weakly


class Owner:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.loader: SharedLoader[str, str] = SharedLoader(cast(Any, weakly(self.load)))

    async def load(self, keys: list[str]) -> list[str | Exception]:
        self.batches.append(keys)
        return [key.upper() for key in keys]


async def test_the_owner_answers_its_loads_in_one_batch() -> None:
    owner = Owner()
    assert [await owner.loader.load("a"), await owner.loader.load("b")] == ["A", "B"]
    answers = [owner.loader.shared("c"), owner.loader.shared("d")]
    assert [await answer for answer in answers] == ["C", "D"]
    assert owner.batches == [["a"], ["b"], ["c", "d"]]


async def test_the_owner_and_its_loader_go_without_the_cyclic_collector() -> None:
    gc.disable()
    try:
        owner = Owner()
        gone: list[weakref.ref[Any]] = [weakref.ref(owner), weakref.ref(owner.loader)]
        del owner
        assert [ref() for ref in gone] == [None, None]
    finally:
        gc.enable()


async def test_a_batch_due_after_its_owner_went_fails_each_key() -> None:
    owner = Owner()
    loader = owner.loader
    queued = loader.load("a")
    del owner
    with pytest.raises(LoaderOwnerGone, match="has ended"):
        await queued
