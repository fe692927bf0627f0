"""`orchestrator logs` against the real operator with demo-agent workers: a worker's pane
and provisioning output, following a task to its end, and a worker that is gone."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from tests.cli.running import Orchestrator
from tests.conftest import NS, Cluster, eventually


@pytest.fixture
def cli(operator: Cluster, tmp_path: pathlib.Path) -> Orchestrator:
    return Orchestrator.for_cluster(operator.url, tmp_path)


async def test_a_worker_shows_its_task_pane_and_provisioning(
    operator: Cluster, demo_repo: pathlib.Path, cli: Orchestrator
) -> None:
    await operator.pool("demo", demo_repo)
    name = await operator.task("demo", "a slow task demo:sleep=60")
    await operator.condition("agenttasks", name, "Delivered", status="True", timeout=60)

    code, out, err = await cli.run("logs", "demo-1", "-o", "json")

    assert code == 0, err
    shown = json.loads(out)
    assert (shown["task"], shown["worker"], shown["paneTask"]) == (name, "demo-1", name)
    assert "> a slow task demo:sleep=60" in shown["pane"]
    assert "==> clone" in shown["provisioning"] and "<== tmux done" in shown["provisioning"]
    assert shown["transcript"]["from"] == "worker"
    code, out, err = await cli.run("logs", "demo-1", "-o", "yaml")
    assert code == 0, err
    as_yaml = yaml.safe_load(out)
    assert (as_yaml["task"], as_yaml["paneTask"]) == (name, name)
    assert as_yaml["provisioning"] == shown["provisioning"]


async def test_follow_prints_the_pane_until_the_task_ends(
    operator: Cluster, demo_repo: pathlib.Path, cli: Orchestrator
) -> None:
    await operator.pool("demo", demo_repo)
    name = await operator.task("demo", "a slow task demo:sleep=60")
    await operator.condition("agenttasks", name, "Delivered", status="True", timeout=60)
    follower = await cli.start("logs", name, "-f")
    assert follower.stdout is not None
    first = await eventually(follower.stdout.readline)  # the header: it is following

    await operator.kube.patch("agenttasks", NS, name, {"spec": {"cancelled": True}})
    out, err = await follower.communicate()  # ends by itself once the task has ended

    assert follower.returncode == 0, err.decode()
    assert first.decode().startswith(f"== task {name} on worker demo-1")
    assert "> a slow task demo:sleep=60" in out.decode()


async def test_a_task_whose_worker_is_gone_shows_its_summary_from_status(
    operator: Cluster, demo_repo: pathlib.Path, cli: Orchestrator
) -> None:
    await operator.pool("demo", demo_repo)
    name = await operator.task("demo", "a quick task")
    task = await operator.succeeded(name, timeout=60)
    await eventually(lambda: _released(operator, task["status"]["workerName"]))
    await operator.kube.delete("workers", NS, task["status"]["workerName"])
    await eventually(lambda: _gone(operator, task["status"]["workerName"]))

    code, out, err = await cli.run("logs", name)
    assert code == 0, err
    assert "worker demo-1 is gone" in err
    assert "== transcript (from the status)" in out and "last message: done" in out
    code, out, err = await cli.run("logs", name, "-f")
    assert (code, err.strip()) == (2, "error: worker demo-1 is gone: nothing to follow")


async def _released(cluster: Cluster, worker: str) -> bool:
    return (await cluster.get("workers", worker))["status"].get("taskRef") is None


async def _gone(cluster: Cluster, worker: str) -> bool:
    return worker not in {w["metadata"]["name"] for w in await cluster.kube.list("workers", NS)}
