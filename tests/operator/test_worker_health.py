"""Workers that fail or lose their agent say so in conditions, and recover where they can."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess

from sprite_orchestrator.cli import demo
from tests.conftest import NS, Cluster, eventually
from tests.operator.conftest import Start
from tests.operator.test_dispatch import _having, attach_argv, conditions, events


def repo_with_setup(root: pathlib.Path, script: str) -> pathlib.Path:
    """A demo repo whose committed setup script is `script`."""
    repo = demo.make_repo(root)
    (repo / "scripts" / "dev-setup.sh").write_text(script)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "commit", "-qam", "a new setup"], cwd=repo, env=env, check=True)
    return repo


def failing_repo(root: pathlib.Path) -> pathlib.Path:
    script = "#!/bin/bash\necho installing deps\necho 'mix: command not found' >&2\nexit 3\n"
    return repo_with_setup(root, script)


async def test_a_failing_setup_script_is_a_condition_with_its_output(
    operator: Cluster, tmp_path: pathlib.Path
) -> None:
    await operator.pool("demo", failing_repo(tmp_path / "bad"))
    name = await operator.task("demo", "anything")

    worker, provisioned = await operator.condition(
        "workers", "demo-1", "Provisioned", status="False"
    )

    assert provisioned["reason"] == "ProvisioningFailed"
    assert "setup" in provisioned["message"] and "mix: command not found" in provisioned["message"]
    assert conditions(worker)["Ready"][0] == "False"

    async def told() -> dict | None:  # the pool's next pass says why the task waits
        task = await operator.get("agenttasks", name)
        return task if conditions(task)["Scheduled"] == ("False", "WorkersFailing") else None

    assert conditions(await eventually(told))["Succeeded"][0] == "Unknown"
    assert "ProvisioningFailed" in await eventually(lambda: events(operator, "demo-1"))


async def test_an_idle_worker_whose_agent_died_gets_a_new_one(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await operator.condition("workers", "demo-1", "Ready", status="True")
    pid = await _agent_pid(operator)
    os.kill(pid, signal.SIGKILL)

    await eventually(lambda: _has_new_agent(operator, pid))
    await operator.condition("workers", "demo-1", "Ready", status="True")
    name = await operator.task("demo", "after the crash")
    assert conditions(await operator.succeeded(name))["Succeeded"] == ("True", "AgentCompleted")


async def _agent_pid(cluster: Cluster) -> int:
    tmux = await attach_argv(cluster)
    out = subprocess.run(
        [*tmux, "display", "-p", "-t", "demo-dev:1", "#{pane_pid} #{pane_dead}"],
        capture_output=True,
        text=True,
    ).stdout
    pid, dead = out.split()
    return int(pid) if dead == "0" else 0


async def _has_new_agent(cluster: Cluster, old: int) -> bool:
    pid = await _agent_pid(cluster)
    return pid not in (0, old)


async def test_a_hanging_setup_script_times_out(operator: Cluster, tmp_path: pathlib.Path) -> None:
    repo = repo_with_setup(tmp_path / "slow", "#!/bin/bash\necho warming up\nsleep 600\n")
    await operator.pool(
        "demo", repo, scaling={"minIdle": 1, "maxWorkers": 1}, provisioning={"timeoutSeconds": 2}
    )

    _, provisioned = await operator.condition("workers", "demo-1", "Provisioned", status="False")

    assert provisioned["reason"] == "ProvisioningTimedOut"
    assert "longer than 2s (provisioning.timeoutSeconds)" in provisioned["message"]
    assert "ProvisioningTimedOut" in await eventually(lambda: events(operator, "demo-1"))


async def test_a_worker_failing_provisioning_n_times_is_replaced(
    operator: Cluster, tmp_path: pathlib.Path
) -> None:
    attempts = tmp_path / "attempts"
    script = f"#!/bin/bash\ndate +%s.%N >> {attempts}\necho 'broken' >&2\nexit 3\n"
    repo = repo_with_setup(tmp_path / "bad", script)
    await operator.pool("demo", repo, provisioning={"maxFailures": 2})
    await operator.task("demo", "anything")

    first = await eventually(lambda: _failed(operator, 1))
    assert "attempt 1 of 2 failed, retrying" in conditions_of(first)["Provisioned"]["message"]

    async def replaced() -> dict | None:
        for worker in await operator.kube.list("workers", NS):
            if worker["metadata"]["uid"] != first["metadata"]["uid"]:
                return worker
        return None

    fresh = await eventually(replaced, timeout=60)
    assert fresh["metadata"]["name"].startswith("demo-")
    reasons = await eventually(lambda: _having(events(operator, "demo-1"), {"WorkerReplaced"}))
    assert reasons.count("ProvisioningFailed") >= 2
    first_run, second_run = [float(t) for t in attempts.read_text().split()][:2]
    assert second_run - first_run >= 5  # backed off 5 s, not looping hot

    async def old_gone() -> bool:  # its finalizer destroyed the machine, then it went
        uids = {w["metadata"]["uid"] for w in await operator.kube.list("workers", NS)}
        return first["metadata"]["uid"] not in uids

    await eventually(old_gone, timeout=30)


def conditions_of(body: dict) -> dict[str, dict]:
    return {x["type"]: x for x in body["status"]["conditions"]}


async def test_the_failure_count_survives_an_operator_crash(
    api: Cluster, start: Start, tmp_path: pathlib.Path
) -> None:
    attempts = tmp_path / "attempts"
    script = f"#!/bin/bash\necho attempt >> {attempts}\necho 'broken' >&2\nexit 3\n"
    await api.pool("demo", repo_with_setup(tmp_path / "bad", script))  # maxFailures: 3
    await api.task("demo", "anything")
    first = start("first", 100)
    old = await eventually(lambda: _failed(api, 1), timeout=60)

    first.kill()  # a crash: the count is all the next operator knows
    first.wait()
    start("second", 200)  # above the dead one, whose peering entry lingers for a minute

    async def replaced() -> dict | None:
        for worker in await api.kube.list("workers", NS):
            if worker["metadata"]["uid"] != old["metadata"]["uid"]:
                return worker
        return None

    await eventually(replaced, timeout=90)
    assert attempts.read_text().count("attempt") == 3  # one before the crash, two after


async def _failed(cluster: Cluster, count: int) -> dict | None:
    worker = await cluster.get("workers", "demo-1")
    return worker if (worker.get("status") or {}).get("provisionFailures") == count else None
