"""The 30-minute rule: the agent's work lands on wip/<task> in the remote, then a clean repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sprite_orchestrator.worker import snapshot
from tests.worker.workerkit import Worker


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def bare_remote(git_repo: Path) -> Path:
    """The test repo is non-bare; pushes go to a bare twin set as the worker's origin."""
    remote = git_repo.parent / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(git_repo), str(remote)], check=True)
    return remote


async def test_uncommitted_work_is_saved_without_touching_the_agent_s_tree(
    worker: Worker, git_repo: Path
) -> None:
    repo = worker.home / "demo"
    remote = bare_remote(git_repo)
    git(repo, "remote", "set-url", "origin", str(remote))
    (repo / "new.txt").write_text("the agent's new file\n")
    (repo / "README.md").write_text("edited by the agent\n")
    status_before = git(repo, "status", "--porcelain")

    saved = await snapshot.save(
        worker.provider, worker.name, repo_dir="demo", branch=snapshot.branch_for("kite-abc12")
    )

    assert saved.changed and saved.pushed and not saved.reset
    assert git(repo, "status", "--porcelain") == status_before  # index and tree untouched
    assert git(remote, "rev-parse", "refs/heads/wip/kite-abc12") == saved.commit
    assert git(remote, "show", f"{saved.commit}:new.txt") == "the agent's new file"
    assert git(remote, "show", f"{saved.commit}:README.md") == "edited by the agent"


async def test_save_then_reset_leaves_a_clean_repo_at_the_ref(
    worker: Worker, git_repo: Path
) -> None:
    repo = worker.home / "demo"
    base = git(repo, "rev-parse", "HEAD")
    (repo / "scratch.txt").write_text("x\n")
    git(
        repo,
        "-c",
        "user.name=a",
        "-c",
        "user.email=a@a",
        "commit",
        "-qam",
        "agent commit",
        "--allow-empty",
    )

    saved = await snapshot.save(
        worker.provider, worker.name, repo_dir="demo", branch="wip/t1", reset=True
    )

    assert saved.reset and saved.changed
    assert git(repo, "rev-parse", "HEAD") == base
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "wip/t1:scratch.txt") == "x"  # kept on the branch locally
    assert saved.pushed  # a branch that is not checked out there is accepted


async def test_nothing_to_save_keeps_head(worker: Worker) -> None:
    repo = worker.home / "demo"
    (repo / ".dev-setup-runs").unlink()  # the setup script's mark; nothing else is new
    head = git(repo, "rev-parse", "HEAD")
    saved = await snapshot.save(worker.provider, worker.name, repo_dir="demo", branch="wip/t2")
    assert (saved.changed, saved.commit) == (False, head)


async def test_a_locked_branch_fails_the_save_and_no_repo_is_nothing_to_save(
    worker: Worker,
) -> None:
    repo = worker.home / "demo"
    (repo / "new.txt").write_text("work\n")
    lock = repo / ".git" / "refs" / "heads" / "wip" / "kite-abc12.lock"
    lock.parent.mkdir(parents=True)
    lock.touch()
    branch = snapshot.branch_for("kite-abc12")

    with pytest.raises(snapshot.SnapshotFailed, match="update-ref") as failed:
        await snapshot.save(worker.provider, worker.name, repo_dir="demo", branch=branch)
    assert not isinstance(failed.value, snapshot.NoRepo)  # the work is there: keep it

    with pytest.raises(snapshot.NoRepo, match="no repo at ~/gone"):
        await snapshot.save(worker.provider, worker.name, repo_dir="gone", branch=branch)
