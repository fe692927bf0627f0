"""API errors as the real server words them: clients branch on `code` and `reason`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

JSON = dict[str, Any]


class ApiError(Exception):
    """A failed request, rendered as a `Status` object with its HTTP code."""

    def __init__(
        self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unknown_resource() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"the server does not allow this method: {method}")


def not_found(qualified: str, name: str, *, group: str, plural: str) -> ApiError:
    details = {"name": name, "group": group, "kind": plural}
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', details)


def already_exists(qualified: str, name: str, *, group: str, plural: str) -> ApiError:
    details = {"name": name, "group": group, "kind": plural}
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', details)


def conflict(qualified: str, name: str, *, group: str, plural: str, why: str = "") -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version"
    message = f'Operation cannot be fulfilled on {qualified} "{name}": {why} and try again'
    details = {"name": name, "group": group, "kind": plural}
    return ApiError(409, "Conflict", message, details)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str, accepted: Sequence[str]) -> ApiError:
    message = (
        f"the body of the request was in an unknown format ({content_type}) - "
        f"accepted media types include: {', '.join(accepted)}"
    )
    return ApiError(415, "UnsupportedMediaType", message)


class FieldError:
    """One invalid field, as `field.Error` in the API server: a path, a type, a detail."""

    __slots__ = ("detail", "field", "kind", "value")

    # The cause reasons of `metav1.CauseType`, keyed by the leading words of the error text.
    REASONS: ClassVar[dict[str, str]] = {
        "Invalid value": "FieldValueInvalid",
        "Required value": "FieldValueRequired",
        "Unsupported value": "FieldValueNotSupported",
        "Duplicate value": "FieldValueDuplicate",
        "Too long": "FieldValueTooLong",
        "Too many": "FieldValueTooMany",
        "Forbidden": "FieldValueForbidden",
    }

    def __init__(self, field: str, kind: str, detail: str = "", value: Any = ...) -> None:
        self.field = field
        self.kind = kind
        self.detail = detail
        self.value = value

    def body(self) -> str:
        """The error without its field path, as in a Status cause's message."""
        text = self.kind
        if self.value is not ...:
            text += f": {render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> JSON:
        reason = self.REASONS.get(self.kind, "FieldValueInvalid")
        return {"reason": reason, "message": self.body(), "field": self.field}


def render_value(value: Any) -> str:
    """Values as Go's `%#v`-ish rendering in field errors: strings quoted, null as "null"."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return repr(value)


def invalid(kind: str, group: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """422 Invalid, worded like the API server: `Kind.group "name" is invalid: field: …`."""
    qualified = f"{kind}.{group}" if group else kind
    texts = [str(error) for error in errors]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: JSON = {"name": name, "group": group, "kind": kind}
    details["causes"] = [error.cause() for error in errors]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)
