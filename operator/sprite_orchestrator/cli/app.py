"""The typer application and the commands that need no cluster."""

from __future__ import annotations

import pathlib
from typing import Annotated

import typer

from sprite_orchestrator import __version__
from sprite_orchestrator.models import crds as crd_models

app = typer.Typer(
    name="orchestrator",
    help="Run coding agents on pools of workers, Kubernetes-native.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def crds(
    output: Annotated[
        pathlib.Path | None,
        typer.Option("--output", "-o", help="Write one file per CRD into this directory."),
    ] = None,
) -> None:
    """Print the CRDs (generated from the models), or write them into a directory."""
    files = crd_models.files()
    if output is None:
        typer.echo("---\n".join(files.values()), nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output / name).write_text(text)
        typer.echo(f"wrote {output / name}")


def _register() -> None:
    """Commands that talk to a cluster live in their own modules."""
    from sprite_orchestrator.cli import commands  # noqa: F401


_register()
