"""A Claude Code session transcript (`~/.claude/projects/…/<session>.jsonl`), summarised.

What Claude Code 2.1.332 writes, as measured against the scripted API of the tests: one JSON
object per line; each model response is one or more `assistant` lines (one per content
block, all with the same `message.id` and the same `message.usage`), and only when the
session ends (the agent exits) a `cost-state` line with Claude's own `totalCostUSD`. While
the agent runs there is no cost in the file, so the cost is computed from the token usage
with `PRICES` (US dollars per million tokens, by model name prefix) and marked as an
estimate; Claude's own figure replaces it once the session has ended. A model missing from
the table adds tokens but no cost. Requests Claude makes besides the agent's turns (a
session title, summaries) are not in the transcript, so the estimate leaves them out.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sprite_orchestrator.models.task import CostSource

# Long enough to say what the agent did last, short enough for a status field.
LAST_MESSAGE_BYTES = 1024
CACHE_WRITE_FACTOR = 1.25  # 5-minute cache writes cost 1.25 times the input price
CACHE_READ_FACTOR = 0.1


@dataclasses.dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float


# Longest matching prefix wins. claude-opus-5 is what Claude Code 2.1.332 itself charged in
# its cost-state for claude-opus-5-5 (a test compares the two on the real binary).
PRICES: Mapping[str, Price] = {
    "claude-opus-5": Price(4.0, 20.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-sonnet": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-3-5-sonnet": Price(3.0, 15.0),
    "claude-haiku-4": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
}


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a session did: model responses, tools by name, the last words, tokens, cost."""

    turns: int = 0
    tool_uses: Mapping[str, int] = dataclasses.field(default_factory=dict)
    last_message: str = ""
    input_tokens: int = 0  # uncached, cache writes and cache reads together
    output_tokens: int = 0
    cost_usd: float | None = None
    cost_source: CostSource | None = None  # Claude (its cost-state) or PriceTable (estimated)


def price(model: str) -> Price | None:
    """The price of `model` by its longest known prefix, or None."""
    known = [prefix for prefix in PRICES if model.startswith(prefix)]
    return PRICES[max(known, key=len)] if known else None


def usage_cost(model: str, usage: Mapping[str, Any]) -> float | None:
    """Dollars for one response's `usage`, or None for a model with no known price."""
    found = price(model)
    if found is None:
        return None
    uncached, written, read, output = _tokens(usage)
    per_input = found.input / 1e6
    return (
        uncached * per_input
        + written * per_input * CACHE_WRITE_FACTOR
        + read * per_input * CACHE_READ_FACTOR
        + output * found.output / 1e6
    )


def summarize(lines: Iterable[bytes]) -> Summary:
    """The summary of a transcript's lines; lines that are not JSON objects are skipped."""
    acc = _Accumulator()
    for line in lines:
        record = _record(line)
        if record is not None:
            acc.add(record)
    return acc.summary()


def truncate(text: str, limit: int = LAST_MESSAGE_BYTES) -> str:
    """`text` cut to `limit` UTF-8 bytes on a character boundary, `…` marking the cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


class _Accumulator:
    def __init__(self) -> None:
        self.responses: dict[str, tuple[str, Mapping[str, Any]]] = {}  # id → (model, usage)
        self.tools: Counter[str] = Counter()
        self.last = ""
        self.claude_cost: float | None = None

    def add(self, record: Mapping[str, Any]) -> None:
        kind = record.get("type")
        if kind == "cost-state":
            cost = record.get("totalCostUSD")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                self.claude_cost = float(cost)
            return
        message = record.get("message")
        if kind != "assistant" or not isinstance(message, dict):
            return
        key = str(message.get("id") or record.get("requestRef") or len(self.responses))
        usage = message.get("usage")
        self.responses[key] = (str(message.get("model") or ""), usage or {})
        for block in _blocks(message):
            if block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                self.tools[block["name"]] += 1
            elif block.get("type") == "text" and str(block.get("text") or "").strip():
                self.last = str(block["text"]).strip()

    def summary(self) -> Summary:
        inputs = outputs = 0
        estimate: float | None = None
        for model, usage in self.responses.values():
            uncached, written, read, output = _tokens(usage)
            inputs += uncached + written + read
            outputs += output
            cost = usage_cost(model, usage)
            if cost is not None:
                estimate = (estimate or 0.0) + cost
        source: CostSource = "Claude" if self.claude_cost is not None else "PriceTable"
        cost_usd = self.claude_cost if self.claude_cost is not None else estimate

        return Summary(
            turns=len(self.responses),
            tool_uses=dict(sorted(self.tools.items())),
            last_message=truncate(self.last),
            input_tokens=inputs,
            output_tokens=outputs,
            cost_usd=None if cost_usd is None else round(cost_usd, 6),
            cost_source=None if cost_usd is None else source,
        )


def _record(line: bytes) -> Mapping[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _blocks(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _tokens(usage: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(uncached input, cache writes, cache reads, output) of one response's usage."""
    return (
        _count(usage.get("input_tokens")),
        _count(usage.get("cache_creation_input_tokens")),
        _count(usage.get("cache_read_input_tokens")),
        _count(usage.get("output_tokens")),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
