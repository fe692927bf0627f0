"""A worker's agent, tmux server or whole machine disappears under a task: a precise reason or
a retry per the task's policy, and no machine, tmux server or agent outlives its pool.

What tests/operator/test_worker_health.py and test_lifecycle.py already cover (a failing
setup script, an idle worker's agent killed, a delivered task's tmux server killed) is not
repeated here.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess

import pytest

from sprite_orchestrator.cli import demo
from sprite_orchestrator.providers.local import LocalProvider
from tests.conftest import NS, Cluster, eventually
from tests.faults.conftest import OperatorProcess
from tests.operator.test_dispatch import attach_argv, conditions, home, received


def succeeded(task: dict) -> tuple[str, str]:
    return conditions(task)["Succeeded"]


def message(task: dict) -> str:
    return next(x["message"] for x in task["status"]["conditions"] if x["type"] == "Succeeded")


async def agent_pid(cluster: Cluster) -> int:
    tmux = await attach_argv(cluster)
    out = subprocess.run(
        [*tmux, "display", "-p", "-t", "demo-dev:1", "#{pane_pid}"], capture_output=True, text=True
    ).stdout
    return int(out.strip())


async def test_the_agent_killed_mid_task_fails_it_agent_exited_and_the_worker_recovers(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "a long one demo:sleep=30")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    await eventually(lambda: _running(operator, name))

    os.kill(await agent_pid(operator), signal.SIGKILL)

    task = await operator.succeeded(name)
    assert succeeded(task) == ("False", "AgentExited")
    assert "the agent process exited" in message(task)
    after = await operator.task("demo", "the next one")
    assert succeeded(await operator.succeeded(after, timeout=60)) == ("True", "AgentCompleted")
    assert received(operator, "demo-1") == [b"a long one demo:sleep=30", b"the next one"]


async def _running(cluster: Cluster, name: str) -> bool:
    task = await cluster.get("agenttasks", name)
    return (task.get("status") or {}).get("agentState") == "agent:running"


async def test_the_machine_removed_mid_task_fails_it_worker_lost(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "a long one demo:sleep=30")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    machine = home(operator, "demo-1").parent
    tmux = await attach_argv(operator)

    while machine.exists():  # the disk goes first (the agent's hooks still write to it) ...
        shutil.rmtree(machine, ignore_errors=True)
    subprocess.run([*tmux, "kill-server"], check=False)  # ... then its processes

    task = await operator.succeeded(name, timeout=60)
    assert succeeded(task) == ("False", "WorkerLost")
    assert "demo-1" in message(task)
    after = await operator.task("demo", "on a fresh machine")
    assert succeeded(await operator.succeeded(after, timeout=60)) == ("True", "AgentCompleted")


async def test_a_worker_lost_before_the_paste_runs_the_task_once(
    cluster: Cluster, operator_process: OperatorProcess, demo_repo: pathlib.Path
) -> None:
    """The operator dies with the task bound but not pasted; the worker's tmux server dies
    too. The restarted operator provisions the worker again in place or requeues the task
    to a replacement (retries: 1): either way the prompt lands once and the task succeeds."""
    await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    prompt = "run me once after the worker is lost"
    name = await cluster.task("demo", prompt, retries=1)
    operator_process.start(failpoints="before-paste")
    await operator_process.killed_at("before-paste")
    tmux = await attach_argv(cluster)
    subprocess.run([*tmux, "kill-server"], check=True)

    operator_process.start()

    task = await cluster.succeeded(name, timeout=90)
    assert succeeded(task) == ("True", "AgentCompleted")
    assert task["status"]["attempts"] in (1, 2)  # in place, or once more elsewhere
    assert task["status"]["workerName"] == "demo-1"  # a replacement takes the freed name
    assert received(cluster, "demo-1") == [prompt.encode()]


def processes_mentioning(needles: list[str]) -> list[str]:
    """Every process on this host whose argv, working directory or environment names one of
    `needles` (a machine's directory, a tmux server's socket directory)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            seen = (
                args
                + " "
                + os.readlink(entry / "cwd")
                + " "
                + (entry / "environ").read_text(errors="replace")
            )
        except OSError:
            continue  # gone meanwhile
        if any(needle in seen for needle in needles):
            found.append(f"{entry.name} {args}")
    return found


async def test_deleting_a_pool_leaves_no_machine_tmux_server_or_agent(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 2, "maxWorkers": 3})
    busy = await operator.task("demo", "busy while the pool goes demo:sleep=30")
    await operator.condition("agenttasks", busy, "Delivered", status="True")
    await eventually(lambda: _ready_workers(operator, 2), timeout=60)
    root = operator.state_dir / "local" / NS / "demo"
    machines = await LocalProvider(root).list()
    assert len(machines) == 3
    socket_dirs = [str(pathlib.Path(m.attach[2]).parent.parent) for m in machines]
    needles = [str(root), *socket_dirs]
    before = processes_mentioning(needles)
    assert len([p for p in before if "tmux" in p]) >= 3, before  # a server per machine

    await operator.kube.delete("workerpools", NS, "demo")

    async def gone() -> bool:
        left = await operator.kube.list("workerpools", NS) + await operator.kube.list("workers", NS)
        return not left and not processes_mentioning(needles)

    await eventually(gone, timeout=60)
    assert not root.exists() or not list(root.iterdir())
    assert not any(pathlib.Path(d).exists() for d in socket_dirs)
    task = await operator.get("agenttasks", busy)
    assert task["status"]["workBranch"] == f"wip/{busy}"  # its work was saved first


async def _ready_workers(cluster: Cluster, count: int) -> bool:
    workers = await cluster.kube.list("workers", NS)
    return sum(1 for w in workers if conditions(w).get("Ready", ("",))[0] == "True") >= count


def _mount_tmpfs(path: pathlib.Path, size: str) -> str | None:
    """Mount a small tmpfs at `path`; why not, if it cannot be done here."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "a full disk is faked with a small tmpfs, which needs root"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


def big_repo(root: pathlib.Path) -> pathlib.Path:
    """The demo repo with 4 MB that do not compress: it cannot be cloned onto 2 MB."""
    repo = demo.make_repo(root)
    (repo / "assets.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", "assets"], cwd=repo, env=env, check=True)
    return repo


async def test_a_full_disk_during_provisioning_is_a_condition_with_the_error(
    operator: Cluster, tmp_path: pathlib.Path
) -> None:
    disk = operator.state_dir / "local" / NS / "full"
    reason = _mount_tmpfs(disk, "2m")
    if reason is not None:
        pytest.skip(reason)
    try:
        await operator.pool(
            "full", big_repo(tmp_path / "big"), scaling={"minIdle": 1, "maxWorkers": 1}
        )
        name = await operator.task("full", "never delivered")

        _, found = await operator.condition(
            "workers", "full-1", "Provisioned", status="False", timeout=60
        )

        assert found["reason"] == "ProvisioningFailed", found
        assert "clone" in found["message"] and "No space left on device" in found["message"]
        task = await operator.get("agenttasks", name)
        assert conditions(task)["Succeeded"][0] == "Unknown"  # it waits; nothing was pasted
        assert conditions(task)["Delivered"][0] == "False"
    finally:
        await operator.kube.delete("workerpools", NS, "full")
        await eventually(lambda: _no_workers(operator), timeout=60)
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def _no_workers(cluster: Cluster) -> bool:
    return not await cluster.kube.list("workers", NS)
