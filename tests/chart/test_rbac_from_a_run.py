"""The RBAC the chart grants, checked against what the operator really asks of the API.

The real operator runs in-process against the emulator through a whole life: a pool with an
auth Secret, a task whose prompt comes from a ConfigMap, delivery, completion, the pool's
deletion. Every request it made is turned into (apiGroup, resource, verb) and must be allowed
by the ClusterRole; every permission granted must have been used (or be on a short list that
says why a run cannot show it).
"""

from __future__ import annotations

import base64
import pathlib

import aiohttp
import pytest

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import demo
from tests.chart.charting import objects, one
from tests.conftest import NS, Cluster, eventually

ME = "rbac-test-harness"  # our own requests, told apart from the operator's
Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)

# Granted but not seen in an emulated run, and why.
UNSEEN = {
    # Asked only by the OwnerReferencesPermissionEnforcement admission plugin.
    ("orchestrator.dev", "workerpools/finalizers", "update"),
    # The operator of this run is standalone; tests/operator/test_high_availability.py runs
    # two peered replicas and checks these against what they use.
    *(("kopf.dev", "clusterkopfpeerings", verb) for verb in ("list", "watch", "create", "patch")),
}


def permission(method: str, path: str, query: dict[str, str]) -> Permission | None:
    """The RBAC permission an API request needs; None for discovery and other non-resources."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    resource = "/".join([rest[0], *rest[2:3]])
    named = len(rest) > 1
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else "get" if named else "list"
    else:
        verbs = {"POST": "create", "PATCH": "patch", "PUT": "update"}
        verb = verbs.get(method) or ("delete" if named else "deletecollection")
    return group, resource, verb


def granted(rules: list[dict]) -> set[Permission]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


async def send(session: aiohttp.ClientSession, method: str, url: str, body: dict) -> dict:
    async with session.request(method, url, json=body) as response:
        assert response.status < 300, await response.text()
        return dict(await response.json())


async def live_a_whole_life(cluster: Cluster, repo: pathlib.Path) -> None:
    core, ours = f"{cluster.url}/api/v1/namespaces/{NS}", f"{cluster.url}/apis/{API_VERSION}"
    ours += f"/namespaces/{NS}"
    key = base64.b64encode(b"sk-test-not-a-real-key").decode()
    async with aiohttp.ClientSession(headers={"User-Agent": ME}) as s:
        secret = {"metadata": {"name": "agent-auth"}, "data": {"ANTHROPIC_API_KEY": key}}
        await send(s, "POST", f"{core}/secrets", secret)
        cm = {"metadata": {"name": "prompt"}, "data": {"prompt": "fix the authentication bug"}}
        await send(s, "POST", f"{core}/configmaps", cm)
        pool = {
            "apiVersion": API_VERSION,
            "kind": "WorkerPool",
            "metadata": {"name": "demo"},
            "spec": {
                "repo": {"url": str(repo)},
                "agent": {"command": demo.DEMO_AGENT, "authSecretRef": {"name": "agent-auth"}},
                "scaling": {"minIdle": 0, "maxWorkers": 1},
                "pollIntervalSeconds": 1,
            },
        }
        await send(s, "POST", f"{ours}/workerpools", pool)
        task = {
            "apiVersion": API_VERSION,
            "kind": "AgentTask",
            "metadata": {"name": "demo-task"},
            "spec": {
                "pool": "demo",
                "promptFrom": {"configMapKeyRef": {"name": "prompt", "key": "prompt"}},
            },
        }
        await send(s, "POST", f"{ours}/agenttasks", task)

        async def succeeded() -> bool:
            async with s.get(f"{ours}/agenttasks/demo-task") as r:
                conditions = (await r.json()).get("status", {}).get("conditions", [])
            return any(c["type"] == "Succeeded" and c["status"] == "True" for c in conditions)

        async def gone() -> bool:
            async with s.get(f"{ours}/workers") as r, s.get(f"{ours}/workerpools") as p:
                return not (await r.json())["items"] and not (await p.json())["items"]

        await eventually(succeeded, timeout=60)
        await send(s, "DELETE", f"{ours}/workerpools/demo", {})
        await eventually(gone, timeout=60)


@pytest.mark.slow
async def test_the_operator_uses_exactly_what_the_cluster_role_grants(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    operator.emulator.request_log_limit = 10**6  # every request of the life is read
    await live_a_whole_life(operator, demo_repo)
    used = {
        p
        for r in operator.emulator
        if {k.lower(): v for k, v in r.headers.items()}.get("user-agent") != ME
        and (p := permission(str(r.method.value), r.url.path, dict(r.params))) is not None
    }

    rules = one(objects(), "ClusterRole")["rules"]

    assert used - granted(rules) == set(), "the operator needs more than the chart grants"
    assert granted(rules) - used - UNSEEN == set(), "the chart grants what nothing uses"
