"""Reading our objects for people: a missing object and missing CRDs are different errors."""

from __future__ import annotations

from sprite_orchestrator.cli.common import Target, fail
from sprite_orchestrator.kube import Body, NotFound

KINDS = {"agenttasks": "AgentTask", "workers": "Worker", "workerpools": "WorkerPool"}
LISTS = {"agenttasks": "orchestrator status", "workers": "orchestrator workers"}
LISTS["workerpools"] = "orchestrator pools"


async def get(target: Target, plural: str, name: str) -> Body:
    """One object, or a one-line error that says how to list what exists."""
    try:
        return await target.kube.get(plural, target.namespace, name)
    except NotFound:
        await listing(target, plural)  # fails first if the kind itself is unknown
        fail(
            f"no {KINDS[plural]} {name!r} in namespace {target.namespace!r} "
            f"(`{LISTS[plural]} -n {target.namespace}` lists them)"
        )


async def find(target: Target, plural: str, name: str) -> Body | None:
    """One object, or None if there is none (missing CRDs still fail, as in `get`)."""
    try:
        return await target.kube.get(plural, target.namespace, name)
    except NotFound:
        await listing(target, plural)
        return None


async def get_any(target: Target, name: str, plurals: tuple[str, ...]) -> tuple[str, Body]:
    """The first of these kinds that has an object with this name."""
    for plural in plurals:
        try:
            return plural, await target.kube.get(plural, target.namespace, name)
        except NotFound:
            await listing(target, plural)
    kinds = " or ".join(KINDS[p] for p in plurals)
    fail(f"no {kinds} named {name!r} in namespace {target.namespace!r}")


async def listing(
    target: Target, plural: str, *, labels: dict[str, str] | None = None
) -> list[Body]:
    """All objects of a kind in the namespace, oldest first."""
    try:
        items = await target.kube.list(plural, target.namespace, labels=labels)
    except NotFound:
        fail(
            f"the API at {target.kube.server} does not know {KINDS[plural]} objects: the "
            "sprite-orchestrator CRDs are not installed. Install them with "
            "`orchestrator crds | kubectl apply -f -` (or the Helm chart)."
        )
    return sorted(items, key=lambda b: (b["metadata"].get("creationTimestamp") or "", _name(b)))


async def events(target: Target, kind: str, name: str) -> list[Body]:
    """The events the operator posted about one object, oldest first."""
    found = [
        e
        for e in (await target.kube.events(target.namespace)).get("items", [])
        if (e.get("involvedObject") or {}).get("name") == name
        and (e.get("involvedObject") or {}).get("kind") == kind
    ]
    return sorted(found, key=event_time)


def event_time(event: Body) -> str:
    """When the event happened last (core/v1 keeps it in one of several fields)."""
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or event["metadata"].get("creationTimestamp")
        or ""
    )


def _name(body: Body) -> str:
    return str(body["metadata"]["name"])
