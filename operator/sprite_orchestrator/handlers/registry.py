"""The kopf registry: which handler runs for which event. Each handler is a few lines."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from sprite_orchestrator import GROUP, VERSION
from sprite_orchestrator.handlers import pools, tasks, workers
from sprite_orchestrator.handlers.objects import POOLS, TASKS, WORKERS
from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import NotFound

logger = logging.getLogger(__name__)


def _rt(memo: Any) -> Runtime:
    runtime: Runtime = memo.runtime
    return runtime


async def _loop(
    rt: Runtime,
    plural: str,
    namespace: str,
    name: str,
    stopped: Any,
    logger: Any,
    reconcile: Any,
) -> None:
    """A daemon's life: reconcile, sleep until woken or due, again; errors back off."""
    key = (plural, namespace, name)
    while not stopped:
        try:
            delay = await reconcile(rt, namespace, name)
        except NotFound:
            return
        except Exception:  # the operator keeps running whatever one object does
            logger.exception(f"reconciling {plural}/{name} failed; retrying")
            delay = rt.backoff(key)
        await rt.sleep(key, delay, stopped)


def make_registry(*, server: str | None = None) -> kopf.OperatorRegistry:
    """All handlers in a fresh registry (tests run several operators side by side)."""
    registry = kopf.OperatorRegistry()
    on = {"registry": registry}

    @kopf.on.login(**on)  # type: ignore[arg-type]
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        if server is not None:
            return kopf.ConnectionInfo(server=server, default_namespace="default")
        return kopf.login_via_client(**kwargs)

    @kopf.daemon(GROUP, VERSION, POOLS, cancellation_timeout=10.0, **on)  # type: ignore[arg-type]
    async def pool_daemon(
        name: str, namespace: str, stopped: Any, memo: Any, logger: Any, **_: Any
    ) -> None:
        await _loop(_rt(memo), POOLS, namespace, name, stopped, logger, pools.reconcile)

    @kopf.on.delete(GROUP, VERSION, POOLS, **on)  # type: ignore[arg-type]
    async def pool_deleted(name: str, namespace: str, memo: Any, **_: Any) -> None:
        remaining = await pools.delete_workers(_rt(memo), namespace, name)
        if remaining:
            raise kopf.TemporaryError(f"waiting for {remaining} workers to go", delay=1)

    @kopf.daemon(GROUP, VERSION, WORKERS, cancellation_timeout=10.0, **on)  # type: ignore[arg-type]
    async def worker_daemon(
        name: str, namespace: str, stopped: Any, memo: Any, logger: Any, **_: Any
    ) -> None:
        await _loop(_rt(memo), WORKERS, namespace, name, stopped, logger, workers.reconcile)

    @kopf.on.event(GROUP, VERSION, WORKERS, **on)  # type: ignore[arg-type]
    def worker_changed(name: str, namespace: str, spec: Any, memo: Any, **_: Any) -> None:
        _rt(memo).wake(POOLS, namespace, spec.get("pool", ""))
        _rt(memo).wake(WORKERS, namespace, name)

    @kopf.on.delete(GROUP, VERSION, WORKERS, **on)  # type: ignore[arg-type]
    async def worker_deleted(name: str, namespace: str, spec: Any, memo: Any, **_: Any) -> None:
        await workers.destroy(_rt(memo), namespace, name, spec.get("pool", ""))
        _rt(memo).wake(POOLS, namespace, spec.get("pool", ""))

    @kopf.on.resume(GROUP, VERSION, TASKS, **on)  # type: ignore[arg-type]
    @kopf.on.create(GROUP, VERSION, TASKS, **on)  # type: ignore[arg-type]
    async def task_created(body: Any, memo: Any, **_: Any) -> None:
        await tasks.admit(_rt(memo), dict(body))

    @kopf.on.event(GROUP, VERSION, TASKS, **on)  # type: ignore[arg-type]
    def task_changed(namespace: str, spec: Any, memo: Any, **_: Any) -> None:
        _rt(memo).wake(POOLS, namespace, spec.get("pool", ""))

    return registry


def make_settings() -> kopf.OperatorSettings:
    """kopf's own bookkeeping in annotations: strict schemas would prune it from status."""
    settings = kopf.OperatorSettings()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.batching.batch_window = 0.05
    settings.peering.standalone = True
    return settings
