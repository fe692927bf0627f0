"""Tasks on the real Claude Code: the prompt reaches the model, the hooks tell the truth.

Each test delivers a prompt with the operator's own delivery and reads the worker with its
own poll, and checks what a user would see: window 1's name, the pane, files in the repo,
what the (scripted) model received. `reading` is how the operator turns a poll into the
task's conditions (core.readings, as handlers/workers.py calls it).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sprite_orchestrator.core import readings
from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import polling
from tests.claude.conftest import (
    STEP_TIMEOUT,
    approve,
    claude_plan,
    deliver,
    screen,
    start_worker,
)
from tests.fakes import anthropic
from tests.worker.test_delivery import NASTY
from tests.worker.workerkit import Worker, eventually

PROMPT = (
    "Fix the login bug.\n\tIndented with a tab; 'quotes' \"double\" `uname` $HOME ; && #{x}\n"
    "emoji with ZWJ 👩\u200d💻, combining é, zero\u200bwidth, 日本語, the end ;"
)
# Everything that has broken a paste somewhere (bidi controls are stripped by sanitize()).
LONG = "".join(NASTY) * 19


def reading(seen: polling.Observation) -> readings.Reading:
    """The operator's reading of one poll, as handlers/workers.py makes it."""
    hook = seen.status
    return readings.read(
        session_exists=seen.session,
        window_name=seen.agent_window,
        pane_dead=seen.pane_dead or (seen.pane_id is not None and not seen.agent_alive),
        pane_dead_status=seen.pane_dead_status,
        needs_input=hook is not None and hook.needs_input,
        error=hook.error if hook else None,
        hook_state=hook.state if hook else None,
        prior_state=hook.prior_state if hook else None,
        activity=seen.activity,
        activity_age=seen.activity_age,
    )


@pytest.mark.parametrize("prompt", [PROMPT, LONG], ids=["short", "long"])
async def test_a_task_runs_and_the_model_gets_the_prompt(
    claude: Worker, api: anthropic.FakeAnthropic, prompt: str
) -> None:
    api.script(anthropic.text("Fixed: the token was never refreshed.", delay=1.0))
    done = await deliver(claude, "task-1", prompt)
    running = await claude.wait_window("agent:running", timeout=STEP_TIMEOUT)
    completed = await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)

    assert done.pasted and len(LONG) > 100_000 > len(PROMPT)
    assert [anthropic.unwrap_paste(p) for p in api.prompts] == [anthropic.as_claude_sends(prompt)]
    assert running.status and completed.status
    assert (running.status.event, completed.status.event) == ("UserPromptSubmit", "Stop")
    assert done.session_id == completed.status.session_id == api.turns[0].session_id
    assert reading(completed) == readings.Reading("agent:completed")

    async def shown() -> bool:  # the Stop hook may run before the UI draws the answer
        return "Fixed: the token was never refreshed." in screen(claude)

    await eventually(shown, timeout=STEP_TIMEOUT, what="the answer on screen")
    transcript = Path(completed.status.transcript_path or "")

    async def saved() -> bool:  # Claude appends to it as the turn ends
        return "Fixed: the token was never refreshed." in transcript.read_text()

    await eventually(saved, timeout=STEP_TIMEOUT, what="the answer in the transcript")


