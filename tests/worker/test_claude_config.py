"""Merging our hook and the pre-accepted dialogs into Claude Code's config files."""

from __future__ import annotations

from typing import Any

from sprite_orchestrator.worker import claude_config

OURS = "bash /home/u/.sprite-orchestrator/bin/status-hook.sh"


def test_our_hook_is_added_once_for_every_event() -> None:
    once = claude_config.settings_with_hooks({}, command=OURS)
    twice = claude_config.settings_with_hooks(once, command=OURS)
    assert once == twice
    assert set(once["hooks"]) == set(claude_config.HOOK_EVENTS)
    assert once["skipDangerousModePermissionPrompt"] is True


def test_a_moved_home_replaces_the_old_hook_and_keeps_the_users() -> None:
    old = "bash /old/.sprite-orchestrator/bin/status-hook.sh"
    mixed = {"matcher": "Bash", "hooks": [{"type": "command", "command": old},
                                          {"type": "command", "command": "echo mine"}]}  # fmt: skip
    settings: dict[str, Any] = {"hooks": {"PreToolUse": [mixed], "Custom": ["kept"]}}
    settings["env"] = {"A": "1"}

    merged = claude_config.settings_with_hooks(settings, command=OURS)

    assert merged["env"] == {"A": "1"} and merged["hooks"]["Custom"] == ["kept"]
    assert merged["hooks"]["PreToolUse"] == [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo mine"}]},
        {"hooks": [{"type": "command", "command": OURS, "timeout": 10}]},
    ]
    assert settings["hooks"]["PreToolUse"] == [mixed]  # the input is not modified


def test_trust_and_api_key_are_merged() -> None:
    state = {
        "theme": "light",
        "projects": {"/r": {"allowedTools": ["x"]}},
        "customApiKeyResponses": {"approved": ["a"], "rejected": ["k" * 20]},
    }
    merged = claude_config.state_with_trust(state, project="/r", api_key="sk-" + "k" * 20)
    assert merged["theme"] == "light" and merged["hasCompletedOnboarding"] is True
    assert merged["projects"]["/r"] == {"allowedTools": ["x"], "hasTrustDialogAccepted": True}
    assert merged["customApiKeyResponses"] == {"approved": ["a", "k" * 20], "rejected": []}
    again = claude_config.state_with_trust(merged, project="/r", api_key="sk-" + "k" * 20)
    assert again == merged


def test_without_an_api_key_nothing_is_approved() -> None:
    merged = claude_config.state_with_trust({}, project="/r", api_key=None)
    assert "customApiKeyResponses" not in merged and merged["theme"] == "dark"


def test_parse() -> None:
    assert claude_config.parse(None) == ({}, True)
    assert claude_config.parse(b"  ") == ({}, True)
    assert claude_config.parse(b'{"a": 1}') == ({"a": 1}, True)
    assert claude_config.parse(b"{broken") == ({}, False)
    assert claude_config.parse(b"[1]") == ({}, False)
    assert claude_config.parse(b"\xff") == ({}, False)
