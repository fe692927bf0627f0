"""Pools and tasks through their whole life: timeouts, cancel, TTL, reaping, loss, work saved."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import aiohttp
import pytest

from sprite_orchestrator.cli import demo
from sprite_orchestrator.handlers.runtime import parse_iso
from tests.conftest import NS, Clock, Cluster, eventually
from tests.operator.test_dispatch import attach_argv, conditions, home, received


def git(repo: pathlib.Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def remote(tmp_path: pathlib.Path) -> pathlib.Path:
    """A bare repo as the pool's remote, so wip branches can be pushed and checked."""
    src = demo.make_repo(tmp_path / "src")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    return bare


async def agent_writes(cluster: Cluster, name: str, text: str, worker: str = "demo-1") -> None:
    """Play the agent: an uncommitted file in the worker's repo while the task runs."""
    await cluster.condition("agenttasks", name, "Delivered", status="True")
    (home(cluster, worker) / "demo" / "notes.txt").write_text(text)


def succeeded(task: dict) -> tuple[str, str]:
    return conditions(task)["Succeeded"]


async def test_timeout_stops_the_agent_saves_the_work_and_frees_the_worker(
    operator: Cluster, remote: pathlib.Path, clock: Clock
) -> None:
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "a long one demo:sleep=60", timeoutSeconds=600)
    await agent_writes(operator, name, "half done\n")
    clock.advance(601)  # however long provisioning took, the deadline passes now

    task = await operator.succeeded(name, timeout=40)

    assert succeeded(task) == ("False", "TimedOut")
    assert task["status"]["workBranch"] == f"wip/{name}"
    assert git(remote, "show", f"wip/{name}:notes.txt") == "half done"
    assert git(remote, "rev-parse", f"wip/{name}") == task["status"]["workCommit"]
    assert not (home(operator, "demo-1") / "demo" / "notes.txt").exists()  # reset for the next
    after = await operator.task("demo", "next")
    assert succeeded(await operator.succeeded(after)) == ("True", "AgentCompleted")


async def test_a_task_that_waits_too_long_times_out_unscheduled(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    busy = await operator.task("demo", "hold the worker demo:sleep=60")
    await operator.condition("agenttasks", busy, "Delivered", status="True")
    waiting = await operator.task("demo", "never gets a worker", timeoutSeconds=2)

    task = await operator.succeeded(waiting, timeout=20)

    assert succeeded(task) == ("False", "TimedOut")
    assert conditions(task)["Scheduled"][0] == "False" and "workerName" not in task["status"]


async def test_cancel_by_spec_saves_the_work(operator: Cluster, remote: pathlib.Path) -> None:
    await operator.pool("demo", remote)
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "cancelled work\n")

    await operator.kube.patch("agenttasks", NS, name, {"spec": {"cancelled": True}})
    task = await operator.succeeded(name)

    assert succeeded(task) == ("False", "Cancelled")
    assert git(remote, "show", f"wip/{name}:notes.txt") == "cancelled work"


async def test_cancel_by_deletion_saves_the_work_before_the_task_goes(
    operator: Cluster, remote: pathlib.Path
) -> None:
    await operator.pool("demo", remote)
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "deleted but kept\n")

    await operator.kube.delete("agenttasks", NS, name)

    async def gone() -> bool:
        return name not in {
            t["metadata"]["name"] for t in await operator.kube.list("agenttasks", NS)
        }

    await eventually(gone, timeout=30)
    assert git(remote, "show", f"wip/{name}:notes.txt") == "deleted but kept"
    worker, _ = await operator.condition("workers", "demo-1", "Ready", status="True")
    assert "taskRef" not in worker["status"] or worker["status"]["taskRef"] is None


async def test_ttl_deletes_a_finished_task(operator: Cluster, demo_repo: pathlib.Path) -> None:
    await operator.pool("demo", demo_repo)
    keep = await operator.task("demo", "stay")
    name = await operator.task("demo", "go away", ttlSecondsAfterFinished=1)
    await operator.succeeded(name)

    async def gone() -> bool:
        names = {t["metadata"]["name"] for t in await operator.kube.list("agenttasks", NS)}
        return name not in names and keep in names

    await eventually(gone, timeout=20)


