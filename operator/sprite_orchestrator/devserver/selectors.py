"""Label and field selectors of list and watch requests, in the API server's syntax."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

_SET_TERM = re.compile(r"^(?P<key>[^\s!=,()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ_TERM = re.compile(r"^(?P<key>[^\s!=,()]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=,()]*)$")
_KEY = re.compile(r"^[^\s!=,()]+$")


class SelectorError(ValueError):
    """A selector the API server would refuse (400 Bad Request)."""


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, value: str | None) -> bool:
        if self.op == "exists":
            return value is not None
        if self.op == "!exists":
            return value is None
        if self.op in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # "!=", "notin"


@dataclasses.dataclass(frozen=True)
class Selector:
    """Both selectors of one request; the empty selector matches everything."""

    labels: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if self.labels:
            labels = obj.get("metadata", {}).get("labels") or {}
            if not all(req.matches(labels.get(req.key)) for req in self.labels):
                return False
        return all(req.matches(_field(obj, req.key)) for req in self.fields)

    def name(self) -> str | None:
        """The one name this selector pins, if any: watches of one object use it."""
        for req in self.fields:
            if req.key == "metadata.name" and req.op == "=" and len(req.values) == 1:
                return next(iter(req.values))
        return None


def parse(labels: str | None, fields: str | None) -> Selector:
    return Selector(parse_labels(labels or ""), parse_fields(fields or ""))


def parse_labels(text: str) -> tuple[Requirement, ...]:
    requirements = []
    for term in _split(text):
        if match := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append(Requirement(match["key"], match["op"], values))
        elif match := _EQ_TERM.match(term):
            op = "!=" if match["op"] == "!=" else "="
            requirements.append(Requirement(match["key"], op, frozenset([match["value"]])))
        elif term.startswith("!") and _KEY.match(term[1:].strip()):
            requirements.append(Requirement(term[1:].strip(), "!exists"))
        elif _KEY.match(term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return tuple(requirements)


def parse_fields(text: str) -> tuple[Requirement, ...]:
    requirements = []
    for term in _split(text):
        match = _EQ_TERM.match(term)
        if match is None:
            raise SelectorError(f"invalid selector: {text!r}; can't understand {term!r}")
        op = "!=" if match["op"] == "!=" else "="
        requirements.append(Requirement(match["key"], op, frozenset([match["value"]])))
    return tuple(requirements)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses: `a in (x,y),b` is two terms."""
    terms, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(text[start:pos])
            start = pos + 1
    terms.append(text[start:])
    return [term.strip() for term in terms if term.strip()]


def _field(obj: Mapping[str, Any], path: str) -> str:
    """A field's value as the API server compares it: a string, empty when absent."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
