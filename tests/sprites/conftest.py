"""Sprites pools end to end: the fake Sprites API on 127.0.0.1, real processes behind it."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from tests.conftest import NS, Cluster
from tests.fakes.sprites import FakeSprites

TOKEN = "spr-test-7f3a9c1e5b2d4f6a8c0e"  # what the Secret holds; it must never show anywhere
TOKEN_SECRET = "sprites-token"


@pytest.fixture
async def sprites_api(tmp_path: pathlib.Path) -> AsyncIterator[FakeSprites]:
    """The Sprites API, each sprite a HOME with its own tmux server and Tasks API socket."""
    async with FakeSprites(tmp_path / "sprites", TOKEN) as api:
        yield api


def provider_spec(api: FakeSprites) -> dict[str, object]:
    return {
        "type": "Sprites",
        "sprites": {"tokenSecretRef": {"name": TOKEN_SECRET}, "baseUrl": api.url},
    }


async def sprites_pool(
    cluster: Cluster, api: FakeSprites, repo: pathlib.Path, **spec: object
) -> None:
    """The token's Secret and the WorkerPool `demo` on Sprites, as a user applies them."""
    await cluster.kube.create_secret(NS, TOKEN_SECRET, {"token": TOKEN.encode()})
    await cluster.pool("demo", repo, provider=provider_spec(api), **spec)


def received(api: FakeSprites, sprite: str) -> list[bytes]:
    """What the demo agent on the sprite got, one file per paste."""
    folder = api.sprites[sprite].home / ".sprite-orchestrator" / "demo-agent" / "prompts"
    files = sorted(folder.glob("*.txt"), key=lambda p: int(p.stem)) if folder.exists() else []
    return [p.read_bytes() for p in files]
