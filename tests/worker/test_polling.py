"""Polling a worker: the hook's states, and ground truth when the agent is gone."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from sprite_orchestrator.core import readings
from sprite_orchestrator.providers.base import MachineNotFound
from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import delivery, polling
from tests.worker.workerkit import Worker, eventually


async def deliver(worker: Worker, marker: str, prompt: str) -> None:
    await delivery.deliver(
        worker.provider, worker.name, session=worker.session, marker=marker, prompt=prompt
    )


async def dead_pane(worker: Worker) -> polling.Observation:
    """A poll that shows window 1's pane dead, with its exit if tmux gets it within a second.

    tmux sees the pty close before it reaps the process, and tmux 3.3a sometimes never
    records the exit at all (pane_dead=1, empty pane_dead_status; about 1 kill in 8 under
    CPU load here, tmux/tmux#4841): the exit is best-effort, `pane_dead` is the ground truth.
    """

    async def dead() -> polling.Observation | None:
        seen = await worker.poll()
        return seen if seen.pane_dead else None

    async def exit_known() -> polling.Observation | None:
        seen = await worker.poll()
        known = seen.pane_dead_status is not None or seen.pane_dead_signal is not None
        return seen if known else None

    gone = await eventually(dead, what="a dead pane")
    with contextlib.suppress(AssertionError):
        gone = await eventually(exit_known, timeout=1.0, what="the exit of the dead pane")
    return gone


async def test_waiting_running_completed(worker: Worker) -> None:
    waiting = await worker.poll()
    await deliver(worker, "task-1", "work a while demo:sleep=1.5")
    running = await worker.wait_window("agent:running")
    completed = await worker.wait_window("agent:completed")

    assert waiting.status and waiting.status.state == "waiting"
    assert running.status and running.status.state == "running"
    assert completed.status and completed.status.state == "completed"
    assert waiting.status.seq < running.status.seq < completed.status.seq
    assert completed.agent_alive and not completed.pane_dead
    assert completed.windows == {0: "shell", 1: "agent:completed"}
    assert completed.status.time is not None and abs(completed.now - completed.status.time) < 5


async def test_an_agent_error(worker: Worker) -> None:
    await deliver(worker, "task-1", "please fail demo:error")
    failed = await worker.wait_window("agent:error")
    assert failed.status and (failed.status.state, failed.status.error) == ("error", "server_error")
    assert failed.agent_alive


async def test_a_permission_prompt_needs_input(worker: Worker) -> None:
    await deliver(worker, "task-1", "ask first demo:ask")

    async def asking() -> polling.Observation | None:
        seen = await worker.poll()
        status = seen.status
        asking = status and status.needs_input and status.notification_type
        return seen if asking == "permission_prompt" else None

    asked = await eventually(asking, what="a permission prompt")
    worker.tmux("send-keys", "-t", f"={worker.session}:1", "y", "Enter")
    done = await worker.wait_window("agent:completed")

    assert asked.agent_window == "agent:running"
    assert asked.status and asked.status.state == "running"
    assert done.status and not done.status.needs_input
    assert (asked.activity, done.activity) == ("waiting", "idle")  # the agent's own view
    assert done.activity_age is not None and 0 <= done.activity_age < 60


async def test_a_killed_agent_leaves_a_dead_pane(worker: Worker) -> None:
    alive = await worker.poll()
    assert alive.agent_alive and alive.pane_pid
    os.kill(alive.pane_pid, signal.SIGKILL)

    gone = await dead_pane(worker)
    assert not gone.agent_alive
    assert gone.pane_dead_signal in (signal.SIGKILL, None)
    assert gone.agent_window == "agent:waiting"  # the hook never ran: ground truth must win


async def test_an_agent_that_exits_ends_its_session(worker: Worker) -> None:
    await deliver(worker, "task-1", "quick")
    await worker.wait_window("agent:completed")
    worker.tmux("send-keys", "-t", f"={worker.session}:1", "C-d")

    ended = await worker.wait_window("agent:error")
    assert ended.status
    assert (ended.status.state, ended.status.prior_state) == ("ended", "completed")
    exited = await dead_pane(worker)
    assert exited.pane_dead_status in (0, None) and not exited.agent_alive


async def test_a_missing_session_is_an_observation(worker: Worker) -> None:
    worker.tmux("kill-server")
    seen = await worker.poll()
    assert (seen.server, seen.session, seen.windows, seen.pane_id) == (False, False, {}, None)
    assert not seen.agent_alive
    assert seen.status and seen.status.state == "waiting"  # stale: the hook's last word


async def test_a_gone_machine_raises(provider: LocalProvider) -> None:
    with pytest.raises(MachineNotFound):
        await polling.poll(provider, "gone-1", session="demo-dev")


def test_a_damaged_status_file_spoils_only_the_status() -> None:
    head = b'{"server":true,"session":true,"windows":{"0":"shell","1":"agent:running"},'
    head += b'"pane_id":"%1","pane_dead":false,"pane_dead_status":null,"pane_dead_signal":null,'
    head += b'"pane_pid":42,"agent_alive":true,"now":1000'
    seen = polling.parse(head + b',"status":{"state":"runn}\n')
    assert seen.agent_window == "agent:running" and seen.pane_pid == 42 and seen.now == 1000
    assert seen.status is None


@pytest.mark.parametrize("output", [b"", b"garbage", b'["x","status":1]'])
def test_no_document_is_an_error(output: bytes) -> None:
    with pytest.raises(ValueError):
        polling.parse(output)


def _read(**seen: object) -> readings.Reading:
    window = {"session_exists": True, "window_name": "agent:running", "pane_dead": False}
    return readings.read(**{**window, "hook_state": "running", **seen})  # type: ignore[arg-type]


def test_an_interrupted_turn_is_read_as_needing_a_person() -> None:
    late = readings.INTERRUPTED_AFTER_SECONDS
    assert _read(activity="idle", activity_age=late).needs_input  # Esc: no hook ran
    assert _read(activity="idle", activity_age=late).source == "agent"
    assert not _read(activity="idle", activity_age=1.0).needs_input  # the Stop hook is due
    assert not _read(activity="busy", activity_age=late).needs_input
    assert _read(activity="waiting", activity_age=0.0).needs_input
    assert not _read(window_name="agent:completed", activity="idle", activity_age=late).needs_input
    assert _read(activity=None, activity_age=None) == readings.Reading("agent:running")
