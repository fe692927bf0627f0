"""Building a pool's provider from its spec: one place for the operator and the CLI."""

from __future__ import annotations

import pathlib

from sprite_orchestrator.handlers import inputs
from sprite_orchestrator.kube import Kube
from sprite_orchestrator.models.pool import SpritesProviderSpec, SSHProviderSpec, WorkerPoolSpec
from sprite_orchestrator.providers.base import Provider, ProviderError


def build(
    kube: Kube, state_dir: pathlib.Path, namespace: str, pool: str, spec: WorkerPoolSpec
) -> Provider:
    """A new provider for the pool's `spec.provider`; it does no I/O until used.

    Local workers live under `state_dir`; remote providers read their Secrets through `kube`
    when they connect, so a Secret rotated in place is used from the next connection on.
    """
    if spec.provider.type == "Local":
        from sprite_orchestrator.providers.local import LocalProvider

        return LocalProvider(state_dir / "local" / namespace / pool)
    if spec.provider.type == "SSH" and spec.provider.ssh is not None:
        return _ssh(kube, namespace, pool, spec.provider.ssh)
    if spec.provider.type == "Sprites" and spec.provider.sprites is not None:
        return _sprites(kube, namespace, pool, spec.provider.sprites)
    raise ProviderError(
        f"provider {spec.provider.type} is not available in this build yet",
        reason="ProviderUnavailable",
    )


def _ssh(kube: Kube, namespace: str, pool: str, spec: SSHProviderSpec) -> Provider:
    try:
        from sprite_orchestrator.providers import ssh
    except ImportError:
        raise ProviderError(
            "the SSH provider needs asyncssh: pip install 'sprite-orchestrator[ssh]'",
            reason="ProviderUnavailable",
        ) from None

    async def credentials() -> ssh.Credentials:
        try:
            key, known_hosts = await inputs.ssh_secrets(kube, namespace, spec)
        except inputs.InvalidInput as exc:
            raise ProviderError(str(exc), reason=exc.reason) from None
        return ssh.Credentials(private_key=key, known_hosts=known_hosts)

    return ssh.SSHProvider(
        namespace=namespace,
        pool=pool,
        hosts=[ssh.Host(h.address, h.port) for h in spec.hosts],
        user=spec.user,
        credentials=credentials,
    )


def _sprites(kube: Kube, namespace: str, pool: str, spec: SpritesProviderSpec) -> Provider:
    try:
        from sprite_orchestrator.providers import sprites
    except ImportError:
        raise ProviderError(
            "the Sprites provider needs sprites-py: pip install 'sprite-orchestrator[sprites]'",
            reason="ProviderUnavailable",
        ) from None

    async def token() -> str:
        try:
            return await inputs.sprites_token(kube, namespace, spec)
        except inputs.InvalidInput as exc:
            raise ProviderError(str(exc), reason=exc.reason) from None

    return sprites.SpritesProvider(
        namespace=namespace, pool=pool, token=token, base_url=spec.base_url
    )
