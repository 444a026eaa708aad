"""The training set built in worker processes (``TrainConfig.jobs``) is the single-process
one row for row; quota tuning that keeps each source's picks across trials makes the same
trials as ``candidates_for`` run afresh; ``shopmode train --jobs`` rejects bad values."""

from __future__ import annotations

import resource
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.catalog import Catalog
from features.ingest import interest_events
from models.ranking.parallel_build import shopper_parts
from models.ranking.source_tuning import SliceInputs, slice_decisions, slice_rows
from models.ranking.training import EventLog, Prepared, TrainConfig, prepare, training_rows
from models.ranking.training_set import TrainingSet
from models.retrieval.learned_timeline import validation_start
from models.retrieval.quota_tuning import tune_quota
from service.cli import app
from world.config import WorldConfig
from world.generate import generate_world

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(test_days=3, max_train_decisions=700, max_iter=30, seed=3)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    out: Path = tmp_path_factory.mktemp("world")
    generate_world(WorldConfig(users=260, products=150, days=12, seed=5), out)
    declared = interest_events(pd.read_parquet(out / "users.parquet"))
    events = pd.read_parquet(out / "events.parquet")
    log = EventLog(
        pd.concat([declared, events], ignore_index=True), Catalog.read(out / "catalog.parquet")
    )
    return prepare(log, CONFIG.test_days)


def _same(a: TrainingSet, b: TrainingSet) -> None:
    assert len(a) == len(b) > 0
    np.testing.assert_array_equal(a.decision, b.decision)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.recall == b.recall


def test_rows_built_in_processes_are_the_single_process_rows(prepared: Prepared) -> None:
    serial = training_rows(prepared, CONFIG)
    for jobs in (2, 3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        parallel = training_rows(prepared, replace(CONFIG, jobs=jobs))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Built by worker processes (their CPU time counts once they are reaped).
        assert after.ru_utime > before.ru_utime
        _same(serial, parallel)


def test_shopper_parts_keep_each_shopper_whole_and_cover_every_decision(
    prepared: Prepared,
) -> None:
    points = prepared.train
    parts = shopper_parts(points, 3)
    assert len(parts) == 3
    rows = np.concatenate(parts)
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(points)))
    owners = [set(points.user_id[p].astype(str).tolist()) for p in parts]
    assert sum(len(o) for o in owners) == len(set().union(*owners))  # no shopper in two parts
    sizes = sorted(len(p) for p in parts)
    # Dealt largest shopper first to the lightest part: no part far heavier than another.
    assert sizes[-1] - sizes[0] <= int(np.unique(points.user_id, return_counts=True)[1].max())
    assert all(np.all(np.diff(p) > 0) for p in parts)  # time order within a part
    assert shopper_parts(points, 1)[0].tolist() == list(range(len(points)))


def test_cached_quota_tuning_makes_the_trials_of_candidates_for(prepared: Prepared) -> None:
    replay = prepared.replay
    assert replay.learned is not None
    start = validation_start(replay.engine.events_, prepared.split_ts)
    points = prepared.train.subset(slice_rows(prepared.train, start, limit=60))
    seen = [SliceInputs.of(inputs) for inputs in replay(points)]
    decisions = slice_decisions(replay.learned, replay.catalog, points, seen)
    assert len(decisions) >= 20
    for exclude_seen in (False, True):
        cached = tune_quota(decisions, exclude_seen=exclude_seen, cached=True)
        fresh = tune_quota(decisions, exclude_seen=exclude_seen, cached=False)
        assert len(fresh[1]) > 6  # the greedy search made several rounds of trials
        assert cached == fresh


@pytest.mark.parametrize("value", ["-1", "65", "two"])
def test_train_rejects_a_bad_jobs_value(value: str) -> None:
    result = CliRunner().invoke(app, ["train", "--jobs", value])
    assert result.exit_code == 2
    assert "--jobs" in result.output
