#!/usr/bin/env python3
"""demo-agent.py: a stand-in for Claude Code on machines without Claude credentials.

It speaks the same protocol as far as the orchestrator can tell: it puts its tty in raw
mode, runs its SessionStart hook, then asks for bracketed paste (ESC[?2004h) and takes the
alternate screen as Claude's full-screen UI does, reads a paste ESC[200~ ... ESC[201~ followed
by Enter (CR), and runs the hooks configured in ~/.claude/settings.json exactly as Claude does
(the hook JSON on stdin, `hook_event_name`, `session_id`, `transcript_path`, `cwd`):
SessionStart at launch, UserPromptSubmit when a prompt is submitted, PreToolUse/PostToolUse
while it "works", then Stop (or StopFailure). Then it waits for the next prompt.

Every submitted prompt is saved byte for byte to
~/.sprite-orchestrator/demo-agent/prompts/<n>.txt (n = 1, 2, ...), so tests can compare what
arrived with what was sent and count deliveries. (Claude itself then normalises a paste: tabs
become 4 spaces, U+200B is dropped; the demo agent keeps the bytes the terminal delivered.)

Like Claude Code 2.1.332 it takes `--session-id UUID` (else a random id) and
`--permission-mode MODE`, and writes its transcript where Claude does,
~/.claude/projects/<cwd with every non-alphanumeric character as "-">/<session id>.jsonl, in
Claude's shape (`user` and `assistant` lines with a `message`, then a `cost-state` line),
and keeps ~/.claude/sessions/<pid>.json ({status: idle|busy|waiting, statusUpdatedAt, ...})
up to date as Claude does, removing it on exit.

Directives inside a prompt:
    demo:sleep=SECONDS   work that long (default 0.5 s)
    demo:error           end the turn with StopFailure, error "server_error"
    demo:ask             ask for permission (PermissionRequest + Notification
                         permission_prompt) and wait for an answer: Enter alone accepts, as
                         in Claude's dialog where "1. Yes" is preselected; so do "y" and "1"
Ctrl-D on an empty line exits (SessionEnd, reason prompt_input_exit); so do SIGTERM and
SIGHUP (reason other).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import termios
import time
import tty
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
ENTER = 0x0D
CTRL_C = 0x03
CTRL_D = 0x04
BACKSPACES = (0x08, 0x7F)
HOOK_TIMEOUT = 30.0
EMPTY: Mapping[str, object] = {}
DEFAULT_WORK_SECONDS = 0.5
YES = (b"", b"y", b"1")


class Exit(Exception):
    """The session ends; `reason` is SessionEnd's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Input:
    """Submissions from the terminal: typed bytes and bracketed pastes up to an Enter."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = bytearray()  # read but not yet parsed
        self.line = bytearray()  # the submission being composed
        self.in_paste = False

    def submission(self, *, empty: bool = False) -> bytes:
        """The next submission, exactly as typed and pasted; a bare Enter only if `empty`."""
        while True:
            line = self._parse()
            if line is not None and (line or empty):
                return line
            if line is None:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise Exit("prompt_input_exit")
                self.raw += chunk

    def _parse(self) -> bytes | None:
        """Consume `raw`; return a submission at Enter, or None when more bytes are needed."""
        raw, i = self.raw, 0
        while i < len(raw):
            if self.in_paste:
                end = raw.find(PASTE_END, i)
                if end < 0:
                    keep = _partial_suffix(raw, PASTE_END)
                    self.line += raw[i : len(raw) - keep]
                    del raw[: len(raw) - keep]
                    return None
                self.line += raw[i:end]
                i = end + len(PASTE_END)
                self.in_paste = False
            elif raw.startswith(PASTE_START, i):
                self.in_paste = True
                i += len(PASTE_START)
            elif raw[i] == 0x1B and PASTE_START.startswith(bytes(raw[i:])):
                break  # maybe the start of a paste: wait for the rest
            else:
                byte = raw[i]
                i += 1
                if byte == ENTER:
                    del raw[:i]
                    line, self.line = bytes(self.line), bytearray()
                    return line
                self._key(byte)
        del raw[:i]
        return None

    def _key(self, byte: int) -> None:
        if byte == CTRL_C:
            self.line.clear()
        elif byte == CTRL_D and not self.line:
            raise Exit("prompt_input_exit")
        elif byte in BACKSPACES:
            del self.line[-1:]
        elif byte >= 0x20 or byte == 0x09:
            self.line.append(byte)
            say(bytes([byte]).decode("latin-1") if byte < 0x80 else "")


class Agent:
    """One agent session: hooks, prompts, transcript."""

    def __init__(self, *, session_id: str | None, permission_mode: str | None) -> None:
        self.home = Path.home()
        self.cwd = os.getcwd()
        self.session_id = session_id or str(uuid.uuid4())
        self.permission_mode = permission_mode or "default"
        self.state_dir = self.home / ".sprite-orchestrator" / "demo-agent"
        self.prompts = self.state_dir / "prompts"
        self.prompts.mkdir(parents=True, exist_ok=True)
        config = Path(os.environ.get("CLAUDE_CONFIG_DIR") or self.home / ".claude")
        project = re.sub(r"[^A-Za-z0-9]", "-", self.cwd)
        self.transcript = config / "projects" / project / f"{self.session_id}.jsonl"
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        self.settings = config / "settings.json"
        self.activity_file = config / "sessions" / f"{os.getpid()}.json"
        self.turns = 0

    def hook(
        self, event: str, fields: Mapping[str, object] = EMPTY, timeout: float = HOOK_TIMEOUT
    ) -> None:
        """Run the command hooks configured for `event`, as Claude Code does."""
        payload = {
            "session_id": self.session_id,
            "transcript_path": str(self.transcript),
            "cwd": self.cwd,
            "permission_mode": self.permission_mode,
            "hook_event_name": event,
            **fields,
        }
        data = json.dumps(payload).encode()
        env = {**os.environ, "CLAUDE_PROJECT_DIR": self.cwd}
        for command in self._hook_commands(event):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["/bin/sh", "-c", command],
                    input=data,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=self.cwd,
                    env=env,
                    timeout=timeout,
                    check=False,
                )

    def activity(self, status: str | None, waiting_for: str | None = None) -> None:
        """~/.claude/sessions/<pid>.json as Claude keeps it (idle|busy|waiting); None removes
        it, as Claude does on exit. The operator's poll reads it as ground truth."""
        if status is None:
            self.activity_file.unlink(missing_ok=True)
            return
        doc = {
            "pid": os.getpid(),
            "sessionId": self.session_id,
            "cwd": self.cwd,
            "status": status,
            "waitingFor": waiting_for,
            "statusUpdatedAt": int(time.time() * 1000),
        }
        self.activity_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.activity_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, separators=(",", ":")))
        tmp.rename(self.activity_file)

    def _hook_commands(self, event: str) -> list[str]:
        try:
            hooks = json.loads(self.settings.read_text()).get("hooks", {})
        except (OSError, ValueError, AttributeError):
            return []
        groups = hooks.get(event, []) if isinstance(hooks, dict) else []
        return [
            hook["command"]
            for group in groups
            if isinstance(group, dict)
            for hook in group.get("hooks", [])
            if isinstance(hook, dict) and hook.get("type") == "command" and hook.get("command")
        ]

    def save(self, prompt: bytes) -> Path:
        """Keep the exact bytes submitted, numbered, written atomically."""
        numbers = [int(p.stem) for p in self.prompts.glob("*.txt") if p.stem.isdigit()]
        path = self.prompts / f"{max(numbers, default=0) + 1}.txt"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(prompt)
        tmp.rename(path)
        return path

    def record(self, role: str, text: str) -> None:
        """One transcript line in Claude's shape; after an answer, the session's cost so far."""
        content: object = text if role == "user" else [{"type": "text", "text": text}]
        message: dict[str, object] = {"role": role, "content": content}
        if role == "assistant":
            message["usage"] = {"input_tokens": 10, "output_tokens": len(text) // 4 + 1}
        lines: list[dict[str, object]] = [{"type": role, "message": message}]
        lines[0].update(self._line_fields())
        if role == "assistant":
            self.turns += 1
            cost: dict[str, object] = {"type": "cost-state", "sessionId": self.session_id}
            lines.append({**cost, "totalCostUSD": 0.0001 * self.turns})
        with self.transcript.open("a") as out:
            out.writelines(json.dumps(line) + "\n" for line in lines)

    def _line_fields(self) -> dict[str, str]:
        now = time.time()
        millis = int(now * 1000) % 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z"
        return {
            "uuid": str(uuid.uuid4()),
            "timestamp": stamp,
            "cwd": self.cwd,
            "sessionId": self.session_id,
        }

    def turn(self, prompt: bytes, keys: Input) -> None:
        """One prompt, as Claude would take it: submit, work, maybe ask, stop."""
        text = prompt.decode("utf-8", "replace")
        path = self.save(prompt)
        say(f"\n> {_preview(text)}  ({len(prompt)} bytes, saved as {path.name})\n")
        self.record("user", text)
        self.activity("busy")
        self.hook("UserPromptSubmit", {"prompt": text})
        tool: dict[str, object] = {"tool_name": "Bash", "tool_input": {"command": "true"}}
        self.hook("PreToolUse", tool)
        if "demo:ask" in text and not self.ask(keys, tool):
            say("permission denied\n")
        self.hook("PostToolUse", {**tool, "tool_response": {"stdout": "", "stderr": ""}})
        time.sleep(_work_seconds(text))
        self.activity("idle")
        if "demo:error" in text:
            say("API Error: 500 server_error\n")
            self.record("assistant", "error")
            self.hook("StopFailure", {"error": "server_error"})
        else:
            say("Done.\n")
            self.record("assistant", "done")
            self.hook("Stop", {"stop_hook_active": False})
        say("\n(waiting for a prompt)\n")

    def ask(self, keys: Input, tool: Mapping[str, object]) -> bool:
        self.activity("waiting", "permission prompt")
        self.hook("PermissionRequest", tool)
        notice = {
            "message": "Claude needs your permission to use Bash",
            "notification_type": "permission_prompt",
        }
        self.hook("Notification", notice)
        say("Allow Bash(true)?\n ❯ 1. Yes\n   2. No\nEnter to accept: ")
        answer = keys.submission(empty=True).strip()
        self.activity("busy")
        return answer in YES


def say(text: str) -> None:
    """Write to the pane; raw mode needs CR LF. A closed pty (pane killed) is not an error."""
    with contextlib.suppress(OSError):
        os.write(sys.stdout.fileno(), text.replace("\n", "\r\n").encode("utf-8", "replace"))


def _partial_suffix(data: bytearray, marker: bytes) -> int:
    """How many bytes at the end of `data` could begin `marker`."""
    for size in range(min(len(marker) - 1, len(data)), 0, -1):
        if marker.startswith(bytes(data[-size:])):
            return size
    return 0


def _preview(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:60] + ("…" if len(first) > 60 or "\n" in text.strip() else "")


def _work_seconds(text: str) -> float:
    match = re.search(r"demo:sleep=([0-9]+(?:\.[0-9]+)?)", text)
    return float(match.group(1)) if match else DEFAULT_WORK_SECONDS


def _on_signal(signum: int, _frame: object) -> None:
    raise Exit("other")


def _options(argv: Sequence[str]) -> argparse.Namespace:
    """The flags the launcher passes to Claude Code; anything else is ignored, as before."""
    parser = argparse.ArgumentParser(prog="demo-agent.py", add_help=False)
    parser.add_argument("--session-id")
    parser.add_argument("--permission-mode")
    options, _ = parser.parse_known_args(argv)
    return options


def main() -> int:
    options = _options(sys.argv[1:])
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    agent = Agent(session_id=options.session_id, permission_mode=options.permission_mode)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        if saved is not None:
            tty.setraw(fd)
        # In Claude's order: the SessionStart hook, then bracketed paste and the full-screen
        # UI (the alternate screen), which is what delivery waits for.
        agent.activity("idle")
        agent.hook("SessionStart", {"source": "startup"})
        say("\x1b[?2004h\x1b[?1049h")
        say(f"demo agent (a stand-in for Claude Code), session {agent.session_id}\n")
        say("(waiting for a prompt)\n")
        keys = Input(fd)
        while True:
            agent.turn(keys.submission(), keys)
    except Exit as exit_:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        say("\x1b[?2004l\x1b[?1049l\nbye\n")
        agent.hook("SessionEnd", {"reason": exit_.reason}, timeout=5)
        agent.activity(None)
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
