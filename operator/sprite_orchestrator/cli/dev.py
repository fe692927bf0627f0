"""`orchestrator dev`: a Kubernetes-compatible API, the operator and a kubeconfig, locally."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
from typing import Annotated

import platformdirs
import typer

from sprite_orchestrator.cli import demo
from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import Target, console, fail


def state_dir() -> pathlib.Path:
    """Where the embedded default keeps its kubeconfig, demo repo and Local workers."""
    return pathlib.Path(platformdirs.user_state_dir("sprite-orchestrator"))


@app.command()
def dev(
    kubeconfig: Annotated[
        pathlib.Path | None,
        typer.Option("--kubeconfig", help="Where to write the kubeconfig."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="API port on 127.0.0.1 (0: any).")] = 0,
    state: Annotated[
        pathlib.Path | None, typer.Option("--state-dir", help="Workers and demo repo live here.")
    ] = None,
    with_demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo pool and dispatch a demo task.")
    ] = False,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="Serve only the API; run `orchestrator operator --kubeconfig …` yourself.",
        ),
    ] = False,
) -> None:
    """Run a local Kubernetes-compatible API and the operator (Local provider) until Ctrl-C."""
    root = state or state_dir()
    path = kubeconfig or root / "kubeconfig"
    root.mkdir(parents=True, exist_ok=True)
    if api_only:
        if with_demo:
            fail("--demo needs the operator; drop --api-only")
        asyncio.run(_api(path, port))
    else:
        asyncio.run(_dev(root, path, port, with_demo))


async def _api(kubeconfig: pathlib.Path, port: int) -> None:
    from sprite_orchestrator import embedded  # the emulator: ~0.5 s of imports, `dev` only

    async with embedded.api(port=port, kubeconfig=kubeconfig) as (_, url):
        stop = asyncio.Event()
        _on_signals(stop)
        console.print(f"[bold]sprite-orchestrator dev[/bold]: API on {url} (no operator).")
        console.print(f"  orchestrator operator --kubeconfig {kubeconfig} --state-dir DIR")
        await stop.wait()


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _dev(root: pathlib.Path, kubeconfig: pathlib.Path, port: int, with_demo: bool) -> None:
    from sprite_orchestrator import embedded  # the emulator and the operator: `dev` only

    async with embedded.control_plane(root / "workers", port=port, kubeconfig=kubeconfig) as cp:
        _on_signals(cp.stop)
        _print_next_steps(cp.url, kubeconfig)
        if with_demo:
            await demo.run(Target(cp.kube, "default"), root)
        with contextlib.suppress(asyncio.CancelledError):
            await cp.operator


def _print_next_steps(url: str, kubeconfig: pathlib.Path) -> None:
    console.print(f"[bold]sprite-orchestrator dev[/bold]: API on {url}, operator running.")
    console.print("In another terminal:")
    console.print(f"  export KUBECONFIG={kubeconfig}")
    console.print('  orchestrator dispatch --repo demo --command "…" --wait')
    console.print("  orchestrator status; orchestrator workers; orchestrator pools")
    console.print("  kubectl get wp,wk,at")
    console.print("  orchestrator attach demo-1          # the agent's tmux session")
    console.print("Ctrl-C stops both; Local workers keep their tmux sessions for the next run.")
