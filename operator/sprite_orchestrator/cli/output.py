"""How the read commands print: a kubectl-like table for people, json or yaml for scripts."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from sprite_orchestrator.cli.common import Format, console
from sprite_orchestrator.handlers.runtime import parse_iso

WIDE = 100_000  # a table's rows are never cut or wrapped: the terminal wraps, if anything


def emit(data: Any, output: Format) -> None:
    """The data as json or yaml on stdout, nothing else (no colour, no wrapping)."""
    if output is Format.json:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    console.file.write(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns as `kubectl get` prints them: no borders, headers in capitals, never wrapped."""
    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        grid.add_column(header.upper(), no_wrap=True, overflow="ignore")
    for row in rows:
        grid.add_row(*row)
    wide = Console(width=WIDE, highlight=False, force_terminal=console.is_terminal)
    wide.print(grid, crop=False)


def transcript(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """A transcript summary (status.transcript as JSON) as labelled lines for people."""
    tools = ", ".join(f"{name} x{count}" for name, count in summary["toolUses"].items())
    cost = summary.get("costUSD")
    price = "cost unknown" if cost is None else f"${cost:.4f} ({summary.get('costSource')})"
    return [
        ("turns", str(summary["turns"])),
        ("tools", tools or "none"),
        ("tokens", f"{summary['inputTokens']} in, {summary['outputTokens']} out; {price}"),
        ("last message", summary["lastMessage"]),
    ]


def age(stamp: str | None, *, now: float | None = None) -> str:
    """How long ago, as kubectl writes it: 42s, 5m, 3h, 2d; `-` when unknown."""
    when = parse_iso(stamp)
    if when is None:
        return "-"
    seconds = max(0, int((now if now is not None else _now()) - when))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _now() -> float:
    return datetime.datetime.now(datetime.UTC).timestamp()
