"""``shopmode train`` then ``shopmode evaluate`` on a small generated world, through the CLI,
against a real Redis: the ranker must beat popularity on held-out days."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import redis
from typer.testing import CliRunner

from features.store import keys
from features.store.neighbours import neighbours_of
from features.store.runner import SyncRunner
from models.ranking.registry import CURRENT_KEY, list_versions, load_current
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
    assert "(lambdarank)" in trained.output  # the default objective
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
    assert SyncRunner(redis_client).run(neighbours_of([product], 30))[product]
    # ...and the learned sources' (item-kNN per product, the fitted-window popularity).
    assert any(redis_client.scan_iter("shopmode:v1:{p:*}:knn"))
    assert redis_client.zcard(keys.popular_window()) > 0
    assert "candidate quotas tuned on" in trained.output

    evaluated = runner.invoke(
        app, ["evaluate", "--json", "--max-decisions", "400", "--compare-objectives"]
    )
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
        "candidates_ideal",
    }
    ranker, popular = systems["ranker"]["ndcg@10"], systems["popularity"]["ndcg@10"]
    assert ranker > 1.5 * popular
    # The same candidates in hindsight's best order bound what any ranker of them reaches.
    assert ranker <= systems["candidates_ideal"]["ndcg@10"]
    # Both objectives fitted on the same training rows; the lambdarank one is the current
    # model trained again (same rows, same seed), so it ranks exactly as the ranker does.
    assert systems["ranker_lambdarank"] == systems["ranker"]
    assert systems["ranker_pointwise"]["ndcg@10"] > 1.5 * popular
    assert systems["ranker_pointwise"] != systems["ranker"]
    # The oracle (the simulator's own expectation for each session) is an upper reference.
    assert systems["oracle"]["ndcg@10"] > ranker
    assert result["gap_closed"] is not None
    assert result["gap_closed"] > 0.6
    # The peers ranked the very same held-out sessions, tuned before the split.
    peers = result["peers"]
    assert set(peers) == {"popularity_all_time", "popularity_recent", "als", "item_knn", "ease"}
    tuning = result["peer_tuning"]
    assert tuning["holdout_sessions"] == result["decisions"]
    assert tuning["validation_to"] == result["split_ts"] > tuning["validation_from"]
    for name in ("als", "item_knn", "ease"):
        assert peers[name]["ndcg@10"] > popular
        assert peers[name]["validation_ndcg@10"] > 0
        assert peers[name]["params"] in [
            {k: v for k, v in trial.items() if k != "ndcg@10"} for trial in peers[name]["grid"]
        ]
    assert ranker > max(peer["ndcg@10"] for peer in peers.values())
    assert result["ranker_vs_best_peer"] > 1
    assert result["exclude_seen"] is False
    report = Path(result["report"])
    for name in ("report.md", "metric_by_k.png", "feature_importance.png", "calibration.png"):
        assert (report / name).stat().st_size > 0
    text = (report / "report.md").read_text()
    assert "gap_closed" in text
    assert "## Peers" in text
    assert "item_knn" in text
    # This world's shoppers come back to what they viewed: leaving seen products out of
    # every list costs the ranker what it finds deep in its list.
    unseen = runner.invoke(
        app, ["evaluate", "--json", "--max-decisions", "400", "--exclude-seen", "--no-peers"]
    )
    assert unseen.exit_code == 0, unseen.output
    without = json.loads(unseen.output.strip().splitlines()[-1])
    assert without["exclude_seen"] is True
    assert "peers" not in without
    assert without["systems"]["ranker"]["recall@50"] < systems["ranker"]["recall@50"]


def test_train_refuses_an_unknown_objective(small_world: Path, cli_env: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--data", str(small_world), "--objective", "listwise"]
    )
    assert result.exit_code == 2
    assert "--objective" in result.output
    assert "lambdarank" in result.output
    assert not list_versions(cli_env / "models")


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


def test_evaluate_refuses_a_bad_refit_count(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--peer-refits", "0"])
    assert result.exit_code == 2
    assert "--peer-refits" in result.output


def _ingest(world: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            "--catalog", str(world / "catalog.parquet"),
            "--users", str(world / "users.parquet"),
            "--events", str(world / "events.parquet"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _train_on_the_store() -> None:
    quick = ["--max-iter", "20", "--max-decisions", "300"]
    trained = CliRunner().invoke(app, ["train", *quick])
    assert trained.exit_code == 0, trained.output


def test_evaluate_after_ingesting_a_world_shows_the_oracle(
    small_world: Path, cli_env: Path
) -> None:
    _ingest(small_world)
    _train_on_the_store()
    evaluated = CliRunner().invoke(app, ["evaluate", "--json", "--max-decisions", "200"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    assert {"oracle", "oracle_utility"} <= set(result["systems"])
    assert result["gap_closed"] is not None
    assert "oracle" not in result  # no note: nothing is missing
    text = CliRunner().invoke(app, ["evaluate", "--max-decisions", "200", "--exclude-seen"])
    assert "gap_closed = " in text.output
    assert "seen products excluded" in text.output
    assert "ranker vs best peer" in text.output


def test_evaluate_without_world_truth_says_how_to_get_the_oracle(
    small_world: Path, cli_env: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "export"  # the same log, away from the world's truth/
    elsewhere.mkdir()
    for name in ("catalog.parquet", "users.parquet", "events.parquet"):
        shutil.copy(small_world / name, elsewhere / name)
    _ingest(small_world)
    _ingest(elsewhere)  # the store's log is no longer one generated world's alone
    _train_on_the_store()
    evaluated = CliRunner().invoke(app, ["evaluate", "--json", "--max-decisions", "200"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    assert result["gap_closed"] is None
    assert "oracle" not in result["systems"]
    assert "--data DIR" in result["oracle"]
    text = CliRunner().invoke(app, ["evaluate", "--max-decisions", "200"])
    assert "no oracle" in text.output
    assert "--data DIR" in text.output
