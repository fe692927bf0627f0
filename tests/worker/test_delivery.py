"""Delivering prompts to the demo agent: exactly once, byte for byte."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from sprite_orchestrator.core import prompts
from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import delivery, polling, remote
from sprite_orchestrator.worker.delivery import DeliveryFailed
from tests.worker.workerkit import Worker, eventually

NASTY = [
    "Fix it. 'single' \"double\" $HOME ${PATH} $(touch /tmp/pwned) `uname` ; && || | > < \\\n",
    "tmux syntax: #{pane_id} #[fg=red] #S ##{} \\; ;\n",
    "windows line\r\nends\r\n",
    "\ttabs\tbetween\tcolumns\t\n",
    "unicode: héllo wörld ñ 日本語 Ελληνικά עברית\n",
    "emoji with ZWJ: 👩\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 👍🏽\n",
    "combining marks: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353\n",
    "long line: " + "0123456789" * 500 + "\n",
    "escapes: \x1b[201~ ends a paste \x1b[200~ \x1b]0;title\x07 \x1b[31mred\x1b[0m \x03\x04\x7f\n",
    "zero width\u200b and bidi \u202e override \u0085 NEL\n",
]


def nasty_prompt(size: int) -> str:
    """At least `size` characters of everything that has broken a paste somewhere."""
    text = ""
    while len(text) < size:
        text += "".join(NASTY)
    return text + "the end ;"


async def deliver(worker: Worker, marker: str, prompt: str) -> delivery.Delivery:
    return await delivery.deliver(
        worker.provider, worker.name, session=worker.session, marker=marker, prompt=prompt
    )


async def saved(worker: Worker, count: int, timeout: float = 10.0) -> list[bytes]:
    """The prompts the demo agent saved, once there are `count` of them."""

    async def check() -> list[bytes] | None:
        files = worker.prompts()
        return [f.read_bytes() for f in files] if len(files) >= count else None

    return await eventually(check, timeout=timeout, what=f"{count} saved prompt(s)")


@pytest.mark.parametrize("size", [40, 100_000], ids=["small", "100KB"])
async def test_a_prompt_arrives_byte_for_byte(worker: Worker, size: int) -> None:
    prompt = nasty_prompt(size) if size > 100 else "fix the authentication bug"
    waiting = await worker.poll()
    started = time.monotonic()
    done = await deliver(worker, "task-1", prompt)
    returned = time.monotonic()
    arrived = await saved(worker, 1)
    landed = time.monotonic()

    assert arrived == [prompts.encode(prompt)]
    assert waiting.status and waiting.status.session_id
    assert done == delivery.Delivery(
        prompts.sha256(arrived[0]),
        len(arrived[0]),
        True,
        True,
        done.tmux_seconds,
        session_id=waiting.status.session_id,  # the agent that got it
    )
    await worker.wait_window("agent:completed")
    print(  # measured latency, shown with -s
        f"\n{size}: {len(arrived[0])} bytes, tmux call {done.tmux_seconds}s, "
        f"deliver() {returned - started:.4f}s, saved by the agent {landed - started:.4f}s"
    )


async def test_delivering_twice_pastes_once(worker: Worker) -> None:
    first = await deliver(worker, "task-1", "hello once")
    second = await deliver(worker, "task-1", "hello once")
    await worker.wait_window("agent:completed")

    assert (first.pasted, second.pasted) == (True, False)
    assert second.confirmed and second.sha256 == first.sha256
    assert second.session_id == first.session_id and first.session_id
    assert [p.read_bytes() for p in worker.prompts()] == [b"hello once"]


async def test_concurrent_deliveries_paste_once(worker: Worker) -> None:
    results = await asyncio.gather(*(deliver(worker, "task-1", "race") for _ in range(4)))
    await worker.wait_window("agent:completed")

    assert sorted(r.pasted for r in results) == [False, False, False, True]
    assert len(worker.prompts()) == 1


async def test_a_new_marker_is_a_new_delivery(worker: Worker) -> None:
    await deliver(worker, "task-1", "first")
    await worker.wait_window("agent:completed")
    await deliver(worker, "task-2", "second")
    assert await saved(worker, 2) == [b"first", b"second"]


async def test_a_truncated_stdin_is_never_pasted(worker: Worker) -> None:
    data = prompts.encode("a prompt that a dying operator cut short")
    result = await remote.run(
        worker.provider,
        worker.name,
        "deliver.sh",
        "task-1",
        worker.session,
        prompts.sha256(data),
        stdin=data[:10],
    )
    assert remote.fields(result.stdout)["result"] == "corrupt"
    assert not (worker.state / "tasks" / "task-1").exists()
    assert (await deliver(worker, "task-1", "the whole prompt")).pasted


async def test_a_claim_without_a_record_is_not_pasted_again(worker: Worker) -> None:
    (worker.state / "tasks" / "task-1").mkdir(parents=True)  # died between claim and record
    result = await deliver(worker, "task-1", "maybe delivered already")
    await asyncio.sleep(0.3)
    assert (result.pasted, result.confirmed) == (False, False)
    assert worker.prompts() == []


async def test_without_a_session_nothing_is_claimed(worker: Worker) -> None:
    worker.tmux("kill-session", "-t", f"={worker.session}")
    with pytest.raises(DeliveryFailed) as failed:
        await deliver(worker, "task-1", "hello")
    assert failed.value.reason == delivery.AGENT_NOT_READY
    assert not (worker.state / "tasks" / "task-1").exists()


async def test_a_human_in_copy_mode_does_not_eat_the_enter(worker: Worker) -> None:
    worker.tmux("copy-mode", "-t", f"={worker.session}:1")
    await deliver(worker, "task-1", "while someone scrolls")
    assert await saved(worker, 1) == [b"while someone scrolls"]


async def test_restart_gives_a_fresh_agent_in_the_session_chosen(worker: Worker) -> None:
    await deliver(worker, "task-1", "first task")
    done = await worker.wait_window("agent:completed")

    chosen = await delivery.restart_agent(worker.provider, worker.name, session=worker.session)
    fresh = await worker.wait_window("agent:waiting")
    second = await deliver(worker, "task-2", "second task")
    await worker.wait_window("agent:completed")

    assert done.status and fresh.status
    assert fresh.status.session_id == second.session_id == chosen != done.status.session_id
    project = re.sub("[^A-Za-z0-9]", "-", str(worker.home / "demo"))  # as Claude names it
    transcript = worker.home / ".claude" / "projects" / project / f"{chosen}.jsonl"
    assert fresh.status.transcript_path == str(transcript) and transcript.is_file()
    assert fresh.pane_pid != done.pane_pid and fresh.agent_alive
    assert await saved(worker, 2) == [b"first task", b"second task"]
    assert not (worker.state / "agent" / "session-id").exists()  # used up by the launch


async def test_a_delivery_right_after_a_restart_waits_for_the_new_agent(worker: Worker) -> None:
    await delivery.restart_agent(worker.provider, worker.name, session=worker.session)
    prompt = "pasted\tinto a fresh agent\nthat is still starting"
    await deliver(worker, "task-1", prompt)  # no wait for agent:waiting: deliver.sh waits
    assert await saved(worker, 1) == [prompt.encode()]  # a paste, not keystrokes


async def test_an_agent_that_never_starts_is_not_ready(worker: Worker) -> None:
    (worker.state / "agent" / "argv").write_bytes(b"sleep\x00600\x00")  # no hooks: no start
    await delivery.restart_agent(worker.provider, worker.name, session=worker.session)
    with pytest.raises(DeliveryFailed) as failed:
        await deliver(worker, "task-1", "anyone there?")
    assert failed.value.reason == delivery.AGENT_NOT_READY
    assert not (worker.state / "tasks" / "task-1").exists()  # nothing claimed: retried later


async def test_a_session_id_is_used_for_one_launch_only(worker: Worker) -> None:
    chosen = "0b7a1d5e-5c1a-4c8e-9f0e-2d1c3b4a5f60"
    await delivery.restart_agent(
        worker.provider, worker.name, session=worker.session, session_id=chosen
    )
    first = await worker.wait_window("agent:waiting")
    worker.tmux("respawn-pane", "-k", "-t", f"={worker.session}:1")  # a crash and a respawn

    async def another() -> polling.Observation | None:
        seen = await worker.poll()
        fresh = seen.status and seen.status.session_id not in (None, chosen)
        return seen if fresh and seen.agent_window == "agent:waiting" else None

    assert first.status and first.status.session_id == chosen
    await eventually(another, what="a new session")  # Claude would refuse the same id again


@pytest.mark.parametrize("session_id", ["not-a-uuid", "0B7A1D5E-5C1A-4C8E-9F0E-2D1C3B4A5F60"])
async def test_session_ids_are_validated(worker: Worker, session_id: str) -> None:
    with pytest.raises(ValueError):
        await delivery.restart_agent(
            worker.provider, worker.name, session=worker.session, session_id=session_id
        )


async def test_restart_of_a_machine_without_a_worker_fails(provider: LocalProvider) -> None:
    await provider.create("bare-1")
    with pytest.raises(DeliveryFailed):
        await delivery.restart_agent(provider, "bare-1", session="demo-dev")


@pytest.mark.parametrize("marker", ["Task-1", "task 1", "../x", "a;b", ""])
async def test_markers_are_validated(worker: Worker, marker: str) -> None:
    with pytest.raises(ValueError):
        await deliver(worker, marker, "hello")
