"""Machines without a Worker get one back: the provider's `list` is the other truth.

A Worker object can go while its machine stays (removed by hand with its finalizer, an API
restored from an older backup, an emulator restarted empty). Such a machine still holds a
repo and maybe work: it is adopted, not destroyed. It gets its Worker again (`<pool>-<N>`,
owned by the pool), whose provisioning converges on what is there; from then on the usual
rules apply, so an adopted machine the pool does not need is reaped like any idle worker,
its work saved first.

Looked at when a pool is first seen and every `EVERY` seconds after (a `list` may cost an
exec per host). The machines are listed before and after the Workers, and only one in both
lists is an orphan: a Worker deleted in between had its machine destroyed before it went, so
the second list no longer has it, and a Worker created in between comes before its machine.
"""

from __future__ import annotations

import asyncio
import logging

from sprite_orchestrator.core import naming
from sprite_orchestrator.handlers import events
from sprite_orchestrator.handlers.objects import (
    POOL_LABEL,
    WORKERS,
    is_deleting,
    name_of,
    worker_body,
)
from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import Body, Conflict
from sprite_orchestrator.models import WorkerPoolSpec
from sprite_orchestrator.providers.base import ProviderError

logger = logging.getLogger(__name__)

EVERY = 300.0


async def adopt(rt: Runtime, pool: Body, spec: WorkerPoolSpec) -> None:
    """Give the pool's machines that have no Worker one, at most every EVERY seconds."""
    if is_deleting(pool):
        return
    namespace, name = pool["metadata"]["namespace"], pool["metadata"]["name"]
    now = asyncio.get_running_loop().time()
    last = rt.adopted.get((namespace, name))
    if last is not None and now - last < EVERY:
        return
    rt.adopted[(namespace, name)] = now
    try:
        provider = rt.provider_for(namespace, name, spec)
        before = {m.name for m in await provider.list()}
        workers = await rt.kube.list(WORKERS, namespace, labels={POOL_LABEL: name})
        after = {m.name for m in await provider.list()} if before else set()
    except ProviderError as exc:
        logger.info(f"pool {namespace}/{name}: its machines cannot be listed now: {exc}")
        return
    known = {name_of(w) for w in workers}
    for orphan in sorted(before & after - known):
        if naming.worker_index(name, orphan) is None:
            continue
        try:
            await rt.kube.create(WORKERS, namespace, worker_body(pool, orphan))
        except Conflict:
            continue
        message = f"machine {orphan} had no Worker: adopted"
        events.info(pool, reason="WorkerAdopted", message=message)
