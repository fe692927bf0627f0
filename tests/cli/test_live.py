"""`dispatch --wait` in a real terminal: the live view, captured from a tmux pane."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from sprite_orchestrator.cli import demo
from tests.cli.conftest import CLI, Dev, apply, eventually

GATED_SETUP = """#!/bin/bash
# Provisioning waits here until the test opens the gate, so the view is seen mid-way.
while [ ! -e {gate} ]; do sleep 0.1; done
echo "✅ Ready"
"""


class Pane:
    """One tmux pane of a fixed size on a private server, and what it shows."""

    def __init__(self, socket: pathlib.Path) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        argv = ["tmux", "-S", str(self.socket), *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "view")

    def shows(self, *texts: str) -> str | None:
        screen = self.screen()
        return screen if all(t in screen for t in texts) else None


@pytest.fixture
def pane(tmp_path: pathlib.Path) -> Iterator[Pane]:
    handle = Pane(tmp_path / "tmux.sock")
    yield handle
    subprocess.run(["tmux", "-S", str(handle.socket), "kill-server"], capture_output=True)


def gated_repo(tmp_path: pathlib.Path, gate: pathlib.Path) -> pathlib.Path:
    repo = demo.make_repo(tmp_path / "src")
    (repo / "scripts" / "dev-setup.sh").write_text(GATED_SETUP.format(gate=shlex.quote(str(gate))))
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "commit", "-qam", "gated setup"], cwd=repo, env=env, check=True)
    return repo


def test_the_live_view_shows_every_phase_to_the_end(
    dev: Dev, pane: Pane, tmp_path: pathlib.Path
) -> None:
    gate = tmp_path / "gate"
    body = demo.pool_body(gated_repo(tmp_path, gate), claude=False)
    body["spec"]["scaling"] = {"minIdle": 0, "maxWorkers": 1}
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(yaml.safe_dump(body))
    assert apply(dev, manifest)
    command = shlex.join([*CLI, "dispatch", "--repo", "demo", "--command", "go demo:ask", "--wait"])
    env = [f"{k}={dev.env[k]}" for k in ("KUBECONFIG", "PYTHONPATH", "PATH") if k in dev.env]
    # The pane's own size, as a person's terminal: pytest exports COLUMNS=80 and LINES=24.
    shell = f"env -u COLUMNS -u LINES {shlex.join(env)} {command}; echo EXIT=$?; sleep 600"
    pane.tmux("new-session", "-d", "-s", "view", "-x", "160", "-y", "40", "sh", "-c", shell)

    step = "demo-1: provisioning step 3 of 5, setup: running the setup script scripts/dev-setup.sh"
    waiting = eventually(lambda: pane.shows("Provisioning", step))  # held there by the gate
    assert "waiting (WaitingForWorker): a worker of pool demo is being provisioned" in waiting
    assert "· Delivered    not yet" in waiting

    gate.touch()
    asking = eventually(lambda: pane.shows("NeedsInput", "orchestrator send demo-1 TEXT"))
    assert "✔ Scheduled    bound to worker demo-1" in asking
    assert "✔ Delivered    prompt delivered to demo-1" in asking
    assert "… Agent        agent:running" in asking
    assert "watch it: orchestrator attach demo-1" in asking

    assert dev.cli("send", "demo-1", "y").returncode == 0
    done = eventually(lambda: pane.shows("EXIT="))
    assert "EXIT=0" in done
    assert "✔ Succeeded    AgentCompleted: the agent completed the task" in done
    assert "✔ Agent        agent:completed" in done
    assert "succeeded (AgentCompleted)" in done
    assert "Traceback" not in done
    assert "\x1b[" in pane.tmux("capture-pane", "-p", "-e", "-t", "view")  # colour on a tty
