"""Tasks as the watch delivered them, kept for the pools, and what wakes a pool.

A pool pass used to run on every event of every task and worker and to list every task of
the namespace each time: at 10,000 tasks, megabytes of JSON per pass, passes back to back.
Now the task watch (kopf's, which the operator runs anyway) keeps each task here, slim (no
prompt), and a pool is woken only when something it plans with changes, not when an agent's
state or a heartbeat does.

A kept task may be a moment old. Whatever a pool decides from one is checked where it
matters: a bind reads the task afresh and swaps the Worker's status on its resourceVersion,
and every status write swaps on the object's own (a stale one is a 409 and a fresh read).
The Workers themselves are still listed on each pass: which worker holds which task is
decided from the freshest view there is.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.kube import Body

Key = tuple[str, str]  # (namespace, name)

_META = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
)
_BULKY = ("prompt", "promptFrom")  # a prompt may be megabytes; planning never reads it
_SHORT = 64  # strings up to this long are interned (names, reasons, timestamps)


def slim(body: Mapping[str, Any]) -> Body:
    """What a pool pass reads of a task: identity, spec without the prompt, status."""
    meta = body.get("metadata") or {}
    kept: Body = compact(
        {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "metadata": {k: meta[k] for k in _META if k in meta},
            "spec": {k: v for k, v in (body.get("spec") or {}).items() if k not in _BULKY},
            "status": body.get("status") or {},
        }
    )
    return kept


def compact(value: Any) -> Any:
    """A deep copy whose keys and short strings are interned: 10,000 kept tasks repeat the
    same keys, condition types, statuses and reasons, each parsed into its own string."""
    if isinstance(value, Mapping):
        return {sys.intern(str(k)): compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, str) and len(value) <= _SHORT:
        return sys.intern(value)
    return value


def _condition(body: Mapping[str, Any], type_: str, *, reason: bool = False) -> tuple[Any, ...]:
    for cond in (body.get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return (cond.get("status"), cond.get("reason") if reason else None)
    return (None, None)


def task_plan(body: Body) -> tuple[Any, ...]:
    """What of a task a pool plans with: a change here wakes the pool, others do not."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    return (
        spec.get("pool"),
        spec.get("priority"),
        spec.get("cancelled"),
        spec.get("timeoutSeconds"),
        bool((body.get("metadata") or {}).get("deletionTimestamp")),
        bool(status.get("conditions")),
        status.get("queuedTime"),
        status.get("workerName"),
        _condition(body, c.SCHEDULED),
        _condition(body, c.DELIVERED),
        _condition(body, c.SUCCEEDED),
    )


def worker_plan(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a Worker a pool plans with (and counts in its status): see objects.worker_view."""
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    return (
        (body.get("spec") or {}).get("pool"),
        bool(meta.get("deletionTimestamp")),
        tuple(sorted((meta.get("annotations") or {}).items())),
        str(status.get("taskRef")),
        status.get("idleSinceTime"),
        _condition(body, c.PROVISIONED, reason=True),
        _condition(body, c.READY),
    )


def _older(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """`new` is an older version of the same object than `old`.

    resourceVersions are opaque to clients, but etcd's (and the emulator's) are revision
    numbers that only grow; where either is not a number, nothing is taken as older.
    """
    a, b = str(new.get("resourceVersion", "")), str(old.get("resourceVersion", ""))
    same = new.get("uid") == old.get("uid")
    return same and a.isdigit() and b.isdigit() and int(a) < int(b)


class Tasks:
    """Every task the watch has shown, slim, by (namespace, name)."""

    def __init__(self) -> None:
        self.kept: dict[Key, Body] = {}

    def keep(self, event: str | None, body: Mapping[str, Any]) -> bool:
        """Keep (or forget, on DELETED) a task; True if its pool should plan again.

        The operator's own writes are kept too (see status.transition), so the next pass
        does not decide from what it just changed; a watch event older than what is kept
        (it was on its way while we wrote) is then ignored.
        """
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if event == "DELETED":
            self.kept.pop(key, None)
            return True
        old = self.kept.get(key)
        if old is not None and _older(meta, old["metadata"]):
            return False
        new = self.kept[key] = slim(body)
        return old is None or task_plan(old) != task_plan(new)

    def get(self, namespace: str, name: str) -> Body | None:
        """The kept task (no prompt: read the task itself to deliver it), if any."""
        return self.kept.get((namespace, name))

    def of_pool(self, namespace: str, pool: str) -> list[Body]:
        return [
            t
            for (ns, _), t in self.kept.items()
            if ns == namespace and (t.get("spec") or {}).get("pool") == pool
        ]


def worker_own(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a Worker's own reconciler acts on that others write: a bind (the pool), a reset
    request (a person), deletion, its spec. Not its status: that it writes itself."""
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    return (
        body.get("spec"),
        bool(meta.get("deletionTimestamp")),
        tuple(sorted((meta.get("annotations") or {}).items())),
        str(status.get("taskRef")),
    )


class Workers:
    """Each Worker as last seen (its watch, or the operator's own write), and its views:
    its pool and itself wake on changes of those only."""

    def __init__(self) -> None:
        self.kept: dict[Key, Body] = {}
        self.seen: dict[Key, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}

    def get(self, namespace: str, name: str) -> Body | None:
        return self.kept.get((namespace, name))

    def changed(self, event: str | None, body: Mapping[str, Any]) -> tuple[bool, bool]:
        """Keep a Worker: should (its pool, the Worker's own reconciler) act again."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if event == "DELETED":
            self.kept.pop(key, None)
            self.seen.pop(key, None)
            return True, True
        kept = self.kept.get(key)
        if kept is not None and _older(meta, kept["metadata"]):
            return False, False
        self.kept[key] = compact(body)
        old, new = self.seen.get(key), (worker_plan(body), worker_own(body))
        self.seen[key] = new
        if old is None:
            return True, True
        return old[0] != new[0], old[1] != new[1]
