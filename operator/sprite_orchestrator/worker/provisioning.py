"""Making a machine a worker, as the seed's setup scripts did (ARCHITECTURE §2).

Five steps, each one exec of `provision.sh`, each idempotent and resumable (re-running after a
crash at any line converges; completed steps are skipped):

    prepare  ~/.sprite-orchestrator and its assets (status hook, launcher, demo agent,
             keep-awake and its timing)
    clone    the repo at ~/<repo_dir>, at `ref`, with the deploy key if any
    setup    the repo's setup script (default scripts/dev-setup.sh), if present
    agent    the agent's argv, env (secrets: a 0600 file) and permission mode; Claude Code's
             settings (our status hook) and state (onboarding, workspace trust, API key)
    tmux     session <session>: window 0 `shell`, window 1 `agent` running the launcher,
             its Claude session the id the operator chose (`--session-id`, as restart does)

Step output is kept in ~/.sprite-orchestrator/provision.log for `orchestrator logs`; the step
under way is announced (`on_step`) so the Worker's Provisioned condition can name it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shlex
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from sprite_orchestrator.core import redaction
from sprite_orchestrator.failpoints import failpoint
from sprite_orchestrator.providers.base import ExecResult, Provider
from sprite_orchestrator.worker import claude_config, remote
from sprite_orchestrator.worker.remote import STATE_DIR, WorkerError

DEFAULT_SETUP_SCRIPT = "scripts/dev-setup.sh"
# The demo agent, for machines without Claude credentials: the launcher puts it on PATH.
DEMO_AGENT_COMMAND = ("demo-agent.py",)
STEPS = ("prepare", "clone", "setup", "agent", "tmux")

_SCRIPT = "provision.sh"
_INSTALLED = ("status-hook.sh", "launcher.sh", "demo-agent.py", "keep-awake.sh")
_TIMEOUTS = {"prepare": 60.0, "clone": 1800.0, "setup": 3600.0, "agent": 60.0, "tmux": 60.0}
_API_KEY = "ANTHROPIC_API_KEY"
_FILE, _EXECUTABLE, _SECRET = 0o644, 0o755, 0o600
_HOST_KEY_FAILED = b"Host key verification failed"  # OpenSSH, for an unknown or changed key


@dataclasses.dataclass(frozen=True)
class KeepAwake:
    """How a sprite is held awake while its agent works (keep-awake.sh reads it).

    The hold expires on its own `expire_seconds` after its last refresh (so a dead worker
    does not keep a sprite billed); it is refreshed at most every `refresh_seconds`, well
    before it expires. The Tasks API takes at most an hour.
    """

    expire_seconds: int = 600
    refresh_seconds: int = 60

    def __post_init__(self) -> None:
        if not 0 < 2 * self.refresh_seconds <= self.expire_seconds <= 3600:
            raise ValueError(f"a keep-awake refresh must be well within its expiry: {self}")

    def config(self) -> bytes:
        """The file keep-awake.sh reads: the expiry as the Tasks API takes it (10m, 45s)."""
        seconds = self.expire_seconds
        expire = f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
        return f"expire={expire}\nrefresh={self.refresh_seconds}\n".encode()


# Read at each provisioning (tests shorten it to see refreshes within seconds).
KEEP_AWAKE = KeepAwake()


class ProvisioningFailed(WorkerError):
    """A step failed: `tail` holds the last lines (at most 4 KB) of its output."""

    def __init__(
        self,
        step: str,
        exit_code: int,
        tail: str,
        *,
        reason: str = "ProvisioningFailed",
        why: str = "",
    ) -> None:
        super().__init__(
            f"provisioning step {step} failed with exit code {exit_code}{why}", reason=reason
        )
        self.step = step
        self.exit_code = exit_code
        self.tail = tail


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProvisionPlan:
    """What a worker of a pool needs. Secrets are kept out of repr()."""

    repo_url: str  # a git URL, a local path or a file:// URL
    ref: str | None = None
    repo_dir: str  # under HOME, e.g. kite
    session: str  # the tmux session, e.g. kite-dev
    setup_script: str | None = DEFAULT_SETUP_SCRIPT  # relative to the repo; run if present
    agent_command: Sequence[str] = ("claude",)
    agent_env: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, hash=False)
    permission_mode: str | None = None
    deploy_key: bytes | None = dataclasses.field(default=None, repr=False)
    known_hosts: bytes | None = None  # the git host's keys, checked when cloning over SSH

    def secrets(self) -> list[str | bytes]:
        """The values no output may show: the agent's environment and the deploy key."""
        return [*self.agent_env.values(), *([self.deploy_key] if self.deploy_key else [])]

    def __post_init__(self) -> None:
        """Validate everything that reaches an argv or a file; keep our own copies."""
        _check_repo(self.repo_url, self.ref, self.setup_script)
        remote.dir_name(self.repo_dir)
        remote.session_name(self.session)
        _check_agent(self.agent_command, self.agent_env)
        if self.permission_mode is not None:
            remote.word(self.permission_mode)
        object.__setattr__(self, "agent_command", tuple(self.agent_command))
        object.__setattr__(self, "agent_env", dict(self.agent_env))


