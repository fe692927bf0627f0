"""The scripted Anthropic API speaks the Messages API as Claude Code reads it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.fakes import anthropic

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


def turn(text: str, *, stream: bool = True, tools: bool = True) -> dict[str, Any]:
    """A request body shaped like Claude's: context blocks first, the user's text last."""
    content = [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"}]
    content.append({"type": "text", "text": text})
    body: dict[str, Any] = {"model": "m", "stream": stream, "max_tokens": 100}
    body["messages"] = [{"role": "user", "content": content}]
    return {**body, "tools": TOOLS} if tools else body


def events(sse: str) -> list[dict[str, Any]]:
    """The data of each server-sent event, checked against its `event:` line."""
    found = []
    for block in sse.strip().split("\n\n"):
        kind, data = (line.split(": ", 1)[1] for line in block.split("\n"))
        event = json.loads(data)
        assert event["type"] == kind
        found.append(event)
    return found


async def post(
    api: anthropic.FakeAnthropic,
    path: str,
    body: object,
    auth: dict[str, str] | None = None,
) -> tuple[int, str]:
    headers = {**({"x-api-key": "k"} if auth is None else auth), "X-Claude-Code-Session-Id": "s-1"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(api.url + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_a_streamed_tool_call_then_text() -> None:
    bash = {"command": "ls -la", "description": "list"}
    async with anthropic.FakeAnthropic(anthropic.tool_use("Bash", bash)) as api:
        _, first = await post(api, "/v1/messages", turn("list the files"))
        _, second = await post(api, "/v1/messages", turn("again"))

    kinds = [e["type"] for e in events(first)]
    assert kinds[:2] == ["message_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    partial = "".join(
        e["delta"]["partial_json"] for e in events(first) if e["type"] == "content_block_delta"
    )
    assert json.loads(partial) == bash
    assert events(first)[-2]["delta"]["stop_reason"] == "tool_use"
    assert events(first)[-2]["usage"]["output_tokens"] >= 1
    texts = [e["delta"]["text"] for e in events(second) if e["type"] == "content_block_delta"]
    assert "".join(texts) == anthropic.DEFAULT_TEXT  # an empty script answers "Done."
    assert api.prompts == ["list the files", "again"]
    assert api.turns[0].session_id == "s-1" and api.turns[0].answered


async def test_errors_are_sticky_and_side_requests_never_use_the_script() -> None:
    async with anthropic.FakeAnthropic(anthropic.error(529)) as api:
        side = await post(api, "/v1/messages", turn("a title please", tools=False, stream=False))
        answers = [await post(api, "/v1/messages", turn("work")) for _ in range(2)]
        api.script(anthropic.text("back"))
        status, body = await post(api, "/v1/messages", turn("work", stream=False))

    assert side[0] == 200 and json.loads(side[1])["content"][0]["text"] == anthropic.SIDE_TEXT
    assert [code for code, _ in answers] == [529, 529]
    assert json.loads(answers[0][1])["error"]["type"] == "overloaded_error"
    assert (status, json.loads(body)["content"]) == (200, [{"type": "text", "text": "back"}])
    assert [r.turn for r in api.requests] == [False, True, True, True]


async def test_count_tokens_and_anything_else() -> None:
    async with anthropic.FakeAnthropic() as api:
        counted = await post(api, "/v1/messages/count_tokens", turn("count me"))
        async with aiohttp.ClientSession() as session, session.head(api.url + "/api/hello") as r:
            probed = r.status

    assert counted[0] == 200 and json.loads(counted[1])["input_tokens"] > 0
    assert probed == 404
    assert [r.path for r in api.requests] == ["/v1/messages/count_tokens", "/api/hello"]
    assert api.turns == []


def test_pastes_are_compared_as_claude_sends_them() -> None:
    wrapped = '\n\n<pasted_content id="2fff">\nline one\n    two\n</pasted_content id="2fff">\n'
    assert anthropic.unwrap_paste(wrapped) == "line one\n    two"
    assert anthropic.unwrap_paste("typed") == "typed"
    assert anthropic.as_claude_sends("a\tb\u200bc\x1b[201~\n\n") == "a    bc[201~"


async def test_a_bearer_token_is_a_credential_and_none_is_a_401() -> None:
    bearer = {"Authorization": "Bearer sk-ant-oat01-token"}
    async with anthropic.FakeAnthropic() as api:
        token = await post(api, "/v1/messages", turn("with a token"), bearer)
        none = await post(api, "/v1/messages", turn("with nothing"), {})
        counted = await post(api, "/v1/messages/count_tokens", turn("count"), {})

    assert token[0] == 200 and api.prompts == ["with a token"]
    assert (none[0], counted[0]) == (401, 401)
    assert json.loads(none[1])["error"]["type"] == "authentication_error"
    assert [r.credential for r in api.requests] == [("bearer", "sk-ant-oat01-token"), None, None]
