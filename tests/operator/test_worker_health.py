"""Workers that fail or lose their agent say so in conditions, and recover where they can."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess

from sprite_orchestrator.cli import demo
from tests.conftest import Cluster, eventually
from tests.operator.test_dispatch import attach_argv, conditions


def failing_repo(root: pathlib.Path) -> pathlib.Path:
    repo = demo.make_repo(root)
    script = repo / "scripts" / "dev-setup.sh"
    script.write_text(
        "#!/bin/bash\necho installing deps\necho 'mix: command not found' >&2\nexit 3\n"
    )
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "commit", "-qam", "break setup"], cwd=repo, env=env, check=True)
    return repo


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
    task = await operator.get("agenttasks", name)
    assert conditions(task)["Scheduled"] == ("False", "WaitingForWorker")
    assert conditions(task)["Succeeded"][0] == "Unknown"


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
