"""Structural-schema handling of custom resources: pruning, defaulting, validation.

The API server's order: unknown fields are pruned (and reported, for `fieldValidation`), nulls
of non-nullable fields are dropped, defaults fill absent fields, then the result is validated.
Messages follow the API server's wording, each naming its field path.

`x-kubernetes-validations` (CEL) rules are ignored: evaluating CEL is out of scope here, so a
rule such as `self.type != 'SSH' || has(self.ssh)` is only enforced by a real cluster.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sprite_orchestrator.devserver.errors import FieldError

Schema = Mapping[str, Any]
_ENVELOPE = ("apiVersion", "kind", "metadata")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$"
)


def normalize(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Prune unknown fields and apply defaults in place; return the pruned fields' paths."""
    unknown: list[str] = []
    _normalize(obj, schema, "", unknown, envelope=True)
    return unknown


def validate(obj: Mapping[str, Any], schema: Schema) -> list[FieldError]:
    """All violations of the schema, each naming its field path (`spec.pool`, `spec.x[0].y`)."""
    errors: list[FieldError] = []
    _validate(obj, schema, "", errors, envelope=True)
    return errors


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _normalize(value: Any, schema: Schema, path: str, unknown: list[str], *, envelope: bool) -> Any:
    if isinstance(value, dict):
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True or extra is True
        envelope = envelope or schema.get("x-kubernetes-embedded-resource") is True
        for key in list(value):
            if envelope and key in _ENVELOPE:
                continue  # apiVersion, kind and metadata are the server's, not the schema's
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is None:
                if not preserve:
                    unknown.append(_join(path, key))
                    del value[key]
            elif value[key] is None and not sub.get("nullable"):
                del value[key]  # then defaulted below, as the API server does
            else:
                value[key] = _normalize(value[key], sub, _join(path, key), unknown, envelope=False)
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                default = copy.deepcopy(sub["default"])
                value[key] = _normalize(default, sub, _join(path, key), unknown, envelope=False)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            sub_path = f"{path}[{index}]"
            value[index] = _normalize(item, schema["items"], sub_path, unknown, envelope=False)
    return value


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is(value: Any, expected: str) -> bool:
    actual = _type_of(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _validate(
    value: Any, schema: Schema, path: str, errors: list[FieldError], *, envelope: bool = False
) -> None:
    expected = schema.get("type")
    if value is None and schema.get("nullable"):
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not (_is(value, "integer") or isinstance(value, str)):
            detail = f"{path} in body must be of type integer,string: {_quoted(_type_of(value))}"
            errors.append(FieldError(path, "Invalid value", detail, _type_of(value)))
            return
    elif isinstance(expected, str) and not _is(value, expected):
        detail = f"{path} in body must be of type {expected}: {_quoted(_type_of(value))}"
        errors.append(FieldError(path, "Invalid value", detail, _type_of(value)))
        return
    before = len(errors)
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(
            FieldError(path, "Unsupported value", f"supported values: {supported}", value)
        )
    if isinstance(value, dict):
        _validate_object(value, schema, path, errors, envelope=envelope)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, errors)
    if len(errors) == before:
        _validate_combinators(value, schema, path, errors)


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str, errors: list[FieldError], *, envelope: bool
) -> None:
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    envelope = envelope or schema.get("x-kubernetes-embedded-resource") is True
    for key in schema.get("required") or ():
        if key not in value:
            errors.append(FieldError(_join(path, key), "Required value"))
    for key, item in value.items():
        if envelope and key in _ENVELOPE:
            continue
        if key in properties:
            _validate(item, properties[key], _join(path, key), errors)
        elif isinstance(extra, Mapping):
            _validate(item, extra, f"{path}[{key}]" if path else key, errors)
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        detail = f"{path} in body should have at least {schema['minProperties']} properties"
        errors.append(FieldError(path, "Invalid value", detail, len(value)))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        detail = f"must have at most {schema['maxProperties']} items"
        errors.append(FieldError(path, "Too many", detail, len(value)))


def _validate_array(value: list[Any], schema: Schema, path: str, errors: list[FieldError]) -> None:
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)
    if "minItems" in schema and len(value) < schema["minItems"]:
        detail = f"{path} in body should have at least {schema['minItems']} items"
        errors.append(FieldError(path, "Invalid value", detail, len(value)))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                path, "Too many", f"must have at most {schema['maxItems']} items", len(value)
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        _unique(value, path, errors, keys=schema.get("x-kubernetes-list-map-keys") or ())
    elif list_type == "set" or schema.get("uniqueItems"):
        _unique(value, path, errors, keys=None)


def _unique(
    value: list[Any], path: str, errors: list[FieldError], *, keys: Sequence[str] | None
) -> None:
    seen: set[str] = set()
    for index, item in enumerate(value):
        identity = item
        if keys is not None and isinstance(item, dict):
            identity = {key: item.get(key) for key in keys}
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        if text in seen:
            errors.append(FieldError(f"{path}[{index}]", "Duplicate value", text))
        seen.add(text)


def _validate_string(value: str, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        detail = f"{path} in body should be at least {schema['minLength']} chars long"
        errors.append(FieldError(path, "Invalid value", detail, value))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        detail = f"may not be more than {schema['maxLength']} bytes"
        errors.append(FieldError(path, "Too long", detail))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _compiled(pattern).search(value):
        errors.append(
            FieldError(path, "Invalid value", f"{path} in body should match '{pattern}'", value)
        )
    if schema.get("format") == "date-time" and value and not _DATE_TIME.match(value):
        detail = f"{path} in body must be of type date-time: {_quoted(value)}"
        errors.append(FieldError(path, "Invalid value", detail, value))


def _validate_number(value: float, schema: Schema, path: str, errors: list[FieldError]) -> None:
    exclusive_min, exclusive_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if "minimum" in schema and (
        value <= schema["minimum"] if exclusive_min else value < schema["minimum"]
    ):
        relation = "greater than" if exclusive_min else "greater than or equal to"
        detail = f"{path} in body should be {relation} {schema['minimum']}"
        errors.append(FieldError(path, "Invalid value", detail, value))
    if "maximum" in schema and (
        value >= schema["maximum"] if exclusive_max else value > schema["maximum"]
    ):
        relation = "less than" if exclusive_max else "less than or equal to"
        detail = f"{path} in body should be {relation} {schema['maximum']}"
        errors.append(FieldError(path, "Invalid value", detail, value))
    factor = schema.get("multipleOf")
    if factor and (value / factor) % 1:
        detail = f"{path} in body should be a multiple of {factor}"
        errors.append(FieldError(path, "Invalid value", detail, value))


def _validate_combinators(value: Any, schema: Schema, path: str, errors: list[FieldError]) -> None:
    for sub in schema.get("allOf") or ():
        _validate(value, sub, path, errors)
    branches = [_errors_of(value, sub, path) for sub in schema.get("anyOf") or ()]
    if branches and all(branches):
        errors.extend(branches[0])
    branches = [_errors_of(value, sub, path) for sub in schema.get("oneOf") or ()]
    if branches and sum(not branch for branch in branches) != 1:
        detail = f"{path} in body must validate one and only one schema (oneOf)"
        errors.append(FieldError(path, "Invalid value", detail, value))
    if isinstance(schema.get("not"), Mapping) and not _errors_of(value, schema["not"], path):
        detail = f"{path} in body must not validate the schema (not)"
        errors.append(FieldError(path, "Invalid value", detail, value))


def _errors_of(value: Any, schema: Schema, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    _validate(value, schema, path, errors)
    return errors


def _quoted(text: str) -> str:
    return json.dumps(text)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