@dataclasses.dataclass(frozen=True)
class ProvisionResult:
    """Which steps ran and which were already done (or had nothing to do)."""

    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    # The Claude session id offered to the agent the tmux step starts (it is used only if that
    # step had to start one: a skipped step leaves the running agent and its session alone).
    session_id: str = ""

    @property
    def summary(self) -> str:
        """For a condition message: "ran clone, setup; skipped prepare"."""
        outcomes = (("ran", self.ran), ("skipped", self.skipped))
        parts = [f"{verb} {', '.join(steps)}" for verb, steps in outcomes if steps]
        return "; ".join(parts) or "nothing to do"


class StepStarted(Protocol):
    """Told of each provisioning step as it starts, in words a person reads."""

    async def __call__(self, message: str) -> None: ...


async def provision(
    provider: Provider,
    name: str,
    plan: ProvisionPlan,
    *,
    session_id: str | None = None,
    on_step: StepStarted | None = None,
) -> ProvisionResult:
    """Run every step on the machine, skipping the completed ones; raise ProvisioningFailed.

    A new agent's Claude session is `session_id` (a UUID; a new random one by default), so
    the operator names every session, the first task's included. `on_step` hears each step
    as it starts, in words a person reads (`step_message`).
    """
    chosen = remote.session_id(session_id or str(uuid.uuid4()))
    steps: dict[str, _Step] = {**_STEPS, "tmux": functools.partial(_tmux, session_id=chosen)}
    ran: list[str] = []
    skipped: list[str] = []
    for step in STEPS:
        if on_step is not None:
            await on_step(step_message(step, plan))
        try:
            outcome = await steps[step](provider, name, plan)
        except ProvisioningFailed as exc:  # a setup script may print what it can read
            exc.tail = redaction.redact(exc.tail, plan.secrets())
            raise
        (ran if outcome == "ran" else skipped).append(step)
        failpoint(f"after-provision-{step}")
    return ProvisionResult(ran=tuple(ran), skipped=tuple(skipped), session_id=chosen)


def step_message(step: str, plan: ProvisionPlan) -> str:
    """What a step does, for the Provisioned condition; never a URL (it may hold a token)."""
    doing = {
        "prepare": "installing the orchestrator's scripts",
        "clone": f"cloning the repo into ~/{plan.repo_dir}",
        "setup": f"running the setup script {plan.setup_script or '(none)'}",
        "agent": "configuring the agent (Claude Code's settings and state)",
        "tmux": f"starting tmux session {plan.session}",
    }[step]
    return f"provisioning step {STEPS.index(step) + 1} of {len(STEPS)}, {step}: {doing}"


async def provision_log(provider: Provider, name: str, max_bytes: int) -> bytes:
    """The end of the machine's provision.log (at most `max_bytes`), b"" if there is none."""
    if max_bytes <= 0:
        return b""
    result = await remote.run(provider, name, _SCRIPT, "log", str(int(max_bytes)))
    return result.stdout if result.ok else b""


async def _prepare(provider: Provider, name: str, plan: ProvisionPlan) -> str:
    files = {
        f"{STATE_DIR}/bin/{asset}": (remote.asset(asset).encode(), _EXECUTABLE)
        for asset in _INSTALLED
    }
    files[f"{STATE_DIR}/keep-awake.conf"] = (KEEP_AWAKE.config(), _FILE)
    fingerprint = _fingerprint(
        {path: [_sha256(data), mode] for path, (data, mode) in files.items()}
    )
    return await _step(provider, name, "prepare", fingerprint, stdin=remote.bundle(files))


async def _clone(provider: Provider, name: str, plan: ProvisionPlan) -> str:
    files = {
        f"{STATE_DIR}/clone/url": (plan.repo_url.encode(), _SECRET),
        f"{STATE_DIR}/clone/ref": ((plan.ref or "").encode(), _SECRET),
        f"{STATE_DIR}/deploy_key": (plan.deploy_key or b"", _SECRET),
        f"{STATE_DIR}/known_hosts": (plan.known_hosts or b"", _FILE),
    }
    return await _step(provider, name, "clone", plan.repo_dir, stdin=remote.bundle(files))


async def _setup(provider: Provider, name: str, plan: ProvisionPlan) -> str:
    if plan.setup_script is None:
        return "skipped"
    return await _step(provider, name, "setup", plan.repo_dir, plan.setup_script)


