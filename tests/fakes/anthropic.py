"""A scripted Anthropic Messages API on 127.0.0.1, for the real Claude Code CLI in tests.

Point Claude at it with `ANTHROPIC_BASE_URL=fake.url` and any `ANTHROPIC_API_KEY` (sent as
`x-api-key`) or `CLAUDE_CODE_OAUTH_TOKEN` (sent as `Authorization: Bearer`). It serves
`POST /v1/messages` (SSE streaming or one JSON message), `POST /v1/messages/count_tokens`, and
answers anything else 404 (Claude probes `HEAD /api/hello` at startup and copes). Like the real
API, the two POSTs answer 401 to a request that carries neither credential.

Requests are of two kinds, and only one of them reads the script:

- a *turn* request is the agent loop asking the model what to do next; it carries the `tools`
  Claude offers (Bash, Write, ...). Each one takes the next `Reply` of the script; an empty
  script answers "Done.".
- a *side* request is anything else Claude asks on its own (the session title from the small
  model, summaries, ...): it carries no tools and always gets a short text, so a test's script
  never depends on how many side requests a release makes.

Every request is recorded (`requests`, `turns`) with its body, headers and times, so a test can
assert what reached the model: `Request.prompt` is the text the user submitted, after Claude's
own normalisation of a paste (FIELD-NOTES: tabs become 4 spaces, U+200B is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from sprite_orchestrator.core import prompts

DEFAULT_TEXT = "Done."
SIDE_TEXT = "Fake title"
MODEL = "claude-fake-1"
# The error type Anthropic's API names in the body of each status.
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


# Claude Code 2.1.332 sends a long or many-line paste to the model wrapped in these tags.
_PASTED = re.compile(
    r'\n\n<pasted_content id="([0-9a-f]+)">\n(.*)\n</pasted_content id="\1">\n', re.S
)


def unwrap_paste(text: str) -> str:
    """The pasted text inside Claude's `<pasted_content>` wrapper (the text if unwrapped)."""
    found = _PASTED.fullmatch(text)
    return found.group(2) if found else text


def as_claude_sends(prompt: str) -> str:
    """What reaches the model when `prompt` is delivered: our sanitising, then Claude's own
    normalisation of a paste as measured (tabs become 4 spaces, U+200B is dropped, trailing
    newlines are trimmed).

    Not a full model: Claude also drops other lone invisible characters (U+200C/D, U+2060,
    U+FEFF, soft hyphens, ...) and holds a prompt with bidi controls for a human's review.
    """
    return prompts.sanitize(prompt).replace("\t", "    ").replace("\u200b", "").rstrip("\n")


@dataclasses.dataclass(frozen=True)
class Reply:
    """One scripted answer to a turn request.

    `status` other than 200 answers with Anthropic's error body. A `sticky` reply is never
    used up: it answers every later turn request too, as an outage would (Claude retries 429,
    5xx and 529 by itself). `delay` holds the answer back, for a turn that is still running
    when a test acts (the server's shutdown cuts it short).
    """

    text: str = DEFAULT_TEXT
    tool: str | None = None
    tool_input: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    status: int = 200
    sticky: bool = False
    delay: float = 0.0


def text(words: str = DEFAULT_TEXT, *, delay: float = 0.0) -> Reply:
    """The model answers with `words` and ends its turn."""
    return Reply(text=words, delay=delay)


def tool_use(name: str, tool_input: Mapping[str, Any], *, words: str = "") -> Reply:
    """The model calls tool `name` (Claude's own tool names: Bash, Write, Edit, ...)."""
    return Reply(text=words, tool=name, tool_input=dict(tool_input))


def error(status: int, *, sticky: bool = True) -> Reply:
    """The API fails every turn request (or only the next one) with `status`."""
    return Reply(text=f"fake {ERROR_TYPES.get(status, 'api_error')}", status=status, sticky=sticky)


@dataclasses.dataclass
class Request:
    """One request as it arrived, and when it was answered (monotonic clock)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    received: float
    turn: bool = False
    answered: float | None = None  # the last byte of the answer was written
    status: int | None = None
    usage: Mapping[str, int] | None = None  # the tokens the answer reported (200 only)

    @property
    def credential(self) -> tuple[str, str] | None:
        """How the request authenticated: ("api-key", key) or ("bearer", token), else None."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("x-api-key"):
            return ("api-key", headers["x-api-key"])
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return ("bearer", token) if scheme.lower() == "bearer" and token else None

    @property
    def session_id(self) -> str | None:
        """Claude's session id, which it sends with every request."""
        return self.headers.get("X-Claude-Code-Session-Id")

    @property
    def user_blocks(self) -> list[dict[str, Any]]:
        """The content blocks of the last user message."""
        messages = self.body.get("messages", []) if isinstance(self.body, dict) else []
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            return []
        content = users[-1].get("content")
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []

    @property
    def prompt(self) -> str | None:
        """What the user submitted: the last text block of the last user message.

        Claude puts its own context first, as `<system-reminder>` blocks; the user's text
        comes last. None for a request that carries tool results instead.
        """
        if self.tool_results:
            return None
        texts = [b.get("text") for b in self.user_blocks if b.get("type") == "text"]
        return texts[-1] if texts and isinstance(texts[-1], str) else None

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        return [b for b in self.user_blocks if b.get("type") == "tool_result"]


