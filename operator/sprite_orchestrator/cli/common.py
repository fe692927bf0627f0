"""What every cluster-facing command shares: connection options, errors a person reads."""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated, NoReturn

import kubernetes.config
import typer
from rich.console import Console

from sprite_orchestrator.kube import Kube, configuration

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

Kubeconfig = Annotated[
    str | None,
    typer.Option("--kubeconfig", envvar="KUBECONFIG", help="Path to the kubeconfig file."),
]
Context = Annotated[str | None, typer.Option("--context", help="The kubeconfig context.")]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="The namespace.")]


def fail(message: str, *, code: int = 2) -> NoReturn:
    """One line that says what is wrong and what to do; no traceback."""
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@dataclasses.dataclass
class Target:
    """A cluster and a namespace, resolved as kubectl resolves them."""

    kube: Kube
    namespace: str


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Target:
    """Connect like kubectl: --kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster."""
    path = kubeconfig.split(os.pathsep)[0] if kubeconfig else None
    try:
        config = configuration(kubeconfig=path, context=context)
    except (kubernetes.config.ConfigException, FileNotFoundError, OSError) as exc:
        fail(
            f"no usable kubeconfig ({exc}). Start the embedded control plane with "
            "`orchestrator dev` and export the KUBECONFIG it prints, or pass --kubeconfig."
        )
    return Target(Kube(config), namespace or _default_namespace(path, context))


def _default_namespace(path: str | None, context: str | None) -> str:
    """The namespace of the chosen (or current) context, as kubectl picks it."""
    lister = kubernetes.config.list_kube_config_contexts
    try:
        contexts, active = lister(config_file=path)  # type: ignore[no-untyped-call]
    except (kubernetes.config.ConfigException, OSError, TypeError):
        return "default"
    if context is not None:
        active = next((c for c in contexts if c["name"] == context), active)
    return str(active.get("context", {}).get("namespace") or "default")
