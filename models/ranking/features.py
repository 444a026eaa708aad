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
from models.retrieval.learned import LEARNED_FEATURES, history_counts

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
# Where ``RankingFeatures.rows`` writes each block.
_BASE = len(FEATURE_NAMES)
_QUERY, _COOC, _PAID = (RANKING_FEATURES.index(name) for name in REQUEST_FEATURES[:3])
_SOURCES, _LEARNED = (
    slice(RANKING_FEATURES.index(names[0]), RANKING_FEATURES.index(names[0]) + len(names))
    for names in (SOURCE_FEATURES, LEARNED_FEATURES)
)
_SIZE, _SHARE, _IDLE = (RANKING_FEATURES.index(name) for name in HISTORY_FEATURES)

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
        """``(len(candidates), len(RANKING_FEATURES))`` float32 rows, written column block
        by column block into one array (each value rounded to float32 once)."""
        n, at_products = len(candidates), candidates.products
        out = np.empty((n, len(RANKING_FEATURES)), dtype=np.float32)
        out[:, :_BASE] = feature_matrix(state, at_products, products, self.catalog, at)
        out[:, _QUERY] = candidates.query_score
        out[:, _COOC] = candidates.cooc_score
        out[:, _PAID] = self.log_paid_vs_category[at_products]
        out[:, _SOURCES] = candidates.sources
        if candidates.learned is None:
            out[:, _LEARNED] = 0.0
        else:
            out[:, _LEARNED] = candidates.learned
        _, category_count, idle_days = history_counts(state, self.catalog)
        size = len(state.recent)
        categories = self.catalog.category_code[at_products]
        out[:, _SIZE] = np.log1p(size)
        out[:, _SHARE] = category_count[categories] / max(category_count.sum(), 1.0)
        out[:, _IDLE] = np.log1p(idle_days) if size else -1.0
        return out


def group_columns(feature_names: list[str], groups: dict[str, list[str]]) -> dict[str, list[int]]:
    """Reason group -> column indices in a model's feature order."""
    index = {name: i for i, name in enumerate(feature_names)}
    return {
        group: [index[name] for name in names if name in index] for group, names in groups.items()
    }
