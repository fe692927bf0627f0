"""`orchestrator operator`: run the operator against a cluster (what the Helm chart runs)."""

from __future__ import annotations

import asyncio
import pathlib
import signal
from typing import Annotated

import kubernetes.config.kube_config
import typer

from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import Kubeconfig


@app.command()
def operator(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Watch only these namespaces (default: all)."),
    ] = None,
    state_dir: Annotated[
        pathlib.Path,
        typer.Option("--state-dir", help="Where the Local provider keeps its machines."),
    ] = pathlib.Path("/var/lib/sprite-orchestrator"),
    liveness: Annotated[
        str | None,
        typer.Option("--liveness", help="Serve a liveness probe, e.g. http://0.0.0.0:8080/healthz"),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port.")
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address for the metrics port.")
    ] = "0.0.0.0",  # noqa: S104
    kubeconfig: Kubeconfig = None,
    peering: Annotated[
        str | None,
        typer.Option(
            "--peering",
            help="Peer with other replicas through this kopf peering object: one acts at a time.",
        ),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option("--priority", help="Peering priority: the highest acts (default: random)."),
    ] = None,
) -> None:
    """Run the operator until SIGINT/SIGTERM."""
    import kopf  # the operator's imports are paid by `orchestrator operator` alone

    kopf.configure()  # INFO to stderr, as `kopf run` logs: handlers, peering pauses, errors
    asyncio.run(
        _operate(
            namespace or [],
            state_dir,
            liveness,
            kubeconfig,
            metrics_port,
            metrics_host,
            peering=peering,
            priority=priority,
        )
    )


async def _operate(
    namespaces: list[str],
    state_dir: pathlib.Path,
    liveness: str | None,
    kubeconfig: str | None,
    metrics_port: int | None,
    metrics_host: str,
    *,
    peering: str | None,
    priority: int | None,
) -> None:
    from sprite_orchestrator.handlers import running

    if kubeconfig is not None:
        # kopf logs in with the client library's default kubeconfig, which it read from
        # $KUBECONFIG once, at import: --kubeconfig must be that default too.
        kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION = kubeconfig
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await running.run(
        state_dir=state_dir,
        kubeconfig=kubeconfig,
        namespaces=namespaces,
        stop_flag=stop,
        liveness_endpoint=liveness,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        peering=peering,
        priority=priority,
    )
