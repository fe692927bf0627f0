"""A pool pass's writes: a bounded number in flight, and no more made than are running."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from sprite_orchestrator.handlers.pools import _bounded


async def test_writes_run_a_limited_number_at_a_time_and_are_made_only_when_one_can_run() -> None:
    running, made, most, most_made, done = 0, 0, 0, 0, []

    async def write(i: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        running -= 1
        done.append(i)

    def calls() -> Iterator[Coroutine[Any, Any, None]]:
        nonlocal made, most_made
        for i in range(1000):
            made += 1
            most_made = max(most_made, made - len(done))
            yield write(i)

    await _bounded(calls(), limit=8)
    assert sorted(done) == list(range(1000))
    assert most == 8
    assert most_made <= 8  # a burst of 1,000 is never 1,000 coroutines (and bodies) at once


async def test_a_failed_write_is_raised_and_the_others_are_still_made() -> None:
    done: list[int] = []

    async def write(i: int) -> None:
        await asyncio.sleep(0)
        if i == 3:
            raise RuntimeError("503")
        done.append(i)

    with pytest.raises(RuntimeError, match="503"):
        await _bounded((write(i) for i in range(20)), limit=4)
    await asyncio.sleep(0.01)
    assert sorted(done) == [i for i in range(20) if i != 3]
