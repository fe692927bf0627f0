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

import secrets
from collections.abc import Collection

import kopf

from sprite_orchestrator.kube import Conflict, Kube, NotFound
from sprite_orchestrator.models.crds import PEERING_GROUP, PEERING_VERSION

LIFETIME = 60  # seconds a silent replica is still taken as alive (kopf's default)


class PeeringUnavailable(RuntimeError):
    """The peering kinds are not served: their CRDs were never applied."""


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
    wanted: list[tuple[str | None, str, str]] = (
        [(ns, "kopfpeerings", "KopfPeering") for ns in namespaces]
        if namespaces
        else [(None, "clusterkopfpeerings", "ClusterKopfPeering")]
    )
    for namespace, plural, kind in wanted:
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        body = {"apiVersion": api_version, "kind": kind, "metadata": meta}
        try:
            await kube.create_other(api_version, plural, namespace, body)
        except Conflict:
            continue  # made by another replica or an earlier run
        except NotFound:
            raise PeeringUnavailable(
                f"{plural}.{PEERING_GROUP} is not served: apply the CRDs in crds/ (helm "
                "upgrade does not install new CRDs), or run without --peering"
            ) from None
