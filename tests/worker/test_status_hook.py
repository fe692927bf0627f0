"""The status hook, run as Claude Code runs it: JSON on stdin, nothing printed, always 0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import remote

HOOK = remote.asset("status-hook.sh")


def run_hook(home: Path, payload: str | bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    data = payload.encode() if isinstance(payload, str) else payload
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), **env}
    return subprocess.run(
        ["bash", "-c", HOOK, "status-hook.sh"], input=data, capture_output=True, env=environment
    )


def event(name: str, session: str = "s-1", **fields: Any) -> str:
    return json.dumps(
        {
            "session_id": session,
            "transcript_path": f"/t/{session}.jsonl",
            "cwd": "/r",
            "hook_event_name": name,
            **fields,
        }
    )


def status(home: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((home / ".sprite-orchestrator" / "status.json").read_text())
    return loaded


@pytest.mark.parametrize(
    ("events", "state", "needs_input"),
    [
        (["SessionStart"], "waiting", False),
        (["SessionStart", "UserPromptSubmit"], "running", False),
        (["SessionStart", "UserPromptSubmit", "PreToolUse"], "running", False),
        (["SessionStart", "UserPromptSubmit", "PermissionRequest"], "running", True),
        (
            ["SessionStart", "UserPromptSubmit", "PermissionRequest", "PostToolUse"],
            "running",
            False,
        ),
        (["SessionStart", "UserPromptSubmit", "Stop"], "completed", False),
        (["SessionStart", "UserPromptSubmit", "StopFailure"], "error", False),
        (["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"], "ended", False),
        (["SessionStart", "UserPromptSubmit", "Stop", "SessionStart"], "waiting", False),
    ],
)
def test_events_map_to_states(
    tmp_path: Path, events: list[str], state: str, needs_input: bool
) -> None:
    for name in events:
        run_hook(tmp_path, event(name, error="server_error", reason="other"))
    written = status(tmp_path)
    assert (written["state"], written["needs_input"]) == (state, needs_input)
    assert written["event"] == events[-1]
    assert written["seq"] == len(events)
    assert written["session_id"] == "s-1"
    assert written["transcript_path"] == "/t/s-1.jsonl"


def test_stop_failure_records_the_error_and_session_end_the_prior_state(tmp_path: Path) -> None:
    run_hook(tmp_path, event("UserPromptSubmit"))
    run_hook(tmp_path, event("StopFailure", error="rate_limit"))
    assert status(tmp_path)["error"] == "rate_limit"
    run_hook(tmp_path, event("SessionEnd", reason="prompt_input_exit"))
    ended = status(tmp_path)
    assert ended["state"] == "ended"
    assert (ended["prior_state"], ended["reason"], ended["error"]) == (
        "error",
        "prompt_input_exit",
        None,
    )


def test_notifications(tmp_path: Path) -> None:
    run_hook(tmp_path, event("Stop"))
    run_hook(tmp_path, event("Notification", notification_type="idle_prompt"))
    idle = status(tmp_path)
    assert (idle["state"], idle["needs_input"], idle["notification_type"]) == (
        "completed",
        False,
        "idle_prompt",
    )
    run_hook(tmp_path, event("UserPromptSubmit"))
    run_hook(tmp_path, event("Notification", notification_type="permission_prompt"))
    assert (status(tmp_path)["state"], status(tmp_path)["needs_input"]) == ("running", True)


def test_a_compaction_mid_turn_changes_nothing(tmp_path: Path) -> None:
    run_hook(tmp_path, event("UserPromptSubmit"))
    run_hook(tmp_path, event("SessionStart", source="compact"))
    assert status(tmp_path)["state"] == "running"
    run_hook(tmp_path, event("SessionStart", source="clear"))
    assert status(tmp_path)["state"] == "waiting"


def test_late_events_of_another_session_are_ignored(tmp_path: Path) -> None:
    run_hook(tmp_path, event("SessionStart", session="old"))
    run_hook(tmp_path, event("SessionStart", session="new"))
    run_hook(tmp_path, event("SessionEnd", session="old", reason="other"))
    assert (status(tmp_path)["state"], status(tmp_path)["session_id"]) == ("waiting", "new")


def test_after_a_reset_only_a_session_start_counts(tmp_path: Path) -> None:
    run_hook(tmp_path, event("UserPromptSubmit", session="old"))
    run_hook(tmp_path, '{"hook_event_name":"OrchestratorReset"}')
    assert status(tmp_path)["state"] == "starting"
    assert status(tmp_path)["session_id"] is None
    run_hook(tmp_path, event("SessionEnd", session="old", reason="other"))
    assert status(tmp_path)["state"] == "starting"
    run_hook(tmp_path, event("SessionStart", session="new"))
    assert status(tmp_path)["state"] == "waiting"


def test_fields_are_read_robustly(tmp_path: Path) -> None:
    tricky = {
        "session_id": 'id "with" quotes \\ and ü',
        "transcript_path": "/p/a b.jsonl",
        "hook_event_name": "StopFailure",
        "last_assistant_message": 'said "error": "fake" and \\"session_id\\":\\"fake\\"',
        "error": "server_error",
        "tool_input": {"session_id": "nested", "error": "nested"},
    }
    result = run_hook(tmp_path, json.dumps(tricky, ensure_ascii=False))
    written = status(tmp_path)
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    assert written["session_id"] == tricky["session_id"]
    assert written["transcript_path"] == "/p/a b.jsonl"
    assert written["error"] == "server_error"


def test_a_huge_payload_is_fast_and_drained(tmp_path: Path) -> None:
    huge = event("PostToolUse", tool_response={"stdout": "x" * 5_000_000})
    started = time.monotonic()
    result = run_hook(tmp_path, huge)
    assert result.returncode == 0
    assert status(tmp_path)["state"] == "running"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "payload", [b"", b"not json", b"\xff\xfe\x00", b'{"hook_event_name":"New"}']
)
def test_garbage_changes_nothing_and_never_fails(tmp_path: Path, payload: bytes) -> None:
    result = run_hook(tmp_path, payload)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert not (tmp_path / ".sprite-orchestrator" / "status.json").exists()


def test_an_unwritable_home_is_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("HOME cannot be under a file")
    result = run_hook(tmp_path / "a-file" / "home", event("Stop"))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_needs_neither_jq_nor_python(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("bash", "cat", "grep", "head", "mkdir", "mv", "flock", "date"):
        found = shutil.which(tool)
        assert found is not None
        (tools / tool).symlink_to(found)
    result = run_hook(tmp_path, event("UserPromptSubmit"), PATH=str(tools))
    assert result.returncode == 0
    assert status(tmp_path)["state"] == "running"


async def test_renames_the_window_of_its_pane(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path / "machines")
    await provider.create("hook-1")
    try:
        await provider.exec("hook-1", ["tmux", "new-session", "-d", "-s", "w", "-n", "shell"])
        await provider.exec("hook-1", ["tmux", "new-window", "-d", "-t", "=w:1", "-n", "agent"])
        pane = await provider.exec("hook-1", ["tmux", "display", "-p", "-t", "=w:1", "#D"])
        hook = ["bash", "-c", HOOK, "status-hook.sh"]
        env = {"TMUX_PANE": pane.stdout.decode().strip()}
        for name in ("SessionStart", "PermissionRequest", "UserPromptSubmit", "Stop", "SessionEnd"):
            await provider.exec("hook-1", hook, stdin=event(name).encode(), env=env)
            names = await provider.exec("hook-1", ["tmux", "list-windows", "-F", "#W"])
            assert names.stdout.decode().split() == ["shell", _window_after[name]]
    finally:
        await provider.destroy("hook-1")


_window_after = {
    "SessionStart": "agent:waiting",
    "PermissionRequest": "agent:waiting",  # needs input: the window keeps its name
    "UserPromptSubmit": "agent:running",
    "Stop": "agent:completed",
    "SessionEnd": "agent:error",
}
