"""What the worker needs from the API: the prompt, the provisioning plan with its secrets."""

from __future__ import annotations

from sprite_orchestrator.core import naming, prompts
from sprite_orchestrator.kube import Kube, NotFound
from sprite_orchestrator.models import AgentTaskSpec, WorkerPoolSpec
from sprite_orchestrator.models.pool import SpritesProviderSpec, SSHProviderSpec
from sprite_orchestrator.worker.provisioning import ProvisionPlan

AUTH_KEYS = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")


class InvalidInput(Exception):
    """The spec points at something unusable; the message says what, never a secret value."""

    def __init__(self, message: str, *, reason: str = "InvalidSpec") -> None:
        super().__init__(message)
        self.reason = reason


async def prompt(kube: Kube, namespace: str, spec: AgentTaskSpec) -> str:
    """The task's prompt, inline or from a ConfigMap/Secret; empty is an error."""
    text = spec.prompt
    source = spec.prompt_from
    if text is not None and source is not None:
        raise InvalidInput("set either spec.prompt or spec.promptFrom, not both")
    if source is not None:
        text = await _prompt_from(kube, namespace, spec)
    if text is None or not prompts.sanitize(text).strip():
        raise InvalidInput("spec.prompt is empty: nothing to tell the agent")
    return text


async def _prompt_from(kube: Kube, namespace: str, spec: AgentTaskSpec) -> str:
    source = spec.prompt_from
    assert source is not None
    try:
        if source.config_map_key_ref is not None:
            ref = source.config_map_key_ref
            data = await kube.config_map(namespace, ref.name)
            where = f"ConfigMap {ref.name}"
            value = data.get(ref.key)
        else:
            secret_ref = source.secret_key_ref
            assert secret_ref is not None
            where = f"Secret {secret_ref.name}"
            raw = (await kube.secret(namespace, secret_ref.name)).get(secret_ref.key or "prompt")
            value = raw.decode("utf-8", errors="replace") if raw is not None else None
    except NotFound:
        raise InvalidInput(f"spec.promptFrom: {where} not found") from None
    if value is None:
        raise InvalidInput(f"spec.promptFrom: {where} has no such key")
    return value


async def provision_plan(
    kube: Kube, namespace: str, pool: str, spec: WorkerPoolSpec
) -> ProvisionPlan:
    """Everything provisioning needs, secrets included (they travel on stdin only)."""
    env = {var.name: var.value for var in spec.agent.env}
    if spec.agent.auth_secret_ref is not None:
        env.update(await _auth(kube, namespace, spec.agent.auth_secret_ref.name))
    deploy_key = known_hosts = None
    if spec.repo.deploy_key_secret_ref is not None:
        ref = spec.repo.deploy_key_secret_ref
        deploy_key = await _secret_key(kube, namespace, ref.name, ref.key or "ssh-privatekey")
    if spec.repo.known_hosts_secret_ref is not None:
        ref = spec.repo.known_hosts_secret_ref
        field = "spec.repo.knownHostsSecretRef"
        known_hosts = await _secret_key(
            kube, namespace, ref.name, ref.key or "known_hosts", field=field
        )
    elif deploy_key is not None and is_ssh_url(spec.repo.url):
        raise InvalidInput(
            "spec.repo.knownHostsSecretRef is required to clone over SSH with a deploy key: "
            "the git host's key is verified, never accepted on first use",
            reason="KnownHostsRequired",
        )
    try:
        return _plan(pool, spec, env, deploy_key, known_hosts)
    except ValueError as exc:  # what the schema allows but no machine may be given
        raise InvalidInput(f"spec.repo or spec.agent: {exc}") from None


def is_ssh_url(url: str) -> bool:
    """Whether git reaches `url` over SSH: ssh:// (and its aliases) or scp-like host:path.

    git's own rule for scp-like: a colon with no slash before it; anything else without
    `://` is a local path.
    """
    scheme, sep, _ = url.partition("://")
    if sep:
        return scheme in ("ssh", "git+ssh", "ssh+git")
    host, colon, _ = url.partition(":")
    return bool(colon) and bool(host) and "/" not in host


def _plan(
    pool: str,
    spec: WorkerPoolSpec,
    env: dict[str, str],
    deploy_key: bytes | None,
    known_hosts: bytes | None,
) -> ProvisionPlan:
    return ProvisionPlan(
        repo_url=spec.repo.url,
        ref=spec.repo.ref,
        repo_dir=naming.repo_dir(pool),
        session=naming.session_name(pool),
        setup_script=spec.repo.setup_script,
        agent_command=list(spec.agent.command),
        agent_env=env,
        permission_mode=spec.agent.permission_mode,
        deploy_key=deploy_key,
        known_hosts=known_hosts,
    )


async def _auth(kube: Kube, namespace: str, name: str) -> dict[str, str]:
    try:
        data = await kube.secret(namespace, name)
    except NotFound:
        raise InvalidInput(
            f"spec.agent.authSecretRef: Secret {name} not found", reason="SecretNotFound"
        ) from None
    found = {k: data[k].decode("utf-8").strip() for k in AUTH_KEYS if k in data}
    if not found:
        raise InvalidInput(
            f"spec.agent.authSecretRef: Secret {name} has neither {' nor '.join(AUTH_KEYS)}",
            reason="SecretNotFound",
        )
    return found


async def ssh_secrets(kube: Kube, namespace: str, spec: SSHProviderSpec) -> tuple[bytes, bytes]:
    """An SSH pool's private key and known_hosts, for the provider to keep in memory only."""
    key_ref, hosts_ref = spec.private_key_secret_ref, spec.known_hosts_secret_ref
    private_key = await _secret_key(
        kube,
        namespace,
        key_ref.name,
        key_ref.key or "ssh-privatekey",
        field="spec.provider.ssh.privateKeySecretRef",
    )
    known_hosts = await _secret_key(
        kube,
        namespace,
        hosts_ref.name,
        hosts_ref.key or "known_hosts",
        field="spec.provider.ssh.knownHostsSecretRef",
    )
    return private_key, known_hosts


async def sprites_token(kube: Kube, namespace: str, spec: SpritesProviderSpec) -> str:
    """A Sprites pool's API token, for the provider's client only."""
    ref = spec.token_secret_ref
    raw = await _secret_key(
        kube, namespace, ref.name, ref.key or "token", field="spec.provider.sprites.tokenSecretRef"
    )
    return raw.decode("utf-8", errors="replace").strip()


async def _secret_key(kube: Kube, namespace: str, name: str, key: str, *, field: str = "") -> bytes:
    where = f"{field}: " if field else ""
    try:
        data = await kube.secret(namespace, name)
    except NotFound:
        raise InvalidInput(f"{where}Secret {name} not found", reason="SecretNotFound") from None
    if key not in data:
        raise InvalidInput(f"{where}Secret {name} has no key {key}", reason="SecretNotFound")
    return data[key]
