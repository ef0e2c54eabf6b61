"""`uom-batch budget set|show` against a real redis-server: the record, its display, no secrets."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from batch.cli import main
from batch.engine.shared_budget import connect, key_prefix
from tests.commands.test_startup import HEAVY, loaded_by
from tests.engine.test_shared_budget import RedisServer, dump_everything
from tests.system_tools import needs

pytestmark = needs("redis-server")

ACCESS_KEY = "AK-COMMAND-0001"
SECRET_KEY = "sk-very-secret-value-42"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this module's own."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.kill()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual UOM_* credentials, as a run would have them."""
    for name, value in {"UOM_ACCESS_KEY": ACCESS_KEY, "UOM_SECRET_KEY": SECRET_KEY,
                        "UOM_ENDPOINT": "http://127.0.0.1:9", "UOM_SERVICE_CODE": "uom00000001",
                        "UOM_MASTER_ID": "SA0000001"}.items():
        monkeypatch.setenv(name, value)


async def redis_dump(url: str) -> str:
    """Everything the server holds, as text."""
    client = connect(url)
    try:
        return await dump_everything(client)
    finally:
        await client.aclose()


def test_set_then_show_prints_the_budget(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`budget set` writes rate and margin; `budget show` prints them with the effective rate."""
    assert main(["budget", "set", "--rate", "50", "--margin", "0.02", "--warmup-s", "0",
                 "--redis", redis_url]) == 0
    assert "effective 49/s" in capsys.readouterr().out
    assert main(["budget", "show", "--redis", redis_url]) == 0
    shown = capsys.readouterr().out
    assert f"key {key_prefix(ACCESS_KEY)}" in shown
    assert "rate 50/s, margin 0.02, effective 49/s" in shown
    assert "leases: 0" in shown


def test_redis_never_sees_the_secret_or_the_access_key(redis_url: str) -> None:
    """After `budget set` and `show`, no key or value in Redis holds the secret or the key id."""
    main(["budget", "set", "--rate", "10", "--redis", redis_url])
    main(["budget", "show", "--redis", redis_url])
    dump = anyio.run(redis_dump, redis_url)
    assert key_prefix(ACCESS_KEY) in dump
    assert SECRET_KEY not in dump and ACCESS_KEY not in dump


def test_show_for_a_key_without_a_budget_says_how_to_set_one(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`budget show` for another access key says the budget is not set, and how to set it."""
    monkeypatch.setenv("UOM_ACCESS_KEY", "AK-NEVER-SET")
    assert main(["budget", "show", "--redis", redis_url]) == 0
    assert "budget not set for this key: uom-batch budget set" in capsys.readouterr().out


def test_unreachable_redis_is_a_message_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    """A Redis nobody listens on: exit 2 and a message naming the host, not the password."""
    assert main(["budget", "show", "--redis", "redis://:hunter2@127.0.0.1:9/0"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach Redis at redis://127.0.0.1:9/0" in err and "hunter2" not in err


@pytest.mark.parametrize("flags", [("--rate", "0"), ("--rate", "nan"), ("--rate", "5", "--margin", "1")])
def test_bad_values_are_rejected_before_redis(flags: tuple[str, ...],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A rate that is not > 0 or a margin outside [0, 1) is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as done:
        main(["budget", "set", *flags, "--redis", "redis://127.0.0.1:9/0"])
    assert done.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_no_redis_given_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Without --redis or $UOM_BATCH_REDIS the command says what to give."""
    monkeypatch.delenv("UOM_BATCH_REDIS", raising=False)
    assert main(["budget", "show"]) == 2
    assert "--redis redis://HOST:PORT/DB" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [("budget", "--help"), ("budget", "set", "--help")])
def test_budget_help_loads_no_heavy_library_nor_redis(argv: tuple[str, ...]) -> None:
    """`budget --help` imports neither the heavy libraries nor the redis client."""
    code, loaded = loaded_by(*argv)
    assert code == 0
    assert loaded.isdisjoint({*HEAVY, "redis"}), loaded & {*HEAVY, "redis"}
