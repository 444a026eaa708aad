"""The ranker's input row: the feature store's cross features plus request features.

Request features are what only the request knows: how well the product matches the
typed text, its co-occurrence with the shopper's recent products, which retrieval
sources proposed it, and its price against its category's typical price. One function
builds rows for training, evaluation and serving alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.state import ProductFeatures, UserState
from features.vector import FEATURE_GROUPS, FEATURE_NAMES, feature_matrix
from models.retrieval.candidates import SOURCES, CandidateSet

FloatArray = npt.NDArray[np.float64]

SOURCE_FEATURES: tuple[str, ...] = tuple(f"source_{name}" for name in SOURCES)
REQUEST_FEATURES: tuple[str, ...] = (
    "query_match",
    "cooc_score",
    "log_paid_vs_category",
    *SOURCE_FEATURES,
)
RANKING_FEATURES: tuple[str, ...] = (*FEATURE_NAMES, *REQUEST_FEATURES)

# Reason groups: the store's groups, widened with the request features that say the
# same thing (a top-category source flag is category affinity, a query match is its own).
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    **{name: tuple(columns) for name, columns in FEATURE_GROUPS.items()},
    "query_match": ("query_match", "source_query"),
    "co_occurrence": ("cooc_score", "source_co_occurrence"),
}
_FOLD_INTO = {
    "source_top_category": "category_affinity",
    "source_brand": "brand_affinity",
    "source_trending": "trending",
    "source_new": "freshness",
    "source_popular": "popularity",
    "log_paid_vs_category": "price_fit",
}
for _feature, _group in _FOLD_INTO.items():
    if _group in REASON_GROUPS:
        REASON_GROUPS[_group] = (*REASON_GROUPS[_group], _feature)
    else:
        REASON_GROUPS[_group] = (_feature,)


class RankingFeatures:
    """Builds ranking rows for one catalog (its static per-product arrays precomputed)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        paid = catalog.price * (1.0 - catalog.discount)
        typical = (
            pd.Series(paid).groupby(np.asarray(catalog.category_code)).transform("median")
        ).to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(np.maximum(paid, 1e-6) / np.maximum(typical, 1e-6))
        self.log_paid_vs_category: FloatArray = np.nan_to_num(ratio)

    def rows(
        self,
        state: UserState,
        candidates: CandidateSet,
        products: ProductFeatures,
        at: float,
    ) -> npt.NDArray[np.float32]:
        """``(len(candidates), len(RANKING_FEATURES))`` float32 rows."""
        base = feature_matrix(state, candidates.products, products, self.catalog, at)
        request = np.column_stack(
            [
                candidates.query_score,
                candidates.cooc_score,
                self.log_paid_vs_category[candidates.products],
                candidates.sources.astype(np.float64),
            ]
        ).astype(np.float32)
        return np.hstack([base, request])


def group_columns(feature_names: list[str], groups: dict[str, list[str]]) -> dict[str, list[int]]:
    """Reason group -> column indices in a model's feature order."""
    index = {name: i for i, name in enumerate(feature_names)}
    return {
        group: [index[name] for name in names if name in index] for group, names in groups.items()
    }
