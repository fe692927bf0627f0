"""The SSH provider: machines of your own, reached over SSH with asyncssh.

The pool's `hosts` are an inventory of machines, one worker per machine. `create` claims a
free host for `<pool>-<N>` by writing `~/.sprite-orchestrator/claim` on the host (with `ln`,
so of two claimants only one wins), and `list` asks every host, so claims survive an operator
restart. A host is one machine with one HOME, the SSH user's: the worker's repo, state and tmux
server live there, and `destroy` kills that tmux server, removes the worker's files and
releases the claim. Two pools must not share hosts: a claim names its pool, and a host
claimed by another pool is never taken.

One connection per host is kept and reused (an exec costs a channel, a few ms, instead of a
login); a host that cannot be reached is retried with backoff. Host keys are checked against
the known_hosts of the pool's Secret and nothing else: an unknown or changed key is
`HostKeyMismatch`, never accepted. The private key is read from its Secret at each connection
and kept in memory only: never written, never logged.

A command runs as `cd && export … && exec timeout … ARGV` through the user's login shell, which
must be a POSIX shell. The argv is quoted with `shlex.join` and holds only our constant scripts
and validated names; data travels on stdin. `timeout` on the host kills the command's process
group when it overruns, as the Local provider does on its host.

A command given up on (past its timeout, or cancelled: a provisioning deadline) is stopped on
the host, not merely left: TERM on its channel reaches its process group, but `timeout` exits
with its direct child, so a child that ignores TERM (a hung setup script) would live on, and
without a terminal nothing else ends it. Every command carries a random tag in its environment,
inherited by all it starts (even what leaves its process group), and a reap exec TERMs, then
KILLs every process carrying the tag (found in /proc: Linux hosts). A command whose connection
dropped is not reaped at once, since it may be finishing what it was asked (a paste and its
record); it is reaped with the next command given up on that host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import re
import secrets
import shlex
import signal
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import asyncssh

from sprite_orchestrator.core import naming
from sprite_orchestrator.providers.base import (
    ExecResult,
    ExecTimeout,
    Machine,
    MachineNotFound,
    ProviderError,
)

logger = logging.getLogger(__name__)

HOST_KEY_MISMATCH = "HostKeyMismatch"
HOST_UNREACHABLE = "HostUnreachable"
AUTHENTICATION_FAILED = "AuthenticationFailed"
NO_FREE_HOST = "NoFreeHost"
# When several hosts fail at once, the reason shown is the one a human must act on first.
_REASON_ORDER = (HOST_KEY_MISMATCH, AUTHENTICATION_FAILED, "InvalidPrivateKey", "SecretNotFound")

# A Kubernetes DNS label: worker, pool and namespace names.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# What may stand in `user@address` of an ssh argv: nothing that ssh would read as an option.
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:%_-]{0,252}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# What every command finds in its environment, as on a Local machine (sshd passes no locale
# and no TERM to a command without a terminal): tmux and the agent behave alike everywhere.
_BASE_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"}
_KILL_AFTER = 5  # seconds between `timeout`'s TERM and its KILL
_TIMED_OUT = 124  # `timeout`'s exit status when the command overran
_GRACE = 10.0  # past the remote timeout, the client stops waiting for an answer
# Concurrent commands per connection: OpenSSH's MaxSessions is 10, and a session's slot is
# freed a little after its command ends, so a burst near 10 meets refusals.
_CHANNELS = 4
_OPEN_ATTEMPTS = 8  # a refused session is asked for again, after 0.05, 0.1, … 0.4 s
_REFUSED_PAUSE = 0.05
_CONNECT_TIMEOUT = 10.0
_KEEPALIVE = 15.0  # seconds; three unanswered keepalives close a dead connection
_BACKOFF = (0.5, 30.0)  # first and longest wait before reconnecting to a failing host
_SCRIPT_SECONDS = 30.0
TAG = "SPRITE_ORCHESTRATOR_EXEC"  # the variable that marks every process of one command
_REAP_SECONDS = 30.0
_LOST_KEPT = 64  # tags of commands lost with their connection, reaped later (the newest)

# reap.sh TAG...: stop every process whose environment holds TAG=<one of the tags>: TERM,
# then KILL what is still there after 5 s. A tmux server and what runs under it are spared:
# the server keeps the environment of the command that started it (provision.sh's tmux step)
# and gives it to every pane, the agent's too. Nothing found is not an error.
_REAP_SCRIPT = rf"""
patterns=()
for tag; do patterns+=(-e "{TAG}=$tag"); done
under_tmux() {{
    local pid=$1 stat
    while [ "$pid" -gt 1 ]; do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "tmux: server" ] && return 0
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
        read -r _ pid _ <<<"${{stat##*) }}"
    done
    return 1
}}
tagged() {{
    local f pid
    for f in $(grep -lzx "${{patterns[@]}}" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${{f#/proc/}}
        pid=${{pid%/environ}}
        under_tmux "$pid" || printf '%s\n' "$pid"
    done
}}
pids=$(tagged)
[ -z "$pids" ] && exit 0
kill -TERM $pids 2>/dev/null || true
SECONDS=0
while ((SECONDS < 5)); do
    sleep 0.1
    pids=$(tagged)
    [ -z "$pids" ] && exit 0
done
kill -KILL $pids 2>/dev/null || true
"""

# claim.sh: the claim on a host. `read` prints it; `take OWNER NAME` claims a free host
# atomically (a hard link fails if the claim exists) and prints the claim that holds;
# `release OWNER NAME REPO_DIR` (only if the claim is OWNER NAME) kills the tmux server and
# the panes' processes, removes the repo and the state, and removes the claim last.
_CLAIM_SCRIPT = r"""
set -eu
so="$HOME/.sprite-orchestrator"
claim="$so/claim"
case $1 in
read)
    cat "$claim" 2>/dev/null || true
    ;;
take)
    mkdir -p "$so"
    chmod 700 "$so"
    if [ ! -e "$claim" ]; then
        tmp=$(mktemp "$so/.claim.XXXXXX")
        printf '%s %s\n' "$2" "$3" >"$tmp"
        ln "$tmp" "$claim" 2>/dev/null || true
        rm -f "$tmp"
    fi
    cat "$claim"
    ;;
release)
    case $4 in '' | .* | */*) echo "not a repo directory: '$4'" >&2 && exit 2 ;; esac
    [ "$(cat "$claim" 2>/dev/null)" = "$2 $3" ] || exit 0
    panes=$(tmux list-panes -a -F '#{pane_pid}' 2>/dev/null || true)
    tmux kill-server 2>/dev/null || true
    for _ in $(seq 30); do
        alive=''
        for pid in $panes; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for pid in $panes; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    chmod -R u+w "$HOME/$4" "$HOME/.$4.clone" 2>/dev/null || true
    rm -rf "$HOME/$4" "$HOME/.$4.clone"
    find "$so" -mindepth 1 -maxdepth 1 ! -name claim -exec rm -rf {} +
    rm -f "$claim"
    rmdir "$so" 2>/dev/null || true
    ;;
esac
"""


@dataclasses.dataclass(frozen=True)
class Host:
    """One machine of the inventory."""

    address: str
    port: int = 22

    def __str__(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What the pool's Secrets hold; kept out of repr() so no log or error shows them."""

    private_key: bytes = dataclasses.field(repr=False)
    known_hosts: bytes = dataclasses.field(repr=False)


# Reads the Secrets (at each connection, so a rotated key is used at the next one).
CredentialSource = Callable[[], Awaitable[Credentials]]


class _Claim(NamedTuple):
    owner: str  # <namespace>/<pool>
    name: str  # the worker


# What a survey found on a host: its claim, None when free, or why it could not be asked.
_Found = _Claim | ProviderError | None


class SSHProvider:
    """Workers on the machines of an SSH inventory, one per machine."""

    def __init__(
        self,
        *,
        namespace: str,
        pool: str,
        hosts: Iterable[Host],
        user: str,
        credentials: CredentialSource,
        connect_timeout: float = _CONNECT_TIMEOUT,
    ) -> None:
        inventory = list(dict.fromkeys(hosts))  # each machine once, in inventory order
        _check(_NAME, "namespace", namespace)
        _check(_NAME, "pool name", pool)
        _check(_USER, "user name", user)
        for host in inventory:
            _check(_ADDRESS, "host address", host.address)
        self._owner = f"{namespace}/{pool}"
        self._repo_dir = naming.repo_dir(pool)
        self._user = user
        self._links = {
            host: _Link(host, user, credentials, connect_timeout=connect_timeout)
            for host in inventory
        }
        self._placed: dict[str, Host] = {}  # worker name → its host, as last seen
        self._claiming = asyncio.Lock()  # one claim at a time from this process
        _quiet_asyncssh()

    async def create(self, name: str) -> Machine:
        """The worker's machine: the host it holds a claim on, else a free host, claimed."""
        _check(_NAME, "machine name", name)
        async with self._claiming:
            host = self._placed.get(name)
            if host is not None and await self._read_claim(host) == self._claim(name):
                return self._machine(name, host)
            self._placed.pop(name, None)
            survey = await self._survey()
            host = self._placed.get(name)
            if host is not None:
                return self._machine(name, host)
            self._refuse_unknown(survey, f"cannot place {name}")
            for free in (h for h, found in survey.items() if found is None):
                if await self._take(free, name):
                    self._placed[name] = free
                    return self._machine(name, free)
            raise ProviderError(_no_free_host(name, survey), reason=NO_FREE_HOST)

    async def destroy(self, name: str) -> None:
        """Kill the worker's tmux server, remove its files, release its host."""
        _check(_NAME, "machine name", name)
        host = self._placed.get(name)
        if host is None:
            survey = await self._survey()
            host = self._placed.get(name)
            if host is None:
                self._refuse_unknown(survey, f"cannot tell where {name} is")
                return  # on no host: already gone
        await self._script(host, "release", self._owner, name, self._repo_dir, seconds=60.0)
        self._placed.pop(name, None)

    async def list(self) -> Sequence[Machine]:
        """The pool's workers, found by asking every host for its claim."""
        survey = await self._survey()
        self._refuse_unknown(survey, "cannot list the pool's machines")
        mine = sorted(
            (c.name, h)
            for h, c in survey.items()
            if isinstance(c, _Claim) and c.owner == self._owner
        )
        return [self._machine(name, host) for name, host in mine]

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (enforced on the host by `timeout`)
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run argv on the worker's host, in its HOME.

        `env` travels in the command line (the host's process list shows it): as the
        Protocol says, nothing secret goes there.
        """
        if not argv:
            raise ProviderError("exec needs a command", reason="InvalidCommand")
        host = await self._host_of(name)
        return await self._run(host, argv, stdin=stdin, seconds=timeout, env=env, what=name)

    async def close(self) -> None:
        """Close the connections; the machines and their claims stay."""
        await asyncio.gather(*(link.close() for link in self._links.values()))

    # -- where workers are -------------------------------------------------------------------

    async def _host_of(self, name: str) -> Host:
        _check(_NAME, "machine name", name)
        host = self._placed.get(name)
        if host is not None:
            return host
        survey = await self._survey()
        host = self._placed.get(name)
        if host is None:
            self._refuse_unknown(survey, f"cannot tell where {name} is")
            raise MachineNotFound(f"no host of the inventory holds a claim for {name}")
        return host

    async def _survey(self) -> dict[Host, _Found]:
        """Every host's claim, asked in parallel; our workers' places are learnt from it."""
        hosts = list(self._links)
        found = await asyncio.gather(*(self._ask(h) for h in hosts))
        survey = dict(zip(hosts, found, strict=True))
        for host, claim in survey.items():
            if isinstance(claim, _Claim) and claim.owner == self._owner:
                self._placed.setdefault(claim.name, host)
        return survey

    async def _ask(self, host: Host) -> _Found:
        try:
            return await self._read_claim(host)
        except ProviderError as exc:
            return exc

    async def _read_claim(self, host: Host) -> _Claim | None:
        return _parse_claim(await self._script(host, "read"))

    async def _take(self, host: Host, name: str) -> bool:
        return _parse_claim(await self._script(host, "take", self._owner, name)) == self._claim(
            name
        )

    def _refuse_unknown(self, survey: Mapping[Host, _Found], doing: str) -> None:
        """Hosts that cannot be asked may hold the claim sought (and its work): never guess."""
        errors = {h: e for h, e in survey.items() if isinstance(e, ProviderError)}
        if not errors:
            return
        by_message: dict[str, list[str]] = {}  # a Secret's problem is every host's: said once
        for host, error in errors.items():
            by_message.setdefault(str(error), []).append(str(host))
        details = "; ".join(f"{', '.join(hosts)}: {text}" for text, hosts in by_message.items())
        advice = ""
        if any(e.reason == HOST_UNREACHABLE for e in errors.values()):
            advice = ". A host that is gone for good must be removed from spec.provider.ssh.hosts"
        raise ProviderError(
            f"{doing}: {len(errors)} of {len(survey)} hosts cannot be asked ({details}){advice}",
            reason=_first_reason(e.reason for e in errors.values()),
        )

    def _claim(self, name: str) -> _Claim:
        return _Claim(self._owner, name)

    def _machine(self, name: str, host: Host) -> Machine:
        return Machine(
            name=name,
            id=machine_id(self._user, host),
            attach=("ssh", "-t", "-p", str(host.port), f"{self._user}@{host.address}", "tmux"),
        )

    # -- running commands --------------------------------------------------------------------

    async def _script(self, host: Host, *args: str, seconds: float = _SCRIPT_SECONDS) -> bytes:
        """claim.sh on a host; its output. A failure (say, a HOME we cannot write) is an error
        of the host, so that nothing is concluded from it."""
        argv = ("bash", "-c", _CLAIM_SCRIPT, "claim.sh", *args)
        result = await self._run(host, argv, stdin=b"", seconds=seconds, env=None, what=str(host))
        if not result.ok:
            detail = result.stderr.decode("utf-8", errors="replace").strip()[-512:]
            raise ProviderError(
                f"claim.sh {args[0]} failed on {host} with exit code {result.exit_code}: {detail}",
                reason="ClaimFailed",
            )
        return result.stdout

    async def _run(
        self,
        host: Host,
        argv: Sequence[str],
        *,
        stdin: bytes,
        seconds: float,
        env: Mapping[str, str] | None,
        what: str,
    ) -> ExecResult:
        return await self._links[host].run(
            argv, env=env, stdin=stdin, seconds=seconds, what=f"{argv[0]} on {what}"
        )


def command_line(
    argv: Sequence[str], *, env: Mapping[str, str] | None, seconds: float, tag: str = ""
) -> str:
    """The line the host's login shell runs: at HOME, with our environment, under `timeout`.

    The shell exports the variables itself (an `env` process would cost another exec).
    `tag` marks every process of the command, for a reap (see the module docstring).
    """
    variables = {**_BASE_ENV, **(env or {}), **({TAG: tag} if tag else {})}
    for key in variables:
        _check(_ENV_NAME, "environment variable name", key)
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in variables.items())
    limit = str(max(1, math.ceil(seconds)))
    run = shlex.join(["timeout", "-k", str(_KILL_AFTER), limit, *argv])
    return f"cd && export {exports} && exec {run}"


def machine_id(user: str, host: Host) -> str:
    """The machine as Worker.status.machine shows it: `ssh://user@address:port`."""
    return f"ssh://{user}@{host}"


def attach_command(machine: str) -> list[str]:
    """The ssh argv that opens tmux on the machine of an id from `machine_id`."""
    parts = urllib.parse.urlsplit(machine)
    if parts.scheme != "ssh" or not parts.username or not parts.hostname or not parts.port:
        raise ValueError(f"not an SSH machine id: {machine!r}")
    _check(_USER, "user name", parts.username)
    _check(_ADDRESS, "host address", parts.hostname)
    return ["ssh", "-t", "-p", str(parts.port), f"{parts.username}@{parts.hostname}", "tmux"]


class _Link:
    """One host's pooled connection: opened on demand, reused, reopened with backoff."""

    def __init__(
        self, host: Host, user: str, credentials: CredentialSource, *, connect_timeout: float
    ) -> None:
        self.host = host
        self._user = user
        self._credentials = credentials
        self._connect_timeout = connect_timeout
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(_CHANNELS)
        self._failures = 0
        self._retry_at = 0.0
        self._error: ProviderError | None = None
        self._lost: list[str] = []  # tags of commands whose connection dropped under them
        self._reaping: set[asyncio.Task[None]] = set()

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None,
        stdin: bytes,
        seconds: float,
        what: str,
        reap: bool = True,
    ) -> ExecResult:
        """Run argv; `seconds` is its limit on the host (see `command_line`). A command given
        up on is reaped on the host, unless `reap` is False (the reap itself)."""
        tag = secrets.token_hex(8)
        command = command_line(argv, env=env, seconds=seconds, tag=tag)
        async with self._channels:
            process = await self._start(command)
            try:
                return await self._finish(process, stdin=stdin, seconds=seconds, what=what)
            except ProviderError as exc:
                if exc.reason == HOST_UNREACHABLE:
                    self._lost = [*self._lost, tag][-_LOST_KEPT:]
                elif reap:
                    self._reap(tag)
                raise
            except BaseException:  # cancelled: a deadline gave up on it
                if reap:
                    self._reap(tag)
                raise

    def _reap(self, tag: str) -> None:
        """Stop the command of `tag` on the host (and those lost before), in the background:
        whoever gave up on it must not wait for that."""
        tags, self._lost = [tag, *self._lost], []
        task = asyncio.get_running_loop().create_task(self._kill(tags))
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def _kill(self, tags: Sequence[str]) -> None:
        argv = ("bash", "-c", _REAP_SCRIPT, "reap.sh", *tags)
        try:
            await self.run(
                argv, env=None, stdin=b"", seconds=_REAP_SECONDS, what="reap.sh", reap=False
            )
        except ProviderError as exc:
            logger.warning(f"could not stop abandoned commands on {self.host}: {exc}")
            self._lost = [*tags, *self._lost][-_LOST_KEPT:]

    async def close(self) -> None:
        for task in list(self._reaping):
            task.cancel()
        await asyncio.gather(*self._reaping, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5.0)

    async def _start(self, command: str) -> asyncssh.SSHClientProcess[bytes]:
        """The command started on a channel of the kept connection.

        A channel the host refuses (at its MaxSessions while other commands end) is asked for
        again shortly; a kept connection found dead is replaced, once. Both are safe: a
        channel that was not opened ran nothing.
        """
        refused: asyncssh.ChannelOpenError | None = None
        replaced = False
        for attempt in range(1, _OPEN_ATTEMPTS + 1):
            conn, kept = await self._connection()
            try:
                return await conn.create_process(command, encoding=None)
            except (asyncssh.Error, OSError) as exc:
                if isinstance(exc, asyncssh.ChannelOpenError) and not conn.is_closed():
                    refused = exc
                    await asyncio.sleep(_REFUSED_PAUSE * attempt)
                    continue
                self._drop(conn)
                if not kept or replaced:
                    raise self._unreachable(exc) from exc
                replaced = True
        raise ProviderError(
            f"{self.host} refused {_OPEN_ATTEMPTS} times to open a session ({refused}); its "
            f"sshd's MaxSessions must allow {_CHANNELS}",
            reason="SessionRefused",
        )

    async def _finish(
        self,
        process: asyncssh.SSHClientProcess[bytes],
        *,
        stdin: bytes,
        seconds: float,
        what: str,
    ) -> ExecResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(seconds + _KILL_AFTER + _GRACE):
                stdout, stderr = await process.communicate(stdin)
        except TimeoutError:
            _abandon(process)
            raise ExecTimeout(
                f"{what} ran longer than {seconds:g}s and {self.host} never said it ended"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            _abandon(process)
            raise self._unreachable(exc) from exc
        except BaseException:
            _abandon(process)
            raise
        code = _exit_code(process)
        if code is None:
            raise ProviderError(
                f"the connection to {self.host} was lost while {what} ran", reason=HOST_UNREACHABLE
            )
        if code == _TIMED_OUT and loop.time() - started >= seconds:
            raise ExecTimeout(f"{what} ran longer than {seconds:g}s and was killed")
        return ExecResult(code, stdout or b"", stderr or b"")

    async def _connection(self) -> tuple[asyncssh.SSHClientConnection, bool]:
        """The kept connection (True) or a new one (False); failures back off per host."""
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn, True
            self._conn = None
            now = asyncio.get_running_loop().time()
            if self._error is not None and now < self._retry_at:
                raise ProviderError(str(self._error), reason=self._error.reason)
            try:
                self._conn = await self._connect()
            except ProviderError as exc:
                self._failed(exc, now)
                raise
            if self._error is not None:
                logger.info(f"{self._user}@{self.host} is reachable again")
            self._failures, self._error = 0, None
            return self._conn, False

    def _failed(self, error: ProviderError, now: float) -> None:
        first, longest = _BACKOFF
        self._failures += 1
        self._retry_at = now + min(longest, first * 2 ** (self._failures - 1))
        if self._error is None or self._error.reason != error.reason:
            logger.warning(f"ssh {self._user}@{self.host}: {error}")
        self._error = error

    async def _connect(self) -> asyncssh.SSHClientConnection:
        key, known_hosts = _parse(await self._credentials())
        client = _Client()
        try:
            return await asyncssh.connect(
                self.host.address,
                self.host.port,
                username=self._user,
                client_factory=lambda: client,
                client_keys=[key],
                known_hosts=known_hosts,
                x509_trusted_certs=None,
                agent_path=None,
                config=None,  # no ~/.ssh/config of the operator's user: the spec says it all
                preferred_auth="publickey",
                connect_timeout=self._connect_timeout,
                keepalive_interval=_KEEPALIVE,
                keepalive_count_max=3,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise ProviderError(
                _mismatch(self.host, client.offered), reason=HOST_KEY_MISMATCH
            ) from exc
        except asyncssh.PermissionDenied as exc:
            raise ProviderError(
                f"{self._user}@{self.host} refused the key of "
                "spec.provider.ssh.privateKeySecretRef (is its public key in the user's "
                "authorized_keys?)",
                reason=AUTHENTICATION_FAILED,
            ) from exc
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise self._unreachable(exc) from exc

    def _drop(self, conn: asyncssh.SSHClientConnection) -> None:
        if self._conn is conn:
            self._conn = None
        conn.abort()

    def _unreachable(self, exc: BaseException) -> ProviderError:
        if isinstance(exc, TimeoutError):
            detail = f"no answer within {self._connect_timeout:g}s"
        else:
            detail = str(exc) or type(exc).__name__
        return ProviderError(
            f"cannot reach {self._user}@{self.host}: {detail}", reason=HOST_UNREACHABLE
        )


class _Client(asyncssh.SSHClient):
    """Remembers the host key offered when known_hosts does not trust it, to name it."""

    offered: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.offered = key
        return False


def _parse(credentials: Credentials) -> tuple[asyncssh.SSHKey, asyncssh.SSHKnownHosts]:
    """The key and known_hosts, parsed; errors say which field, never what the Secret holds."""
    try:
        key = asyncssh.import_private_key(credentials.private_key)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        raise ProviderError(
            "spec.provider.ssh.privateKeySecretRef does not hold a usable private key "
            "(an unencrypted OpenSSH or PEM private key)",
            reason="InvalidPrivateKey",
        ) from None
    text = credentials.known_hosts.decode("utf-8", errors="replace")
    if not text.strip():
        raise ProviderError(
            "spec.provider.ssh.knownHostsSecretRef holds no known_hosts entries",
            reason="InvalidKnownHosts",
        )
    try:
        known_hosts = asyncssh.import_known_hosts(text)
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise ProviderError(
            f"spec.provider.ssh.knownHostsSecretRef is not a known_hosts file: {exc}",
            reason="InvalidKnownHosts",
        ) from None
    return key, known_hosts


def _mismatch(host: Host, offered: asyncssh.SSHKey | None) -> str:
    seen = ""
    if offered is not None:
        seen = f" It offered {offered.get_algorithm()} {offered.get_fingerprint()}."
    return (
        f"the host key of {host} is not trusted by spec.provider.ssh.knownHostsSecretRef: the "
        f"host is not listed there, or its key changed.{seen} Verify the key on the host "
        "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before adding it to the Secret"
    )


def _no_free_host(name: str, survey: Mapping[Host, _Found]) -> str:
    held = ", ".join(
        f"{host} by {claim.owner} {claim.name}"
        for host, claim in survey.items()
        if isinstance(claim, _Claim)
    )
    return (
        f"no free host for {name}: all {len(survey)} hosts of spec.provider.ssh.hosts are "
        f"claimed ({held}). Add hosts, or lower spec.scaling.maxWorkers; hosts are never "
        "shared between pools"
    )


def _parse_claim(output: bytes) -> _Claim | None:
    words = output.decode("utf-8", errors="replace").split()
    return _Claim(words[0], words[1]) if len(words) == 2 else None


def _exit_code(process: asyncssh.SSHClientProcess[bytes]) -> int | None:
    """The exit status as a shell reports it (128 + N for signal N); None if never told."""
    if process.exit_status is not None and process.exit_status >= 0:
        return process.exit_status
    if process.exit_signal is not None:
        name = process.exit_signal[0]
        with contextlib.suppress(KeyError):
            return 128 + signal.Signals[f"SIG{name}"].value
        return 255
    return None


def _abandon(process: asyncssh.SSHClientProcess[bytes]) -> None:
    """Stop waiting for a command: TERM it (`timeout` passes it on to the group), close."""
    with contextlib.suppress(Exception):
        process.send_signal("TERM")
    with contextlib.suppress(Exception):
        process.close()


def _first_reason(reasons: Iterable[str]) -> str:
    seen = list(reasons)
    for reason in _REASON_ORDER:
        if reason in seen:
            return reason
    return seen[0] if seen else HOST_UNREACHABLE


def _check(pattern: re.Pattern[str], kind: str, value: str) -> None:
    if not pattern.fullmatch(value):
        raise ProviderError(f"invalid {kind} {value!r}", reason="InvalidSpec")


def _quiet_asyncssh() -> None:
    """asyncssh logs each command line at INFO, here whole scripts on every poll: unless
    someone chose a level for it, only its warnings are kept."""
    asyncssh_logger = logging.getLogger("asyncssh")
    if asyncssh_logger.level == logging.NOTSET:
        asyncssh_logger.setLevel(logging.WARNING)
