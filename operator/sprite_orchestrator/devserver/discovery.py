"""API discovery documents (`/api`, `/apis`, group and version resource lists, `/version`).

Legacy (unaggregated) discovery only: kubectl and client-go fall back to it when the response
is plain `application/json`, and kopf uses nothing else.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sprite_orchestrator.devserver.kinds import Kind, preferred

Doc = dict[str, Any]
SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"]}
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-orchestrator-dev",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def group_versions(kinds: Iterable[Kind]) -> dict[str, list[str]]:
    """Named groups (not the core group) with their versions, most preferred first."""
    versions: dict[str, set[str]] = collections.defaultdict(set)
    for kind in kinds:
        if kind.group:
            versions[kind.group].add(kind.version)
    return {group: preferred(found) for group, found in sorted(versions.items())}


def api_versions(address: str) -> Doc:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: Sequence[str]) -> Doc:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(kinds: Iterable[Kind]) -> Doc:
    groups = [_group(name, versions) for name, versions in group_versions(kinds).items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(kinds: Iterable[Kind], group: str) -> Doc | None:
    versions = group_versions(kinds).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_list(kinds: Iterable[Kind], group: str, version: str) -> Doc | None:
    served = [k for k in kinds if k.group == group and k.version == version]
    if not served:
        return None
    resources: list[Doc] = []
    for kind in sorted(served, key=lambda k: k.plural):
        entry: Doc = {
            "name": kind.plural,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": sorted(kind.verbs),
        }
        if kind.short_names:
            entry["shortNames"] = list(kind.short_names)
        if kind.categories:
            entry["categories"] = list(kind.categories)
        resources.append(entry)
        for sub in sorted(kind.subresources):
            sub_kind = "Scale" if sub == "scale" else kind.kind
            sub_entry: Doc = {"name": f"{kind.plural}/{sub}", "singularName": "", "kind": sub_kind}
            sub_entry["namespaced"] = kind.namespaced
            sub_entry["verbs"] = SUBRESOURCE_VERBS.get(sub, ["get"])
            if sub == "scale":
                sub_entry |= {"group": "autoscaling", "version": "v1"}
            resources.append(sub_entry)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def root_paths(kinds: Iterable[Kind], extra: Iterable[str] = ()) -> Doc:
    paths = {"/api", "/api/v1", "/apis", "/version", "/openapi/v2", "/openapi/v3", *extra}
    for group, versions in group_versions(kinds).items():
        paths.add(f"/apis/{group}")
        paths.update(f"/apis/{group}/{version}" for version in versions)
    return {"paths": sorted(paths)}


def version_info(overrides: Mapping[str, str] | None = None) -> Doc:
    return {**VERSION, **(overrides or {})}
