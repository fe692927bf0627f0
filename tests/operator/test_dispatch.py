"""The walking skeleton end to end: apply a pool and a task, the real operator, real tmux."""

from __future__ import annotations

import pathlib
import subprocess
import threading
import uuid
from typing import Any

import aiohttp
import pytest

from sprite_orchestrator.core import prompts
from sprite_orchestrator.handlers.cache import Tasks, Workers
from sprite_orchestrator.handlers.runtime import Runtime
from tests.conftest import NS, Cluster, eventually


def home(cluster: Cluster, worker: str, pool: str = "demo") -> pathlib.Path:
    return cluster.state_dir / "local" / NS / pool / worker / "home"


def received(cluster: Cluster, worker: str) -> list[bytes]:
    """What the demo agent on the worker got, one file per paste."""
    folder = home(cluster, worker) / ".sprite-orchestrator" / "demo-agent" / "prompts"
    files = sorted(folder.glob("*.txt"), key=lambda p: int(p.stem)) if folder.exists() else []
    return [p.read_bytes() for p in files]


async def events(cluster: Cluster, name: str) -> list[str]:
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        items = (await response.json())["items"]
    return [e["reason"] for e in items if e["involvedObject"]["name"] == name]


def conditions(body: dict) -> dict[str, tuple[str, str]]:
    return {x["type"]: (x["status"], x["reason"]) for x in body["status"]["conditions"]}


def assert_succeeded_on(task: dict, worker: str, prompt: str) -> None:
    """What a user sees of a task that ran once, on `worker`, to success."""
    status = task["status"]
    assert conditions(task) == {
        "Scheduled": ("True", "Scheduled"),
        "Delivered": ("True", "PromptDelivered"),
        "NeedsInput": ("False", "AgentCompleted"),
        "Succeeded": ("True", "AgentCompleted"),
    }
    assert status["workerName"] == worker
    assert status["agentState"] == "agent:completed"
    assert status["promptSha256"] == prompts.sha256(prompts.encode(prompt))
    assert status["attempts"] == 1
    assert status["deliveredTime"] and status["startTime"] and status["completionTime"]


async def test_a_task_runs_on_a_new_worker_and_ends_succeeded(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo)
    prompt = "fix the authentication bug"
    name = await operator.task("demo", prompt)

    task = await operator.succeeded(name)

    assert_succeeded_on(task, "demo-1", prompt)
    status = task["status"]
    assert uuid.UUID(status["sessionId"])  # the agent's fresh session for this task
    assert received(operator, "demo-1") == [prompt.encode()]

    worker = await operator.get("workers", "demo-1")
    assert worker["spec"] == {"pool": "demo"}
    assert worker["metadata"]["ownerReferences"][0]["name"] == "demo"
    assert conditions(worker)["Provisioned"] == ("True", "Provisioned")
    assert worker["status"]["machine"]

    repo = home(operator, "demo-1") / "demo"
    assert (repo / "README.md").exists() and (repo / "scripts" / "dev-setup.sh").exists()
    log = (home(operator, "demo-1") / ".sprite-orchestrator" / "provision.log").read_text()
    assert "Setting up the demo environment..." in log and "✅ Ready" in log

    assert "TaskScheduled" in await eventually(lambda: events(operator, name))
    reasons = await eventually(
        lambda: _having(events(operator, name), {"PromptDelivered", "AgentCompleted"})
    )
    assert {"TaskScheduled", "PromptDelivered", "AgentCompleted"} <= set(reasons)
    assert "Provisioned" in await eventually(lambda: events(operator, "demo-1"))
    assert "WorkerCreated" in await eventually(lambda: events(operator, "demo"))


async def _having(coro, wanted: set[str]) -> list[str] | None:
    reasons = await coro
    return reasons if wanted <= set(reasons) else None


