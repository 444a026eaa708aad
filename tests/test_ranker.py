"""The ranker honours scikit-learn's estimator contract, learns graded preferences under
both objectives, and serves (compiled trees) exactly the scores of its reference model."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.ranking.ranker import ShopRanker, one_thread

# Binned histograms make integer weights differ slightly from repeated rows, as for
# HistGradientBoostingRegressor itself (scikit-learn marks the same check for it).
_KNOWN = {"check_sample_weight_equivalence_on_dense_data": "histogram binning, as in sklearn"}
N_FEATURES = 6


@parametrize_with_checks(
    [ShopRanker(max_iter=20, min_samples_leaf=5)], expected_failed_checks=lambda _: _KNOWN
)
def test_estimator_contract(estimator: ShopRanker, check: Callable[[Any], None]) -> None:
    check(estimator)


def test_ranker_orders_by_the_signal_it_was_trained_on() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((2000, 3))
    gain = np.digitize(X[:, 0] + 0.1 * rng.standard_normal(2000), [0.5, 0.75, 0.9])
    model = ShopRanker(max_iter=50).fit(X, gain.astype(float))
    probe = np.array([[0.95, 0.5, 0.5], [0.6, 0.5, 0.5], [0.1, 0.5, 0.5]])
    with one_thread():
        scores = model.predict(probe)
    assert scores[0] > scores[1] > scores[2]


def _decisions(rng: np.random.Generator, n_groups: int, size: int) -> tuple[Any, Any, Any]:
    """Decisions whose grade depends on feature 0 relative to the decision's other
    candidates, while feature 1 (the same for a whole decision) shifts how many engage."""
    groups = np.repeat(np.arange(n_groups), size)
    X = rng.random((n_groups * size, 3))
    X[:, 1] = np.repeat(rng.random(n_groups), size)
    y = np.zeros(len(groups))
    for g in range(n_groups):
        rows = np.flatnonzero(groups == g)
        best = rows[np.argsort(-X[rows, 0])]
        y[best[0]] = 3.0
        y[best[1 : 1 + int(X[rows[0], 1] * 3)]] = 1.0
    return X, y, groups


def test_lambdarank_learns_the_order_within_each_decision() -> None:
    rng = np.random.default_rng(3)
    X, y, groups = _decisions(rng, 300, 12)
    shuffled = rng.permutation(len(y))  # groups need not be contiguous
    model = ShopRanker(objective="lambdarank", max_iter=40, min_samples_leaf=10)
    model.fit(X[shuffled], y[shuffled], groups=groups[shuffled])
    test_X, test_y, test_groups = _decisions(np.random.default_rng(4), 50, 12)
    scores = model.score_rows(test_X)
    top_hits = [
        test_y[rows[np.argmax(scores[rows])]] == 3.0
        for rows in (np.flatnonzero(test_groups == g) for g in range(50))
    ]
    assert np.mean(top_hits) > 0.8
    assert model.get_params()["objective"] == "lambdarank"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs groups"),
        ({"groups": np.zeros(5)}, "one entry per row"),
        ({"groups": np.arange(40) // 10, "y": np.full(40, 0.5)}, "whole grades"),
        ({"groups": np.arange(40) // 10, "y": np.full(40, 31.0)}, "whole grades"),
    ],
)
def test_lambdarank_refuses_rows_it_cannot_rank(kwargs: dict[str, Any], message: str) -> None:
    X = np.random.default_rng(0).random((40, 3))
    y = kwargs.pop("y", np.arange(40) % 4)
    with pytest.raises(ValueError, match=message):
        ShopRanker(objective="lambdarank", max_iter=5).fit(X, y, **kwargs)


def test_an_unknown_objective_is_refused() -> None:
    with pytest.raises(ValueError, match="objective must be one of"):
        ShopRanker(objective="listwise").fit(np.eye(3), np.arange(3.0))


def test_serving_scores_are_the_predictions_and_bad_rows_still_fail() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((500, 4))
    model = ShopRanker(max_iter=30).fit(X, (X[:, 1] > 0.5).astype(float))
    rows = rng.random((120, 4)).astype(np.float32)
    with one_thread():
        assert np.allclose(model.score_rows(rows), model.predict(rows), rtol=0, atol=1e-9)
    bad = rows.copy()
    bad[3, 2] = np.nan
    for broken in (bad, rows[:, :3]):
        with pytest.raises(ValueError, match=r"NaN|features"):
            model.score_rows(broken)


def test_a_pickled_ranker_scores_the_same() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((400, 4))
    model = ShopRanker(max_iter=15).fit(X, X[:, 0] * 3)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.model_text_ == model.model_text_
    assert np.array_equal(copy.score_rows(X[:50]), model.score_rows(X[:50]))


def _trained(objective: str) -> tuple[ShopRanker, npt.NDArray[np.float64]]:
    """A ranker on skewed, heavy-tailed features (like counts and log-ratios), and every
    split threshold it uses: rows exactly on a threshold are where two evaluators of the
    same trees could disagree."""
    rng = np.random.default_rng(5)
    X = np.column_stack(
        [
            rng.lognormal(0.0, 2.0, 3000),
            rng.integers(0, 3, 3000).astype(float),
            rng.standard_normal(3000),
            rng.random(3000) < 0.1,
            rng.exponential(50.0, 3000),
            np.round(rng.random(3000), 2),
        ]
    )
    y = np.clip(np.round(X[:, 2] + X[:, 3] * 2 + np.log1p(X[:, 0])), 0, 3)
    groups = np.arange(3000) // 30
    model = ShopRanker(objective=objective, max_iter=60, min_samples_leaf=10)
    model.fit(X, y, groups=groups)
    dump = model.booster_.dump_model()
    thresholds: list[float] = []

    def walk(node: dict[str, Any]) -> None:
        if "threshold" in node:
            thresholds.append(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return model, np.unique(np.asarray(thresholds))


_MODELS = {name: _trained(name) for name in ("pointwise", "lambdarank")}


def _rows() -> st.SearchStrategy[npt.NDArray[np.float64]]:
    thresholds = np.concatenate([t for _, t in _MODELS.values()])
    cell = st.one_of(
        st.sampled_from(thresholds.tolist()),
        st.sampled_from(np.nextafter(thresholds, np.inf).tolist()),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
        st.sampled_from([0.0, -0.0, 1.0, 2.0]),
    )
    return hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(N_FEATURES)), elements=cell)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows(), objective=st.sampled_from(sorted(_MODELS)))
def test_compiled_scores_equal_the_reference_model(
    rows: npt.NDArray[np.float64], objective: str
) -> None:
    model, _ = _MODELS[objective]
    served = model.score_rows(rows)
    reference = model.predict(rows)
    assert np.max(np.abs(served - reference)) <= 1e-6
    as_float32 = rows.astype(np.float32)  # what the feature builder hands over
    assert np.max(np.abs(model.score_rows(as_float32) - model.predict(as_float32))) <= 1e-6
