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
from models.retrieval.learned import LEARNED_FEATURES, ShopperHistory

FloatArray = npt.NDArray[np.float64]

SOURCE_FEATURES: tuple[str, ...] = tuple(f"source_{name}" for name in SOURCES)
# The shopper's history (``ShopperHistory``): its size, the share of it in the product's
# category, and the days since the shopper's last event.
HISTORY_FEATURES: tuple[str, ...] = ("log_history_size", "history_category_share", "log_idle_days")
REQUEST_FEATURES: tuple[str, ...] = (
    "query_match",
    "cooc_score",
    "log_paid_vs_category",
    *SOURCE_FEATURES,
    *LEARNED_FEATURES,
    *HISTORY_FEATURES,
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
    "source_popular_window": "popularity",
    "log_popularity_window": "popularity",
    "log_popularity_window_rank": "popularity",
    "history_category_share": "category_affinity",
    "log_history_size": "activity",
    "log_idle_days": "activity",
    # Neighbours and look-alikes of the history: said as "similar to <a recent item>".
    "knn_score": "similarity_to_recent",
    "log_knn_rank": "similarity_to_recent",
    "source_item_knn": "similarity_to_recent",
    "content_similarity": "similarity_to_recent",
    "source_content": "similarity_to_recent",
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
        history = ShopperHistory.of(state, self.catalog)
        categories = np.asarray(self.catalog.category_code)[candidates.products]
        share = history.category_count[categories] / max(history.category_count.sum(), 1.0)
        shopper = np.array(
            [np.log1p(history.size), 0.0, np.log1p(history.idle_days) if history.size else -1.0]
        )
        shopper_rows = np.tile(shopper, (len(candidates), 1))
        shopper_rows[:, 1] = share
        request = np.column_stack(
            [
                candidates.query_score,
                candidates.cooc_score,
                self.log_paid_vs_category[candidates.products],
                candidates.sources.astype(np.float64),
                candidates.learned_features(),
                shopper_rows,
            ]
        ).astype(np.float32)
        return np.hstack([base, request])


def group_columns(feature_names: list[str], groups: dict[str, list[str]]) -> dict[str, list[int]]:
    """Reason group -> column indices in a model's feature order."""
    index = {name: i for i, name in enumerate(feature_names)}
    return {
        group: [index[name] for name in names if name in index] for group, names in groups.items()
    }
