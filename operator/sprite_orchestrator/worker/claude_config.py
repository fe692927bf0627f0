"""Claude Code's configuration on a worker: our status hook merged in, first-run dialogs
pre-accepted (FIELD-NOTES has the keys that make a fresh HOME reach the input prompt).

Pure functions over parsed JSON. They add what a worker needs and keep every other key, the
user's and Claude's own: both files are shared with the agent, which writes `~/.claude.json`
all the time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "Notification",
    "Stop",
    "StopFailure",
    "SessionEnd",
)
HOOK_TIMEOUT_SECONDS = 10
# How our hook's command is recognised when provisioning runs again (or after an upgrade).
HOOK_MARK = "/.sprite-orchestrator/bin/status-hook.sh"
# Claude Code remembers an approved API key by its last 20 characters.
_API_KEY_SUFFIX = 20


def parse(text: bytes | None) -> tuple[dict[str, Any], bool]:
    """A config file's object, and whether the text was usable (absent counts as usable)."""
    if text is None or not text.strip():
        return {}, True
    try:
        value = json.loads(text.decode("utf-8"))
    except ValueError:
        return {}, False
    return (value, True) if isinstance(value, dict) else ({}, False)


def dump(value: Mapping[str, Any]) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def settings_with_hooks(settings: Mapping[str, Any], *, command: str) -> dict[str, Any]:
    """`~/.claude/settings.json` with `command` as a hook for every status event, once."""
    result = copy.deepcopy(dict(settings))
    hooks = result.get("hooks")
    hooks = hooks if isinstance(hooks, dict) else {}
    for event in HOOK_EVENTS:
        groups = [g for g in map(_without_ours, _as_list(hooks.get(event))) if g is not None]
        hook = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECONDS}
        groups.append({"hooks": [hook]})
        hooks[event] = groups
    result["hooks"] = hooks
    result.setdefault("skipDangerousModePermissionPrompt", True)
    return result


def state_with_trust(
    state: Mapping[str, Any], *, project: str, api_key: str | None
) -> dict[str, Any]:
    """`~/.claude.json` with onboarding done, `project` trusted and `api_key` approved."""
    result = copy.deepcopy(dict(state))
    result["hasCompletedOnboarding"] = True
    result.setdefault("theme", "dark")
    projects = result.get("projects")
    projects = projects if isinstance(projects, dict) else {}
    entry = projects.get(project)
    projects[project] = {
        **(entry if isinstance(entry, dict) else {}),
        "hasTrustDialogAccepted": True,
    }
    result["projects"] = projects
    if api_key:
        result["customApiKeyResponses"] = _approved(result.get("customApiKeyResponses"), api_key)
    return result


def _approved(responses: object, api_key: str) -> dict[str, Any]:
    suffix = api_key[-_API_KEY_SUFFIX:]
    current = responses if isinstance(responses, dict) else {}
    approved = [k for k in _as_list(current.get("approved")) if k != suffix]
    rejected = [k for k in _as_list(current.get("rejected")) if k != suffix]
    return {**current, "approved": [*approved, suffix], "rejected": rejected}


def _without_ours(group: object) -> object | None:
    """A hook group minus our hook (an older copy of it); None if nothing else is left."""
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return group
    kept = [h for h in group["hooks"] if not _is_ours(h)]
    if not kept:
        return None
    return {**group, "hooks": kept}


def _is_ours(hook: object) -> bool:
    return isinstance(hook, dict) and HOOK_MARK in str(hook.get("command", ""))


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []
