"""The kept tasks and what wakes a pool: planning changes do, agent states and heartbeats not."""

from __future__ import annotations

import copy
from typing import Any

from sprite_orchestrator.handlers import cache


def task(name: str = "t1", pool: str = "kite", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AgentTask",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            "generation": 1,
            "creationTimestamp": "2026-12-03T10:00:00Z",
            "annotations": {"kopf": "x" * 1000},
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"pool": pool, "prompt": "p" * 100_000, "priority": 3},
        "status": status,
    }


def cond(type_: str, status: str, reason: str = "Pending") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": ""}


def test_a_kept_task_has_no_prompt_and_what_planning_reads() -> None:
    kept = cache.slim(task(conditions=[cond("Succeeded", "Unknown")]))
    assert "prompt" not in kept["spec"] and kept["spec"] == {"pool": "kite", "priority": 3}
    meta = task()["metadata"]
    assert "annotations" not in kept["metadata"] and "managedFields" not in kept["metadata"]
    assert kept["metadata"] == {k: v for k, v in meta.items() if isinstance(v, str | int)}
    assert kept["status"]["conditions"] == [cond("Succeeded", "Unknown")]


def test_a_pool_wakes_for_planning_changes_only() -> None:
    tasks = cache.Tasks()
    body = task(conditions=[cond("Scheduled", "True"), cond("Succeeded", "Unknown")])
    assert tasks.keep(None, body) is True  # first seen
    assert tasks.keep("MODIFIED", body) is False  # the same again

    running = copy.deepcopy(body)
    running["status"]["agentState"] = "agent:running"
    running["status"]["transcript"] = {"turns": 3}
    assert tasks.keep("MODIFIED", running) is False  # an agent's state: the worker's business

    done = copy.deepcopy(running)
    done["status"]["conditions"][1] = cond("Succeeded", "True", "AgentCompleted")
    assert tasks.keep("MODIFIED", done) is True
    cancelled = copy.deepcopy(done)
    cancelled["spec"]["cancelled"] = True
    assert tasks.keep("MODIFIED", cancelled) is True
    assert tasks.kept[("default", "t1")]["spec"]["cancelled"] is True

    assert tasks.keep("DELETED", cancelled) is True
    assert tasks.kept == {}


def test_tasks_of_one_pool_in_one_namespace() -> None:
    tasks = cache.Tasks()
    tasks.keep(None, task("a", "kite"))
    tasks.keep(None, task("b", "other"))
    elsewhere = task("c", "kite")
    elsewhere["metadata"]["namespace"] = "team-b"
    tasks.keep(None, elsewhere)
    assert [t["metadata"]["name"] for t in tasks.of_pool("default", "kite")] == ["a"]


def worker(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "kite-1", "namespace": "default"},
        "spec": {"pool": "kite"},
        "status": status,
    }


def test_a_workers_heartbeat_or_agent_state_does_not_wake_its_pool() -> None:
    workers = cache.Workers()
    ready = [cond("Provisioned", "True", "Provisioned"), cond("Ready", "True", "Idle")]
    assert workers.changed(None, worker(conditions=ready, lastPollTime="t1")) == (True, True)
    assert workers.changed("MODIFIED", worker(conditions=ready, lastPollTime="t2")) == (
        False,
        False,
    )
    running = worker(conditions=ready, agentState="agent:running")
    assert workers.changed("MODIFIED", running) == (False, False)
    bound = worker(conditions=ready, taskRef={"name": "t1", "uid": "u"})
    assert workers.changed("MODIFIED", bound) == (True, True)  # the pool bound it: it delivers
    busy = worker(
        conditions=[ready[0], cond("Ready", "False", "Busy")], taskRef=bound["status"]["taskRef"]
    )
    assert workers.changed("MODIFIED", busy) == (True, False)  # its own write
    reset = {
        **busy,
        "metadata": {
            **busy["metadata"],
            "annotations": {"orchestrator.dev/reset-requested": "now"},
        },
    }
    assert workers.changed("MODIFIED", reset) == (True, True)
    assert workers.changed("DELETED", reset) == (True, True)
