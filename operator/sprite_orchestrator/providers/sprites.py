"""The Sprites provider: one Fly.io Sprite per worker, through sprites-py's async client.

A worker `kite-1` is the sprite `kite-1`, labelled with its namespace and pool, so `list`
finds the pool's sprites again after an operator restart, and a sprite of the same name that
belongs to someone else is refused, never taken over. The API token is read from the pool's
Secret when the client is made (again after the API refused it, so a rotated token is used
from then on) and lives only in the client: never logged, never in an argv or a URL.

Commands run over the exec WebSocket as `bash -c WRAPPER … NAME=VALUE… -- timeout … ARGV`:
the argv travels as a list (no shell quoting), in HOME, with the locale and TERM every
provider gives, under `timeout` so that the sprite itself kills an overrunning command. The
SDK's `env=` would *replace* the sprite's environment (PATH and HOME with it), so it is never
used: the wrapper exports the variables. Data travels on stdin.

The argv travels in the exec's URL, where our scripts (up to 10 KB) would pass the 8 KB that
servers are only recommended to accept: a long `bash -c SCRIPT NAME ARGS…` is staged once per
sprite as `~/.sprite-orchestrator/scripts/<sha256>.sh` (sent on stdin, its hash checked
there), then run as `bash FILE ARGS…`, and staged again if the file has gone.

Errors keep their meaning for the Worker's conditions: a rate limit is `RateLimited` (the
API's retry-after is honoured here: until it passes no request is sent) and a full
organisation `CapacityExceeded` (no new sprite is asked for until its retry-after, or
`capacity_retry` when it names none, passes), a refused token `AuthenticationFailed`, a
sprite that is gone `MachineNotFound`. The SDK turns REST errors into text; a response hook
turns them back into its structured `APIError` so that the status, error code and
retry-after are not lost.

Sleep: a sprite pauses ~30 s after its last exec and a cold one loses its processes. While
the operator polls, every poll is an exec; beyond that the worker holds the sprite awake from
inside (see `worker/assets/keep-awake.sh`), and a worker found cold is provisioned again.
Work is never lost: `destroy` checkpoints the sprite's filesystem first (besides the `wip/`
commit the worker makes) and destroys nothing if the checkpoint fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

import httpx
import sprites
from sprites import exceptions as sprite_errors
from sprites.types import ListOptions
from websockets import frames

from sprite_orchestrator.core import naming
from sprite_orchestrator.providers.base import (
    ExecResult,
    ExecTimeout,
    Machine,
    MachineNotFound,
    ProviderError,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sprites.dev"
RATE_LIMITED = "RateLimited"
CAPACITY_EXCEEDED = "CapacityExceeded"
AUTHENTICATION_FAILED = "AuthenticationFailed"
UNREACHABLE = "SpritesUnreachable"
API_ERROR = "SpritesAPIError"
NAME_TAKEN = "SpriteNameTaken"
CHECKPOINT_FAILED = "CheckpointFailed"

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL = "sprite-orchestrator"
# What every command finds in its environment, as on Local and SSH machines.
_BASE_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"}
# Exports the NAME=VALUE words before `--`, then execs the rest, at HOME.
_WRAPPER = 'cd && for v; do [ "$v" = -- ] && break; export "$v"; shift; done; shift; exec "$@"'
_KILL_AFTER = 5  # seconds between `timeout`'s TERM and its KILL
_TIMED_OUT = 124  # `timeout`'s exit status when the command overran
_NOT_FOUND = 127  # bash's exit status for a script file that is not there
_GRACE = 10.0  # past the sprite's own timeout, the client stops waiting
_DEFAULT_RETRY = 30  # seconds, when a rate limit names no retry-after
CAPACITY_RETRY = 60.0  # seconds before creating again after a full organisation, if not said
API_TIMEOUT = 30.0  # seconds a REST call may take before the API counts as unreachable
_SCRIPT_SECONDS = 30.0
# Scripts (`bash -c SCRIPT NAME ARGS…`) longer than this are staged as files on the sprite:
# an exec's argv travels in its URL, and ours reach 10 KB where servers may stop at 8 KB.
_STAGE_ABOVE = 512
_STAGED_DIR = ".sprite-orchestrator/scripts"  # under HOME, where commands start
# stage DIGEST: the script on stdin becomes STAGED_DIR/DIGEST.sh, if its sha256 is DIGEST.
_STAGE = f"""set -eu
d="{_STAGED_DIR}"
mkdir -p "$d"
t=$(mktemp "$d/.stage.XXXXXX")
trap 'rm -f "$t"' EXIT
cat >"$t"
[ "$(sha256sum <"$t" | cut -c1-64)" = "$1" ] || {{ echo "stdin was not the script" >&2; exit 3; }}
mv -f "$t" "$d/$1.sh"
"""
_PAGE = 50  # the API's largest page of sprites

# Reads the token from the pool's Secret.
TokenSource = Callable[[], Awaitable[str]]


@dataclasses.dataclass(frozen=True)
class Labels:
    """The labels that mark a sprite as a worker of one pool."""

    namespace: str
    pool: str

    def all(self) -> list[str]:
        return [_LABEL, f"so-ns-{self.namespace}", f"so-pool-{self.pool}"]

    def match(self, labels: Sequence[str]) -> bool:
        return set(self.all()) <= set(labels)


class SpritesProvider:
    """Workers as Sprites of one organisation, found again by their labels."""

    def __init__(
        self,
        *,
        namespace: str,
        pool: str,
        token: TokenSource,
        base_url: str | None = None,
        timeout: float | None = None,
        capacity_retry: float = CAPACITY_RETRY,
    ) -> None:
        _check(_NAME, "namespace", namespace)
        _check(_NAME, "pool name", pool)
        self._pool = pool
        self._labels = Labels(namespace, pool)
        self._token = token
        self._base_url = base_url or DEFAULT_BASE_URL
        self._timeout = API_TIMEOUT if timeout is None else timeout
        self._client: sprites.AsyncSpritesClient | None = None
        self._client_lock = asyncio.Lock()
        self._known: set[str] = set()  # sprites seen to be ours, to skip the ownership check
        self._staged: set[tuple[str, str]] = set()  # (sprite, sha256) of scripts put there
        self._not_before = 0.0  # loop time before which the API asked us not to come back
        self._limited: ProviderError | None = None
        # A full organisation refuses only new sprites: until this loop time none is asked for.
        self._capacity_retry = capacity_retry
        self._no_create_before = 0.0
        self._full: ProviderError | None = None
        _redact_websockets_log()

    async def create(self, name: str) -> Machine:
        """The worker's sprite: the one we made before, else a new one with our labels."""
        _check(_NAME, "machine name", name)
        try:
            await self._owned(name)
        except MachineNotFound:
            self._refuse_while_full()
            client = await self._api()
            with self._errors(f"creating sprite {name}"):
                await client.create_sprite(name, labels=self._labels.all())
            self._forget(name)
        self._known.add(name)
        return self._machine(name)

    async def destroy(self, name: str) -> None:
        """Checkpoint the sprite's filesystem, then destroy it; gone already is fine.

        A sprite of that name that is not ours is left alone: we hold no sprite there.
        """
        _check(_NAME, "machine name", name)
        self._forget(name)
        try:
            await self._owned(name)
        except MachineNotFound:
            return
        except ProviderError as exc:
            if exc.reason != NAME_TAKEN:
                raise
            logger.warning(f"not destroying sprite {name}: {exc}")
            return
        client = await self._api()
        await self._checkpoint(client, name)
        with contextlib.suppress(MachineNotFound), self._errors(f"destroying sprite {name}"):
            await client.destroy_sprite(name)

    async def list(self) -> Sequence[Machine]:
        """The pool's sprites: named `<pool>-<N>` and labelled with our namespace and pool."""
        client = await self._api()
        found: list[str] = []
        token: str | None = None
        while True:
            options = ListOptions(
                prefix=f"{self._pool}-", max_results=_PAGE, continuation_token=token
            )
            with self._errors("listing sprites"):
                page = await client.list_sprites(options)
            found += [
                info.name
                for info in page.sprites
                if self._labels.match(info.labels)
                and naming.worker_index(self._pool, info.name) is not None
            ]
            if not page.has_more or not page.next_continuation_token:
                break
            token = page.next_continuation_token
        self._known.update(found)
        return [self._machine(n) for n in sorted(found)]

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (enforced on the sprite by `timeout`)
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run argv in the sprite's HOME with `stdin`; see the module docstring."""
        _check(_NAME, "machine name", name)
        if not argv:
            raise ProviderError("exec needs a command", reason="InvalidCommand")
        if name not in self._known:
            await self._owned(name)
            self._known.add(name)
        script = _script_of(argv)
        if script is None:
            return await self._run(name, argv, stdin=stdin, seconds=timeout, env=env)
        digest = hashlib.sha256(script.encode()).hexdigest()
        if (name, digest) not in self._staged:
            await self._stage(name, digest, script)
        path = f"{_STAGED_DIR}/{digest}.sh"
        staged = ["bash", path, *argv[4:]]  # $0 is the path, not argv[3]
        result = await self._run(name, staged, stdin=stdin, seconds=timeout, env=env)
        if result.exit_code == _NOT_FOUND and f"{path}: No such file".encode() in result.stderr:
            await self._stage(name, digest, script)  # gone since (a restored checkpoint?)
            result = await self._run(name, staged, stdin=stdin, seconds=timeout, env=env)
        return result

    async def _stage(self, name: str, digest: str, script: str) -> None:
        """The script as a file on the sprite, named by its sha256 (checked there)."""
        result = await self._run(
            name,
            ["bash", "-c", _STAGE, "stage", digest],
            stdin=script.encode(),
            seconds=_SCRIPT_SECONDS,
            env=None,
        )
        if not result.ok:
            detail = result.stderr.decode("utf-8", errors="replace").strip()[-512:]
            raise ProviderError(
                f"could not stage a script on sprite {name} (exit code {result.exit_code}): "
                f"{detail}",
                reason="StagingFailed",
            )
        self._staged.add((name, digest))

    async def _run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes,
        seconds: float,
        env: Mapping[str, str] | None,
    ) -> ExecResult:
        client = await self._api()
        out, err = io.BytesIO(), io.BytesIO()
        command = client.sprite(name).command(
            *command_argv(argv, env=env, seconds=seconds),
            stdin=io.BytesIO(stdin) if stdin else None,
            stdout=out,
            stderr=err,
            timeout=seconds + _KILL_AFTER + _GRACE,
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = 0
        what = f"{argv[0]} on {name}"
        try:
            with self._errors(what):
                await command.run()
        except sprite_errors.ExecError as exc:
            code = exc.exit_code()
        except sprite_errors.TimeoutError:
            raise ExecTimeout(
                f"{what} ran longer than {seconds:g}s and the sprite never said it ended"
            ) from None
        if code == _TIMED_OUT and loop.time() - started >= seconds:
            raise ExecTimeout(f"{what} ran longer than {seconds:g}s and was killed")
        return ExecResult(code, out.getvalue(), err.getvalue())

    async def close(self) -> None:
        """Close the client's connections; the sprites stay."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    # -- the API -------------------------------------------------------------------------------

    async def _api(self) -> sprites.AsyncSpritesClient:
        """The client, made with the token read now; refused while a rate limit lasts."""
        if self._limited is not None:
            left = self._not_before - asyncio.get_running_loop().time()
            if left > 0:
                raise ProviderError(
                    str(self._limited), reason=self._limited.reason, retry_after=left
                )
            self._limited = None
        async with self._client_lock:
            if self._client is None:
                token = await self._token()
                if not token.strip():
                    raise ProviderError(
                        "spec.provider.sprites.tokenSecretRef holds an empty token",
                        reason="InvalidToken",
                    )
                client = sprites.AsyncSpritesClient(
                    token.strip(), base_url=self._base_url, timeout=self._timeout
                )
                client._client.event_hooks["response"].append(_structured_errors)
                self._client = client
            return self._client

    async def _owned(self, name: str) -> None:
        """Raise MachineNotFound if the sprite does not exist, NameTaken if it is not ours."""
        client = await self._api()
        with self._errors(f"looking up sprite {name}"):
            sprite = await client.get_sprite(name)
        if not self._labels.match(sprite.labels):
            raise ProviderError(
                f"a sprite named {name} exists but is not a worker of "
                f"{self._labels.namespace}/{self._labels.pool} (labels {sprite.labels}); "
                "sprite names are global to the organisation: rename the pool, or destroy "
                "that sprite",
                reason=NAME_TAKEN,
            )

    async def _checkpoint(self, client: sprites.AsyncSpritesClient, name: str) -> None:
        """A checkpoint of the sprite's filesystem; an error stops the destroy."""
        comment = f"sprite-orchestrator: {name} before it was destroyed"
        with self._errors(f"checkpointing sprite {name}"):
            stream = await client.sprite(name).create_checkpoint(comment)
            failed = [m.error or str(m.data) for m in stream if m.type == "error" or m.error]
        if failed:
            raise ProviderError(
                f"the checkpoint of {name} failed, so it was not destroyed: {failed[-1]}",
                reason=CHECKPOINT_FAILED,
            )

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SDK errors as ProviderErrors with a reason a human can act on."""
        try:
            yield
        except sprite_errors.APIError as exc:
            raise self._api_error(exc, doing) from None
        except sprite_errors.AuthenticationError:
            self._drop_client()
            raise ProviderError(
                f"{doing}: the Sprites API refused the token of "
                "spec.provider.sprites.tokenSecretRef",
                reason=AUTHENTICATION_FAILED,
            ) from None
        except sprite_errors.NotFoundError:
            raise MachineNotFound(f"{doing}: no such sprite") from None
        except (sprite_errors.NetworkError, httpx.HTTPError) as exc:
            raise ProviderError(
                f"{doing}: cannot reach the Sprites API at {self._base_url}: {self._why(exc)}",
                reason=UNREACHABLE,
            ) from None
        except (sprite_errors.ExecError, sprite_errors.TimeoutError):
            raise
        except sprite_errors.SpriteError as exc:
            raise ProviderError(f"{doing}: {exc}", reason=API_ERROR) from None

    def _why(self, exc: Exception) -> str:
        """A network error in words: httpx's timeouts say nothing of themselves."""
        if isinstance(exc, httpx.TimeoutException) or isinstance(
            exc.__cause__, httpx.TimeoutException
        ):
            return f"no answer within {self._timeout:g}s"
        return str(exc) or type(exc).__name__

    def _api_error(self, exc: sprite_errors.APIError, doing: str) -> ProviderError:
        status = exc.status_code
        if status == 404:
            return MachineNotFound(f"{doing}: no such sprite")
        if status == 401:
            self._drop_client()
            return ProviderError(
                f"{doing}: the Sprites API refused the token of "
                "spec.provider.sprites.tokenSecretRef",
                reason=AUTHENTICATION_FAILED,
            )
        detail = str(exc)[:512]
        if exc.is_concurrent_limit_exceeded():
            error = ProviderError(
                f"{doing}: the organisation's concurrent sprite limit is reached "
                f"({exc.current_count or '?'} of {exc.limit or '?'}): {detail}. Lower "
                "spec.scaling.maxWorkers or raise the limit",
                reason=CAPACITY_EXCEEDED,
            )
            return self._hold_off_creating(error, exc.get_retry_after_seconds())
        if exc.is_rate_limit_error() or exc.is_creation_rate_limited():
            after = exc.get_retry_after_seconds() or _DEFAULT_RETRY
            error = ProviderError(
                f"{doing}: the Sprites API is rate limiting this organisation; retrying "
                f"after {after}s: {detail}",
                reason=RATE_LIMITED,
            )
            return self._hold_off(error, after)
        return ProviderError(
            f"{doing}: the Sprites API answered {status}: {detail}", reason=API_ERROR
        )

    def _hold_off(self, error: ProviderError, seconds: int | None) -> ProviderError:
        """No request before `seconds` pass: each one would only be refused again."""
        if seconds:
            self._not_before = asyncio.get_running_loop().time() + seconds
            self._limited = error
            error.retry_after = float(seconds)
            logger.warning(f"sprites {self._labels.namespace}/{self._labels.pool}: {error}")
        return error

    def _hold_off_creating(self, error: ProviderError, seconds: int | None) -> ProviderError:
        """No new sprite asked for before the retry-after (else `capacity_retry`) passes.

        Only creating is held off: the sprites we have keep running and being polled.
        """
        wait = float(seconds) if seconds else self._capacity_retry
        self._no_create_before = asyncio.get_running_loop().time() + wait
        self._full = error
        error.retry_after = wait
        logger.warning(f"sprites {self._labels.namespace}/{self._labels.pool}: {error}")
        return error

    def _refuse_while_full(self) -> None:
        """The organisation was full a moment ago: say so again rather than ask."""
        left = self._no_create_before - asyncio.get_running_loop().time()
        if self._full is not None and left > 0:
            raise ProviderError(str(self._full), reason=self._full.reason, retry_after=left)
        self._full = None

    def _drop_client(self) -> None:
        """A refused token: the next call reads the Secret again (it may have rotated)."""
        client, self._client = self._client, None
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.aclose())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def _forget(self, name: str) -> None:
        """A sprite made or destroyed: what we knew of the one before does not hold."""
        self._known.discard(name)
        self._staged = {(n, d) for n, d in self._staged if n != name}

    def _machine(self, name: str) -> Machine:
        return Machine(name=name, id=machine_id(name), attach=attach_command(name))


