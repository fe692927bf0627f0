"""Operators in their own processes (as in pods) against an API served by the test."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import pytest

from sprite_orchestrator import embedded
from sprite_orchestrator.kube import Kube, configuration
from tests.conftest import Cluster, _destroy_machines

PEERING = "sprite-orchestrator"
Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
async def api(tmp_path: pathlib.Path) -> AsyncIterator[Cluster]:
    """The emulated API alone, with a kubeconfig for operators in other processes."""
    state = tmp_path / "workers"
    async with embedded.api(kubeconfig=tmp_path / "kubeconfig") as (emulator, url):
        kube = Kube(configuration(server=url))
        try:
            yield Cluster(emulator=emulator, url=url, kube=kube, state_dir=state)
        finally:
            kube.close()
            await _destroy_machines(state)


@pytest.fixture
def start(tmp_path: pathlib.Path, api: Cluster) -> Iterator[Start]:
    """Start `orchestrator operator --peering` replicas (NAME, PRIORITY, [namespaces]), each
    logging to NAME.log in tmp_path; all are killed after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def run(name: str, priority: int, namespaces: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "sprite_orchestrator.cli", "operator"]
        argv += ["--kubeconfig", str(tmp_path / "kubeconfig"), "--state-dir", str(api.state_dir)]
        argv += ["--peering", PEERING, "--priority", str(priority)]
        argv += [f"--namespace={namespace}" for namespace in namespaces]
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
