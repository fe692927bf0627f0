"""Provisioning a Local machine into a worker, as a user would check it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sprite_orchestrator.providers.base import ExecResult
from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import claude_config, provisioning
from sprite_orchestrator.worker.provisioning import ProvisioningFailed, ProvisionPlan
from tests.worker.workerkit import SECRET, Worker, eventually, make_repo


async def test_a_provisioned_machine_is_a_worker(worker: Worker) -> None:
    log = worker.state.joinpath("provision.log").read_text()
    assert (worker.home / "demo" / ".git").is_dir()
    assert (worker.home / "demo" / "README.md").read_text() == "demo\n"
    assert (worker.home / "demo" / ".dev-setup-runs").read_text() == "run\n"
    assert "setting up the demo repo" in log
    assert worker.windows() == {0: "shell", 1: "agent:waiting"}
    assert worker.tmux("show-options", "-w", "-t", "=demo-dev:1", "remain-on-exit").split() == [
        "remain-on-exit",
        "on",
    ]


async def test_provisioning_twice_runs_no_step_twice(worker: Worker, plan: ProvisionPlan) -> None:
    heard: list[str] = []

    async def on_step(message: str) -> None:
        heard.append(message)

    again = await provisioning.provision(worker.provider, worker.name, plan, on_step=on_step)
    log = worker.state.joinpath("provision.log").read_text()
    assert heard == [
        "provisioning step 1 of 5, prepare: installing the orchestrator's scripts",
        "provisioning step 2 of 5, clone: cloning the repo into ~/demo",
        "provisioning step 3 of 5, setup: running the setup script scripts/dev-setup.sh",
        "provisioning step 4 of 5, agent: configuring the agent (Claude Code's settings and state)",
        "provisioning step 5 of 5, tmux: starting tmux session demo-dev",
    ]
    assert again.ran == ()
    assert again.skipped == provisioning.STEPS
    assert again.summary == "skipped prepare, clone, setup, agent, tmux"
    assert [log.count(f"==> {step} ") for step in provisioning.STEPS] == [1, 1, 1, 1, 1]
    assert (worker.home / "demo" / ".dev-setup-runs").read_text() == "run\n"


async def test_provisioning_resumes_where_it_stopped(worker: Worker, plan: ProvisionPlan) -> None:
    (worker.state / "steps" / "setup").unlink()  # as if it died during the setup script
    worker.tmux("kill-session", "-t", "=demo-dev")

    resumed = await provisioning.provision(worker.provider, worker.name, plan)

    assert resumed.ran == ("setup", "tmux")
    assert (worker.home / "demo" / ".dev-setup-runs").read_text() == "run\nrun\n"
    await worker.wait_window("agent:waiting")


async def test_concurrent_runs_converge_without_doing_a_step_twice(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    three = (provisioning.provision(provider, machine, plan) for _ in range(3))
    runs = await asyncio.gather(*three)

    home = provider.root / machine / "home"
    assert sorted(step for run in runs for step in run.ran) == sorted(provisioning.STEPS)
    assert (home / "demo" / ".dev-setup-runs").read_text() == "run\n"


async def test_a_half_clone_never_counts(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    home = provider.root / machine / "home"
    (home / ".demo.clone").mkdir(parents=True)
    (home / ".demo.clone" / "junk").write_text("left by a dead clone")

    await provisioning.provision(provider, machine, dataclasses.replace(plan, session="other"))

    assert (home / "demo" / "README.md").exists()
    assert not (home / ".demo.clone").exists()


async def test_a_failing_setup_script_fails_with_its_tail(
    provider: LocalProvider, machine: str, tmp_path: Path
) -> None:
    noisy = "#!/bin/bash\nfor i in $(seq 1 2000); do echo line-$i; done\necho boom >&2\nexit 3\n"
    plan = ProvisionPlan(
        repo_url=str(make_repo(tmp_path / "failing", noisy)),
        repo_dir="demo",
        session="demo-dev",
        agent_command=provisioning.DEMO_AGENT_COMMAND,
    )

    with pytest.raises(ProvisioningFailed) as failed:
        await provisioning.provision(provider, machine, plan)

    assert (failed.value.step, failed.value.exit_code) == ("setup", 3)
    assert failed.value.tail.endswith("boom\n<== setup failed with exit code 3\n")
    assert len(failed.value.tail.encode()) <= 4096
    assert failed.value.tail.startswith("line-")  # whole lines only
    assert "line-1\n" not in failed.value.tail
    log = await provisioning.provision_log(provider, machine, 100_000)
    assert b"line-1\n" in log and b"boom" in log
    with pytest.raises(ProvisioningFailed):  # not marked done: it runs again
        await provisioning.provision(provider, machine, plan)


async def test_a_repo_without_setup_script_is_fine(
    provider: LocalProvider, machine: str, tmp_path: Path
) -> None:
    plan = ProvisionPlan(
        repo_url=f"file://{make_repo(tmp_path / 'bare', setup_script=None)}",
        repo_dir="bare",
        session="bare-dev",
        agent_command=provisioning.DEMO_AGENT_COMMAND,
    )
    result = await provisioning.provision(provider, machine, plan)
    assert result.ran == ("prepare", "clone", "agent", "tmux")
    assert result.skipped == ("setup",)


async def test_the_ref_is_checked_out(
    provider: LocalProvider, machine: str, git_repo: Path, plan: ProvisionPlan
) -> None:
    subprocess.run(["git", "-C", str(git_repo), "checkout", "-q", "-b", "feature"], check=True)
    (git_repo / "FEATURE").write_text("yes\n")
    git = ["git", "-C", str(git_repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "feature"], check=True)
    subprocess.run(["git", "-C", str(git_repo), "checkout", "-q", "main"], check=True)

    await provisioning.provision(provider, machine, dataclasses.replace(plan, ref="feature"))

    repo = provider.root / machine / "home" / "demo"
    assert (repo / "FEATURE").exists()
    branch = subprocess.run(
        ["git", "-C", str(repo), "branch", "--show-current"], capture_output=True, text=True
    )
    assert branch.stdout.strip() == "feature"


class ArgvSpy:
    """The real provider, with every argv it runs kept for inspection."""

    def __init__(self, provider: LocalProvider) -> None:
        self.provider = provider
        self.argvs: list[list[str]] = []

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        self.argvs.append(list(argv))
        return await self.provider.exec(name, argv, stdin=stdin, timeout=timeout, env=env)

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.provider, attribute)


async def test_secrets_and_user_data_never_reach_an_argv_or_the_log(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    spy = ArgvSpy(provider)
    await provisioning.provision(spy, machine, plan)  # type: ignore[arg-type]
    worker = Worker(provider, machine, plan.session, tuple((await provider.create(machine)).attach))
    seen = await worker.wait_window("agent:waiting")

    argvs = "\0".join("\0".join(argv) for argv in spy.argvs)
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    env_file = worker.state / "agent" / "env"
    assert SECRET not in argvs and plan.repo_url not in argvs
    assert SECRET not in processes
    assert SECRET not in worker.state.joinpath("provision.log").read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    agent_env = Path(f"/proc/{seen.pane_pid}/environ").read_bytes().split(b"\0")
    assert f"ANTHROPIC_API_KEY={SECRET}".encode() in agent_env
    assert b"DEMO_GREETING=it's $HOME `x`" in agent_env
    assert SECRET not in repr(plan)


async def test_claude_config_is_merged_not_clobbered(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    home = provider.root / machine / "home"
    (home / ".claude").mkdir(parents=True)
    user_hook = {"hooks": [{"type": "command", "command": "echo mine"}]}
    settings = {"model": "opus", "hooks": {"Stop": [user_hook]}}
    (home / ".claude" / "settings.json").write_text(json.dumps(settings))
    (home / ".claude.json").write_text(json.dumps({"numStartups": 7, "theme": "light"}))

    await provisioning.provision(provider, machine, plan)
    await provisioning.provision(provider, machine, dataclasses.replace(plan, session="again"))

    merged = json.loads((home / ".claude" / "settings.json").read_text())
    state = json.loads((home / ".claude.json").read_text())
    ours = f"bash {home}/.sprite-orchestrator/bin/status-hook.sh"
    assert merged["model"] == "opus"
    assert merged["hooks"]["Stop"] == [user_hook, {"hooks": [_hook(ours)]}]
    for event in claude_config.HOOK_EVENTS:
        assert [g["hooks"][0]["command"] for g in merged["hooks"][event]].count(ours) == 1
    assert state["numStartups"] == 7 and state["theme"] == "light"
    assert state["hasCompletedOnboarding"] is True
    project = os.path.realpath(home / "demo")
    assert state["projects"][project]["hasTrustDialogAccepted"] is True
    assert state["customApiKeyResponses"] == {"approved": [SECRET[-20:]], "rejected": []}


async def test_an_unparsable_config_is_kept_aside(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    home = provider.root / machine / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text("{not json")

    await provisioning.provision(provider, machine, plan)

    assert (home / ".claude" / "settings.json.invalid").read_text() == "{not json"
    assert "hooks" in json.loads((home / ".claude" / "settings.json").read_text())


def _hook(command: str) -> dict[str, object]:
    return {"type": "command", "command": command, "timeout": claude_config.HOOK_TIMEOUT_SECONDS}


async def test_the_launcher_passes_argv_env_and_permission_mode_to_claude(
    provider: LocalProvider, machine: str, plan: ProvisionPlan
) -> None:
    home = provider.root / machine / "home"
    fake = home / "bin" / "claude"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        '#!/bin/bash\nprintf "%s\\n" "$@" > ~/claude-args\n'
        "printenv ANTHROPIC_API_KEY > ~/claude-key\nexec sleep 30\n"
    )
    fake.chmod(0o755)
    argv = (str(fake), "--model", 'it\'s a "model"\nwith a newline')

    done = await provisioning.provision(
        provider, machine, dataclasses.replace(plan, agent_command=argv)
    )

    async def written() -> bool:
        return (home / "claude-key").exists() and (home / "claude-key").stat().st_size > 0

    await eventually(written, what="the fake claude to start")
    args = (home / "claude-args").read_text()
    flags = f"--permission-mode\nacceptEdits\n--session-id\n{done.session_id}\n"
    assert args == f"--model\n{argv[2]}\n{flags}"
    assert (home / "claude-key").read_text() == f"{SECRET}\n"


async def test_the_deploy_key_is_used_for_the_clone(
    provider: LocalProvider,
    machine: str,
    plan: ProvisionPlan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "ssh").write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$HOME/ssh-args"\nexit 1\n')
    (fake_bin / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n-----END OPENSSH PRIVATE KEY-----\n"
    hosts = b"git.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsa\n"
    keyed = dataclasses.replace(
        plan, repo_url="git@git.invalid:acme/demo.git", deploy_key=key, known_hosts=hosts
    )

    with pytest.raises(ProvisioningFailed) as failed:
        await provisioning.provision(provider, machine, keyed)

    home = provider.root / machine / "home"
    key_file = home / ".sprite-orchestrator" / "deploy_key"
    ssh_args = (home / "ssh-args").read_text().splitlines()
    assert failed.value.step == "clone"
    assert key_file.read_bytes() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    hosts_file = home / ".sprite-orchestrator" / "known_hosts"
    assert ssh_args[:4] == ["-F", "/dev/null", "-i", str(key_file)]
    options = {ssh_args[i + 1] for i, word in enumerate(ssh_args) if word == "-o"}
    assert {
        "BatchMode=yes",
        "IdentitiesOnly=yes",
        "IdentityAgent=none",
        "StrictHostKeyChecking=yes",
        "GlobalKnownHostsFile=/dev/null",
        f"UserKnownHostsFile={hosts_file}",
    } <= options
    assert not any("accept-new" in word for word in ssh_args)
    assert hosts_file.read_bytes() == hosts
    assert not (home / "demo").exists()


@pytest.mark.parametrize(
    "change",
    [
        {"repo_dir": "../escape"},
        {"repo_dir": ".hidden"},
        {"session": "kite:dev"},
        {"session": "kite.dev"},
        {"setup_script": "../outside.sh"},
        {"setup_script": "/etc/passwd"},
        {"ref": "--upload-pack=evil"},
        {"agent_env": {"BAD-NAME": "x"}},
        {"agent_env": {"OK": "nul\0"}},
        {"agent_command": ()},
        {"permission_mode": "accept edits"},
        {"repo_url": "line\nbreak"},
    ],
)
def test_an_invalid_plan_is_refused(plan: ProvisionPlan, change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(plan, **change)  # type: ignore[arg-type]
