"""The README's CLI session, run against `orchestrator dev --demo`: examples never rot."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys
import time

from tests.cli.conftest import eventually, running

README = pathlib.Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"```console readme-test\n(.*?)```", re.DOTALL)
READS = ("orchestrator status", "orchestrator workers", "orchestrator pools")
RETRY = 90.0  # read commands are re-run until the cluster shows what the README says


@dataclasses.dataclass
class Step:
    command: str
    expected: list[str]
    exit_code: int = 0


def steps(text: str) -> list[Step]:
    """`$ command` lines, each followed by the lines its output must contain, in order."""
    found: list[Step] = []
    for block in BLOCK.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                command, _, note = line[2:].partition("  # exit ")
                found.append(Step(command, [], int(note) if note else 0))
            elif line.strip():
                found[-1].expected.append(line)
    return found


def pattern(line: str) -> re.Pattern[str]:
    """`…` stands for anything; runs of spaces are one (table widths vary)."""
    pieces = [re.escape(" ".join(p.split())) for p in line.split("…")]
    return re.compile(".*".join(pieces))


def shows(output: str, expected: list[str]) -> bool:
    """Every expected line matches an output line, in the README's order."""
    lines = iter(" ".join(line.split()) for line in output.splitlines())
    return all(any(pattern(e).fullmatch(line) for line in lines) for e in expected)


def test_the_readme_session_runs_as_written(tmp_path: pathlib.Path) -> None:
    session = steps(README.read_text())
    assert len(session) >= 10, "the README lost its CLI session"
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "orchestrator").write_text(
        f'#!/bin/sh\nexec {sys.executable} -m sprite_orchestrator.cli "$@"\n'
    )
    (shim / "orchestrator").chmod(0o755)
    with running(tmp_path / "state", "--demo") as dev:
        env = {**dev.env, "PATH": f"{shim}{os.pathsep}{dev.env['PATH']}"}
        eventually(lambda: "demo" in dev.cli("pools").stdout)
        names: dict[str, str] = {}
        for step in session:
            run_step(step, env, names)


def run_step(step: Step, env: dict[str, str], names: dict[str, str]) -> None:
    command = step.command
    for key, value in names.items():
        command = command.replace(f"<{key}>", value)
    deadline = time.monotonic() + (RETRY if command.startswith(READS) else 0)
    while True:
        result = subprocess.run(
            ["bash", "-c", command + " 2>&1"], env=env, capture_output=True, text=True, timeout=120
        )
        matched = result.returncode == step.exit_code and shows(result.stdout, step.expected)
        if matched or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert matched, f"$ {command}\n(exit {result.returncode})\n{result.stdout}"
    for key, found in (("task", r"agenttask/(\S+) created"), ("worker", r"^worker: (\S+)$")):
        if match := re.search(found, result.stdout, re.MULTILINE):
            names[key] = match.group(1)
