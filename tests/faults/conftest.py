"""A real operator process that tests kill and restart, against an API whose state survives.

The API (the emulator, `embedded.api`, as `orchestrator dev --api-only` serves it) runs in
the test's loop, so a test can also drop its watch streams and make it answer errors; the
operator is `orchestrator operator` in a subprocess, so SIGKILL is a real SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from sprite_orchestrator import embedded
from sprite_orchestrator.failpoints import VARIABLE
from sprite_orchestrator.kube import Kube, configuration
from tests.conftest import NS, Cluster, _destroy_machines, eventually, free_port
from tests.sprites.conftest import sprites_api  # noqa: F401 (fixtures)
from tests.ssh.conftest import machines, ssh_repo  # noqa: F401 (fixtures)
from tests.worker.conftest import git_repo, machine, plan, worker  # noqa: F401 (fixtures)

CLI = [sys.executable, "-m", "sprite_orchestrator.cli"]
STARTUP = 60.0  # python, kopf and our imports on a busy 2-CPU machine


class OperatorProcess:
    """`orchestrator operator` against the test's API; started, killed, restarted by tests.

    Everything every run printed is kept in `log_dir` (the secret scans read it all).
    """

    def __init__(self, kubeconfig: pathlib.Path, state_dir: pathlib.Path, log_dir: pathlib.Path):
        self.kubeconfig, self.state_dir, self.log_dir = kubeconfig, state_dir, log_dir
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.kills = 0  # SIGKILLs: by a failpoint or by the test

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, *, failpoints: str = "", extra_env: dict[str, str] | None = None) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.runs += 1
        env = {**os.environ, **(extra_env or {})}
        env.pop(VARIABLE, None)
        env.pop("ANTHROPIC_API_KEY", None)
        if failpoints:
            env[VARIABLE] = failpoints
        argv = [
            *CLI,
            "operator",
            "--kubeconfig",
            str(self.kubeconfig),
            "--state-dir",
            str(self.state_dir),
            "--namespace",
            NS,
            "--metrics-port",
            str(self.metrics_port),
            "--metrics-host",
            "127.0.0.1",
        ]
        with self.log(self.runs).open("wb") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def log(self, run: int) -> pathlib.Path:
        return self.log_dir / f"operator-{run}.log"

    def output(self) -> str:
        """Everything every run of the operator printed, in order."""
        return "".join(self.log(run).read_text(errors="replace") for run in range(1, self.runs + 1))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the operator alone, as the OOM killer would; its exec'd children live on."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    async def killed_at(self, failpoint: str, *, timeout: float = 90.0) -> None:
        """Wait until the operator killed itself at `failpoint` (and nowhere else)."""

        async def dead() -> bool:
            return self.proc is not None and self.proc.poll() is not None

        await eventually(dead, timeout=timeout, interval=0.05)
        assert self.proc is not None
        said = self.log(self.runs).read_text(errors="replace")
        assert self.proc.returncode == -signal.SIGKILL, said[-3000:]
        assert f"failpoint {failpoint}: killing process" in said, said[-3000:]
        self.kills += 1

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)  # kopf traps SIGTERM: bound it hard
            self.proc.wait()


@contextlib.asynccontextmanager
async def api_only(tmp_path: pathlib.Path) -> AsyncIterator[tuple[Cluster, pathlib.Path]]:
    """The emulated API with our CRDs (what `orchestrator dev --api-only` serves)."""
    kubeconfig = tmp_path / "kubeconfig"
    async with embedded.api(kubeconfig=kubeconfig) as (emulator, url):
        kube = Kube(configuration(server=url))
        try:
            yield Cluster(emulator, url, kube, tmp_path / "workers"), kubeconfig
        finally:
            kube.close()


@pytest.fixture
async def api(tmp_path: pathlib.Path) -> AsyncIterator[tuple[Cluster, pathlib.Path]]:
    async with api_only(tmp_path) as served:
        yield served
        await _destroy_machines(served[0].state_dir)


@pytest.fixture
def cluster(api: tuple[Cluster, pathlib.Path]) -> Cluster:
    return api[0]


@pytest.fixture
def operator_process(
    api: tuple[Cluster, pathlib.Path], tmp_path: pathlib.Path
) -> Iterator[OperatorProcess]:
    cluster, kubeconfig = api
    logs = tmp_path / "logs"
    logs.mkdir()
    process = OperatorProcess(kubeconfig, cluster.state_dir, logs)
    try:
        yield process
    finally:
        process.stop()