async def test_ttl_deletes_a_finished_task_that_has_no_pool(operator: Cluster) -> None:
    name = await operator.task("nope", "no such pool", ttlSecondsAfterFinished=1)
    task = await operator.succeeded(name)
    assert succeeded(task) == ("False", "PoolNotFound")

    async def gone() -> bool:
        return name not in {
            t["metadata"]["name"] for t in await operator.kube.list("agenttasks", NS)
        }

    await eventually(gone, timeout=20)


async def test_the_30_minute_rule_saves_work_while_the_agent_runs(
    operator: Cluster, remote: pathlib.Path, clock: Clock
) -> None:
    await operator.pool("demo", remote)
    name = await operator.task("demo", "long work demo:sleep=60")
    await agent_writes(operator, name, "thirty minutes in\n")

    clock.advance(1801)  # the default snapshot.intervalSeconds is 1800

    async def saved() -> dict | None:
        task = await operator.get("agenttasks", name)
        return task if task["status"].get("workCommit") else None

    task = await eventually(saved, timeout=20)
    assert succeeded(task)[0] == "Unknown"  # still running
    assert git(remote, "show", f"wip/{name}:notes.txt") == "thirty minutes in"
    assert (home(operator, "demo-1") / "demo" / "notes.txt").exists()  # the agent's tree kept


async def test_idle_workers_are_reaped_to_zero_and_come_back(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool(
        "demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2, "idleTimeoutSeconds": 1}
    )
    first = await operator.task("demo", "one")
    await operator.succeeded(first)

    async def no_workers() -> bool:
        return not await operator.kube.list("workers", NS)

    await eventually(no_workers, timeout=30)
    assert not (operator.state_dir / "local" / NS / "demo" / "demo-1").exists()

    async def counted_zero() -> bool:  # the pool's next pass sees the worker gone
        pool = await operator.get("workerpools", "demo")
        return pool["status"]["replicas"] == 0

    await eventually(counted_zero, timeout=10)

    again = await operator.task("demo", "two")
    task = await operator.succeeded(again)
    assert succeeded(task)[0] == "True" and task["status"]["workerName"] == "demo-1"


async def test_min_idle_warm_and_max_lowered_converge(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 3, "maxWorkers": 3})

    async def counts(ready: int, replicas: int) -> dict | None:
        pool = await operator.get("workerpools", "demo")
        status = pool.get("status") or {}
        ok = (status.get("readyReplicas"), status.get("replicas")) == (ready, replicas)
        return pool if ok else None

    pool = await eventually(lambda: counts(3, 3), timeout=40)
    assert conditions(pool)["Ready"] == ("True", "WorkersReady")
    assert len(await operator.kube.list("workers", NS)) == 3

    await operator.kube.patch(
        "workerpools", NS, "demo", {"spec": {"scaling": {"minIdle": 1, "maxWorkers": 1}}}
    )

    await eventually(lambda: counts(1, 1), timeout=40)
    names = [w["metadata"]["name"] for w in await operator.kube.list("workers", NS)]
    assert names == ["demo-1"]


async def test_a_lost_tmux_server_fails_a_delivered_task_and_replaces_the_worker(
    operator: Cluster, remote: pathlib.Path
) -> None:
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "written before tmux died\n")
    old = (await operator.get("workers", "demo-1"))["metadata"]["uid"]
    tmux = await attach_argv(operator)

    subprocess.run([*tmux, "kill-server"], check=True)
    task = await operator.succeeded(name, timeout=30)

    assert succeeded(task) == ("False", "WorkerLost")
    message = next(c["message"] for c in task["status"]["conditions"] if c["type"] == "Succeeded")
    assert "worker demo-1 was lost" in message

    async def old_gone() -> bool:
        return all(w["metadata"]["uid"] != old for w in await operator.kube.list("workers", NS))

    await eventually(old_gone, timeout=30)  # its machine destroyed with it
    # the machine was still there: its work was saved before it was destroyed
    assert git(remote, "show", f"wip/{name}:notes.txt") == "written before tmux died"
    assert await eventually(lambda: _reason(operator, "demo-1", old, "WorkerLost"))
    after = await operator.task("demo", "on the replacement")
    task = await operator.succeeded(after, timeout=40)
    assert succeeded(task) == ("True", "AgentCompleted")
    assert (await operator.get("workers", task["status"]["workerName"]))["metadata"]["uid"] != old


