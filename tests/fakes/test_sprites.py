"""The fake Sprites API speaks what sprites-py sends, with a sprite's semantics."""

from __future__ import annotations

import io
import pathlib
from collections.abc import AsyncIterator

import pytest
import sprites
from sprites import exceptions

from tests.fakes.sprites import FakeSprites

TOKEN = "fake-token"
Client = tuple[FakeSprites, sprites.AsyncSpritesClient]


@pytest.fixture
async def client(
    tmp_path: pathlib.Path,
) -> AsyncIterator[Client]:
    async with FakeSprites(tmp_path, TOKEN) as api:
        sdk = sprites.AsyncSpritesClient(TOKEN, base_url=api.url)
        yield api, sdk
        await sdk.aclose()


async def output(sprite: sprites.AsyncSprite, *argv: str, **kwargs: object) -> tuple[int, bytes]:
    out = io.BytesIO()
    command = sprite.command(*argv, stdout=out, **kwargs)  # type: ignore[arg-type]
    try:
        await command.run()
    except exceptions.ExecError as exc:
        return exc.exit_code(), out.getvalue()
    return 0, out.getvalue()


async def test_a_sprite_runs_commands_in_its_home_and_env_replaces_its_environment(
    client: Client,
) -> None:
    api, sdk = client
    sprite = await sdk.create_sprite("one", labels=["a"])

    default = await output(sprite, "bash", "-c", 'echo "$HOME"; exit 3')
    replaced = await output(sprite, "/bin/bash", "-c", 'echo "[$HOME][$PATH][$A]"', env={"A": "b"})
    fed = await output(sprite, "cat", stdin=io.BytesIO(b"x" * 100_000))

    assert default == (3, f"{api.sprites['one'].home}\n".encode())
    assert replaced[1].startswith(b"[][") and replaced[1].endswith(b"][b]\n")
    assert fed == (0, b"x" * 100_000)
    assert (await sdk.get_sprite("one")).labels == ["a"]


async def test_errors_are_the_apis(client: Client) -> None:
    api, sdk = client
    api.refuse("POST", "/v1/sprites", status=429, retry_after=7)

    with pytest.raises(exceptions.NotFoundError):
        await sdk.get_sprite("none")
    with pytest.raises(exceptions.APIError) as missing:
        await sdk.sprite("none").command("true").run()
    with pytest.raises(exceptions.SpriteError, match="status 429"):
        await sdk.create_sprite("two")
    wrong = sprites.AsyncSpritesClient("wrong", base_url=api.url)
    with pytest.raises(exceptions.AuthenticationError):
        await wrong.list_sprites()
    await wrong.aclose()

    assert missing.value.status_code == 404


async def test_each_sprite_has_its_own_tasks_api_and_tmux_server(
    client: Client,
) -> None:
    api, sdk = client
    one, two = await sdk.create_sprite("one"), await sdk.create_sprite("two")
    hold = (
        'curl -s --unix-socket "$SPRITE_ORCHESTRATOR_API_SOCK" -X PUT'
        ' -d \'{"expire":"5m"}\' http://sprite/v1/tasks/agent'
    )

    await output(one, "bash", "-c", hold)
    await output(one, "tmux", "new-session", "-d", "-s", "s1")
    listed = await output(two, "tmux", "list-sessions")
    await api.chill("one")
    after = await output(one, "tmux", "list-sessions")

    assert api.sprites["two"].tasks == {} and listed[0] != 0
    assert api.sprites["one"].task_log == [("PUT", "agent")]
    assert after[0] != 0 and api.sprites["one"].tasks == {}  # cold: no processes, no holds
