"""Turn the pydantic models into structural CRDs (apiextensions.k8s.io/v1).

Structural means: every `$ref` inlined, `X | None` becomes an optional property (no `anyOf`),
no `title`/`default`/`additionalProperties: false` noise, a `type` everywhere. Unions are a
`type` discriminator plus optional members, checked by CEL rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from sprite_orchestrator.models.kinds import KINDS, Kind

Schema = dict[str, Any]

_DROP = {"title", "additionalProperties", "$defs", "discriminator"}

# Extra rules the API server checks before the operator ever sees the object.
_RULES: dict[str, list[dict[str, str]]] = {
    "ProviderSpec": [
        {"rule": "self.type != 'SSH' || has(self.ssh)", "message": "type SSH needs provider.ssh"},
        {
            "rule": "self.type != 'Sprites' || has(self.sprites)",
            "message": "type Sprites needs provider.sprites",
        },
    ],
}


def structural(schema: Schema, defs: Mapping[str, Schema] | None = None) -> Schema:
    """A pydantic JSON schema rewritten as a Kubernetes structural schema."""
    defs = schema.get("$defs", {}) if defs is None else defs
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        inlined = structural(merged, defs)
        if name in _RULES:
            inlined["x-kubernetes-validations"] = _RULES[name]
        return inlined
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"not structural: {schema}")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return structural({**options[0], **rest}, defs)
    out: Schema = {}
    for key, value in schema.items():
        if key in _DROP or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = structural(value, defs)
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = value
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = structural(additional, defs)
    if (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
    ):
        out["properties"] = {}
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def _conditions_as_map(schema: Schema) -> None:
    conditions = schema.get("properties", {}).get("conditions")
    if conditions is not None:
        conditions["x-kubernetes-list-type"] = "map"
        conditions["x-kubernetes-list-map-keys"] = ["type"]


def object_schema(kind: Kind) -> Schema:
    """The openAPIV3Schema of one kind."""
    spec = structural(kind.spec.model_json_schema(by_alias=True))
    status = structural(kind.status.model_json_schema(by_alias=True))
    _conditions_as_map(status)
    return {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }


def crd(kind: Kind) -> Schema:
    """The CustomResourceDefinition of one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": kind.group,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": ["orchestrator"],
            },
            "versions": [
                {
                    "name": kind.version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": object_schema(kind)},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {
                            "name": c.name,
                            "type": c.type,
                            "jsonPath": c.json_path,
                            **({"description": c.description} if c.description else {}),
                            **({"priority": c.priority} if c.priority else {}),
                        }
                        for c in kind.columns
                    ],
                }
            ],
        },
    }


PEERING_GROUP, PEERING_VERSION = "kopf.dev", "v1"


def peering_crd(kind: str, plural: str, *, scope: str) -> Schema:
    """One of kopf's peering kinds: operator replicas announce themselves in its status and
    only the one of the highest priority acts (see handlers/peering.py)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{PEERING_GROUP}"},
        "spec": {
            "group": PEERING_GROUP,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": PEERING_VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def all_crds() -> list[Schema]:
    """Every CRD the operator needs, in a stable order: its own kinds, then kopf's peering."""
    return [
        *(crd(kind) for kind in KINDS),
        peering_crd("ClusterKopfPeering", "clusterkopfpeerings", scope="Cluster"),
        peering_crd("KopfPeering", "kopfpeerings", scope="Namespaced"),
    ]


class _Dumper(yaml.SafeDumper):
    """No `&id001` anchors: shared sub-schemas are written out in full, as kubectl expects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(crd_doc: Schema) -> str:
    """YAML text of one CRD, stable across runs (the drift test compares it byte for byte)."""
    header = "# Generated by `orchestrator crds` from sprite_orchestrator.models: do not edit.\n"
    body = yaml.dump(crd_doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def files() -> dict[str, str]:
    """File name → YAML text for the `crds/` directory."""
    return {f"{doc['metadata']['name']}.yaml": render(doc) for doc in all_crds()}
