"""Sprites pools as a user sees them: the real operator, the fake Sprites API, real tmux and git."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import shlex
import sys

import pytest

from sprite_orchestrator.cli import demo
from sprite_orchestrator.core import prompts
from sprite_orchestrator.devserver.serving import write_kubeconfig
from sprite_orchestrator.providers import sprites
from sprite_orchestrator.worker import provisioning
from tests.conftest import NS, Cluster, eventually
from tests.fakes.sprites import FakeSprites, Sprite
from tests.operator.test_dispatch import BIG_PROMPT, assert_succeeded_on, conditions
from tests.sprites.conftest import TOKEN, received, sprites_pool
from tests.ssh.test_ssh_pools import all_events, condition_with, reasons

KEEP_AWAKE = "sprite-orchestrator-agent"


async def test_a_task_runs_on_a_sprite_and_ends_succeeded(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo)
    prompt = "fix the authentication bug"
    name = await operator.task("demo", prompt)

    task = await operator.succeeded(name, timeout=60)

    assert_succeeded_on(task, "demo-1", prompt)
    assert received(sprites_api, "demo-1") == [prompt.encode()]
    worker = await operator.get("workers", "demo-1")
    assert conditions(worker)["Provisioned"] == ("True", "Provisioned")
    assert worker["status"]["machine"] == "sprite://demo-1"
    sprite = sprites_api.sprites["demo-1"]
    assert set(sprite.labels) == {"sprite-orchestrator", "so-ns-default", "so-pool-demo"}
    repo = sprite.home / "demo"
    assert (repo / "README.md").exists() and (repo / "scripts" / "dev-setup.sh").exists()
    log = (sprite.home / ".sprite-orchestrator" / "provision.log").read_text()
    assert "Setting up the demo environment..." in log and "✅ Ready" in log
    assert "AgentCompleted" in await eventually(lambda: reasons(operator, name))
    assert sprites_api.longest_url < 2048  # scripts are staged, not sent in exec URLs


async def test_a_100kb_prompt_arrives_byte_for_byte_on_a_sprite(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo)
    name = await operator.task("demo", BIG_PROMPT)

    task = await operator.succeeded(name, timeout=60)

    expected = prompts.encode(BIG_PROMPT)
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert received(sprites_api, "demo-1") == [expected]
    assert task["status"]["promptSha256"] == prompts.sha256(expected)


async def test_a_rate_limit_is_RateLimited_on_the_worker_then_the_sprite_is_made(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    sprites_api.refuse("POST", "/v1/sprites", status=429, retry_after=2)
    await sprites_pool(operator, sprites_api, demo_repo)
    name = await operator.task("demo", "after the limit")

    provisioned = await condition_with(operator, "workers", "demo-1", "Provisioned", "RateLimited")

    assert provisioned["status"] == "False"
    assert "rate limiting" in provisioned["message"] and "after 2s" in provisioned["message"]
    task = await operator.succeeded(name, timeout=60)
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert received(sprites_api, "demo-1") == [b"after the limit"]
    assert sprites_api.requests.count(("POST", "/v1/sprites")) == 2  # refused once, then made


async def test_a_full_organisation_is_CapacityExceeded(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    sprites_api.refuse(
        "POST",
        "/v1/sprites",
        status=402,
        error="concurrent_sprite_limit_exceeded",
        times=1000,
        limit=10,
        current_count=10,
    )
    await sprites_pool(operator, sprites_api, demo_repo)
    await operator.task("demo", "never delivered")

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "CapacityExceeded"
    )

    assert provisioned["status"] == "False"
    assert "concurrent sprite limit is reached (10 of 10)" in provisioned["message"]
    assert not sprites_api.sprites


async def test_a_full_organisation_never_replaces_the_worker_and_it_provisions_when_room_is_back(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    refusals = 4  # more than provisioning.maxFailures
    sprites_api.refuse(
        "POST",
        "/v1/sprites",
        status=402,
        error="concurrent_sprite_limit_exceeded",
        retry_after=1,
        times=refusals,
        limit=10,
        current_count=10,
    )
    await sprites_pool(operator, sprites_api, demo_repo, provisioning={"maxFailures": 3})
    name = await operator.task("demo", "once there is room")
    full = await condition_with(operator, "workers", "demo-1", "Provisioned", "CapacityExceeded")
    uid = (await operator.get("workers", "demo-1"))["metadata"]["uid"]

    task = await operator.succeeded(name, timeout=60)

    assert "not counted toward provisioning.maxFailures" in full["message"]
    assert_succeeded_on(task, "demo-1", "once there is room")
    worker = await operator.get("workers", "demo-1")
    assert worker["metadata"]["uid"] == uid
    assert worker["status"]["provisionFailures"] == 0
    assert sprites_api.requests.count(("POST", "/v1/sprites")) == refusals + 1
    assert "WorkerReplaced" not in await reasons(operator, "demo-1")


async def test_a_sprite_gone_cold_between_tasks_is_provisioned_again(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    first = await operator.succeeded(await operator.task("demo", "first"), timeout=60)
    uid = (await operator.get("workers", "demo-1"))["metadata"]["uid"]

    await sprites_api.chill("demo-1")  # its processes are gone, its files kept
    name = await operator.task("demo", "second")
    task = await operator.succeeded(name, timeout=60)

    assert_succeeded_on(first, "demo-1", "first")
    assert_succeeded_on(task, "demo-1", "second")
    assert received(sprites_api, "demo-1") == [b"first", b"second"]
    assert (await operator.get("workers", "demo-1"))["metadata"]["uid"] == uid
    log = sprites_api.sprites["demo-1"].home / ".sprite-orchestrator" / "provision.log"
    assert log.read_text().count("==> tmux") == 2  # the session made again, nothing else


async def test_a_task_bound_to_a_cold_sprite_is_delivered_once_it_is_provisioned_again(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await operator.condition("workers", "demo-1", "Ready", status="True", timeout=60)
    uid = (await operator.get("workers", "demo-1"))["metadata"]["uid"]
    # No unprompted polls from now on: the worker next looks at its sprite when a task is bound.
    await operator.kube.patch("workerpools", NS, "demo", {"spec": {"pollIntervalSeconds": 3600}})
    sprite = sprites_api.sprites["demo-1"]
    await eventually(lambda: _quiet(sprite), timeout=30)

    await sprites_api.chill("demo-1")  # still Ready in its status: nobody has looked
    name = await operator.task("demo", "bound while cold")
    await operator.condition("agenttasks", name, "Scheduled", status="True")
    # From here the worker goes on polling as usual (a patch of the Worker wakes it now).
    await operator.kube.patch("workerpools", NS, "demo", {"spec": {"pollIntervalSeconds": 1}})
    await operator.kube.patch("workers", NS, "demo-1", {"metadata": {"annotations": {"x": "y"}}})
    task = await operator.succeeded(name, timeout=60)

    assert_succeeded_on(task, "demo-1", "bound while cold")  # once, on the same worker
    assert received(sprites_api, "demo-1") == [b"bound while cold"]
    assert (await operator.get("workers", "demo-1"))["metadata"]["uid"] == uid
    log = sprite.home / ".sprite-orchestrator" / "provision.log"
    assert log.read_text().count("==> tmux") == 2


async def _quiet(sprite: Sprite) -> bool:
    """No exec reached the sprite for a while."""
    before = sprite.execs
    await asyncio.sleep(1.5)
    return sprite.execs == before


async def test_the_sprite_is_held_awake_while_the_agent_works_and_released_after(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo)
    name = await operator.task("demo", "a long task demo:sleep=4")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    sprite = sprites_api.sprites["demo-1"]

    held = await eventually(lambda: _async(sprite.tasks.get(KEEP_AWAKE)))
    task = await operator.succeeded(name, timeout=60)

    assert held == "10m"
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    await eventually(lambda: _async(KEEP_AWAKE not in sprite.tasks))
    assert sprite.task_log[0] == ("PUT", KEEP_AWAKE)
    assert sprite.task_log[-1] == ("DELETE", KEEP_AWAKE)


async def test_a_hold_the_agent_outlives_is_refreshed_until_the_turn_ends(
    sprites_api: FakeSprites,
    operator: Cluster,
    demo_repo: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hold = provisioning.KeepAwake(expire_seconds=2, refresh_seconds=1)
    monkeypatch.setattr(provisioning, "KEEP_AWAKE", hold)  # 10 minutes, once a minute: in s
    await sprites_pool(operator, sprites_api, demo_repo)
    name = await operator.task("demo", "a task longer than the hold demo:sleep=6")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    sprite = sprites_api.sprites["demo-1"]

    held = await eventually(lambda: _async(sprite.tasks.get(KEEP_AWAKE)))
    task = await operator.succeeded(name, timeout=60)
    await eventually(lambda: _async(KEEP_AWAKE not in sprite.tasks))

    assert held == "2s"
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    puts = sprite.task_log.count(("PUT", KEEP_AWAKE))
    assert puts >= 3, sprite.task_log  # refreshed while the agent worked 6 s on a 2 s hold
    assert sprite.task_log[-1] == ("DELETE", KEEP_AWAKE)


async def _async(value: object) -> object:
    return value


async def test_work_is_checkpointed_before_the_sprite_is_destroyed(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60")
    await operator.condition("agenttasks", name, "Delivered", status="True")
    work = sprites_api.sprites["demo-1"].home / "demo" / "half-done.txt"
    work.write_text("the agent's unsaved work\n")

    await operator.kube.delete("workers", NS, "demo-1")

    await eventually(lambda: _async("demo-1" not in sprites_api.sprites), timeout=60)
    [checkpoint] = sprites_api.checkpoints
    assert checkpoint.sprite == "demo-1"
    assert "before it was destroyed" in checkpoint.comment
    assert checkpoint.read("home/demo/half-done.txt") == b"the agent's unsaved work\n"
    assert f"home/demo/.git/refs/heads/wip/{name}" in checkpoint.names()  # the wip/ commit too
    calls = sprites_api.requests
    assert calls.index(("POST", "/v1/sprites/demo-1/checkpoint")) < calls.index(
        ("DELETE", "/v1/sprites/demo-1")
    )


async def test_a_pool_removed_without_its_finalizer_still_deletes_its_sprites(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 2, "maxWorkers": 2})
    for worker in ("demo-1", "demo-2"):
        await operator.condition("workers", worker, "Ready", status="True", timeout=60)

    await operator.remove_without_finalizer("workerpools", "demo")

    await eventually(lambda: _no_workers(operator), timeout=60)  # each after its sprite
    assert not sprites_api.sprites
    deleted = [call for call in sprites_api.requests if call[0] == "DELETE"]
    assert sorted(deleted) == [("DELETE", "/v1/sprites/demo-1"), ("DELETE", "/v1/sprites/demo-2")]


async def _no_workers(cluster: Cluster) -> bool:
    return not await cluster.kube.list("workers", NS)


async def test_a_sprite_without_a_worker_is_adopted(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    async def token() -> str:
        return TOKEN

    left = sprites.SpritesProvider(namespace=NS, pool="demo", token=token, base_url=sprites_api.url)
    await left.create("demo-3")  # the operator made it, then its Worker went
    await left.close()
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 0, "maxWorkers": 3})

    worker, ready = await operator.condition("workers", "demo-3", "Ready", status="True")

    assert worker["metadata"]["ownerReferences"][0]["name"] == "demo"
    assert ready["reason"] == "AgentWaiting"
    assert "WorkerAdopted" in await eventually(lambda: reasons(operator, "demo"))
    assert sorted(sprites_api.sprites) == ["demo-3"]  # adopted, not replaced


async def test_attach_prints_the_sprite_console_command(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await operator.condition("workers", "demo-1", "Ready", status="True", timeout=60)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", operator.url)
    cli = [sys.executable, "-m", "sprite_orchestrator.cli"]

    proc = await asyncio.create_subprocess_exec(
        *cli,
        "attach",
        "demo-1",
        "--print",
        "--kubeconfig",
        str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)

    assert proc.returncode == 0, err.decode()
    assert shlex.split(out.decode()) == ["sprite", "console", "-s", "demo-1"]


async def test_the_token_never_shows_in_logs_events_or_status(
    sprites_api: FakeSprites,
    operator: Cluster,
    demo_repo: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sprites_api.refuse("POST", "/v1/sprites", status=429, retry_after=1)
    key = "sk-ant-test-0a1b2c3d4e5f"  # travels to the sprite on an exec's stdin
    await operator.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": key.encode()})
    agent = {"command": demo.DEMO_AGENT, "authSecretRef": {"name": "claude-auth"}}
    await sprites_pool(operator, sprites_api, demo_repo, agent=agent)
    name = await operator.task("demo", "a task")
    await operator.succeeded(name, timeout=60)

    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "> Authorization: [redacted]" in logged  # websockets did speak, at DEBUG
    assert "> BINARY [" in logged  # its frames too, by their size only
    assert "rate limiting" in logged
    assert TOKEN not in logged and key not in logged
    shown = str(await all_events(operator))
    for plural in ("workerpools", "workers", "agenttasks"):
        shown += str(await operator.kube.list(plural, NS))
    assert TOKEN not in shown and key not in shown
    env_file = sprites_api.sprites["demo-1"].home / ".sprite-orchestrator" / "agent" / "env"
    assert key.encode() in env_file.read_bytes()  # where it belongs, and only there
    written = [p for p in sprites_api.root.rglob("*") if p.is_file() and p != env_file]
    assert not any(TOKEN.encode() in p.read_bytes() for p in written)
