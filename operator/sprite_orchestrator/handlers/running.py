"""Run the operator: in its own process (`orchestrator operator`) or inside another loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import pathlib
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

import kopf

from sprite_orchestrator.handlers import peering as peers
from sprite_orchestrator.handlers.registry import make_registry, make_settings, quiet_wakeups
from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import Kube, configuration

Tasks = Collection["asyncio.Task[Any]"]


@dataclasses.dataclass(frozen=True)
class _Ignored(Collection["asyncio.Task[Any]"]):
    """Tasks kopf must not wait for on stop, read at stop time (kopf only asks `in`)."""

    before: frozenset[asyncio.Task[Any]]
    extra: Callable[[], Tasks]

    def __contains__(self, task: object) -> bool:
        return task in self.before or task in self.extra()

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(self.before | set(self.extra()))

    def __len__(self) -> int:
        return len(self.before | set(self.extra()))


async def run(
    *,
    state_dir: pathlib.Path,
    server: str | None = None,
    kubeconfig: str | None = None,
    namespaces: Collection[str] = (),
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    liveness_endpoint: str | None = None,
    also_ignore: Callable[[], Tasks] = frozenset,
    clock: Callable[[], float] = time.time,
    metrics_port: int | None = None,
    metrics_host: str = "0.0.0.0",  # noqa: S104 (inside a pod, the Service picks the port)
    peering: str | None = None,
    priority: int | None = None,
) -> None:
    """Run until `stop_flag` is set; tasks that existed before are left alone.

    With `peering` (an object name), replicas of the operator peer there and only one acts
    (see handlers/peering.py); without it the operator runs standalone.

    `also_ignore` names tasks born later that are not the operator's, such as the
    connections of an API emulator in the same loop, so stopping does not wait for them.
    """
    ignored = _Ignored(frozenset(asyncio.all_tasks()), also_ignore)
    kube = Kube(configuration(server=server, kubeconfig=kubeconfig))
    runtime = Runtime(kube=kube, state_dir=state_dir, clock=clock)
    kube.observe = runtime.metrics.api_request
    logging.getLogger("kopf.objects").addFilter(quiet_wakeups)
    settings = make_settings()
    try:
        if peering is not None:
            peers.configure(settings, name=peering, clusterwide=not namespaces, priority=priority)
            await peers.ensure(kube, peering, namespaces)
        tasks = await kopf.spawn_tasks(
            registry=make_registry(server=server, kubeconfig=kubeconfig),
            settings=settings,
            clusterwide=not namespaces,
            namespaces=namespaces,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            liveness_endpoint=liveness_endpoint,
            memo=kopf.Memo(runtime=runtime),
        )
        async with contextlib.AsyncExitStack() as stack:
            if metrics_port is not None:
                await stack.enter_async_context(
                    runtime.metrics.serve(port=metrics_port, host=metrics_host)
                )
            await kopf.run_tasks(tasks, ignored=ignored)
    finally:
        await runtime.close()
