"""A real `orchestrator dev` process, and the CLI run against it as a user runs it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from sprite_orchestrator.cli import demo
from sprite_orchestrator.providers.local import LocalProvider

CLI = [sys.executable, "-m", "sprite_orchestrator.cli"]


class Dev:
    """A running `orchestrator dev` process and how to talk to it."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.kubeconfig = root / "kubeconfig"
        self.env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        self.env.pop("ANTHROPIC_API_KEY", None)

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=180, **kwargs
        )

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """`orchestrator ARGS…`, as a user types it."""
        return self.run([*CLI, *args], **kwargs)

    def json(self, *args: str) -> Any:
        """`orchestrator ARGS… -o json`, parsed."""
        result = self.cli(*args, "-o", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def kubectl(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(["kubectl", *args], **kwargs)

    def pool(self, tmp_path: pathlib.Path, **scaling: int) -> None:
        """The demo pool (demo agent), created as a user would."""
        body = demo.pool_body(demo.make_repo(tmp_path / "src"), claude=False)
        if scaling:
            body["spec"]["scaling"] = scaling
        manifest = tmp_path / "pool.yaml"
        manifest.write_text(yaml.safe_dump(body))
        assert apply(self, manifest)


def eventually(probe: Callable[[], Any], *, timeout: float = 120.0) -> Any:
    """Poll a CLI observation until it is truthy (the CLI is a process: no event loop here)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout}s; last seen: {last!r}")


@contextlib.contextmanager
def running(root: pathlib.Path, *extra: str) -> Iterator[Dev]:
    """`orchestrator dev --state-dir ROOT EXTRA…` until the block ends; its machines destroyed."""
    handle = Dev(root)
    proc = subprocess.Popen(
        [*CLI, "dev", "--port", "0", "--state-dir", str(root), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=handle.env,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the banner is printed once the operator is ready
            if "KUBECONFIG=" in line:
                break
        else:
            pytest.fail(f"orchestrator dev exited with {proc.wait()}")
        assert handle.kubeconfig.exists()
        # Keep reading what it prints, so a full pipe never stops it.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield handle
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kopf traps SIGTERM: bound it hard
        proc.wait()
        asyncio.run(_destroy(root / "workers"))


@pytest.fixture
def dev(tmp_path: pathlib.Path) -> Iterator[Dev]:
    with running(tmp_path / "state") as handle:
        yield handle


async def _destroy(state: pathlib.Path) -> None:
    for pool_dir in (state / "local").glob("*/*"):
        provider = LocalProvider(pool_dir)
        for machine in await provider.list():
            await provider.destroy(machine.name)


def apply(dev: Dev, manifest: pathlib.Path) -> bool:
    """Create the pool: with kubectl where present, else through the API client."""
    if shutil.which("kubectl"):
        return dev.kubectl("apply", "-f", str(manifest)).returncode == 0
    from sprite_orchestrator.kube import Kube, configuration

    body = yaml.safe_load(manifest.read_text())
    kube = Kube(configuration(kubeconfig=str(dev.kubeconfig)))
    asyncio.run(kube.create("workerpools", "default", body))
    return True


def task_name(result: subprocess.CompletedProcess[str]) -> str:
    """The task `orchestrator dispatch` created, from its first line."""
    return next(w for w in result.stdout.split() if w.startswith("agenttask/")).split("/")[1]
