"""The Sprites provider through sprites-py against the fake Sprites API (tests/fakes/sprites.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sprite_orchestrator.providers import sprites
from sprite_orchestrator.providers.base import ExecTimeout, MachineNotFound, ProviderError
from tests.fakes.sprites import FakeSprites
from tests.sprites.conftest import TOKEN

Make = Callable[..., sprites.SpritesProvider]


@pytest.fixture
async def make(sprites_api: FakeSprites) -> AsyncIterator[Make]:
    """Providers for the fake API (a second one is the operator after a restart)."""
    made: list[sprites.SpritesProvider] = []

    def build(*, pool: str = "kite", namespace: str = "default", token: str = TOKEN) -> Any:
        async def source() -> str:
            return token

        provider = sprites.SpritesProvider(
            namespace=namespace, pool=pool, token=source, base_url=sprites_api.url
        )
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.close()


async def test_exec_runs_the_argv_at_home_with_exit_code_and_both_streams(
    make: Make, sprites_api: FakeSprites
) -> None:
    provider = make()
    await provider.create("kite-1")

    result = await provider.exec(
        "kite-1", ["bash", "-c", 'pwd; cat; echo "to stderr" >&2; exit 7'], stdin=b"in\n"
    )

    home = sprites_api.sprites["kite-1"].home
    assert (result.exit_code, result.stdout, result.stderr) == (
        7,
        f"{home}\nin\n".encode(),
        b"to stderr\n",
    )


async def test_arguments_stdin_and_env_arrive_exactly_as_given_and_path_is_kept(
    make: Make,
) -> None:
    provider = make()
    await provider.create("kite-1")
    word = 'it\'s $HOME `id` $(id) ; && | > \\ "q" \n new line 日本語 👩‍💻 *'
    data = bytes(range(256)) * 400  # 100 KB, every byte value

    args = await provider.exec("kite-1", ["printf", "%s|", word, "", "-n"])
    echoed = await provider.exec("kite-1", ["cat"], stdin=data)
    env = await provider.exec(
        "kite-1", ["bash", "-c", 'echo "$LANG $EXTRA"; command -v tmux'], env={"EXTRA": word}
    )

    assert args.stdout.decode() == f"{word}||-n|"
    assert echoed.stdout == data
    lang, _, rest = env.stdout.decode().partition(" ")
    assert lang == "C.UTF-8" and rest.startswith(word + "\n")
    assert rest.rstrip().endswith("/tmux")  # the sprite's PATH survived our variables


async def test_a_command_past_its_timeout_is_killed_on_the_sprite(make: Make) -> None:
    provider = make()
    await provider.create("kite-1")

    with pytest.raises(ExecTimeout, match="ran longer than 1s"):
        await provider.exec("kite-1", ["bash", "-c", "sleep 30.7"], timeout=1)
    left = await provider.exec("kite-1", ["pgrep", "-f", "[s]leep 30.7"])

    assert left.exit_code == 1  # nothing left running


async def test_sprites_are_labelled_and_found_again_by_another_operator(
    make: Make, sprites_api: FakeSprites
) -> None:
    first = make()
    await first.create("kite-1")
    await first.create("kite-2")
    await make(pool="other").create("other-1")
    await make(namespace="prod").create("kite-3")  # the same pool name in another namespace

    found = await make().list()

    assert [m.name for m in found] == ["kite-1", "kite-2"]
    assert found[0].id == "sprite://kite-1"
    assert list(found[0].attach) == ["sprite", "console", "-s", "kite-1"]
    assert sprites_api.sprites["kite-1"].labels == [
        "sprite-orchestrator",
        "so-ns-default",
        "so-pool-kite",
    ]


async def test_a_sprite_of_someone_else_is_never_taken(make: Make) -> None:
    await make(namespace="prod").create("kite-1")
    provider = make()

    with pytest.raises(ProviderError, match="not a worker of default/kite") as create:
        await provider.create("kite-1")
    with pytest.raises(ProviderError) as run:
        await provider.exec("kite-1", ["true"])
    await provider.destroy("kite-1")  # not ours: left alone

    assert create.value.reason == run.value.reason == "SpriteNameTaken"
    assert [m.name for m in await make(namespace="prod").list()] == ["kite-1"]


async def test_destroy_checkpoints_first_and_a_gone_sprite_is_not_an_error(
    make: Make, sprites_api: FakeSprites
) -> None:
    provider = make()
    await provider.create("kite-1")
    await provider.exec("kite-1", ["bash", "-c", "echo work > notes.txt"])

    await provider.destroy("kite-1")
    await provider.destroy("kite-1")

    assert "kite-1" not in sprites_api.sprites
    [checkpoint] = sprites_api.checkpoints
    assert checkpoint.read("home/notes.txt") == b"work\n"
    with pytest.raises(MachineNotFound):
        await provider.exec("kite-1", ["true"])


async def test_a_sprite_destroyed_behind_our_back_is_MachineNotFound(
    make: Make, sprites_api: FakeSprites
) -> None:
    provider = make()
    await provider.create("kite-1")
    await provider.exec("kite-1", ["true"])
    await make().destroy("kite-1")

    with pytest.raises(MachineNotFound):
        await provider.exec("kite-1", ["true"])


async def test_a_rate_limit_holds_off_until_retry_after(
    make: Make, sprites_api: FakeSprites
) -> None:
    sprites_api.refuse("POST", "/v1/sprites", status=429, retry_after=30)
    provider = make()

    with pytest.raises(ProviderError) as first:
        await provider.create("kite-1")
    with pytest.raises(ProviderError) as second:
        await provider.list()

    assert first.value.reason == second.value.reason == "RateLimited"
    assert "retrying after 30s" in str(first.value)
    assert ("GET", "/v1/sprites") not in sprites_api.requests  # not asked again before then


async def test_a_full_organisation_without_retry_after_holds_off_creating_only(
    make: Make, sprites_api: FakeSprites
) -> None:
    made = make()
    await made.create("kite-1")
    sprites_api.refuse(
        "POST", "/v1/sprites", status=402, error="concurrent_sprite_limit_exceeded", times=1
    )
    provider = make()

    with pytest.raises(ProviderError) as first:
        await provider.create("kite-2")
    with pytest.raises(ProviderError) as second:
        await provider.create("kite-2")
    listed = await provider.list()  # the sprites we have are not held off

    assert first.value.reason == second.value.reason == "CapacityExceeded"
    assert first.value.retry_after == sprites.CAPACITY_RETRY
    assert second.value.retry_after is not None and 0 < second.value.retry_after <= 60
    assert sprites_api.requests.count(("POST", "/v1/sprites")) == 2  # kite-1, one refusal
    assert [m.name for m in listed] == ["kite-1"]


async def test_a_refused_token_is_AuthenticationFailed_and_read_again_next_time(
    sprites_api: FakeSprites,
) -> None:
    tokens = ["wrong-token", TOKEN]

    async def source() -> str:
        return tokens[0]

    provider = sprites.SpritesProvider(
        namespace="default", pool="kite", token=source, base_url=sprites_api.url
    )
    try:
        with pytest.raises(ProviderError) as refused:
            await provider.create("kite-1")
        tokens.pop(0)  # the Secret was fixed
        machine = await provider.create("kite-1")
    finally:
        await provider.close()

    assert refused.value.reason == "AuthenticationFailed"
    assert "wrong-token" not in str(refused.value)
    assert machine.name == "kite-1"


async def test_the_token_is_not_in_the_websocket_debug_log(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make()
    await provider.create("kite-1")

    await provider.exec("kite-1", ["true"])

    assert "> Authorization: [redacted]" in caplog.text
    assert TOKEN not in caplog.text


async def test_long_scripts_are_staged_once_and_again_when_gone(
    make: Make, sprites_api: FakeSprites
) -> None:
    provider = make()
    await provider.create("kite-1")
    script = "# " + "x" * 4000 + '\necho "$0 ran with $1 and $(cat)"\n'
    staged = sprites_api.sprites["kite-1"].home / ".sprite-orchestrator" / "scripts"

    first = await provider.exec("kite-1", ["bash", "-c", script, "long.sh", "arg"], stdin=b"in")
    second = await provider.exec("kite-1", ["bash", "-c", script, "long.sh", "two"])
    for file in staged.iterdir():
        file.unlink()  # a restored checkpoint, say
    third = await provider.exec("kite-1", ["bash", "-c", script, "long.sh", "three"])

    assert first.stdout.endswith(b" ran with arg and in\n") and first.exit_code == 0
    assert second.stdout.endswith(b" ran with two and \n")
    assert third.stdout.endswith(b" ran with three and \n")
    assert len(list(staged.glob("*.sh"))) == 1
    assert sprites_api.longest_url < 2048  # the script never travelled in a URL


async def test_a_stalled_api_call_is_SpritesUnreachable_until_the_stall_ends(
    sprites_api: FakeSprites,
) -> None:
    async def token() -> str:
        return TOKEN

    provider = sprites.SpritesProvider(
        namespace="default", pool="kite", token=token, base_url=sprites_api.url, timeout=1
    )
    stalled = sprites_api.stall("GET", "/v1/sprites/kite-1")

    with pytest.raises(ProviderError) as unanswered:
        await provider.create("kite-1")
    stalled.release.set()
    machine = await provider.create("kite-1")
    await provider.close()

    assert unanswered.value.reason == "SpritesUnreachable"
    assert "looking up sprite kite-1: cannot reach the Sprites API" in str(unanswered.value)
    assert "no answer within 1s" in str(unanswered.value)
    assert machine.name == "kite-1" and stalled.held == 1


async def test_a_stalled_exec_is_ExecTimeout_and_the_next_one_runs(
    make: Make, sprites_api: FakeSprites, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sprites, "_KILL_AFTER", 1)
    monkeypatch.setattr(sprites, "_GRACE", 0.5)  # the client waits 1 + 1 + 0.5 s
    provider = make()
    await provider.create("kite-1")
    stalled = sprites_api.stall("GET", "/v1/sprites/kite-1/exec", argv="first")

    with pytest.raises(ExecTimeout) as unanswered:
        await provider.exec("kite-1", ["bash", "-c", "echo first >> ran"], timeout=1)
    stalled.release.set()
    after = await provider.exec("kite-1", ["bash", "-c", "echo second >> ran; cat ran"])

    assert "the sprite never said it ended" in str(unanswered.value)
    assert after.stdout.splitlines()[-1] == b"second"
    assert stalled.held == 1


async def test_an_exec_whose_answer_is_lost_is_SpritesUnreachable_and_it_did_run(
    make: Make, sprites_api: FakeSprites
) -> None:
    provider = make()
    await provider.create("kite-1")
    lost = sprites_api.stall("GET", "/v1/sprites/kite-1/exec", argv="once", after_command=True)
    lost.release.set()  # the command runs, then the connection is cut: no exit status

    with pytest.raises(ProviderError) as cut:
        await provider.exec("kite-1", ["bash", "-c", "echo once >> ran"])
    after = await provider.exec("kite-1", ["cat", "ran"])

    assert cut.value.reason == "SpritesUnreachable"
    assert after.stdout == b"once\n"
