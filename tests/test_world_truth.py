"""The hidden truth as the oracle sees it: loaded from files, vectorised, drifting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopmode.errors import NotFound
from world.truth import Truth
from world.truth_files import load_truth
from world.vocabulary import CATEGORIES


@pytest.fixture(scope="module")
def truth(small_world: Path) -> Truth:
    return load_truth(small_world)


def test_loads_from_the_world_or_its_truth_folder(small_world: Path, truth: Truth) -> None:
    again = load_truth(small_world / "truth")
    users = truth.user_ids[:5]
    products = truth.product_ids
    at = truth.end_ts - 1.0
    assert np.array_equal(
        truth.utility(users[:, None], products[None, :], at),
        again.utility(users[:, None], products[None, :], at),
    )
    with pytest.raises(NotFound):
        load_truth(small_world / "nowhere")


def test_utility_broadcasts_like_numpy(truth: Truth) -> None:
    users, products = truth.user_ids[:7], truth.product_ids[:11]
    matrix = truth.utility(users[:, None], products[None, :], truth.end_ts)
    assert matrix.shape == (7, 11)
    row = truth.utility(np.array([users[3]]), products, truth.end_ts)
    assert np.array_equal(row, matrix[3])
    pairs = truth.utility(users, np.repeat(products[0], 7), np.full(7, truth.end_ts))
    assert np.array_equal(pairs, matrix[:, 0])


def test_the_simulators_matrix_path_agrees_with_the_oracle(truth: Truth) -> None:
    u = np.arange(20)
    ts = np.linspace(truth.start_ts, truth.end_ts, 20)
    fast = truth.utility_matrix(u, ts)
    exact = truth.utility_at(u[:, None], np.arange(truth.product_ids.size)[None, :], ts[:, None])
    assert np.array_equal(np.isfinite(fast), np.isfinite(exact))
    assert np.allclose(fast[np.isfinite(fast)], exact[np.isfinite(exact)])


def test_products_cannot_be_wanted_before_launch(truth: Truth, small_world: Path) -> None:
    catalog = pd.read_parquet(small_world / "catalog.parquet")
    new = catalog[catalog["launch_ts"] > truth.start_ts].iloc[0]
    before = truth.utility(["u000001"], [new["product_id"]], new["launch_ts"] - 1.0)
    after = truth.utility(["u000001"], [new["product_id"]], new["launch_ts"] + 1.0)
    assert np.isneginf(before[0])
    assert np.isfinite(after[0])


def test_unknown_ids_are_named(truth: Truth) -> None:
    with pytest.raises(NotFound, match="u999999"):
        truth.utility(["u999999"], truth.product_ids[:1], truth.end_ts)
    with pytest.raises(NotFound, match="p99999"):
        truth.utility(truth.user_ids[:1], ["p99999"], truth.end_ts)


def test_tastes_drift_over_the_period(truth: Truth) -> None:
    drifting = int(np.argmax(truth.drift))
    user = str(truth.user_ids[drifting])
    early = truth.utility([user], truth.product_ids, truth.start_ts)
    late = truth.utility([user], truth.product_ids, truth.end_ts)
    launched = np.isfinite(early)
    assert not np.allclose(early[launched], late[launched])
    start = truth.tastes_at(np.array([drifting]), np.array([truth.start_ts]))[0]
    end = truth.tastes_at(np.array([drifting]), np.array([truth.end_ts]))[0]
    assert np.isclose(start.sum(), 1.0)
    assert np.isclose(end.sum(), 1.0)
    assert np.abs(end - start).sum() > 0.1


def test_top_categories_are_the_heaviest_tastes(truth: Truth) -> None:
    names = [c.name for c in CATEGORIES]
    for u in range(30):
        user = str(truth.user_ids[u])
        top = truth.top_categories(user, 2)
        tastes = truth.tastes_at(np.array([u]), np.array([truth.end_ts]))[0]
        assert 1 <= len(top) <= 2
        assert tastes[names.index(top[0])] == tastes.max()
        # Sparse: most shoppers care about only a handful of categories.
    assert np.mean((truth.taste_start > 0).sum(axis=1)) < 4
