"""High availability: of several operator replicas, one acts and the others wait (kopf peering).

Each replica announces itself with a random priority in a peering object: a ClusterKopfPeering
when it serves all namespaces, a KopfPeering in each served namespace otherwise. kopf pauses a
replica (its watches and daemons) while it sees a live peer of a higher priority, and resumes it
when that peer is gone: at once when the peer stops cleanly, after `lifetime` seconds when it
died. Peering is mandatory, so a new replica stays paused until it has read the peering object.
During a handover the binding's compare-and-swap and the delivery marker still keep every task
on one worker and every prompt pasted once.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Collection

import kopf

from sprite_orchestrator.kube import Conflict, Kube
from sprite_orchestrator.models.crds import PEERING_GROUP, PEERING_VERSION

LIFETIME = 60  # seconds a silent replica is still taken as alive (kopf's default)


def configure(
    settings: kopf.OperatorSettings,
    *,
    name: str,
    clusterwide: bool,
    priority: int | None = None,
    lifetime: int = LIFETIME,
) -> None:
    """Peer through the object `name`; equal priorities would pause everyone, so draw one."""
    settings.peering.standalone = False
    settings.peering.mandatory = True
    settings.peering.name = name
    settings.peering.clusterwide = clusterwide
    settings.peering.priority = priority if priority is not None else 1 + secrets.randbelow(2**31)
    settings.peering.lifetime = lifetime


async def ensure(kube: Kube, name: str, namespaces: Collection[str]) -> None:
    """Create the peering objects if absent: a replica that never sees one never acts."""
    api_version = f"{PEERING_GROUP}/{PEERING_VERSION}"
    if not namespaces:
        body = {"apiVersion": api_version, "kind": "ClusterKopfPeering", "metadata": {"name": name}}
        with contextlib.suppress(Conflict):
            await kube.create_other(api_version, "clusterkopfpeerings", None, body)
        return
    for namespace in namespaces:
        body = {
            "apiVersion": api_version,
            "kind": "KopfPeering",
            "metadata": {"name": name, "namespace": namespace},
        }
        with contextlib.suppress(Conflict):
            await kube.create_other(api_version, "kopfpeerings", namespace, body)
