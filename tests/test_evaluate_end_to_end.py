"""``shopmode train`` then ``shopmode evaluate`` on a small generated world, through the CLI,
against a real Redis: the ranker must beat popularity on held-out days."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import redis
from typer.testing import CliRunner

from models.ranking.registry import CURRENT_KEY, list_versions, load_current
from models.retrieval.cooccurrence import fetch_neighbours
from service.cli import app


@pytest.fixture
def cli_env(shopmode_home: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPMODE_REDIS_URL", redis_url)
    from service.settings import get_settings

    get_settings.cache_clear()
    return shopmode_home


def test_train_then_evaluate_beats_popularity(
    small_world: Path, cli_env: Path, redis_client: redis.Redis
) -> None:
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--data", str(small_world), "--max-iter", "60"])
    assert trained.exit_code == 0, trained.output
    assert "made it current" in trained.output
    versions = list_versions(cli_env / "models")
    assert len(versions) == 1
    assert redis_client.get(CURRENT_KEY) == versions[0].encode()
    model = load_current(redis_client, cli_env / "models")
    assert model.metadata.data_dir == str(small_world.resolve())
    assert model.metadata.feature_names[0] == "category_affinity_1d"
    # Serving's co-occurrence neighbours landed in Redis, one sorted set per product.
    cooc_keys = sorted(k.decode() for k in redis_client.scan_iter("shopmode:v1:{p:*}:cooc"))
    assert cooc_keys
    product = cooc_keys[0].split("{p:")[1].split("}")[0]
    assert fetch_neighbours(redis_client, [product])[product]

    evaluated = runner.invoke(app, ["evaluate", "--json", "--max-decisions", "400"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    systems = result["systems"]
    assert set(systems) >= {
        "ranker",
        "popularity",
        "trending",
        "top_category",
        "oracle",
        "oracle_utility",
    }
    ranker, popular = systems["ranker"]["ndcg@10"], systems["popularity"]["ndcg@10"]
    assert ranker > 1.5 * popular
    # The oracle (the simulator's own expectation for each session) is an upper reference.
    assert systems["oracle"]["ndcg@10"] > ranker
    assert result["gap_closed"] is not None
    assert result["gap_closed"] > 0.6
    report = Path(result["report"])
    for name in ("report.md", "metric_by_k.png", "feature_importance.png", "calibration.png"):
        assert (report / name).stat().st_size > 0
    assert "gap_closed" in (report / "report.md").read_text()


def test_train_on_a_log_too_short_exits_with_a_message(
    small_world: Path, cli_env: Path, tmp_path: Path
) -> None:
    events = pd.read_parquet(small_world / "events.parquet")
    short = tmp_path / "events.parquet"
    events[events["ts"] < events["ts"].min() + 3 * 86_400].to_parquet(short)
    result = CliRunner().invoke(
        app, ["train", "--events", str(short), "--catalog", str(small_world / "catalog.parquet")]
    )
    assert result.exit_code == 2
    assert "--events" in result.output
    assert "days" in result.output
    assert not (cli_env / "models").exists() or list_versions(cli_env / "models") == []


def test_evaluate_without_a_model_says_to_train(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate"])
    assert result.exit_code == 2
    assert "shopmode train" in result.output
