"""The backoff every reconciler shares: 5 s, doubling to 5 minutes, in the loop's time; after
the API server's passing trouble, 1 s doubling to 30 s."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any, cast

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import Conflict, NotFound

KEY = ("workerpools", "default", "demo")


@pytest.fixture
def rt(tmp_path: pathlib.Path) -> Runtime:
    return Runtime(kube=cast(Any, None), state_dir=tmp_path)  # backoff needs no API


@pytest.mark.looptime
async def test_backoff_doubles_from_5_s_to_5_minutes(rt: Runtime) -> None:
    delays = [rt.backoff(KEY) for _ in range(9)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]


@pytest.mark.looptime
async def test_backing_off_counts_down_in_the_loops_time(rt: Runtime, looptime: Any) -> None:
    rt.backoff(KEY)
    rt.backoff(KEY)  # 10 s from now
    await asyncio.sleep(4)

    assert rt.backing_off(KEY) == 6
    await asyncio.sleep(6)
    assert rt.backing_off(KEY) == 0 and looptime == 10


@pytest.mark.looptime
async def test_a_pass_that_worked_starts_the_next_backoff_at_5_s_again(rt: Runtime) -> None:
    for _ in range(5):
        rt.backoff(KEY)
    rt.succeeded(KEY)

    assert rt.backing_off(KEY) == 0
    assert rt.backoff(KEY) == 5


@pytest.mark.looptime
async def test_a_wake_up_ends_the_sleep_but_not_the_backoff(rt: Runtime, looptime: Any) -> None:
    stopped = asyncio.Event()
    delay = rt.backoff(KEY)
    sleeping = asyncio.create_task(rt.sleep(KEY, delay, stopped))
    await asyncio.sleep(1)

    rt.wake(*KEY)  # e.g. the reconciler's own status write came back as an event
    await sleeping

    assert looptime == 1
    assert rt.backing_off(KEY) == 4


@pytest.mark.looptime
async def test_keys_back_off_apart(rt: Runtime) -> None:
    rt.backoff(KEY)
    other = ("provisioning", "default", "demo")
    assert rt.backoff(other) == 5 and rt.backoff(KEY) == 10


@pytest.mark.looptime
@pytest.mark.parametrize(
    "error",
    [
        ApiException(status=503, reason="Service Unavailable"),
        ApiException(status=500, reason="Internal Server Error"),
        ApiException(status=429, reason="Too Many Requests"),
        Conflict("the object has been modified"),
        urllib3.exceptions.ProtocolError("Connection aborted."),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
async def test_the_api_servers_passing_trouble_is_retried_within_seconds(
    rt: Runtime, error: Exception
) -> None:
    delays = [rt.backoff(KEY, error) for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.looptime
@pytest.mark.parametrize(
    "error",
    [
        ApiException(status=403, reason="Forbidden"),
        ApiException(status=422, reason="Unprocessable Entity"),
        NotFound("gone"),
        ValueError("a bug"),
    ],
)
async def test_other_failures_back_off_as_before(rt: Runtime, error: Exception) -> None:
    assert [rt.backoff(KEY, error) for _ in range(3)] == [5, 10, 20]