async def _agent(provider: Provider, name: str, plan: ProvisionPlan) -> str:
    """Two execs: read what the merge needs (unless done), then write the files."""
    fingerprint = _fingerprint(
        {
            "repo_dir": plan.repo_dir,
            "command": list(plan.agent_command),
            "env": dict(plan.agent_env),
            "mode": plan.permission_mode,
            "version": 1,
        }
    )
    info = await remote.run(provider, name, _SCRIPT, "agent-info", plan.repo_dir, fingerprint)
    fields = info.stdout.split(b"\0")
    if info.ok and info.stdout.startswith(b"step=skipped"):
        return "skipped"
    if not info.ok or len(fields) != 8 or fields[0] != b"info":
        raise _failure("agent", info)
    home, project = (f.decode("utf-8", "replace") for f in fields[1:3])
    settings = fields[4] if fields[3] == b"1" else None
    state = fields[6] if fields[5] == b"1" else None
    files = _agent_files(plan, home=home, project=project, settings=settings, state=state)
    return await _step(provider, name, "agent", fingerprint, stdin=remote.bundle(files))


def _agent_files(
    plan: ProvisionPlan, *, home: str, project: str, settings: bytes | None, state: bytes | None
) -> dict[str, tuple[bytes, int]]:
    """What the launcher reads, and Claude's config merged into what is already there."""
    argv = b"".join(word.encode() + b"\0" for word in plan.agent_command)
    env = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(plan.agent_env.items()))
    hook = "bash " + shlex.quote(f"{home}/{STATE_DIR}/bin/status-hook.sh")
    hooks = functools.partial(claude_config.settings_with_hooks, command=hook)
    trust = functools.partial(
        claude_config.state_with_trust, project=project, api_key=plan.agent_env.get(_API_KEY)
    )
    return {
        f"{STATE_DIR}/agent/argv": (argv, _FILE),
        f"{STATE_DIR}/agent/env": (env.encode(), _SECRET),
        f"{STATE_DIR}/agent/permission-mode": ((plan.permission_mode or "").encode(), _FILE),
        **_merged(".claude/settings.json", settings, _FILE, hooks),
        **_merged(".claude.json", state, _SECRET, trust),
    }


def _merged(
    path: str,
    current: bytes | None,
    mode: int,
    merge: Callable[[Mapping[str, Any]], Mapping[str, Any]],
) -> dict[str, tuple[bytes, int]]:
    """A JSON config file merged; unparsable content is kept beside it, not lost."""
    parsed, usable = claude_config.parse(current)
    files = {path: (claude_config.dump(merge(parsed)), mode)}
    if not usable and current is not None:
        files[f"{path}.invalid"] = (current, _SECRET)
    return files


async def _tmux(provider: Provider, name: str, plan: ProvisionPlan, *, session_id: str) -> str:
    return await _step(provider, name, "tmux", plan.session, plan.repo_dir, session_id)


_Step = Callable[[Provider, str, ProvisionPlan], Awaitable[str]]
# The tmux step also takes the session id: provision() binds it.
_STEPS: dict[str, _Step] = {"prepare": _prepare, "clone": _clone, "setup": _setup, "agent": _agent}


async def _step(provider: Provider, name: str, step: str, *args: str, stdin: bytes = b"") -> str:
    """Run one step of provision.sh: "ran" or "skipped", or raise ProvisioningFailed."""
    result = await remote.run(
        provider, name, _SCRIPT, step, *args, stdin=stdin, timeout=_TIMEOUTS[step]
    )
    head = result.stdout.partition(b"\n")[0]
    if result.ok and head in (b"step=ran", b"step=skipped"):
        return head.decode().removeprefix("step=")
    raise _failure(step, result)


def _failure(step: str, result: ExecResult) -> ProvisioningFailed:
    head, _, rest = result.stdout.partition(b"\n")
    output = rest if head == b"step=failed" else result.stdout + result.stderr
    if step == "clone" and _HOST_KEY_FAILED in output:
        why = ": the git host's key is not in spec.repo.knownHostsSecretRef (unknown or changed)"
        return ProvisioningFailed(
            step, result.exit_code, remote.tail(output), reason="HostKeyMismatch", why=why
        )
    return ProvisioningFailed(step, result.exit_code, remote.tail(output))


def _fingerprint(value: object) -> str:
    """What a step's marker holds: the step is redone when its inputs change."""
    return _sha256(json.dumps(value, sort_keys=True).encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_repo(url: str, ref: str | None, setup_script: str | None) -> None:
    _check_text("repo URL", url)
    if ref is not None:
        _check_text("ref", ref)
        if ref.startswith("-") or any(c.isspace() for c in ref):  # never an option to git
            raise ValueError(f"invalid git ref {ref!r}")
    if setup_script is not None:
        remote.relative_path(setup_script)


def _check_agent(command: Sequence[str], env: Mapping[str, str]) -> None:
    if not command:
        raise ValueError("the agent command needs a program")
    _check_text("agent program", command[0])
    for word in command[1:]:
        _check_text("agent command word", word, newlines=True, empty=True)
    for key, value in env.items():
        remote.env_name(key)
        _check_text(f"value of {key}", value, newlines=True, empty=True)


def _check_text(what: str, value: str, *, newlines: bool = False, empty: bool = False) -> None:
    """No NUL ever (it ends a C string); no control characters where a line is expected."""
    if (not value and not empty) or "\0" in value:
        raise ValueError(f"invalid {what}: empty or contains NUL")
    if not newlines and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"invalid {what}: contains control characters")
