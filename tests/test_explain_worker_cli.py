"""``shopmode explain-worker``: refuses what it cannot do, with a message naming why."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.settings import get_settings


def run(monkeypatch: pytest.MonkeyPatch, *args: str, **env: str) -> int:
    """The exit code of ``shopmode explain-worker ARGS`` as the console script runs it."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    from service.cli import main

    monkeypatch.setattr("sys.argv", ["shopmode", "explain-worker", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    return int(stopped.value.code or 0)


def test_bad_arguments_exit_2_naming_the_option(shopmode_home: Path) -> None:
    result = CliRunner().invoke(cli, ["explain-worker", "--concurrency", "0"])
    assert result.exit_code == 2
    assert "--concurrency" in result.output
    result = CliRunner().invoke(cli, ["explain-worker", "--max-jobs", "many"])
    assert result.exit_code == 2
    assert "--max-jobs" in result.output


def test_a_template_backend_or_an_empty_store_is_refused(
    shopmode_home: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run(monkeypatch, REDIS_URL=redis_url, SHOPMODE_LLM_BACKEND="template")
    assert code == 2
    assert "SHOPMODE_LLM_BACKEND" in capsys.readouterr().err
    code = run(
        monkeypatch,
        "--max-jobs",
        "1",
        REDIS_URL=redis_url,
        SHOPMODE_LLM_BACKEND="openai",
        SHOPMODE_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )
    assert code == 2
    assert "no catalog stored" in capsys.readouterr().err
