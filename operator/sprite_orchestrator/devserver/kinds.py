"""What the server knows about each served resource: builtins by name, custom ones from CRDs."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sprite_orchestrator.devserver import errors

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_GROUP = "apiextensions.k8s.io"
CRD_PLURAL = "customresourcedefinitions"


@dataclasses.dataclass(frozen=True)
class Kind:
    """One served resource at one version: `orchestrator.dev/v1alpha1/workerpools`."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    verbs: frozenset[str] = frozenset(ALL_VERBS)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    schema: Mapping[str, Any] | None = None  # openAPIV3Schema, for custom resources only
    columns: tuple[Mapping[str, Any], ...] = ()  # additionalPrinterColumns
    scale: Mapping[str, Any] | None = None  # the CRD's `subresources.scale`
    custom: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored once per group and plural, whatever version serves them."""
        return self.group, self.plural

    @property
    def qualified(self) -> str:
        """The resource as error messages name it: `workerpools.orchestrator.dev`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def not_found(self, name: str) -> errors.ApiError:
        return errors.not_found(self.qualified, name, group=self.group, plural=self.plural)

    def conflict(self, name: str, why: str = "") -> errors.ApiError:
        return errors.conflict(self.qualified, name, group=self.group, plural=self.plural, why=why)


def from_info(group: str, version: str, plural: str, info: Any) -> Kind:
    """A builtin resource from kmock's `ResourceInfo` (as loaded by `load_bundled()`)."""
    kind = info.kind or plural.capitalize()
    return Kind(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        singular=info.singular or kind.lower(),
        namespaced=bool(info.namespaced),
        verbs=frozenset(info.verbs or ALL_VERBS),
        short_names=tuple(sorted(info.shortnames)),
        categories=tuple(sorted(info.categories)),
        subresources=frozenset(info.subresources),
    )


def from_crd(crd: Mapping[str, Any]) -> list[Kind]:
    """The served versions of a CRD, each as a kind; raises `ApiError` if it is malformed."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = (
        str(v or "") for v in (spec.get("group"), names.get("plural"), names.get("kind"))
    )
    name = (crd.get("metadata") or {}).get("name", "")
    required = {"spec.group": group, "spec.names.plural": plural, "spec.names.kind": kind}
    problems = [errors.FieldError(f, "Required value") for f, v in required.items() if not v]
    if not problems and name != f"{plural}.{group}":
        detail = 'must be spec.names.plural+"."+spec.group'
        problems.append(errors.FieldError("metadata.name", "Invalid value", detail, name))
    if not spec.get("versions"):
        problems.append(errors.FieldError("spec.versions", "Invalid value", "must have one", []))
    if problems:
        raise errors.invalid("CustomResourceDefinition", CRD_GROUP, name, problems)
    kinds = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        kinds.append(
            Kind(
                group=group,
                version=version["name"],
                plural=plural,
                kind=kind,
                singular=names.get("singular") or kind.lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=frozenset(k for k in ("status", "scale") if k in subresources),
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                columns=tuple(version.get("additionalPrinterColumns") or ()),
                scale=subresources.get("scale"),
                custom=True,
            )
        )
    return kinds


def crd_status(crd: Mapping[str, Any], now: str) -> dict[str, Any]:
    """What the API server reports once it serves a CRD: names accepted, established."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stored = [v["name"] for v in spec.get("versions") or () if v.get("storage")]
    conditions = [
        ("NamesAccepted", "NoConflicts", "no conflicts found"),
        ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ]
    return {
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            {
                "type": type_,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": now,
            }
            for type_, reason, message in conditions
        ],
    }


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version order: GA over beta over alpha, then by number, then by name."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (0, 0, 0, version)
    stability = {"alpha": 1, "beta": 2, None: 3}[match[2]]
    return (stability, int(match[1]), int(match[3] or 0), "")


def preferred(versions: Iterable[str]) -> list[str]:
    """Versions from the most to the least preferred."""
    return sorted(set(versions), key=version_priority, reverse=True)
