"""Summaries of Claude Code transcripts, in the shape 2.1.332 writes them (measured)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import readings, transcripts
from sprite_orchestrator.core import tasks as t
from sprite_orchestrator.models import AgentTaskStatus
from tests.core.test_tasks import KW, LATER, delivered

MODEL = "claude-opus-5-5"


def usage(inputs: int, outputs: int, *, read: int = 0, written: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inputs,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "output_tokens": outputs,
    }


def assistant(msg_id: str, *blocks: dict[str, Any], use: dict[str, int]) -> list[bytes]:
    """One response as Claude writes it: a line per content block, each with the usage."""
    return [
        json.dumps(
            {
                "type": "assistant",
                "requestRef": "r-" + msg_id,
                "message": {"id": msg_id, "model": MODEL, "content": [block], "usage": use},
            }
        ).encode()
        for block in blocks
    ]


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def tool(name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": {}}


def session() -> list[bytes]:
    return [
        b'{"type":"mode","mode":"normal"}',
        b'{"type":"user","message":{"role":"user","content":"write the notes"}}',
        *assistant("m1", text("Let me write."), tool("Write"), use=usage(3007, 1)),
        b'{"type":"user","message":{"role":"user","content":[{"type":"tool_result"}]}}',
        *assistant("m2", tool("Bash"), use=usage(3105, 1)),
        *assistant("m3", tool("Bash"), use=usage(3172, 1, read=100)),
        *assistant("m4", text("Wrote notes.md."), use=usage(3200, 7)),
        b'{"type":"user","message":{"role":"user","cont',  # being written right now
    ]


def test_a_session_is_summarised_once_per_response_whatever_its_blocks() -> None:
    s = transcripts.summarize(session())

    assert (s.turns, s.tool_uses) == (4, {"Bash": 2, "Write": 1})
    assert s.last_message == "Wrote notes.md."
    assert (s.input_tokens, s.output_tokens) == (3007 + 3105 + 3172 + 100 + 3200, 10)
    inputs = (3007 + 3105 + 3172 + 3200) * 4 + 100 * 0.4
    assert s.cost_usd == pytest.approx((inputs + 10 * 20) / 1e6)
    assert s.cost_source == "PriceTable"


def test_claudes_own_cost_wins_once_the_session_ended() -> None:
    ended = b'{"type":"cost-state","totalCostUSD":0.5,"modelUsage":{}}'
    s = transcripts.summarize([*session(), ended])
    assert (s.cost_usd, s.cost_source, s.turns) == (0.5, "Claude", 4)


def test_a_model_without_a_price_counts_tokens_but_no_cost() -> None:
    line = json.dumps(
        {"type": "assistant", "message": {"id": "x", "model": "gpt-9", "usage": usage(5, 6)}}
    )
    s = transcripts.summarize([line.encode()])
    assert (s.turns, s.input_tokens, s.output_tokens, s.cost_usd, s.cost_source) == (
        1,
        5,
        6,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("claude-opus-5-5", (4.0, 20.0)),
        ("claude-opus-4-5-20251101", (5.0, 25.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
        ("claude-sonnet-4-5", (3.0, 15.0)),
        ("claude-3-5-haiku-20241022", (0.8, 4.0)),
    ],
)
def test_prices_go_by_the_longest_known_prefix(model: str, price: tuple[float, float]) -> None:
    found = transcripts.price(model)
    assert found is not None and (found.input, found.output) == price


def test_the_last_message_is_cut_to_1_kb_on_a_character_boundary() -> None:
    long = "é" * 2000
    cut = transcripts.truncate(long)
    assert len(cut.encode()) <= 1024 and cut.endswith("…") and long.startswith(cut[:-1])
    s = transcripts.summarize(assistant("m", text(long), use=usage(1, 1)))
    assert s.last_message == cut


def test_nothing_but_noise_is_an_empty_summary() -> None:
    s = transcripts.summarize([b"", b"not json", b"[1, 2]", b'{"type":"assistant"}'])
    assert s == transcripts.Summary()


def test_the_summary_lands_in_status_and_is_not_rewritten_unchanged() -> None:
    summary = transcripts.summarize(session())
    s = t.summarized(AgentTaskStatus(), summary, **KW)
    assert s.transcript is not None
    assert (s.transcript.turns, s.transcript.tool_uses) == (4, {"Bash": 2, "Write": 1})
    assert s.transcript.observed_time == KW["now"]
    assert t.summarized(s, summary, **LATER) == s  # same content: no write
    grown = transcripts.summarize([*session(), *assistant("m5", tool("Edit"), use=usage(1, 1))])
    later = t.summarized(s, grown, **LATER)
    assert later.transcript is not None and later.transcript.observed_time == LATER["now"]
    assert later.transcript.tool_uses["Edit"] == 1


def test_the_state_says_who_vouches_for_it_and_since_when() -> None:
    running = readings.read(session_exists=True, window_name="agent:running", pane_dead=False)
    assert running.source == "window"
    s = t.observed(delivered(), running, "2026-11-25T09:59:58Z", **KW)
    assert (s.agent_state_source, s.agent_state_time) == ("window", "2026-11-25T09:59:58Z")
    assert t.observed(s, running, "2026-11-25T10:04:59Z", **LATER) == s  # steady: no write

    dead = readings.read(session_exists=True, window_name="agent:running", pane_dead=True)
    s = t.observed(s, dead, None, **LATER)
    assert (s.agent_state, s.agent_state_source, s.agent_state_time) == (
        "agent:error",
        "pane",
        LATER["now"],
    )
    assert c.find(s.conditions, "Succeeded").reason == "AgentExited"  # type: ignore[union-attr]


def test_each_reading_is_as_old_as_its_evidence() -> None:
    kw: dict[str, Any] = {"session_exists": True, "pane_dead": False, "hook_age": 7.0}
    assert readings.read(window_name="agent:running", **kw).age == 7.0
    interrupted = readings.read(
        window_name="agent:running", activity="idle", activity_age=20.0, **kw
    )
    assert (interrupted.source, interrupted.age) == ("agent", 20.0)
    assert readings.read(**{**kw, "pane_dead": True}, window_name="agent:running").age == 0.0
    assert readings.read(**{**kw, "session_exists": False}, window_name=None).age == 0.0
