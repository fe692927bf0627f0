"""The Sprites API on 127.0.0.1, backed by real local processes, for sprites-py in tests.

Point `AsyncSpritesClient(token, base_url=fake.url)` at it. It speaks what sprites-py 0.7.2
sends (read from the SDK's source): REST for sprites (`POST/GET/DELETE /v1/sprites[/NAME]`,
`GET /v1/sprites?prefix=…`) and checkpoints (`POST /v1/sprites/NAME/checkpoint`, answered
with NDJSON progress; `GET …/checkpoints`), and the exec WebSocket
(`/v1/sprites/NAME/exec?cmd=…&path=…&stdin=true[&env=K=V][&dir=…]`) whose binary frames
carry a stream id first: 0 stdin, 1 stdout, 2 stderr, 3 exit (one byte), 4 stdin EOF.
Every request needs `Authorization: Bearer <token>`.

A sprite is a directory used as HOME; its commands run as real processes there, with bash,
in a new process group. Each sprite has its own tmux server (its own `TMUX_TMPDIR`) and its own
Tasks API, served on a unix socket whose path the sprite's environment names in
`SPRITE_ORCHESTRATOR_API_SOCK` (on a real sprite it is `/.sprite/api.sock`). As on Sprites,
an exec's `env=` replaces the environment rather than adding to it.

For tests: `refuse()` answers the next matching requests with an API error (a 429 with
retry-after, a concurrent-limit 402, ...), `stall()` holds them unanswered until released
(a REST call or an exec's handshake hangs; or an exec runs and its answer is lost), `chill()`
makes a sprite cold (its processes gone, its files kept), and `requests`, `checkpoints` (kept
after a sprite is destroyed, as a spy) and `Sprite.task_log` show what the operator did.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import tarfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

STDIN, STDOUT, STDERR, EXIT, STDIN_EOF = range(5)
_SOCKET_ROOT = Path("/tmp")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclasses.dataclass
class Refusal:
    """An API error the fake answers instead of serving a matching request."""

    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclasses.dataclass
class Stall:
    """Requests the fake holds unanswered until `release` is set (see FakeSprites.stall)."""

    method: str
    path: re.Pattern[str]
    argv: str | None  # for an exec: held only if one word of its argv contains this
    after_command: bool
    times: int
    release: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    held: int = 0  # how many requests it has held so far

    def matches(self, request: web.Request) -> bool:
        if self.times <= 0 or self.method != request.method:
            return False
        if not self.path.fullmatch(request.path):
            return False
        words = request.query.getall("cmd", [])
        return self.argv is None or any(self.argv in word for word in words)


@dataclasses.dataclass
class Checkpoint:
    sprite: str
    id: str
    comment: str
    archive: Path
    time: str

    def names(self) -> list[str]:
        with tarfile.open(self.archive) as tar:
            return tar.getnames()

    def read(self, member: str) -> bytes:
        with tarfile.open(self.archive) as tar:
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()


class Sprite:
    """One sprite: a HOME, a tmux server of its own, a Tasks API on a unix socket."""

    def __init__(self, root: Path, name: str, labels: list[str]) -> None:
        self.name = name
        self.labels = labels
        self.id = f"sprite-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        self.home = root / name / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        self.tmpdir = _SOCKET_ROOT / f"so-spr-{digest}"
        self.tmpdir.mkdir(mode=0o700, exist_ok=True)
        self.api_socket = self.tmpdir / "api.sock"
        self.created_at = _now()
        self.tasks: dict[str, str] = {}  # live Tasks API holds: name → expire as sent
        self.task_log: list[tuple[str, str]] = []  # (method, task name), in order
        self.execs = 0
        self._runner: web.AppRunner | None = None

    @property
    def tmux_socket(self) -> Path:
        return self.tmpdir / f"tmux-{os.getuid()}" / "default"

    def environment(self) -> dict[str, str]:
        """A command's environment when the exec names none."""
        user = os.environ.get("USER", "root")
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "USER": user,
            "LOGNAME": user,
            "SHELL": "/bin/bash",
            "TMUX_TMPDIR": str(self.tmpdir),
            "SPRITE_ORCHESTRATOR_API_SOCK": str(self.api_socket),
        }

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": "running",
            "organization": "fake",
            "labels": self.labels,
            "url": f"https://{self.name}.sprites.invalid",
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/tasks", self._list_tasks)
        app.router.add_post("/v1/tasks", self._create_task)
        app.router.add_put("/v1/tasks/{task}", self._upsert_task)
        app.router.add_delete("/v1/tasks/{task}", self._delete_task)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.api_socket)).start()

    async def stop(self) -> None:
        await self.chill()
        if self._runner is not None:
            await self._runner.cleanup()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    async def chill(self) -> None:
        """Cold: every process of the sprite is gone (tmux and the agent with it)."""
        pids = await self._tmux("list-panes", "-a", "-F", "#{pane_pid}")
        await self._tmux("kill-server")
        for pid in (int(w) for w in pids.split() if w.isdigit()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.tasks.clear()

    async def _tmux(self, *args: str) -> str:
        if not self.tmux_socket.exists():
            return ""
        proc = await asyncio.create_subprocess_exec(
            "tmux",
            "-S",
            str(self.tmux_socket),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        return out.decode()

    async def _list_tasks(self, _: web.Request) -> web.Response:
        tasks = [{"name": n, "expires_at": e} for n, e in self.tasks.items()]
        return web.json_response({"tasks": tasks})

    async def _create_task(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = str(body["name"])
        self.task_log.append(("POST", name))
        if name in self.tasks:
            return web.json_response({"error": "task exists"}, status=409)
        self.tasks[name] = str(body.get("expire", "1h"))
        return web.json_response({"name": name}, status=201)

    async def _upsert_task(self, request: web.Request) -> web.Response:
        name = request.match_info["task"]
        body = await request.json()
        self.task_log.append(("PUT", name))
        self.tasks[name] = str(body.get("expire", "1h"))
        return web.json_response({"name": name})

    async def _delete_task(self, request: web.Request) -> web.Response:
        name = request.match_info["task"]
        self.task_log.append(("DELETE", name))
        if self.tasks.pop(name, None) is None:
            return web.json_response({"error": "no such task"}, status=404)
        return web.Response(status=204)


class FakeSprites:
    """`async with FakeSprites(root, token) as api:` then use `api.url`."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self.token = token
        self.sprites: dict[str, Sprite] = {}
        self.checkpoints: list[Checkpoint] = []
        self.requests: list[tuple[str, str]] = []  # (method, path), every request
        self.longest_url = 0  # exec URLs carry the argv: the longest one seen
        self._refusals: list[Refusal] = []
        self._stalls: list[Stall] = []
        self._runner: web.AppRunner | None = None
        self._commands: set[asyncio.Task[None]] = set()
        self.url = ""

    def refuse(
        self,
        method: str,
        path: str,
        *,
        status: int = 429,
        error: str = "sprite_creation_rate_limited",
        retry_after: int | None = None,
        times: int = 1,
        **fields: Any,
    ) -> None:
        """Answer the next `times` requests `method path` (a regex) with an API error."""
        body = {"error": error, "message": f"fake {error}", **fields}
        headers = {}
        if retry_after is not None:
            body["retry_after_seconds"] = retry_after
            headers["Retry-After"] = str(retry_after)
        self._refusals.append(Refusal(method, re.compile(path), status, body, headers, times))

    def stall(
        self,
        method: str,
        path: str,
        *,
        argv: str | None = None,
        after_command: bool = False,
        times: int = 1,
    ) -> Stall:
        """Hold the next `times` requests `method path` (a regex) until `.release` is set.

        A held REST call or exec handshake gets no answer: the client's timeout is what ends
        it; once released, the request is served (to a client still there, or to no one, as a
        create that went through after its caller gave up). With `after_command`, an exec
        (whose argv has a word containing `argv`, if given) runs its command; its output and
        exit status are held, then the connection drops without them: the answer is lost.
        """
        held = Stall(method, re.compile(path), argv, after_command, times)
        self._stalls.append(held)
        return held

    async def chill(self, name: str) -> None:
        await self.sprites[name].chill()

    async def __aenter__(self) -> FakeSprites:
        # Scripts travel in the exec URL; the real API's limit is unknown, ours is generous.
        app = web.Application(
            middlewares=[self._middleware],
            handler_args={"max_line_size": 1 << 20, "max_field_size": 1 << 16},
        )
        app.router.add_post("/v1/sprites", self._create)
        app.router.add_get("/v1/sprites", self._list)
        app.router.add_get("/v1/sprites/{name}", self._get)
        app.router.add_delete("/v1/sprites/{name}", self._destroy)
        app.router.add_post("/v1/sprites/{name}/checkpoint", self._checkpoint)
        app.router.add_get("/v1/sprites/{name}/checkpoints", self._checkpoints)
        app.router.add_get("/v1/sprites/{name}/exec", self._exec)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        for held in self._stalls:
            held.release.set()
        for task in list(self._commands):
            task.cancel()
        await asyncio.gather(*self._commands, return_exceptions=True)
        for sprite in list(self.sprites.values()):
            await sprite.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        for refusal in self._refusals:
            if (
                refusal.times > 0
                and refusal.method == request.method
                and refusal.path.fullmatch(request.path)
            ):
                refusal.times -= 1
                return web.json_response(
                    refusal.body, status=refusal.status, headers=refusal.headers
                )
        for held in self._stalls:
            if held.matches(request) and not held.after_command:
                held.times -= 1
                held.held += 1
                await held.release.wait()
                break
        response: web.StreamResponse = await handler(request)
        return response

    def _held_answer(self, request: web.Request) -> Stall | None:
        for held in self._stalls:
            if held.matches(request) and held.after_command:
                held.times -= 1
                held.held += 1
                return held
        return None

    def _sprite(self, request: web.Request) -> Sprite:
        name = request.match_info["name"]
        if name not in self.sprites:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "not_found", "message": f"sprite {name} not found"}),
                content_type="application/json",
            )
        return self.sprites[name]

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = str(body["name"])
        if name in self.sprites:
            return web.json_response({"error": "sprite_exists"}, status=409)
        sprite = Sprite(self.root, name, [str(x) for x in body.get("labels") or []])
        await sprite.start()
        self.sprites[name] = sprite
        return web.json_response(sprite.info(), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        limit = int(request.query.get("max_results", "50"))
        names = sorted(n for n in self.sprites if n.startswith(prefix))
        start = int(request.query.get("continuation_token") or 0)
        page = names[start : start + limit]
        more = start + limit < len(names)
        return web.json_response(
            {
                "sprites": [self.sprites[n].info() for n in page],
                "has_more": more,
                "next_continuation_token": str(start + limit) if more else None,
            }
        )

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(self._sprite(request).info())

    async def _destroy(self, request: web.Request) -> web.Response:
        sprite = self._sprite(request)
        del self.sprites[sprite.name]
        await sprite.stop()
        await asyncio.to_thread(shutil.rmtree, sprite.home.parent, True)
        return web.Response(status=204)

    async def _checkpoint(self, request: web.Request) -> web.Response:
        sprite = self._sprite(request)
        raw = await request.read()
        comment = str((json.loads(raw) if raw else {}).get("comment", ""))
        number = 1 + sum(1 for c in self.checkpoints if c.sprite == sprite.name)
        archive = self.root / "checkpoints" / f"{sprite.name}-v{number}.tar"
        archive.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_archive, sprite.home, archive)
        checkpoint = Checkpoint(sprite.name, f"v{number}", comment, archive, _now())
        self.checkpoints.append(checkpoint)
        lines = [
            {"type": "info", "data": "Creating checkpoint..."},
            {"type": "complete", "data": f"Checkpoint {checkpoint.id} created"},
        ]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        return web.Response(text=text, content_type="application/x-ndjson")

    async def _checkpoints(self, request: web.Request) -> web.Response:
        sprite = self._sprite(request)
        return web.json_response(
            [
                {"id": c.id, "create_time": c.time, "comment": c.comment}
                for c in self.checkpoints
                if c.sprite == sprite.name
            ]
        )

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        sprite = self._sprite(request)
        self.longest_url = max(self.longest_url, len(str(request.rel_url)))
        argv = request.query.getall("cmd", [])
        if not argv:
            return web.json_response({"error": "no command"}, status=400)
        env = sprite.environment()
        given = request.query.getall("env", [])
        if given:  # as on Sprites: the given environment replaces the sprite's
            env = dict(item.split("=", 1) for item in given)
        cwd = request.query.get("dir") or str(sprite.home)
        held = self._held_answer(request)
        ws = web.WebSocketResponse(max_msg_size=16 << 20)
        await ws.prepare(request)
        sprite.execs += 1
        task = asyncio.current_task()
        assert task is not None
        self._commands.add(task)  # type: ignore[arg-type]
        try:
            if held is None:
                await _serve_command(ws, argv, env=env, cwd=cwd)
            else:
                await _run_then_drop(ws, argv, env=env, cwd=cwd, release=held.release)
                if request.transport is not None:
                    request.transport.abort()  # no exit status, no close frame: cut
        finally:
            self._commands.discard(task)  # type: ignore[arg-type]
        return ws


async def _serve_command(
    ws: web.WebSocketResponse, argv: list[str], *, env: dict[str, str], cwd: str
) -> None:
    """Run argv; stdin frames in, stdout/stderr frames out, the exit frame last."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        await ws.send_bytes(bytes([STDERR]) + f"{argv[0]}: {exc.strerror}\n".encode())
        await ws.send_bytes(bytes([EXIT, 127 if isinstance(exc, FileNotFoundError) else 126]))
        await ws.close()
        return
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feeding = asyncio.create_task(_feed(ws, proc.stdin))
    try:
        await asyncio.gather(
            _pump(proc.stdout, ws, STDOUT), _pump(proc.stderr, ws, STDERR), proc.wait()
        )
        code = proc.returncode or 0
        await ws.send_bytes(bytes([EXIT, (128 - code if code < 0 else code) & 0xFF]))
        await ws.close()
    except ConnectionError:
        pass  # the client went away: the command is killed, as the sprite would
    finally:
        feeding.cancel()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeding


async def _run_then_drop(
    ws: web.WebSocketResponse,
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str,
    release: asyncio.Event,
) -> None:
    """Run argv with the stdin sent; answer nothing until `release`."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    assert proc.stdin is not None
    feeding = asyncio.create_task(_feed(ws, proc.stdin))
    await proc.wait()
    feeding.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await feeding
    await release.wait()


async def _feed(ws: web.WebSocketResponse, stdin: asyncio.StreamWriter) -> None:
    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            continue
        stream, payload = message.data[0], message.data[1:]
        try:
            if stream == STDIN:
                stdin.write(payload)
                await stdin.drain()
            elif stream == STDIN_EOF:
                stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the command ended without reading it all


async def _pump(stream: asyncio.StreamReader, ws: web.WebSocketResponse, stream_id: int) -> None:
    """Output to the client; once it has gone, the rest is read and dropped."""
    while chunk := await stream.read(65536):
        with contextlib.suppress(ConnectionError):
            await ws.send_bytes(bytes([stream_id]) + chunk)


def _archive(home: Path, archive: Path) -> None:
    with tarfile.open(archive, "w") as tar:
        tar.add(home, arcname="home")
