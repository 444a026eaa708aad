"""The training set built on a Dask cluster (two worker processes) is the single-process
one, row for row, and the ranker fitted from it scores as the local one does; the CLI's
``--dask`` path trains and registers a model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from features.catalog import Catalog
from features.ingest import interest_events
from features.offline import OfflineFeatureEngine
from models.ranking.distributed.driver import DaskLog, DaskTrained, train_on_dask
from models.ranking.distributed.global_inputs import holdout, time_scales
from models.ranking.distributed.learned_parts import engaged_sessions, validation_of
from models.ranking.distributed.partitions import shopper_part, write_chunk
from models.ranking.distributed.shopper_parts import summarise_part
from models.ranking.ranker import ShopRanker
from models.ranking.splits import _product_times, choose_holdout, validation_split
from models.ranking.training import (
    EventLog,
    Prepared,
    TrainConfig,
    fingerprint,
    fit_ranker,
    prepare,
    training_rows,
)
from models.ranking.training_set import TrainingSet
from models.retrieval.learned_timeline import validation_start
from models.retrieval.time_scales import TimeScales
from service.cli import app
from shopmode.errors import DataTooSmall
from world.config import WorldConfig
from world.generate import generate_world

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(test_days=3, max_train_decisions=700, max_iter=30, seed=3)


@dataclass(frozen=True)
class Built:
    world: Path
    prepared: Prepared
    local: TrainingSet
    local_model: ShopRanker
    dask: DaskTrained


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(WorldConfig(users=260, products=150, days=12, seed=5), out)
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never the 8787 another cluster holds
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def built(world: Path, cluster: Client, tmp_path_factory: pytest.TempPathFactory) -> Built:
    catalog = Catalog.read(world / "catalog.parquet")
    declared = interest_events(pd.read_parquet(world / "users.parquet"))
    events = pd.read_parquet(world / "events.parquet")
    log = EventLog(pd.concat([declared, events], ignore_index=True), catalog)
    prepared = prepare(log, CONFIG.test_days)
    local = training_rows(prepared, CONFIG)
    dask = train_on_dask(
        cluster,
        DaskLog(catalog=catalog, events_path=world / "events.parquet", declared=declared),
        CONFIG,
        tmp_path_factory.mktemp("dask"),
        parts=5,
    )
    return Built(world, prepared, local, fit_ranker(local, CONFIG), dask)


def test_the_dask_training_set_is_the_single_process_one_row_for_row(built: Built) -> None:
    local, remote = built.local, built.dask.model.training
    assert len(local) > 1000
    assert len(np.unique(local.decision)) > 200
    # Same decisions, same sampled candidates in the same order, same labels and weights.
    np.testing.assert_array_equal(remote.decision, local.decision)
    np.testing.assert_array_equal(remote.y, local.y)
    np.testing.assert_array_equal(remote.weight, local.weight)
    assert remote.feature_names == local.feature_names
    # Product signals are summed per hour on the workers, then across parts: equal up to
    # float rounding (the float32 features mostly bit for bit).
    np.testing.assert_allclose(remote.X, local.X, rtol=1e-6, atol=1e-9)
    assert np.mean(remote.X == local.X) > 0.99
    assert remote.recall.summary() == local.recall.summary()


def test_the_global_inputs_match_the_whole_log(built: Built) -> None:
    meta = built.dask.model.metadata
    assert meta["split_ts"] == built.prepared.split_ts
    assert meta["time_scales"] == built.prepared.scales.as_metadata()
    assert meta["time_scales"]["median_gap"] is not None
    assert meta["data_fingerprint"] == fingerprint(built.prepared.log.events)
    assert built.dask.train_decisions == len(built.prepared.train)
    assert built.dask.test_decisions == len(built.prepared.test)
    pairs, whole = built.dask.cooccurrence, built.prepared.cooccurrence
    assert len(pairs.a) == len(whole.a) > 0
    ours, theirs = pairs.as_of(np.inf), whole.as_of(np.inf)
    np.testing.assert_array_equal(ours.index, theirs.index)
    np.testing.assert_allclose(ours.score, theirs.score, rtol=1e-12)
    assert meta["metrics"]["dask_workers"] == 2
    assert meta["metrics"]["dask_parts"] == 5


def test_the_learned_sources_are_fitted_and_tuned_as_the_local_ones(built: Built) -> None:
    local, remote = built.prepared.replay.learned, built.dask.learned
    assert local is not None
    assert remote is not None
    assert local.quota is not None  # tuned on the validation slice
    assert (remote.window_days, remote.k, remote.quota, remote.half_life) == (
        local.window_days,
        local.k,
        local.quota,
        local.half_life,
    )
    assert [f.at for f in remote.fits] == [f.at for f in local.fits]
    np.testing.assert_array_equal(remote.log.ts, local.log.ts)
    np.testing.assert_array_equal(remote.log.product, local.log.product)
    for ours, theirs in zip(remote.fits, local.fits, strict=True):
        np.testing.assert_array_equal(ours.knn_index, theirs.knn_index)
        np.testing.assert_allclose(ours.knn_score, theirs.knn_score, rtol=1e-12)
        np.testing.assert_array_equal(ours.popular[0], theirs.popular[0])
        np.testing.assert_allclose(ours.popular[1], theirs.popular[1], rtol=1e-12)
    params = built.dask.model.metadata["params"]
    assert built.prepared.tuned["validation_decisions"] > 20
    for name, value in built.prepared.tuned.items():
        assert params[name] == value, name
    assert (params["popularity_window_days"], params["knn_k"]) == (local.window_days, local.k)
    # The learned sources reach the rows both paths built (equal row for row above).
    learned = [built.local.feature_names.index(n) for n in ("knn_score", "source_item_knn")]
    assert np.count_nonzero(built.local.X[:, learned]) > 100


@pytest.mark.parametrize("carved", [True, False])
def test_the_validation_slice_from_the_parts_is_the_whole_logs(built: Built, carved: bool) -> None:
    events = built.prepared.engine.events_
    split = built.prepared.split
    if not carved:  # an hour of training part: too few sessions for the rule, 10% instead
        first = float(events.loc[events["product_id"].notna(), "ts"].min())
        split = replace(split, start_ts=first + 3600.0)
        with pytest.raises(DataTooSmall):
            validation_split(events, split)
        expected = validation_start(events, split.start_ts)
    else:
        expected = validation_split(events, split).start_ts
    owner = shopper_part(events["user_id"], 3)
    sessions = [engaged_sessions(events[owner == p]) for p in range(3)]
    products = events.loc[events["product_id"].notna(), "ts"]
    found = validation_of(sessions, float(products.min()), _product_times(events).min(), split)
    assert found == expected
    assert found < split.start_ts


def test_the_model_trained_through_dask_scores_as_the_local_one(built: Built) -> None:
    rows = built.local.X
    local = built.local_model.predict(rows)
    remote = built.dask.model.estimator.predict(rows)
    assert np.std(local) > 0.01  # a model that learned something
    np.testing.assert_allclose(remote, local, atol=1e-6 * max(1.0, float(np.abs(local).max())))


def test_cli_trains_on_a_local_dask_cluster(
    built: Built, redis_url: str, shopmode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    args = ["train", "--data", str(built.world), "--test-days", "3", "--max-decisions", "700"]
    result = CliRunner().invoke(app, [*args, "--max-iter", "30", "--dask", "local"])
    assert result.exit_code == 0, result.output
    assert "2 workers" in result.output
    assert "made it current" in result.output
    # The learned sources were fitted through the cluster and their neighbours stored.
    assert "item-kNN (K " in result.output
    assert "candidate quotas tuned on " in result.output
    assert not any((shopmode_home / "data" / "dask-parts").glob("*"))


@pytest.mark.parametrize("address", ["scheduler:8786", "nowhere"])
def test_cli_refuses_an_address_that_is_not_one(
    address: str, redis_url: str, shopmode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    result = CliRunner().invoke(app, ["train", "--dask", address])
    assert result.exit_code == 2
    assert "--dask" in result.output


def test_the_parts_choose_the_holdout_and_time_scales_the_whole_log_does(
    world: Path, tmp_path: Path
) -> None:
    catalog = Catalog.read(world / "catalog.parquet")
    events = pd.read_parquet(world / "events.parquet")
    write_chunk(events, tmp_path, 0, 3)
    parts = [summarise_part(tmp_path, p, catalog) for p in range(3)]
    assert all(p.events > 0 for p in parts)
    whole = OfflineFeatureEngine(events, catalog).events_
    chosen = choose_holdout(whole, None)
    assert chosen.chosen
    assert holdout(parts, None) == chosen
    assert holdout(parts, 2) == choose_holdout(whole, 2)
    before = whole[whole["ts"] < chosen.start_ts]
    assert time_scales([p.session_starts for p in parts], chosen.start_ts) == (
        TimeScales.from_events(before)
    )
