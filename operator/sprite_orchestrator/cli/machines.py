"""A worker's machine as the CLI reaches it: the pool's provider, built as the operator does."""

from __future__ import annotations

import pathlib

import pydantic

from sprite_orchestrator.cli import reading
from sprite_orchestrator.cli.common import Target, fail
from sprite_orchestrator.handlers import providing
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.kube import Body
from sprite_orchestrator.models import WorkerPoolSpec, WorkerStatus
from sprite_orchestrator.providers.base import Provider, ProviderError


async def provider(target: Target, worker: Body) -> Provider:
    """The provider of the worker's pool; a Local one only on the operator's own host."""
    name, pool = worker["metadata"]["name"], worker["spec"]["pool"]
    body = await reading.get(target, "workerpools", pool)
    try:
        spec = WorkerPoolSpec.model_validate(body["spec"])
    except pydantic.ValidationError:
        fail(f"pool {pool} has an invalid spec (kubectl describe wp {pool} says why)")
    machine = st.load(WorkerStatus, worker).machine
    if not machine:
        fail(f"worker {name} has no machine yet (orchestrator workers shows its state)")
    state_dir = (
        _local_state_dir(target, name, pool, machine) if spec.provider.type == "Local" else None
    )
    try:
        return providing.build(
            target.kube, state_dir or pathlib.Path(), target.namespace, pool, spec
        )
    except ProviderError as exc:
        fail(str(exc))


def _local_state_dir(target: Target, name: str, pool: str, machine: str) -> pathlib.Path:
    """Where the operator keeps Local machines, read back from the machine's path."""
    path = pathlib.Path(machine)
    state_dir = path.parents[3] if len(path.parents) > 3 else path
    same = state_dir / "local" / target.namespace / pool / name == path
    if not same or not path.is_dir():
        fail(
            f"worker {name} is a Local worker on the operator's host; run this there "
            "(on a cluster: kubectl exec into the operator's pod)"
        )
    return state_dir
