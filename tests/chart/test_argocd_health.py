"""The Argo CD health checks, run by a real Lua 5.1 (Argo CD's dialect) on sample objects."""

from __future__ import annotations

from typing import Any

import pytest
from lupa import lua51

from tests.chart.charting import CHART

ARGOCD = CHART / "argocd"


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """What Argo CD would show: the script's `hs.status` and `hs.message`."""
    lua = lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    hs = lua.execute((ARGOCD / f"{kind.lower()}-health.lua").read_text())
    return hs.status, hs.message


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def task(*conditions: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "kite-x", "generation": 1}}
    if conditions:
        body["status"] = {"conditions": list(conditions)}
    return body


def pool(*conditions: dict[str, str], observed: int | None = 2) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"metadata": {"name": "kite", "generation": 2}, "status": status}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (task(), ("Progressing", "Waiting for the operator to admit the task")),
        (
            task(cond("Succeeded", "True", "AgentCompleted", "the agent completed the task")),
            ("Healthy", "AgentCompleted: the agent completed the task"),
        ),
        (
            task(cond("Succeeded", "False", "AgentError", "rate_limit")),
            ("Degraded", "AgentError: rate_limit"),
        ),
        (
            task(
                cond("NeedsInput", "True", "WaitingForHuman", "permission prompt"),
                cond("Succeeded", "Unknown", "Running", "the agent is working"),
            ),
            ("Suspended", "WaitingForHuman: permission prompt"),
        ),
        (
            task(
                cond("NeedsInput", "False", "Pending"),
                cond("Succeeded", "Unknown", "PoolExhausted", "3rd in the queue"),
            ),
            ("Progressing", "PoolExhausted: 3rd in the queue"),
        ),
    ],
    ids=["new", "succeeded", "failed", "needs-input", "waiting"],
)
def test_agent_task_health(obj: dict[str, Any], expected: tuple[str, str]) -> None:
    assert health("AgentTask", obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {"metadata": {"name": "kite", "generation": 1}},
            ("Progressing", "Waiting for the operator to observe the pool's spec"),
        ),
        (
            pool(cond("Ready", "True", "WorkersReady"), observed=1),
            ("Progressing", "Waiting for the operator to observe the pool's spec"),
        ),
        (
            pool(cond("Ready", "True", "WorkersReady", "1 idle, 0 busy")),
            ("Healthy", "WorkersReady: 1 idle, 0 busy"),
        ),
        (
            pool(cond("Ready", "False", "PoolExhausted", "all 5 workers are busy")),
            ("Healthy", "PoolExhausted: all 5 workers are busy"),
        ),
        (
            pool(cond("Ready", "False", "AllBusy", "all 1 workers are busy")),
            ("Healthy", "AllBusy: all 1 workers are busy"),
        ),
        (
            pool(cond("Ready", "False", "Provisioning", "0 idle of 1 wanted")),
            ("Progressing", "Provisioning: 0 idle of 1 wanted"),
        ),
        (
            pool(cond("Ready", "False", "InvalidSpec", "spec.repo.url: required")),
            ("Degraded", "InvalidSpec: spec.repo.url: required"),
        ),
        (pool(), ("Progressing", "Waiting for the pool's workers")),
    ],
    ids=[
        "new",
        "stale",
        "ready",
        "exhausted",
        "all-busy",
        "provisioning",
        "invalid",
        "no-condition",
    ],
)
def test_worker_pool_health(obj: dict[str, Any], expected: tuple[str, str]) -> None:
    assert health("WorkerPool", obj) == expected
