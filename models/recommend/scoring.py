"""Scores for candidate rows: the model's, or without one a transparent heuristic."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.ranking.features import RANKING_FEATURES
from models.ranking.ranker import one_thread
from models.ranking.registry import LoadedModel
from shopmode.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
# The no-model ranking: a weighted sum of the same ranking features.
HEURISTIC_WEIGHTS: dict[str, float] = {
    "category_share_14d": 3.0,
    "brand_share_14d": 1.5,
    "liked_category": 0.5,
    "followed_brand": 0.5,
    "query_match": 4.0,
    "cooc_score": 2.0,
    "log_popularity_14d": 0.3,
    "trending": 0.1,
    "purchased_before": -2.0,
}


class Scorer:
    """``scorer(rows)``: one score per ``RANKING_FEATURES`` row."""

    def __init__(self, model: LoadedModel | None) -> None:
        if model is not None:
            names = model.metadata.feature_names
            if tuple(names) != RANKING_FEATURES:
                missing = sorted(set(RANKING_FEATURES) ^ set(names))[:5]
                raise InvalidInput(
                    f"model {model.version} was trained on other features ({missing}); "
                    "retrain with `shopmode train`",
                    field="model",
                )
        self.model = model
        weights = np.zeros(len(RANKING_FEATURES))
        for name, weight in HEURISTIC_WEIGHTS.items():
            weights[RANKING_FEATURES.index(name)] = weight
        self._heuristic = weights

    def __call__(self, rows: npt.NDArray[np.float32]) -> FloatArray:
        # score_rows runs on one thread by itself; pinning costs ~0.1 ms per call.
        if self.model is not None:
            return self.model.estimator.score_rows(rows)
        with one_thread():
            return np.asarray(rows.astype(np.float64) @ self._heuristic, dtype=np.float64)