async def test_tmux_session_has_the_seed_windows(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    worker, _ = await operator.condition("workers", "demo-1", "Ready", status="True")
    assert pathlib.Path(worker["status"]["machine"]).is_dir()
    machine = await attach_argv(operator)
    listed = subprocess.run(
        [*machine, "list-windows", "-t", "demo-dev", "-F", "#{window_index} #{window_name}"],
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, (machine, listed.stderr)
    out = listed.stdout.split("\n")
    assert out[:2] == ["0 shell", "1 agent:waiting"]


async def attach_argv(cluster: Cluster) -> list[str]:
    from sprite_orchestrator.providers.local import LocalProvider

    provider = LocalProvider(cluster.state_dir / "local" / NS / "demo")
    machines = {m.name: m for m in await provider.list()}
    return list(machines["demo-1"].attach)


NASTY = (
    "quotes ' \" `backticks` $HOME $(rm -rf /) ; && || # #{session_name} #[fg=red] "
    "tab\there CRLF\r\nunicode: ünïcödé 日本語 emoji 👩‍💻 combining é ESC\x1b[201~ after "
)
# 100 KB of everything above, and 5,000-character lines.
BIG_PROMPT = (NASTY * 300 + ("x" * 5000 + "\n") * 4)[:100_000]


async def test_a_100kb_prompt_arrives_byte_for_byte(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo)
    prompt = BIG_PROMPT
    name = await operator.task("demo", prompt)

    task = await operator.succeeded(name, timeout=60)

    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    expected = prompts.encode(prompt)
    assert b"\x1b" not in expected and b"\r" not in expected
    assert received(operator, "demo-1") == [expected]
    assert task["status"]["promptSha256"] == prompts.sha256(expected)


async def test_one_worker_serves_two_tasks_in_turn(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    first = await operator.task("demo", "first task demo:sleep=4")
    await operator.condition("agenttasks", first, "Delivered")
    second = await operator.task("demo", "second task")

    _, scheduled = await operator.condition("agenttasks", second, "Scheduled")
    assert scheduled["status"] == "False" and scheduled["reason"] == "PoolExhausted"
    assert "busy (maxWorkers); it waits its turn" in scheduled["message"]

    one = await operator.succeeded(first)
    two = await operator.succeeded(second, timeout=40)
    assert conditions(one)["Succeeded"][0] == conditions(two)["Succeeded"][0] == "True"
    assert one["status"]["workerName"] == two["status"]["workerName"] == "demo-1"
    assert received(operator, "demo-1") == [b"first task demo:sleep=4", b"second task"]


async def test_three_tasks_and_max_two_workers_create_two_workers_only(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    names = [await operator.task("demo", f"task {i} demo:sleep=2") for i in range(3)]

    done = [await operator.succeeded(n, timeout=60) for n in names]

    assert all(conditions(t)["Succeeded"][0] == "True" for t in done)
    workers = await operator.kube.list("workers", NS)
    assert sorted(w["metadata"]["name"] for w in workers) == ["demo-1", "demo-2"]
    assert {t["status"]["workerName"] for t in done} == {"demo-1", "demo-2"}


async def test_invalid_tasks_fail_with_a_reason_and_the_next_one_runs(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo)
    unknown = await operator.task("nope", "hello")
    empty = await operator.task("demo", "  \x1b\n ")
    missing = await operator.task("demo", None)

    for name, reason, words in [
        (unknown, "PoolNotFound", "WorkerPool nope not found"),
        (empty, "InvalidSpec", "prompt is empty"),
        (missing, "InvalidSpec", "prompt is empty"),
    ]:
        task = await operator.succeeded(name)
        found = next(x for x in task["status"]["conditions"] if x["type"] == "Succeeded")
        assert (found["status"], found["reason"]) == ("False", reason)
        assert words in found["message"]

    good = await operator.task("demo", "a valid task")
    assert conditions(await operator.succeeded(good))["Succeeded"] == ("True", "AgentCompleted")


async def test_an_agent_error_fails_the_task(operator: Cluster, demo_repo: pathlib.Path) -> None:
    await operator.pool("demo", demo_repo)
    name = await operator.task("demo", "break please demo:error")

    task = await operator.succeeded(name)

    assert conditions(task)["Succeeded"] == ("False", "AgentError")
    assert task["status"]["agentState"] == "agent:error"
    reasons = await eventually(lambda: _having(events(operator, name), {"AgentError"}))
    assert "AgentError" in reasons


async def test_the_watch_caches_and_wakeups_are_kept_on_the_event_loop(
    operator: Cluster, demo_repo: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kopf runs a plain `def` handler in a thread: the caches and the loop's Events would be
    touched off the loop (an Event set from a thread wakes nobody until the loop stirs)."""
    threads: set[int] = set()
    for cls, method in ((Runtime, "wake"), (Tasks, "keep"), (Workers, "changed")):
        original = getattr(cls, method)

        def recorded(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            threads.add(threading.get_ident())
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, method, recorded)

    await operator.pool("demo", demo_repo)
    await operator.succeeded(await operator.task("demo", "fix the authentication bug"))

    assert threads == {threading.get_ident()}
