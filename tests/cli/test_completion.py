"""Shell completion, as typer provides it: a script to install, and it completes commands."""

from __future__ import annotations

import os
import pathlib
import subprocess

from tests.cli.conftest import CLI


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_show_completion_prints_a_script_for_the_orchestrator_command() -> None:
    result = run("--show-completion", "bash")
    assert result.returncode == 0, result.stderr
    assert "_orchestrator_completion()" in result.stdout
    assert "complete -o default -F _orchestrator_completion orchestrator" in result.stdout


def test_install_completion_writes_it_where_the_shell_reads_it(tmp_path: pathlib.Path) -> None:
    result = run("--install-completion", "bash", HOME=str(tmp_path), SHELL="/bin/bash")
    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "orchestrator.sh"
    assert "_orchestrator_completion" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


def test_the_script_completes_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        env = {"_ORCHESTRATOR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        result = run(**env)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert complete("orchestrator sta") == ["status"]
    assert "drain" in complete("orchestrator d") and "dispatch" in complete("orchestrator d")
    assert "--undo" in complete("orchestrator drain --u")
