"""A provider double for the scale benchmark: machines that answer like cheap tmux workers.

Each machine is a few fields in memory. `exec` answers our scripts (argv `bash -c SCRIPT
NAME ARGS...`) with the bytes the real scripts print for a provisioned worker whose agent
is idle at its prompt: provisioning steps are `skipped` (already done), a poll prints the
same JSON document poll.sh prints, a delivery pastes (and the agent starts "running"), a
restart brings a fresh agent that waits, a snapshot records a commit. Every exec first
sleeps EXEC_SECONDS, what a local `bash` + one tmux call costs on this machine, so the
operator sees the latencies it would see, without 1,000 tmux servers on the host.

An agent given a task runs until WORK_SECONDS pass (default: for ever, so a scale run holds
its tasks bound and the rest queued); then its window says `agent:completed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import ClassVar

from sprite_orchestrator.providers.base import ExecResult, Machine, MachineNotFound

EXEC_SECONDS = float(os.environ.get("BENCH_DOUBLE_EXEC_SECONDS", "0.005"))
WORK_SECONDS = float(os.environ.get("BENCH_DOUBLE_WORK_SECONDS", "inf"))


@dataclasses.dataclass
class _Agent:
    window: str = "agent:waiting"
    since: float = 0.0
    session_id: str = ""
    seq: int = 0
    claimed: dict[str, str] = dataclasses.field(default_factory=dict)  # marker → sha256


class DoubleProvider:
    """The Provider Protocol over machines kept in memory (see the module docstring)."""

    machines: ClassVar[dict[str, _Agent]] = {}  # one operator process, one set of machines

    def __init__(self, pool: str) -> None:
        self.pool = pool

    async def create(self, name: str) -> Machine:
        self.machines.setdefault(self._key(name), _Agent(session_id=str(uuid.uuid4())))
        return self._machine(name)

    async def destroy(self, name: str) -> None:
        self.machines.pop(self._key(name), None)

    async def list(self) -> Sequence[Machine]:
        prefix = f"{self.pool}/"
        return [self._machine(k[len(prefix) :]) for k in self.machines if k.startswith(prefix)]

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        agent = self.machines.get(self._key(name))
        if agent is None:
            raise MachineNotFound(f"double machine {name!r} does not exist")
        await asyncio.sleep(EXEC_SECONDS)
        script, args = (argv[3], list(argv[4:])) if argv[:2] == ["bash", "-c"] else ("", [])
        answer = getattr(self, "_" + script.replace(".sh", "").replace("-", "_"), None)
        if answer is None:
            return ExecResult(0, b"", b"")
        return answer(agent, args, stdin)

    async def close(self) -> None:
        """Nothing to release."""

    def _key(self, name: str) -> str:
        return f"{self.pool}/{name}"

    def _machine(self, name: str) -> Machine:
        return Machine(name=name, id=f"double:{self._key(name)}")

    # -- the scripts' answers ----------------------------------------------------------------

    def _provision(self, agent: _Agent, args: list[str], stdin: bytes) -> ExecResult:
        return ExecResult(0, b"step=skipped\n", b"")

    def _poll(self, agent: _Agent, args: list[str], stdin: bytes) -> ExecResult:
        now = time.time()
        if agent.window == "agent:running" and now - agent.since >= WORK_SECONDS:
            agent.window, agent.seq = "agent:completed", agent.seq + 1
        state = agent.window.removeprefix("agent:")
        status = {"state": state, "event": "Stop" if state == "completed" else "SessionStart"}
        status |= {"session_id": agent.session_id, "seq": agent.seq, "time": int(now)}
        doc = {
            "server": True,
            "session": True,
            "windows": {"0": "shell", "1": agent.window},
            "pane_id": "%1",
            "pane_dead": False,
            "pane_dead_status": None,
            "pane_dead_signal": None,
            "pane_pid": 4242,
            "agent_alive": True,
            "activity": None,
            "activity_age_ms": None,
            "now": int(now),
        }
        text = json.dumps(doc, separators=(",", ":"))[:-1]
        text += ',"status":' + json.dumps(status, separators=(",", ":")) + "}\n"
        return ExecResult(0, text.encode(), b"")

    def _deliver(self, agent: _Agent, args: list[str], stdin: bytes) -> ExecResult:
        marker, _session, digest = args[:3]
        if marker in agent.claimed:
            reply = f"result=already\nstate=delivered\nsha256={agent.claimed[marker]}\n"
            return ExecResult(0, reply.encode(), b"")
        if hashlib.sha256(stdin).hexdigest() != digest:
            return ExecResult(3, b"result=corrupt\ndetail=stdin hashed otherwise\n", b"")
        if agent.window != "agent:waiting":
            return ExecResult(4, b"result=not-ready\ndetail=the agent is busy\n", b"")
        agent.claimed[marker] = digest
        agent.window, agent.since, agent.seq = "agent:running", time.time(), agent.seq + 1
        reply = f"result=pasted\ntmux_us=900\nsession_id={agent.session_id}\n"
        return ExecResult(0, reply.encode(), b"")

    def _restart(self, agent: _Agent, args: list[str], stdin: bytes) -> ExecResult:
        agent.window, agent.session_id, agent.seq = "agent:waiting", args[1], agent.seq + 1
        return ExecResult(0, f"result=restarted\nsession_id={args[1]}\n".encode(), b"")

    def _snapshot(self, agent: _Agent, args: list[str], stdin: bytes) -> ExecResult:
        return ExecResult(0, b"changed=no\ncommit=" + b"0" * 40 + b"\npushed=no\nreset=yes\n", b"")