def command_argv(
    argv: Sequence[str], *, env: Mapping[str, str] | None, seconds: float
) -> list[str]:
    """The argv the sprite runs: at HOME, with our environment, under `timeout`."""
    variables = {**_BASE_ENV, **(env or {})}
    for key in variables:
        _check(_ENV_NAME, "environment variable name", key)
    limit = str(max(1, math.ceil(seconds)))
    return [
        "bash",
        "-c",
        _WRAPPER,
        "sprite-exec",
        *(f"{key}={value}" for key, value in variables.items()),
        "--",
        "timeout",
        "-k",
        str(_KILL_AFTER),
        limit,
        *argv,
    ]


def _script_of(argv: Sequence[str]) -> str | None:
    """The script of `bash -c SCRIPT …` if it is long enough to stage, else None."""
    if len(argv) >= 3 and argv[0] == "bash" and argv[1] == "-c" and len(argv[2]) > _STAGE_ABOVE:
        return argv[2]
    return None


def machine_id(name: str) -> str:
    """The sprite as Worker.status.machine shows it: `sprite://<name>`."""
    return f"sprite://{name}"


def attach_command(name: str) -> list[str]:
    """`sprite console -s NAME`: the Sprites CLI's shell on the sprite; then `tmux attach`."""
    _check(_NAME, "sprite name", name)
    return ["sprite", "console", "-s", name]