class FakeAnthropic:
    """The fake API: `async with FakeAnthropic(replies...) as api:` then use `api.url`."""

    def __init__(self, *replies: Reply) -> None:
        self.requests: list[Request] = []
        self._script: list[Reply] = list(replies)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.url = ""

    def script(self, *replies: Reply) -> None:
        """Replace what the next turn requests get."""
        self._script = list(replies)

    @property
    def turns(self) -> list[Request]:
        return [r for r in self.requests if r.turn]

    @property
    def prompts(self) -> list[str]:
        """The prompts of the turns a user started, in order."""
        return [r.prompt for r in self.turns if r.prompt is not None]

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, request: web.Request) -> Request:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        seen = Request(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=body,
            received=time.monotonic(),
        )
        self.requests.append(seen)
        return seen

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record(request)
        if seen.credential is None:
            return _unauthenticated(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        seen.turn = bool(body.get("tools"))
        reply = self._next() if seen.turn else text(SIDE_TEXT)
        if reply.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay)
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # Claude hung up (killed, interrupted): no answer
        seen.status = reply.status
        if reply.status == 200:
            seen.usage = {**_usage(body), "output_tokens": _tokens(reply.text) + 1}
        if reply.status != 200:
            response: web.StreamResponse = _error(reply)
        elif body.get("stream"):
            response = await self._stream(request, body, reply)
        else:
            response = web.json_response(self._message(body, reply))
        seen.answered = time.monotonic()
        return response

    def _next(self) -> Reply:
        if not self._script:
            return text()
        return self._script[0] if self._script[0].sticky else self._script.pop(0)

    def _message(self, body: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
        """The whole answer as one message (the non-streaming API)."""
        blocks = [event["content_block"] for event in self._blocks(reply)]
        for block in blocks:
            if block["type"] == "tool_use":
                block["input"] = dict(reply.tool_input)
            else:
                block["text"] = reply.text
        return {
            **self._head(body),
            "content": blocks,
            "stop_reason": "tool_use" if reply.tool else "end_turn",
            "usage": {**_usage(body), "output_tokens": _tokens(reply.text) + 1},
        }

    async def _stream(
        self, request: web.Request, body: Mapping[str, Any], reply: Reply
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        async for event in self._events(body, reply):
            data = json.dumps(event, separators=(",", ":"))
            await response.write(f"event: {event['type']}\ndata: {data}\n\n".encode())
        await response.write_eof()
        return response

    async def _events(self, body: Mapping[str, Any], reply: Reply) -> AsyncIterator[dict[str, Any]]:
        """The server-sent events of one streamed message, as the real API orders them."""
        message = {**self._head(body), "content": [], "stop_reason": None}
        message["usage"] = {**_usage(body), "output_tokens": 1}
        yield {"type": "message_start", "message": message}
        yield {"type": "ping"}
        for start in self._blocks(reply):
            index = start["index"]
            yield start
            for delta in _deltas(start["content_block"], reply):
                yield {"type": "content_block_delta", "index": index, "delta": delta}
            yield {"type": "content_block_stop", "index": index}
        stop = "tool_use" if reply.tool else "end_turn"
        yield {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": _tokens(reply.text) + 1},
        }
        yield {"type": "message_stop"}

    def _blocks(self, reply: Reply) -> list[dict[str, Any]]:
        """The content_block_start events: some text, then the tool call if any."""
        blocks: list[dict[str, Any]] = []
        if reply.text or not reply.tool:
            blocks.append({"type": "text", "text": ""})
        if reply.tool:
            tool_id = f"toolu_fake{next(self._ids):08d}"
            blocks.append({"type": "tool_use", "id": tool_id, "name": reply.tool, "input": {}})
        return [
            {"type": "content_block_start", "index": i, "content_block": block}
            for i, block in enumerate(blocks)
        ]

    def _head(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": f"msg_fake{next(self._ids):08d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or MODEL,
            "stop_sequence": None,
        }

    async def _count_tokens(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if seen.credential is None:
            return _unauthenticated(seen)
        seen.status = 200
        seen.answered = time.monotonic()
        body = seen.body if isinstance(seen.body, dict) else {}
        return web.json_response({"input_tokens": _usage(body)["input_tokens"]})

    async def _not_found(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        seen.status = 404
        seen.answered = time.monotonic()
        return _error(Reply(text=f"no route {request.method} {request.path}", status=404))


def _deltas(block: Mapping[str, Any], reply: Reply) -> list[dict[str, Any]]:
    """A block's content in a few pieces, as the real API streams it."""
    if block["type"] == "tool_use":
        data = json.dumps(dict(reply.tool_input))
        cut = len(data) // 2
        return [
            {"type": "input_json_delta", "partial_json": part} for part in (data[:cut], data[cut:])
        ]
    words = reply.text.split(" ")
    pieces = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
    pieces[1] = (" " if pieces[0] else "") + pieces[1]
    return [{"type": "text_delta", "text": piece} for piece in pieces if piece]


def _unauthenticated(seen: Request) -> web.Response:
    seen.status = 401
    seen.answered = time.monotonic()
    return _error(Reply(text="x-api-key or Authorization: Bearer required", status=401))


def _error(reply: Reply) -> web.Response:
    kind = ERROR_TYPES.get(reply.status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": reply.text}}
    return web.json_response(body, status=reply.status)


def _usage(body: Mapping[str, Any]) -> dict[str, int]:
    size = len(json.dumps(body.get("messages", [])))
    return {
        "input_tokens": size // 4 + 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _tokens(words: str) -> int:
    return len(words) // 4
