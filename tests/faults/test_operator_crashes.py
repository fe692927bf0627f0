"""The operator SIGKILLed at every step of a dispatch, and at random: each prompt lands once.

The operator is a real `orchestrator operator` process; the API keeps its state across its
deaths, as a cluster's would, and the machines (tmux servers, agents) live on. Pastes are
counted where they land: the demo agent saves every prompt it receives.
"""

from __future__ import annotations

import asyncio
import pathlib
import random
import subprocess

import pytest

from sprite_orchestrator import API_VERSION
from tests.conftest import NS, Cluster, eventually
from tests.faults.conftest import OperatorProcess
from tests.faults.test_worker_faults import processes_mentioning
from tests.operator.test_dispatch import assert_succeeded_on, conditions, home, received
from tests.ssh import sshd
from tests.ssh.conftest import ssh_pool
from tests.ssh.test_ssh_pools import condition_with

# Every step of one dispatch where the operator's state and the world's part ways, in the
# order a dispatch passes them (a new worker is provisioned for the task, then bound).
DISPATCH_STEPS = (
    "after-create",  # the machine made, the Worker's status not yet written
    "after-provision-prepare",
    "after-provision-clone",
    "after-provision-setup",
    "after-provision-agent",
    "after-provision-tmux",  # machine ready, Provisioned not yet written
    "after-bind",  # the Worker holds the task; the task does not know it yet
    "before-paste",
    "after-paste",  # pasted, Delivered not yet written
    "after-delivered",
    "after-finished",  # Succeeded written, the worker still holds the task
    "after-agent-restart",  # a fresh agent, the worker not yet released
)


@pytest.mark.timeout(300)  # thirteen operator starts on a busy machine
async def test_killed_at_every_step_of_a_dispatch_the_prompt_lands_once(
    cluster: Cluster, operator_process: OperatorProcess, demo_repo: pathlib.Path
) -> None:
    await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    prompt = "first task, survives twelve crashes"
    first = await cluster.task("demo", prompt)

    for step in DISPATCH_STEPS:
        operator_process.start(failpoints=step)
        await operator_process.killed_at(step)
    operator_process.start()

    task = await cluster.succeeded(first, timeout=60)
    assert_succeeded_on(task, "demo-1", prompt)
    await eventually(lambda: _released(cluster, "demo-1"), timeout=60)
    second = await cluster.task("demo", "second task, after the crashes")
    assert_succeeded_on(
        await cluster.succeeded(second, timeout=60), "demo-1", "second task, after the crashes"
    )
    assert received(cluster, "demo-1") == [prompt.encode(), b"second task, after the crashes"]
    assert operator_process.kills == len(DISPATCH_STEPS)
    assert [w["metadata"]["name"] for w in await cluster.kube.list("workers", "default")] == [
        "demo-1"
    ]
    assert [m.name for m in cluster.machines()] == ["demo-1"]  # no machine made twice


RANDOM_TASKS = 6
RANDOM_SEED = 20261125


@pytest.mark.timeout(300)
async def test_killed_at_random_times_every_prompt_lands_once(
    cluster: Cluster, operator_process: OperatorProcess, demo_repo: pathlib.Path
) -> None:
    """SIGKILL after a random 0.3-3 s of every run, restart at once, until all are done."""
    rng = random.Random(RANDOM_SEED)
    await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    # One task's agent fails: a crash must not turn its AgentError into anything else.
    texts = [f"task {i} demo:sleep=0.{rng.randint(1, 9)}" for i in range(RANDOM_TASKS - 1)]
    texts.append("the failing one demo:error")
    names = [await cluster.task("demo", text) for text in texts]

    async def all_finished() -> list[dict] | None:
        if not operator_process.alive():
            operator_process.start()
        tasks = [await cluster.get("agenttasks", n) for n in names]
        done = [t for t in tasks if t.get("status") and _ended(t)]
        return tasks if len(done) == len(tasks) else None

    for _ in range(8):  # eight random kills, then let it finish
        operator_process.start()
        await asyncio.sleep(rng.uniform(0.3, 3.0))
        operator_process.kill()
    finished = await eventually(all_finished, timeout=120, interval=0.5)

    pasted = received(cluster, "demo-1") + received(cluster, "demo-2")
    for task in finished:
        text = task["spec"]["prompt"]
        assert pasted.count(text.encode()) == 1, (text, pasted)
        ended = ("False", "AgentError") if "demo:error" in text else ("True", "AgentCompleted")
        assert conditions(task)["Succeeded"] == ended, task["status"]
        assert conditions(task)["Delivered"] == ("True", "PromptDelivered")
    assert len(pasted) == RANDOM_TASKS
    assert operator_process.kills == 8