async def _structured_errors(response: httpx.Response) -> None:
    """Raise the SDK's structured APIError for a REST error it would flatten into text.

    401 and 404 stay with the SDK, which has its own exceptions for them.
    """
    if response.status_code < 400 or response.status_code in (401, 404):
        return
    body = await response.aread()
    error = sprite_errors.parse_api_error(response.status_code, body, dict(response.headers))
    if error is not None:
        raise error


class _Redact(logging.Filter):
    """websockets logs at DEBUG the request headers, the bearer token among them, and the
    start and end of every frame as text, where stdin may carry the agent's secrets (the
    provisioning archive): the token is redacted, frames are shown by their size only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() == "authorization":
            record.args = (args[0], "[redacted]")
        elif isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], frames.Frame):
            frame = args[0]
            record.args = (f"{frame.opcode.name} [{len(frame.data)} bytes]",)
        return True


def _redact_websockets_log() -> None:
    client_logger = logging.getLogger("websockets.client")
    if not any(isinstance(f, _Redact) for f in client_logger.filters):
        client_logger.addFilter(_Redact())


def _check(pattern: re.Pattern[str], kind: str, value: str) -> None:
    if not pattern.fullmatch(value):
        raise ProviderError(f"invalid {kind} {value!r}", reason="InvalidSpec")
