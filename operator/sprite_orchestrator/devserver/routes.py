"""URL paths of the Kubernetes API, parsed into what they address.

Written here rather than taken from kmock: kmock 0.8 fails on `/api/v1/namespaces` (a 500 for
the namespace list) and cannot tell a namespace's `/status` from a resource named "status".
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Route:
    """`group` is None for non-API paths; "" is the core group (`/api/v1`)."""

    group: str | None = None
    version: str | None = None
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None

    @property
    def is_api(self) -> bool:
        return self.group is not None


_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def parse(path: str) -> Route:
    parts = [part for part in path.split("/") if part]
    version: str | None
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 2 and parts[0] == "apis":
        group, version, rest = parts[1], (parts[2] if len(parts) >= 3 else None), parts[3:]
    else:
        return Route()
    if version is None:
        return Route(group=group)
    namespace = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        is_namespace_subresource = len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES
        if len(rest) == 2 or (group == "" and is_namespace_subresource):
            sub = rest[2] if len(rest) == 3 else None
            return Route(group, version, "namespaces", None, rest[1], sub)
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] if rest else None
    name = rest[1] if len(rest) >= 2 else None
    subresource = "/".join(rest[2:]) or None
    return Route(group, version, plural, namespace, name, subresource)
