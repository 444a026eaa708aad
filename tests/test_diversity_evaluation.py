"""The evaluation report measures what the diversity setting buys and costs, held out."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import Catalog
from models.evaluation.evaluate import DIVERSITY_SETTINGS, evaluate_estimator
from models.ranking.features import group_columns
from models.ranking.training import EventLog, TrainConfig, prepare, train_ranker


@pytest.mark.slow
def test_report_has_the_ranker_at_several_diversity_settings(small_world: Path) -> None:
    catalog = Catalog.read(small_world / "catalog.parquet")
    events = pd.read_parquet(small_world / "events.parquet")
    prepared = prepare(EventLog(events, catalog), test_days=4)
    trained = train_ranker(prepared, TrainConfig(max_iter=30, max_train_decisions=600))
    meta = trained.metadata
    groups = group_columns(meta["feature_names"], meta["feature_groups"])
    result = evaluate_estimator(
        prepared,
        trained.estimator,
        groups,
        np.asarray(meta["baseline"], dtype=np.float64),
        max_decisions=150,
    )
    ranker = result.systems["ranker"].metrics
    spread = [result.systems[f"ranker_diversity_{w}"].metrics for w in DIVERSITY_SETTINGS]
    diversity = [ranker["diversity@10"]] + [m["diversity@10"] for m in spread]
    assert diversity[-1] > diversity[0]
    assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(diversity))
    # Re-ranking only reorders the same top candidates: recall deep in the list holds.
    assert all(abs(m["recall@50"] - ranker["recall@50"]) < 0.05 for m in spread)