async def test_priority_goes_first(operator: Cluster, demo_repo: pathlib.Path) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    busy = await operator.task("demo", "first demo:sleep=3")
    await operator.condition("agenttasks", busy, "Delivered", status="True")
    low = await operator.task("demo", "low")
    high = await operator.task("demo", "high", priority=10)

    _, waiting = await operator.condition("agenttasks", low, "Scheduled", status="False")
    assert "it waits its turn" in waiting["message"]
    low_task, high_task = await operator.succeeded(low), await operator.succeeded(high)
    assert high_task["status"]["deliveredTime"] <= low_task["status"]["deliveredTime"]


async def test_tasks_created_in_one_second_are_served_in_creation_order(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    busy = await operator.task("demo", "hold the worker demo:sleep=2")
    await operator.condition("agenttasks", busy, "Delivered", status="True")
    names = [await operator.task("demo", f"queued {i}") for i in range(3)]

    done = [await operator.succeeded(name, timeout=60) for name in names]

    assert all(succeeded(task) == ("True", "AgentCompleted") for task in done)
    assert received(operator, "demo-1")[1:] == [b"queued 0", b"queued 1", b"queued 2"]
    queued = [task["status"]["queuedTime"] for task in done]
    assert queued == sorted(queued)


async def test_idle_reaping_never_takes_a_busy_worker(
    operator: Cluster, demo_repo: pathlib.Path, clock: Clock
) -> None:
    await operator.pool(
        "demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1, "idleTimeoutSeconds": 1}
    )
    name = await operator.task("demo", "long work demo:sleep=4")
    await operator.condition("agenttasks", name, "Delivered", status="True")

    clock.advance(3600)  # far past the idle timeout, while the worker is busy
    task = await operator.succeeded(name, timeout=40)

    # a reaped worker would have ended the task WorkerLost
    assert succeeded(task) == ("True", "AgentCompleted")
    assert task["status"]["workerName"] == "demo-1"


def hold_delivery(cluster: Cluster, worker: str = "demo-1") -> None:
    """Make the worker's agent look as if it had just been restarted: a bound task waits
    undelivered (the delivery reports AgentNotReady and is tried again)."""
    status = home(cluster, worker) / ".sprite-orchestrator" / "status.json"
    status.write_text('{"state":"starting","event":"OrchestratorReset"}\n')


async def test_a_tmux_server_lost_before_delivery_is_provisioned_again_in_place(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    """Nothing was delivered and the machine is still there (a cold sprite, a rebooted
    host): the same worker gets its session back and the task goes on there, once."""
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    old, _ = await operator.condition("workers", "demo-1", "Ready", status="True")
    hold_delivery(operator)
    name = await operator.task("demo", "delivered after all", retries=0)
    await operator.condition("agenttasks", name, "Scheduled", status="True")
    tmux = await attach_argv(operator)

    subprocess.run([*tmux, "kill-server"], check=True)
    task = await operator.succeeded(name, timeout=60)

    assert succeeded(task) == ("True", "AgentCompleted")
    assert task["status"]["attempts"] == 1  # no retry was spent: nothing was lost
    worker = await operator.get("workers", "demo-1")
    assert worker["metadata"]["uid"] == old["metadata"]["uid"]
    assert received(operator, "demo-1") == [b"delivered after all"]


async def event_messages(cluster: Cluster, name: str, uid: str | None = None) -> dict[str, str]:
    """The events of one object (of that uid, if given) as {reason: message}."""
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        items = (await response.json())["items"]
    return {
        e["reason"]: e["message"]
        for e in items
        if e["involvedObject"]["name"] == name and uid in (None, e["involvedObject"].get("uid"))
    }


async def _reason(cluster: Cluster, name: str, uid: str | None, reason: str) -> str | None:
    """The message of the object's event with `reason`, once it is posted."""
    return (await event_messages(cluster, name, uid)).get(reason)


async def lose_the_machine_before_delivery(
    cluster: Cluster, repo: pathlib.Path, prompt: str, *, retries: int
) -> tuple[str, str]:
    """A warm worker takes a task whose delivery is held, then its machine vanishes;
    returns the task's name and the lost Worker's uid."""
    await cluster.pool("demo", repo, scaling={"minIdle": 1, "maxWorkers": 1})
    old, _ = await cluster.condition("workers", "demo-1", "Ready", status="True")
    hold_delivery(cluster)
    name = await cluster.task("demo", prompt, retries=retries)
    await cluster.condition("agenttasks", name, "Scheduled", status="True")
    machine, tmux = home(cluster, "demo-1").parent, await attach_argv(cluster)
    # No further delivery is tried (window 1 names no state), and none is in flight once a
    # pass that read the new name ended (it writes the Worker's agentState last): a machine
    # removed under a running deliver.sh would be a different fault.
    subprocess.run([*tmux, "rename-window", "-t", "demo-dev:1", "held"], check=True)
    await eventually(lambda: _no_agent_state(cluster), timeout=30)
    while machine.exists():  # the disk goes first (the agent's hooks still write to it) ...
        shutil.rmtree(machine, ignore_errors=True)
    subprocess.run([*tmux, "kill-server"], check=False)  # ... then its processes
    return name, str(old["metadata"]["uid"])


async def _true(value: bool) -> bool:
    return value


async def _no_agent_state(cluster: Cluster) -> bool:
    worker = await cluster.get("workers", "demo-1")
    return not (worker.get("status") or {}).get("agentState")


async def test_an_undelivered_task_is_retried_once_on_a_new_worker_when_its_machine_is_lost(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    prompt = "run me once on the replacement"
    name, old = await lose_the_machine_before_delivery(operator, demo_repo, prompt, retries=1)

    task = await operator.succeeded(name, timeout=60)

    assert succeeded(task) == ("True", "AgentCompleted")
    assert task["status"]["attempts"] == 2
    worker = await operator.get("workers", task["status"]["workerName"])
    assert worker["metadata"]["uid"] != old
    assert received(operator, worker["metadata"]["name"]) == [prompt.encode()]
    told = await eventually(lambda: _reason(operator, name, None, "Requeued"))
    assert "worker demo-1 was lost" in told and "retrying (attempt 2 of 2)" in told
    lost = await eventually(lambda: _reason(operator, "demo-1", old, "WorkerLost"))
    assert "does not exist" in lost and "replaced" in lost


async def test_an_undelivered_task_without_retries_fails_worker_lost_when_its_machine_is_lost(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    name, old = await lose_the_machine_before_delivery(operator, demo_repo, "never", retries=0)

    task = await operator.succeeded(name, timeout=60)

    assert succeeded(task) == ("False", "WorkerLost")
    assert task["status"]["attempts"] == 1
    message = next(c["message"] for c in task["status"]["conditions"] if c["type"] == "Succeeded")
    assert "worker demo-1 was lost" in message
    assert await eventually(lambda: _reason(operator, "demo-1", old, "WorkerLost"))


async def test_a_machine_gone_under_a_delivered_task_fails_it_and_replaces_the_worker(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60", retries=3)
    await operator.condition("agenttasks", name, "Delivered", status="True")
    old = (await operator.get("workers", "demo-1"))["metadata"]["uid"]
    # the agent's last hook before it works has run: none writes under the old path later
    status = home(operator, "demo-1") / ".sprite-orchestrator" / "status.json"
    await eventually(lambda: _true('"event":"PostToolUse"' in status.read_text()))

    machine = home(operator, "demo-1")
    machine.rename(machine.with_name("gone"))  # the provider no longer finds the machine
    task = await operator.succeeded(name, timeout=30)

    assert succeeded(task) == ("False", "WorkerLost")  # delivered: never silently re-run
    message = next(c["message"] for c in task["status"]["conditions"] if c["type"] == "Succeeded")
    assert "worker demo-1 was lost" in message and "does not exist" in message

    async def old_gone() -> bool:
        return all(w["metadata"]["uid"] != old for w in await operator.kube.list("workers", NS))

    await eventually(old_gone, timeout=30)
    after = await operator.task("demo", "on the replacement")
    task = await operator.succeeded(after, timeout=40)
    assert succeeded(task) == ("True", "AgentCompleted")
    assert (await operator.get("workers", task["status"]["workerName"]))["metadata"]["uid"] != old


async def test_a_workers_idle_clock_restarts_when_it_is_bound(
    operator: Cluster, demo_repo: pathlib.Path, clock: Clock
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await operator.succeeded(await operator.task("demo", "first"))
    idle_since = await eventually(lambda: _idle_since(operator))

    clock.advance(600)
    name = await operator.task("demo", "second demo:sleep=60")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    busy = await operator.get("workers", "demo-1")
    pool = await eventually(lambda: _counted(operator, busy=1))
    _, ready = await operator.condition("workerpools", "demo", "Ready", status="False")
    assert ready["reason"] == "AllBusy"  # minIdle 1 unmet, but nothing is provisioning
    assert ready["message"] == (
        "all 1 workers are busy (maxWorkers 1); 0 idle of 1 wanted, none can be added"
    )
    await operator.kube.patch("agenttasks", NS, name, {"spec": {"cancelled": True}})
    await operator.succeeded(name)

    assert busy["status"].get("idleSinceTime") is None  # bound: not idle at all
    assert (pool["status"]["replicas"], pool["status"]["readyReplicas"]) == (1, 0)
    again = await eventually(lambda: _idle_since(operator, after=idle_since))
    assert parse_iso(again) - parse_iso(idle_since) >= 600  # counted from the second release


async def _idle_since(cluster: Cluster, after: str | None = None) -> str | None:
    status = (await cluster.get("workers", "demo-1")).get("status") or {}
    since = status.get("idleSinceTime")
    return since if since and since != after and not status.get("taskRef") else None


async def _counted(cluster: Cluster, *, busy: int) -> dict | None:
    pool = await cluster.get("workerpools", "demo")
    return pool if (pool.get("status") or {}).get("busyReplicas") == busy else None


def lock_the_wip_branch(cluster: Cluster, task: str) -> pathlib.Path:
    """A stale ref lock: git cannot update wip/<task>, so the work cannot be saved."""
    lock = home(cluster, "demo-1") / "demo" / ".git" / "refs" / "heads" / "wip" / f"{task}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    return lock


async def _not_saved(cluster: Cluster) -> dict | None:
    worker = await cluster.get("workers", "demo-1")
    ready = next(x for x in worker["status"]["conditions"] if x["type"] == "Ready")
    return ready if ready["reason"] == "WorkNotSaved" else None


async def test_a_worker_whose_work_cannot_be_saved_keeps_its_machine_until_it_is(
    operator: Cluster, remote: pathlib.Path
) -> None:
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "never lost\n")
    lock = lock_the_wip_branch(operator, name)
    uid = (await operator.get("workers", "demo-1"))["metadata"]["uid"]

    await operator.kube.delete("workers", NS, "demo-1")

    ready = await eventually(lambda: _not_saved(operator), timeout=30)
    assert (
        ready["status"] == "False" and f"the work of task {name} could not be" in ready["message"]
    )
    assert "update-ref" in ready["message"]
    assert home(operator, "demo-1").is_dir()  # the machine, and the work on it, kept
    assert await eventually(lambda: _reason(operator, "demo-1", uid, "WorkNotSaved"))

    lock.unlink()  # the retry (after 5 s of backoff) saves it, then the machine goes

    async def gone() -> bool:
        return all(w["metadata"]["uid"] != uid for w in await operator.kube.list("workers", NS))

    await eventually(gone, timeout=60)
    assert git(remote, "show", f"wip/{name}:notes.txt") == "never lost"


async def test_a_reset_whose_work_cannot_be_saved_waits_for_the_save(
    operator: Cluster, remote: pathlib.Path
) -> None:
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "kept through a reset\n")
    lock = lock_the_wip_branch(operator, name)

    reset = {"metadata": {"annotations": {"orchestrator.dev/reset-requested": "now"}}}
    await operator.kube.patch("workers", NS, "demo-1", reset)

    await eventually(lambda: _not_saved(operator), timeout=30)
    assert (home(operator, "demo-1") / "demo" / "notes.txt").read_text() == "kept through a reset\n"
    assert succeeded(await operator.get("agenttasks", name))[0] == "Unknown"

    lock.unlink()
    task = await operator.succeeded(name, timeout=60)

    assert succeeded(task) == ("False", "WorkerReset")
    assert git(remote, "show", f"wip/{name}:notes.txt") == "kept through a reset"


async def test_a_queued_task_cancelled_by_spec_ends_cancelled_unrun(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    busy = await operator.task("demo", "hold the worker demo:sleep=3")
    await operator.condition("agenttasks", busy, "Delivered", status="True")
    queued = await operator.task("demo", "never run")
    await operator.condition("agenttasks", queued, "Scheduled", status="False")

    await operator.kube.patch("agenttasks", NS, queued, {"spec": {"cancelled": True}})
    task = await operator.succeeded(queued)

    assert succeeded(task) == ("False", "Cancelled")
    assert conditions(task)["Scheduled"] == ("False", "Cancelled")
    assert not task["status"].get("workerName") and task["status"]["attempts"] == 0
    await operator.succeeded(busy, timeout=40)
    after = await operator.task("demo", "the next one")
    await operator.succeeded(after, timeout=40)
    assert received(operator, "demo-1") == [b"hold the worker demo:sleep=3", b"the next one"]


async def test_min_idle_raised_on_a_live_pool_warms_that_many(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 3})
    await operator.succeeded(await operator.task("demo", "one"))
    await operator.condition("workers", "demo-1", "Ready", status="True")  # released, idle

    scaling = {"spec": {"scaling": {"minIdle": 2}}}
    await operator.kube.patch("workerpools", NS, "demo", scaling)

    async def two_ready() -> dict | None:
        pool = await operator.get("workerpools", "demo")
        status = pool.get("status") or {}
        return pool if (status.get("readyReplicas"), status.get("replicas")) == (2, 2) else None

    pool = await eventually(two_ready, timeout=60)
    assert conditions(pool)["Ready"] == ("True", "WorkersReady")
    assert pool["status"]["observedGeneration"] == pool["metadata"]["generation"]


async def test_a_worker_is_reset_to_the_pools_ref_between_tasks(
    operator: Cluster, remote: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    src = tmp_path / "release"
    subprocess.run(["git", "clone", "-q", str(remote), str(src)], check=True)
    git(src, "checkout", "-q", "-b", "release")
    (src / "RELEASE").write_text("the release branch\n")
    git(src, "add", "RELEASE")
    git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release")
    git(src, "push", "-q", "origin", "release")
    release = git(remote, "rev-parse", "release")
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    await operator.kube.patch("workerpools", NS, "demo", {"spec": {"repo": {"ref": "release"}}})
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "on a branch of its own\n")
    worktree = home(operator, "demo-1") / "demo"
    git(worktree, "checkout", "-q", "-b", "agent-branch")

    await operator.kube.patch("agenttasks", NS, name, {"spec": {"cancelled": True}})
    await operator.succeeded(name)
    await operator.condition("workers", "demo-1", "Ready", status="True")

    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "release"
    assert git(worktree, "rev-parse", "HEAD") == release
    assert git(worktree, "status", "--porcelain") == ""
    assert (worktree / "RELEASE").exists() and not (worktree / "notes.txt").exists()
    assert git(remote, "show", f"wip/{name}:notes.txt") == "on a branch of its own"
