"""The subset of Kubernetes JSONPath that printer columns use.

Fields (`.a.b`, `['a.b']`), indexes (`[0]`, `[-1]`), wildcards (`[*]`, `.*`) and filters
(`[?(@.type=='Ready')]`, `==`/`!=`/`<`/`>`, or bare existence `[?(@.x)]`), with or without
the `{...}` braces kubectl's templates use. Everything else is refused at compile time, so a
CRD with a column we cannot evaluate fails loudly rather than printing blanks.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any


class JSONPathError(ValueError):
    """The expression is outside the supported subset."""


@dataclasses.dataclass(frozen=True)
class Key:
    name: str


@dataclasses.dataclass(frozen=True)
class Index:
    index: int


@dataclasses.dataclass(frozen=True)
class Wildcard:
    pass


@dataclasses.dataclass(frozen=True)
class Filter:
    path: tuple[Step, ...]
    op: str | None  # None: the path exists and is not null/false
    literal: Any = None


Step = Key | Index | Wildcard | Filter

_FILTER = re.compile(
    r"""^\s*@(?P<path>[^=!<>\s]*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<literal>.+?))?\s*$"""
)


@functools.lru_cache(maxsize=256)
def parse(expression: str) -> tuple[Step, ...]:
    """Parse an expression into steps; cached, since columns are evaluated for every row."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    return tuple(_steps(text, expression))


def _steps(text: str, expression: str) -> Iterator[Step]:
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == ".":
            end = pos + 1
            while end < len(text) and text[end] not in ".[":
                end += 1
            name = text[pos + 1 : end]
            if not name:
                raise JSONPathError(f"empty field name in {expression!r}")
            yield Wildcard() if name == "*" else Key(name)
            pos = end
        elif char == "[":
            end = _closing_bracket(text, pos, expression)
            yield _bracket(text[pos + 1 : end].strip(), expression)
            pos = end + 1
        else:
            raise JSONPathError(f"unexpected {char!r} at {pos} in {expression!r}")


def _closing_bracket(text: str, start: int, expression: str) -> int:
    depth, quote = 0, ""
    for pos in range(start, len(text)):
        char = text[pos]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0:
                return pos
    raise JSONPathError(f"unbalanced brackets in {expression!r}")


def _bracket(inner: str, expression: str) -> Step:
    if inner == "*":
        return Wildcard()
    if re.fullmatch(r"-?\d+", inner):
        return Index(int(inner))
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return Key(inner[1:-1])
    if inner.startswith("?(") and inner.endswith(")"):
        match = _FILTER.match(inner[2:-1])
        if match is None:
            raise JSONPathError(f"unsupported filter {inner!r} in {expression!r}")
        path = tuple(_steps(match["path"], expression))
        literal = _literal(match["literal"], expression) if match["op"] else None
        return Filter(path, match["op"], literal)
    raise JSONPathError(f"unsupported subscript [{inner}] in {expression!r}")


def _literal(text: str, expression: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        raise JSONPathError(f"unsupported literal {text!r} in {expression!r}") from None


def find(expression: str, data: Any) -> list[Any]:
    """All values the expression selects, in document order; `[]` when nothing matches."""
    return _walk(parse(expression), [data])


def _walk(steps: Sequence[Step], values: list[Any]) -> list[Any]:
    for step in steps:
        values = [result for value in values for result in _step(step, value)]
    return values


def _step(step: Step, value: Any) -> Iterator[Any]:
    if isinstance(step, Key):
        if isinstance(value, dict) and step.name in value:
            yield value[step.name]
    elif isinstance(step, Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            yield value[step.index]
    elif isinstance(step, Wildcard):
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, list):
            yield from value
    else:
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        yield from (item for item in items if _matches(step, item))


def _matches(step: Filter, item: Any) -> bool:
    found = _walk(step.path, [item])
    if step.op is None:
        return any(value not in (None, False) for value in found)
    for value in found:
        if step.op in ("==", "!="):
            if (value == step.literal) == (step.op == "=="):
                return True
        elif _numeric(value) and _numeric(step.literal) and _compare(step.op, value, step.literal):
            return True
    return False


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str, left: float, right: float) -> bool:
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right
