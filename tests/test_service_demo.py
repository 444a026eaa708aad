"""``shopmode demo``: the whole path on a tiny world, idempotent on rerun, and the key and
curl call it prints work against the app it would serve."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.cli import app as cli
from service.cli.demo import demo_key, with_demo_key
from service.settings import get_settings

pytestmark = pytest.mark.slow


def test_demo_runs_once_then_skips_and_its_curl_call_works(
    shopmode_home: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--size", "tiny", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "generate: generated" in first.output
    assert "ingest: ingested" in first.output
    assert "train: trained" in first.output
    key = re.search(r"demo API key \(recommend, events:write\): (\S+)", first.output)
    assert key is not None
    assert "http://127.0.0.1:8000/docs" in first.output

    again = runner.invoke(cli, ["demo", "--size", "tiny", "--no-serve"])
    assert again.exit_code == 0, again.output
    for step in ("generate", "ingest", "train"):
        assert f"{step}: kept" in again.output
    assert key.group(1) in again.output

    token = re.search(r"shopper token for (\S+) \(24 h; that shopper only\): (\S+)", first.output)
    assert token is not None
    user, shopper_token = token.groups()
    curl = next(line for line in first.output.splitlines() if "curl -s " in line)
    words = shlex.split(curl)
    body = words[words.index("-d") + 1]
    assert f"Bearer {shopper_token}" in curl
    assert f"/?shopper={user}" in first.output
    with TestClient(create_app(with_demo_key(get_settings(), key.group(1)))) as client:
        answer = client.post(
            "/v1/recommendations",
            content=body,
            headers={
                "Authorization": f"Bearer {shopper_token}",
                "Content-Type": "application/json",
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] is not None
        assert len(answer.json()["items"]) == 5
        # The token is that shopper's only; the demo key is any shopper's, never admin's.
        other = client.post(
            "/v1/recommendations",
            json={"user_id": user + "x"},
            headers={"Authorization": f"Bearer {shopper_token}"},
        )
        assert other.status_code == 403
        # The demo key never carries admin.
        reload = client.post(
            "/v1/admin/models/reload", headers={"Authorization": f"Bearer {key.group(1)}"}
        )
        assert reload.status_code == 403


def test_a_configured_demo_key_is_the_one_printed(
    shopmode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The compose stack's seed job runs the demo with the key its API serves the page with.
    monkeypatch.setenv("SHOPMODE_DEMO_KEY", "sm_demo_from_the_environment")
    get_settings.cache_clear()
    assert demo_key(get_settings()) == "sm_demo_from_the_environment"
    assert not (shopmode_home / "demo" / "api_key").exists()
    monkeypatch.delenv("SHOPMODE_DEMO_KEY")
    get_settings.cache_clear()
    created = demo_key(get_settings())
    assert created.startswith("sm_demo_")
    assert created != "sm_demo_from_the_environment"
    assert demo_key(get_settings()) == created
