"""`orchestrator` in its own process against a test's cluster, as a user runs it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import sys

from sprite_orchestrator.devserver.serving import write_kubeconfig

CLI = (sys.executable, "-m", "sprite_orchestrator.cli")


@dataclasses.dataclass(frozen=True)
class Orchestrator:
    """The CLI with a kubeconfig for the cluster at `url`."""

    kubeconfig: pathlib.Path

    @classmethod
    def for_cluster(cls, url: str, directory: pathlib.Path) -> Orchestrator:
        return cls(write_kubeconfig(directory / "kubeconfig", url))

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *CLI,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig), "COLUMNS": "200"},
        )

    async def run(self, *args: str) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of `orchestrator ARGS`."""
        proc = await self.start(*args)
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()
