"""What every cluster-facing command shares: connection options, errors a person reads."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import os
from collections.abc import Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import kubernetes.config
import typer
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from rich.console import Console

from sprite_orchestrator.kube import Kube, configuration

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

Kubeconfig = Annotated[
    str | None,
    typer.Option("--kubeconfig", envvar="KUBECONFIG", help="Path to the kubeconfig file."),
]
Context = Annotated[str | None, typer.Option("--context", help="The kubeconfig context.")]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="The namespace.")]


class Format(enum.StrEnum):
    """Machine-readable output of the read commands."""

    json = "json"
    yaml = "yaml"


Output = Annotated[
    Format | None,
    typer.Option("--output", "-o", help="Print json or yaml for scripts instead of a table."),
]


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


def run(target: Target, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an API that cannot be reached or refuses is one line."""
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        errors.print("interrupted: what was asked of the cluster goes on (orchestrator status)")
        raise typer.Exit(130) from None
    except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
        fail(
            f"cannot reach the Kubernetes API at {target.kube.server} ({_cause(exc)}). "
            "Is the cluster up? For a local one run `orchestrator dev`."
        )
    except ApiException as exc:
        if exc.status in (401, 403):
            fail(
                f"the Kubernetes API at {target.kube.server} refused the request "
                f"({exc.status} {exc.reason}): check the kubeconfig's user and its RBAC rights"
            )
        fail(f"the Kubernetes API answered {exc.status} {exc.reason}")
    finally:
        target.kube.close()


def _cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return type(reason or exc).__name__


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
