"""Co-occurrence neighbours over time: the vectorised, checkpointed timeline agrees with
today's per-day rebuild and never sees a pair from after a decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features.catalog import Catalog
from features.ingest import read_events
from models.retrieval.cooccurrence import (
    NEIGHBOURS,
    CooccurrenceLog,
    Neighbours,
    neighbours_from_counts,
)
from models.retrieval.neighbour_timeline import DAY, NeighbourTimeline


def _per_product_loop(counts: sp.csr_matrix, width: int = NEIGHBOURS) -> Neighbours:
    """The reference: each product's row scored and sorted on its own (stable ties)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    counts.sum_duplicates()
    mass = np.asarray(counts.sum(axis=1)).ravel()
    out = Neighbours.empty(counts.shape[0], width)
    for i in range(counts.shape[0]):
        lo, hi = counts.indptr[i], counts.indptr[i + 1]
        cols = counts.indices[lo:hi]
        score = counts.data[lo:hi] / np.sqrt(mass[i] * mass[cols])
        top = np.argsort(-score, kind="stable")[:width]
        out.index[i, : len(top)] = cols[top]
        out.score[i, : len(top)] = score[top]
    return out


@pytest.fixture(scope="module")
def log(small_world: Path) -> CooccurrenceLog:
    catalog = Catalog.read(small_world / "catalog.parquet")
    return CooccurrenceLog.from_events(read_events(small_world / "events.parquet"), catalog)


def test_vectorised_neighbours_equal_the_per_product_loop(log: CooccurrenceLog) -> None:
    for at in np.quantile(log.known_ts, [0.1, 0.5, 1.0]):
        counts = log.counts_as_of(float(at) + 1.0)
        fast, slow = neighbours_from_counts(counts), _per_product_loop(counts)
        np.testing.assert_array_equal(fast.index, slow.index)
        np.testing.assert_allclose(fast.score, slow.score, rtol=1e-12)


def test_daily_checkpoints_give_todays_neighbours_for_every_day(log: CooccurrenceLog) -> None:
    first, last = float(log.known_ts.min()), float(log.known_ts.max())
    timeline = NeighbourTimeline(log, first, last, max_checkpoints=10_000)
    for day in np.arange(np.floor(first / DAY) * DAY, last + DAY, DAY):
        got, want = timeline.as_of(day + 3600.0), log.as_of(day)
        for product in range(log.n_products):
            index, score = got.of(product)
            np.testing.assert_array_equal(index, want.of(product)[0])
            np.testing.assert_allclose(score, want.of(product)[1], rtol=1e-12)


def test_coarse_checkpoints_never_use_a_pair_known_after_the_decision(
    log: CooccurrenceLog,
) -> None:
    first, last = float(log.known_ts.min()), float(log.known_ts.max())
    timeline = NeighbourTimeline(log, first, last, max_checkpoints=3)
    assert len(timeline.checkpoints) <= 4
    rng = np.random.default_rng(0)
    for at in np.sort(rng.uniform(first, last, size=25)):
        checkpoint = timeline.checkpoint_of(at)
        assert checkpoint <= at
        table = timeline.as_of(at).table()
        np.testing.assert_array_equal(table.index, log.as_of(checkpoint).index)
    assert timeline.rebuilds <= len(timeline.checkpoints)


def test_times_going_backwards_are_refused(log: CooccurrenceLog) -> None:
    first, last = float(log.known_ts.min()), float(log.known_ts.max())
    timeline = NeighbourTimeline(log, first, last, max_checkpoints=10_000)
    timeline.as_of(last)
    with pytest.raises(ValueError, match="backwards"):
        timeline.as_of(first + DAY)


def test_an_empty_log_has_no_neighbours() -> None:
    catalog = Catalog.from_frame(
        pd.DataFrame({"product_id": ["a", "b"], "title": ["A", "B"], "category": ["x", "x"]})
    )
    empty = pd.DataFrame(
        {"event_id": [], "user_id": [], "type": [], "product_id": [], "ts": []}
    ).astype({"ts": float})
    log = CooccurrenceLog.from_events(empty, catalog)
    rows = NeighbourTimeline(log, 0.0, DAY).as_of(DAY)
    assert len(rows.of(0)[0]) == 0
    assert (rows.table().index == -1).all()
