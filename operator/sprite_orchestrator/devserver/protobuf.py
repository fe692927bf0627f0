"""Just enough of Kubernetes' protobuf to accept `kubectl create namespace|configmap|secret`.

kubectl's generator subcommands send typed objects as protobuf (`runtime.Unknown` behind the
`k8s\\x00` magic), whatever the server prefers; everything else it sends as JSON. We decode
those three kinds by their field numbers in `k8s.io/api/core/v1/generated.proto`; any other
protobuf body is refused with 415, which tells the user to use `kubectl apply -f`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

Fields = dict[int, list[Any]]  # field number -> values (ints for varints, bytes otherwise)


class ProtobufError(ValueError):
    """Not a body we can decode."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def fields(data: bytes) -> Fields:
    """Split a message into its fields, without knowing its schema."""
    found: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, pos = data[pos : pos + width], pos + width
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        found.setdefault(number, []).append(value)
    return found


def _text(values: list[Any] | None) -> str | None:
    return values[-1].decode() if values else None


def _map(values: list[Any] | None, *, binary: bool = False) -> dict[str, str]:
    result = {}
    for entry in values or ():
        parts = fields(entry)
        key = _text(parts.get(1)) or ""
        raw = parts.get(2, [b""])[-1]
        result[key] = base64.b64encode(raw).decode() if binary else raw.decode()
    return result


def _metadata(data: bytes) -> dict[str, Any]:
    parts = fields(data)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        if value := _text(parts.get(number)):
            meta[key] = value
    for number, key in ((11, "labels"), (12, "annotations")):
        if number in parts:
            meta[key] = _map(parts[number])
    if 14 in parts:
        meta["finalizers"] = [value.decode() for value in parts[14]]
    if 13 in parts:
        meta["ownerReferences"] = [_owner(value) for value in parts[13]]
    return meta


def _owner(data: bytes) -> dict[str, Any]:
    parts = fields(data)
    ref: dict[str, Any] = {
        key: _text(parts.get(number)) or ""
        for number, key in ((5, "apiVersion"), (1, "kind"), (3, "name"), (4, "uid"))
    }
    for number, key in ((6, "controller"), (7, "blockOwnerDeletion")):
        if number in parts:
            ref[key] = bool(parts[number][-1])
    return ref


def _config_map(parts: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if 2 in parts:
        obj["data"] = _map(parts[2])
    if 3 in parts:
        obj["binaryData"] = _map(parts[3], binary=True)
    if 4 in parts:
        obj["immutable"] = bool(parts[4][-1])
    return obj


def _secret(parts: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if 2 in parts:
        obj["data"] = _map(parts[2], binary=True)
    if 4 in parts:
        obj["stringData"] = _map(parts[4])
    if (type_ := _text(parts.get(3))) is not None:
        obj["type"] = type_
    if 5 in parts:
        obj["immutable"] = bool(parts[5][-1])
    return obj


def _namespace(parts: Fields) -> dict[str, Any]:
    spec = fields(parts[2][-1]) if 2 in parts else {}
    finalizers = [value.decode() for value in spec.get(1, ())]
    return {"spec": {"finalizers": finalizers}} if finalizers else {}


_KINDS: dict[tuple[str, str], Callable[[Fields], dict[str, Any]]] = {
    ("v1", "ConfigMap"): _config_map,
    ("v1", "Secret"): _secret,
    ("v1", "Namespace"): _namespace,
}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as the JSON the API would have received."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    envelope = fields(body[len(MAGIC) :])
    type_meta = fields(envelope.get(1, [b""])[-1])
    api_version, kind = _text(type_meta.get(1)) or "", _text(type_meta.get(2)) or ""
    decoder = _KINDS.get((api_version, kind))
    if decoder is None:
        raise ProtobufError(f"cannot decode {kind or 'objects'} ({api_version}) from protobuf")
    parts = fields(envelope.get(2, [b""])[-1])
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj["metadata"] = _metadata(parts[1][-1]) if 1 in parts else {}
    obj.update(decoder(parts))
    return obj
