"""The kopf registry: which handler runs for which event. Each handler is a few lines."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from sprite_orchestrator import GROUP, VERSION
from sprite_orchestrator.handlers import pools, tasks, workers
from sprite_orchestrator.handlers.objects import POOLS, TASKS, WORKERS
from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import NotFound, configuration

logger = logging.getLogger(__name__)


# The handlers that only wake a reconciler run on every watch event of every object; kopf
# logs each success at INFO, which at 50 workers was dozens of lines a second of no news.
# They are `async def` though they never await: kopf runs a plain `def` handler in a thread,
# where it would touch the caches and the loop's Events (not thread-safe) off the loop.
WAKEUPS = ("pool_changed", "worker_changed", "task_changed")


def quiet_wakeups(record: logging.LogRecord) -> bool:
    """A logging filter: drop the successes of the wake-up handlers, keep all else."""
    message = record.getMessage()
    return not (message.endswith("' succeeded.") and any(w in message for w in WAKEUPS))


def _rt(memo: Any) -> Runtime:
    runtime: Runtime = memo.runtime
    return runtime


def _ns(namespace: str | None) -> str:
    """Our kinds are namespaced: kopf's Optional is never None for them."""
    assert namespace is not None
    return namespace


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
        except Exception as exc:  # the operator keeps running whatever one object does
            delay = rt.backoff(key, exc)
            logger.exception(f"reconciling {plural}/{name} failed; retrying in {delay:.0f}s")
        await rt.sleep(key, delay, stopped)


def _from_kubeconfig(path: str, settings: kopf.OperatorSettings) -> kopf.ConnectionInfo:
    """kopf's credentials from one kubeconfig file, read afresh (tokens may have rotated)."""
    config = configuration(kubeconfig=path)
    header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = (header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=config.host,
        ca_path=config.ssl_ca_cert,
        insecure=not config.verify_ssl,
        username=config.username or None,
        password=config.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=config.cert_file,
        private_key_path=config.key_file,
        trust_env=settings.networking.trust_env,
    )


