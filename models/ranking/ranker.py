"""The ranker: gradient-boosted trees (LightGBM) on graded labels (purchase 3, cart 2,
click 1, none 0), with two objectives over the same features:

- ``pointwise``: squared error on the graded gain; the fitted score is the expected gain,
  which is what NDCG rewards, and sampling weights keep it unbiased;
- ``lambdarank``: LambdaMART; gradients come from the NDCG change of swapping two
  candidates of the same decision (``groups``), so only the order within a decision is
  learned. LightGBM's default label gains are 2^grade − 1, the gains ``shopmode
  evaluate`` scores NDCG with.

It follows scikit-learn's estimator contract so it composes with sklearn tooling
(cloning, grid search, checks). What it learns is one LightGBM model text
(``model_text_``): the registry saves it, ``predict`` parses it with LightGBM (the
reference), and ``score_rows`` (serving) runs it compiled to native code
(``models.ranking.compiled``) with the same scores.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from models.ranking.compiled import CompiledForest

FloatArray = npt.NDArray[np.float64]
OBJECTIVES = ("pointwise", "lambdarank")
_LIGHTGBM_OBJECTIVE = {"pointwise": "regression", "lambdarank": "lambdarank"}
# LightGBM's default label_gain (2^i - 1) has entries for grades 0..30.
MAX_GRADE = 30
# Not learned state: rebuilt from ``model_text_`` after loading or unpickling.
_DERIVED = ("booster_", "_used", "_compiled", "_compile_lock")


class ShopRanker(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Scores (shopper, product) feature rows; higher is better.

    Parameters mirror scikit-learn's ``HistGradientBoostingRegressor`` (the ranker's
    previous trees): ``max_iter`` boosting rounds of trees with at most
    ``max_leaf_nodes`` leaves; ``random_state`` makes training reproducible.
    ``objective`` is ``"pointwise"`` or ``"lambdarank"`` (``fit`` then needs ``groups``).
    """

    def __init__(
        self,
        objective: str = "pointwise",
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.objective = objective
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        params: dict[str, Any] = {
            "objective": _LIGHTGBM_OBJECTIVE[self.objective],
            "learning_rate": self.learning_rate,
            "num_leaves": self.max_leaf_nodes,
            "min_data_in_leaf": self.min_samples_leaf,
            "lambda_l2": self.l2_regularization,
            # One thread: OpenMP's barriers spin when the cores are shared (see training).
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if self.random_state is not None:
            params["seed"] = self.random_state
        return params

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> ShopRanker:
        """Fit on rows ``X`` with graded labels ``y``; ``groups`` (one id per row, the
        decision it belongs to) is required by ``lambdarank`` and ignored otherwise."""
        params = self._params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        weight = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if self.objective == "lambdarank":
            order, sizes = _grouped(groups, len(y))
            grades = _grades(y)
            dataset = lgb.Dataset(
                X[order],
                grades[order],
                weight=None if weight is None else weight[order],
                group=sizes,
                params={"verbosity": -1},
            )
        else:
            dataset = lgb.Dataset(X, y, weight=weight, params={"verbosity": -1})
        booster = lgb.train(params, dataset, num_boost_round=self.max_iter)
        self.model_text_: str = booster.model_to_string()
        self.n_iter_: int = int(booster.current_iteration())
        self._derive()
        return self

    def _derive(self) -> None:
        self.booster_ = lgb.Booster(model_str=self.model_text_)
        self._used = np.asarray(self.booster_.feature_importance("split") > 0, dtype=bool)
        self._compiled: CompiledForest | None = None
        self._compile_lock = threading.Lock()

    def used_features(self) -> npt.NDArray[np.bool_]:
        """Per column, whether any tree splits on it (a column no tree uses cannot move a
        score)."""
        if not hasattr(self, "model_text_"):
            raise NotFittedError("ShopRanker is not fitted yet; call fit first")
        return self._used

    def predict(self, X: Any) -> FloatArray:
        """The reference scores: LightGBM's own predict, one thread."""
        check_is_fitted(self, "model_text_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = self.booster_.predict(X, num_threads=1)
        return np.asarray(scores, dtype=np.float64)

    def compile(self) -> CompiledForest:
        """The trees compiled to native code (built once, ~1-5 s for a served model)."""
        if not hasattr(self, "model_text_"):
            raise NotFittedError("ShopRanker is not fitted yet; call fit first")
        with self._compile_lock:
            if self._compiled is None:
                self._compiled = CompiledForest(self.model_text_)
            return self._compiled

    def score_rows(self, rows: npt.NDArray[np.floating[Any]]) -> FloatArray:
        """``predict`` for serving: the compiled trees, the same scores to ~1e-15, on the
        calling thread and without sklearn's per-call input checks. Anything but finite
        rows of the trained width goes through ``predict`` (and its errors)."""
        compiled = self._compiled if hasattr(self, "_compiled") else None
        if compiled is None:
            compiled = self.compile()
        if rows.ndim != 2 or rows.shape[1] != compiled.n_features or not np.isfinite(rows).all():
            return self.predict(rows)
        return compiled.predict(rows)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        return {k: v for k, v in state.items() if k not in _DERIVED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_text_" in state:
            self._derive()


def _grouped(groups: Any, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row order that makes each group contiguous (stable), and the group sizes."""
    if groups is None:
        raise ValueError("objective 'lambdarank' needs groups: the decision of each row")
    ids = np.asarray(groups)
    if ids.shape != (n,):
        raise ValueError(f"groups must have one entry per row ({n}), not shape {ids.shape}")
    order = np.argsort(ids, kind="stable").astype(np.int64)
    _, sizes = np.unique(ids[order], return_counts=True)
    return order, sizes.astype(np.int64)


def _grades(y: FloatArray) -> npt.NDArray[np.int64]:
    grades = np.rint(y)
    if not np.array_equal(grades, y) or grades.min() < 0 or grades.max() > MAX_GRADE:
        raise ValueError(f"lambdarank labels must be whole grades 0..{MAX_GRADE}")
    return grades.astype(np.int64)


@contextmanager
def one_thread() -> Iterator[None]:
    """Pin OpenMP/BLAS to one thread: predictable per-request latency when serving.

    Multi-threaded work on ~500 rows costs more in thread wake-ups than it saves and
    gives p99 spikes on a small shared machine.
    """
    # threadpool_limits() rescans the loaded libraries on every call (~8 ms here); a
    # controller built once limits the same libraries in microseconds.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1):
        yield


_controller: ThreadpoolController | None = None