def _ended(task: dict) -> bool:
    return conditions(task).get("Succeeded", ("Unknown",))[0] != "Unknown"


async def _released(cluster: Cluster, worker: str) -> bool:
    """The worker let go of its task and is Ready for the next one."""
    body = await cluster.get("workers", worker)
    status = body.get("status") or {}
    return not status.get("taskRef") and conditions(body).get("Ready", ("",))[0] == "True"


async def test_restarted_after_its_pool_was_removed_the_operator_gives_the_ssh_hosts_back(
    cluster: Cluster,
    operator_process: OperatorProcess,
    machines: sshd.Inventory,
    ssh_repo: pathlib.Path,
) -> None:
    operator_process.start()
    await ssh_pool(cluster, machines, ssh_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await cluster.condition("workers", "demo-1", "Ready", status="True", timeout=90)
    operator_process.stop()

    await cluster.remove_without_finalizer("workerpools", "demo")
    operator_process.start()  # it never saw the pool's spec: the Worker's record says where

    await eventually(lambda: _no_workers(cluster), timeout=90)
    first = machines.hosts[0]
    assert not first.claim.exists() and not (first.home / "demo").exists()
    assert first.tmux("list-sessions").returncode != 0


async def _no_workers(cluster: Cluster) -> bool:
    return not await cluster.kube.list("workers", NS)


async def test_a_remote_worker_whose_provider_is_unknown_is_kept_and_says_why(
    cluster: Cluster, operator_process: OperatorProcess
) -> None:
    worker = {
        "apiVersion": API_VERSION,
        "kind": "Worker",
        "metadata": {"name": "gone-1", "namespace": NS},
        "spec": {"pool": "gone"},  # made before Workers recorded their provider
    }
    await cluster.kube.create("workers", NS, worker)
    await cluster.kube.patch_status("workers", NS, "gone-1", {"machine": "ssh://dev@10.0.0.5:22"})
    operator_process.start()

    ready = await condition_with(
        cluster, "workers", "gone-1", "Ready", "MachineUnknown", timeout=90
    )

    assert ready["status"] == "False"
    assert "pool gone is gone" in ready["message"]
    assert "ssh://dev@10.0.0.5:22 cannot be destroyed" in ready["message"]
    kept = await cluster.get("workers", "gone-1")
    assert kept["metadata"]["deletionTimestamp"]  # deleting, held by its finalizer
    assert not cluster.machines()  # no Local machine was made up for it


async def test_killed_between_saving_the_work_and_destroying_the_machine_loses_nothing(
    cluster: Cluster, operator_process: OperatorProcess, demo_repo: pathlib.Path
) -> None:
    """A busy worker is deleted; the operator dies after its work is saved to wip/, before
    the machine is destroyed. Restarted, it destroys the machine: no orphan, the work kept."""
    await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await cluster.task("demo", "busy while deleted demo:sleep=60")
    operator_process.start(failpoints="before-destroy")
    await cluster.condition("agenttasks", name, "Delivered", status="True", timeout=90)
    machine = home(cluster, "demo-1").parent
    (machine / "home" / "demo" / "work.txt").write_text("uncommitted work\n")

    await cluster.kube.delete("workers", NS, "demo-1")
    await operator_process.killed_at("before-destroy")
    operator_process.start()

    await eventually(lambda: _gone(cluster, machine), timeout=90)
    saved = subprocess.run(
        ["git", "-C", str(demo_repo), "show", f"wip/{name}:work.txt"],
        capture_output=True,
        text=True,
    )
    assert saved.stdout == "uncommitted work\n", saved.stderr
    assert not processes_mentioning([str(machine)])
    assert operator_process.kills == 1


async def _gone(cluster: Cluster, machine: pathlib.Path) -> bool:
    return not machine.exists() and not await cluster.kube.list("workers", NS)