def make_registry(
    *, server: str | None = None, kubeconfig: str | None = None
) -> kopf.OperatorRegistry:
    """All handlers in a fresh registry (tests run several operators side by side)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(*, settings: kopf.OperatorSettings, **kwargs: Any) -> kopf.ConnectionInfo | None:
        if server is not None:
            return kopf.ConnectionInfo(server=server, default_namespace="default")
        if kubeconfig is not None:  # `--kubeconfig`, not kopf's own search (in-cluster first)
            return _from_kubeconfig(kubeconfig, settings)
        return kopf.login_via_client(settings=settings, **kwargs)

    @kopf.daemon(GROUP, VERSION, POOLS, cancellation_timeout=10.0, registry=registry)
    async def pool_daemon(
        *, name: str, namespace: str | None, stopped: Any, memo: Any, logger: Any, **_: Any
    ) -> None:
        await _loop(_rt(memo), POOLS, _ns(namespace), name, stopped, logger, pools.reconcile)

    @kopf.on.event(GROUP, VERSION, POOLS, registry=registry)
    async def pool_changed(
        *, name: str, namespace: str | None, type: str | None, body: Any, memo: Any, **_: Any
    ) -> None:
        rt, key = _rt(memo), (_ns(namespace), name)
        if type == "DELETED":
            rt.pools.pop(key, None)
        else:
            rt.pools[key] = dict(body)
        rt.wake(POOLS, _ns(namespace), name)  # e.g. `orchestrator drain` at once

    @kopf.on.delete(GROUP, VERSION, POOLS, registry=registry)
    async def pool_deleted(*, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        remaining = await pools.delete_workers(_rt(memo), _ns(namespace), name)
        if remaining:
            raise kopf.TemporaryError(f"waiting for {remaining} workers to go", delay=1)
        _rt(memo).metrics.forget_pool(_ns(namespace), name)

    @kopf.daemon(GROUP, VERSION, WORKERS, cancellation_timeout=10.0, registry=registry)
    async def worker_daemon(
        *, name: str, namespace: str | None, stopped: Any, memo: Any, logger: Any, **_: Any
    ) -> None:
        rt = _rt(memo)
        await _loop(rt, WORKERS, _ns(namespace), name, stopped, logger, workers.reconcile)

    @kopf.on.event(GROUP, VERSION, WORKERS, registry=registry)
    async def worker_changed(
        *, name: str, namespace: str | None, type: str | None, body: Any, memo: Any, **_: Any
    ) -> None:
        rt = _rt(memo)
        pool, itself = rt.workers.changed(type, body)  # not for heartbeats, agents' states
        if pool:
            rt.wake(POOLS, _ns(namespace), body.get("spec", {}).get("pool", ""))
        if itself:
            rt.wake(WORKERS, _ns(namespace), name)

    @kopf.on.delete(GROUP, VERSION, WORKERS, registry=registry)
    async def worker_deleted(
        *, body: Any, namespace: str | None, spec: Any, memo: Any, **_: Any
    ) -> None:
        rt, key = _rt(memo), ("destroying", _ns(namespace), str(body["metadata"]["name"]))
        try:
            await workers.destroy(rt, _ns(namespace), dict(body))
        except workers.MachineKept as exc:  # the Worker stays until its machine is gone
            raise kopf.TemporaryError(str(exc), delay=rt.backoff(key)) from None
        rt.succeeded(key)
        rt.wake(POOLS, _ns(namespace), spec.get("pool", ""))

    @kopf.on.resume(GROUP, VERSION, TASKS, registry=registry)
    @kopf.on.create(GROUP, VERSION, TASKS, registry=registry)
    async def task_created(
        *, name: str, namespace: str | None, body: Any, memo: Any, **_: Any
    ) -> None:
        rt, key = _rt(memo), ("admitting", _ns(namespace), name)
        try:
            await tasks.admit(rt, dict(body))
        except Exception as exc:  # kopf's own retry is a minute: a task waits on it
            delay = rt.backoff(key, exc)
            raise kopf.TemporaryError(f"admitting failed: {exc!r}", delay=delay) from exc
        rt.succeeded(key)

    @kopf.on.delete(GROUP, VERSION, TASKS, registry=registry)
    async def task_deleted(*, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        holder = await tasks.holder(_rt(memo), _ns(namespace), name)
        if holder is not None:
            _rt(memo).wake(WORKERS, _ns(namespace), holder)
            raise kopf.TemporaryError(f"worker {holder} is saving the task's work", delay=1)

    @kopf.daemon(
        GROUP,
        VERSION,
        TASKS,
        when=lambda body, **_: tasks.expiring(dict(body)),
        cancellation_timeout=5.0,
        registry=registry,
    )
    async def task_ttl(
        *, name: str, namespace: str | None, stopped: Any, memo: Any, **_: Any
    ) -> None:
        rt, key = _rt(memo), (TASKS, _ns(namespace), name)
        try:
            while not stopped:
                delay = await tasks.expire(rt, _ns(namespace), name)
                if delay is None:
                    return
                await rt.sleep(key, delay, stopped)
        finally:
            rt.forget(key)

    @kopf.on.event(GROUP, VERSION, TASKS, registry=registry)
    async def task_changed(
        *, namespace: str | None, type: str | None, body: Any, memo: Any, **_: Any
    ) -> None:
        rt = _rt(memo)
        if rt.tasks.keep(type, body):  # not for an agent's state or a transcript
            rt.wake(POOLS, _ns(namespace), body.get("spec", {}).get("pool", ""))

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
    # An idle per-object worker holds its last event's body: at 5 s (kopf's default) a wave
    # of 9,000 queued tasks marked waiting kept ~3,500 bodies alive at once (+76 MB RSS).
    settings.queueing.idle_timeout = 1.0
    # Not `watching.chunk_size`: a relist of 10,000 tasks in one response is ~70 MB parsed at
    # once, but with pages (and peering) kopf left all but a few of 1,001 tasks unhandled
    # (tests/operator/test_relist.py).
    settings.peering.standalone = True
    return settings