async def test_a_tool_call_waits_for_permission_then_completes(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    command = "python3 -c 'print(6 * 7)' > answer.txt"
    api.script(
        anthropic.tool_use("Bash", {"command": command, "description": "Compute the answer"}),
        anthropic.text("The answer is in answer.txt."),
    )
    await deliver(claude, "task-1", "compute the answer")

    async def asking() -> polling.Observation | None:
        seen = await claude.poll()
        return seen if seen.status and seen.status.needs_input else None

    async def dialog() -> str | None:  # drawn just after the PermissionRequest hook
        shown = screen(claude)
        return shown if "Do you want to proceed?" in shown else None

    async def called() -> bool:
        return bool(api.turns) and api.turns[0].answered is not None

    await eventually(called, timeout=STEP_TIMEOUT, what="the model's tool call")
    asked = await eventually(asking, timeout=5.0, what="needs_input within a poll interval")
    assert command in await eventually(dialog, timeout=STEP_TIMEOUT, what="the dialog")
    assert asked.agent_window == "agent:running"
    assert reading(asked).needs_input

    await approve(claude)
    completed = await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)

    assert completed.status and not completed.status.needs_input
    assert (claude.home / "kite" / "answer.txt").read_text() == "42\n"
    assert [len(turn.tool_results) for turn in api.turns] == [0, 1]
    assert "The answer is in answer.txt." in screen(claude)


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        (401, "authentication_failed", "API Error: 401"),
        (529, "server_error", "API Error: 529"),
    ],
)
async def test_an_api_error_is_an_agent_error_with_its_reason(
    provider: LocalProvider,
    repo: Path,
    api: anthropic.FakeAnthropic,
    status: int,
    error: str,
    shown: str,
) -> None:
    # Claude retries both 10 times with backoff (about a minute) before it gives up.
    plan = claude_plan(repo, api, {"CLAUDE_CODE_MAX_RETRIES": "0"})
    worker = await start_worker(provider, plan)
    api.script(anthropic.error(status))

    await deliver(worker, "task-1", "do something")
    failed = await worker.wait_window("agent:error", timeout=STEP_TIMEOUT)

    assert failed.status and (failed.status.event, failed.status.error) == ("StopFailure", error)

    async def on_screen() -> str | None:  # the hook runs before Claude paints the error
        text = screen(worker)
        return text if shown in text else None

    await eventually(on_screen, timeout=STEP_TIMEOUT, what=f"{shown!r} on the screen")
    assert (reading(failed).state, reading(failed).error) == ("agent:error", error)
    assert failed.agent_alive  # Claude lives on: the worker can take the next task


async def test_killing_claude_mid_turn_leaves_a_dead_pane(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    api.script(anthropic.text("too late", delay=600))  # the model never answers
    await deliver(claude, "task-1", "take your time")
    running = await claude.wait_window("agent:running", timeout=STEP_TIMEOUT)

    async def requested() -> list[anthropic.Request] | None:
        return api.turns or None

    await eventually(requested, what="the turn's request")
    assert running.pane_pid
    os.kill(running.pane_pid, signal.SIGKILL)

    async def dead() -> polling.Observation | None:
        seen = await claude.poll()
        return seen if seen.pane_dead else None

    gone = await eventually(dead, timeout=STEP_TIMEOUT, what="a dead pane")
    assert gone.agent_window == "agent:running"  # no hook ran: the window is stale
    assert not gone.agent_alive
    assert (reading(gone).state, reading(gone).error) == ("agent:error", "AgentExited")


async def test_an_interrupted_turn_runs_no_hook_but_claude_says_it_is_idle(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    api.script(anthropic.text("too late", delay=600))
    await deliver(claude, "task-1", "take your time")
    await claude.wait_window("agent:running", timeout=STEP_TIMEOUT)
    await eventually(_activity(claude, "busy"), timeout=STEP_TIMEOUT, what="Claude busy")

    claude.tmux("send-keys", "-t", f"={claude.session}:1", "Escape")
    stopped = await eventually(_activity(claude, "idle"), timeout=STEP_TIMEOUT, what="idle")

    assert stopped.agent_window == "agent:running"  # no Stop hook: the window is stale
    assert stopped.status and stopped.status.event == "UserPromptSubmit"
    assert not reading(stopped).needs_input  # a Stop hook may still be on its way
    later = dataclasses.replace(stopped, activity_age=readings.INTERRUPTED_AFTER_SECONDS)
    assert (reading(later).needs_input, reading(later).source) == (True, "agent")


def _activity(worker: Worker, wanted: str) -> Callable[[], Awaitable[polling.Observation | None]]:
    async def check() -> polling.Observation | None:
        seen = await worker.poll()
        return seen if seen.activity == wanted else None

    return check


async def test_a_prompt_with_bidi_controls_is_submitted_without_them(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    """Claude 2.1.332 holds a paste with bidi controls (U+061C, U+200E/F, U+202A-E,
    U+2066-9) for a person's review; sanitize() drops them, so the task runs."""
    api.script(anthropic.text("Renamed.", delay=0.5))
    done = await deliver(claude, "task-1", "rename x\u202e to y\u2066 now\u200f")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)
    assert done.pasted
    assert "rename x to y now" in api.prompts[-1]
    assert "review and press Enter to send" not in screen(claude)
