"""Sources fitted on the log for sparse shops: item-kNN, popularity over a fitted window,
content similarity, all scored from the shopper's own history.

- ``item_knn``: ``implicit``'s item-item neighbours on BM25-weighted interactions
  (``models.retrieval.collaborative.ItemKNN``), fitted by ``shopmode train`` on the whole
  log and kept per product in Redis like co-occurrence (``features.store.neighbours``,
  family ``knn``); a shopper's score is the sum over their history of (weight ×
  neighbour score).
- ``popular_window``: weighted engagement over a window chosen on the validation slice
  (a multiple of the log's median gap between a shopper's sessions), as of the fit; its
  top ``POPULAR_DEPTH`` products are kept in Redis beside the neighbours.
- ``content``: TF-IDF cosine (``models.retrieval.content``) between the shopper's history
  and every product, in process: it needs only the catalog, so it is rebuilt with the
  catalog and finds products nobody has engaged with yet.

The history is the shopper's recent items (``UserState.recent``), weighted by interaction
and by age measured from the shopper's *own* last event: a shopper back after a quiet
month still has their last visit at full weight. Pure: no Redis, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.definitions import DAY
from features.state import UserState
from models.retrieval.collaborative import ItemKNN
from models.retrieval.content import ContentIndex
from models.retrieval.interactions import INTERACTION_WEIGHTS, InteractionLog
from models.retrieval.quota import CandidateQuota

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
NeighbourIndex = Mapping[int, tuple[IntArray, FloatArray]]

HISTORY_ITEMS = 20
HISTORY_HALF_LIFE = 7 * DAY
KNN_K = 100
KNN_WIDTH = 50
POPULAR_DEPTH = 500
DEFAULT_WINDOW_DAYS = 30.0
WINDOW_MULTIPLES = (4.0, 16.0, 64.0, 256.0)
# Per candidate, from the learned sources: score and log rank over the catalog.
LEARNED_FEATURES: tuple[str, ...] = (
    "knn_score",
    "log_knn_rank",
    "content_similarity",
    "log_popularity_window",
    "log_popularity_window_rank",
)
NO_RANK = 10_000.0


def history_counts(state: UserState, catalog: Catalog) -> tuple[IntArray, FloatArray, float]:
    """The shopper's recent items' catalog positions (-1: unknown), their count per
    category code, and the days since the latest of them (-1 with none): the part of
    ``ShopperHistory`` the ranking features read."""
    positions = catalog.index_of([item.product_id for item in state.recent])
    known = positions >= 0
    category_count = np.bincount(
        catalog.category_code[positions[known]].astype(np.int64),
        minlength=len(catalog.categories),
    ).astype(np.float64)
    if not state.recent:
        return positions, category_count, -1.0
    last = max(item.ts for item in state.recent)
    return positions, category_count, max(state.at - last, 0.0) / DAY


@dataclass(frozen=True)
class ShopperHistory:
    """A shopper's distinct recent products (most recent first) with a weight each, the
    count of their recent items per category code, and how long they have been away."""

    items: IntArray
    weight: FloatArray
    category_count: FloatArray
    size: int
    idle_days: float

    @classmethod
    def of(
        cls, state: UserState, catalog: Catalog, half_life: float = HISTORY_HALF_LIFE
    ) -> ShopperHistory:
        positions, category_count, idle_days = history_counts(state, catalog)
        if not state.recent:
            return cls(np.zeros(0, np.int64), np.zeros(0), category_count, 0, idle_days)
        last = max(item.ts for item in state.recent)
        seen: dict[int, float] = {}
        for item, position in zip(state.recent, positions.tolist(), strict=True):
            if position < 0 or position in seen:
                continue
            age = max(last - item.ts, 0.0)
            seen[position] = INTERACTION_WEIGHTS.get(item.type, 1.0) * 2.0 ** (-age / half_life)
            if len(seen) == HISTORY_ITEMS:
                break
        return cls(
            items=np.fromiter(seen, dtype=np.int64, count=len(seen)),
            weight=np.fromiter(seen.values(), dtype=np.float64, count=len(seen)),
            category_count=category_count,
            size=len(state.recent),
            idle_days=idle_days,
        )

    def product_ids(self, catalog: Catalog) -> list[str]:
        return [str(catalog.product_ids[i]) for i in self.items]


@dataclass(frozen=True)
class LearnedScores:
    """Per catalog position: the shopper's kNN, content and window-popularity scores, and
    the quotas tuned with them on this log (None: the caller's)."""

    knn: FloatArray
    content: FloatArray
    popular_window: FloatArray
    quota: CandidateQuota | None = None


def weighted_neighbours(
    items: IntArray,
    weights: FloatArray,
    neighbours: Mapping[int, tuple[IntArray, FloatArray]],
    n: int,
) -> FloatArray:
    """Per product, the sum over ``items`` of (the item's weight × its neighbour score)."""
    score = np.zeros(n)
    for product, weight in zip(items, weights, strict=True):
        found = neighbours.get(int(product))
        if found is not None:
            np.add.at(score, found[0], weight * found[1])
    return score


def neighbour_sum(history: ShopperHistory, neighbours: NeighbourIndex, n: int) -> FloatArray:
    return weighted_neighbours(history.items, history.weight, neighbours, n)


def popular_vector(index: IntArray, score: FloatArray, n: int) -> FloatArray:
    out = np.zeros(n)
    out[index] = score
    return out


def learned_scores(
    history: ShopperHistory,
    knn: NeighbourIndex,
    popular: tuple[IntArray, FloatArray],
    content: ContentIndex,
    quota: CandidateQuota | None = None,
) -> LearnedScores:
    n = content.vectors_.shape[0]
    return LearnedScores(
        knn=neighbour_sum(history, knn, n),
        content=content_scores(content, history),
        popular_window=popular_vector(popular[0], popular[1], n),
        quota=quota,
    )


def content_scores(content: ContentIndex, history: ShopperHistory) -> FloatArray:
    """Cosine of every product with the weighted sum of the history's TF-IDF vectors."""
    n = content.vectors_.shape[0]
    if len(history.items) == 0:
        return np.zeros(n)
    profile = history.weight @ content.vectors_[history.items]
    norm = float(np.sqrt(np.square(profile).sum()))
    if norm == 0.0:
        return np.zeros(n)
    return np.asarray(content.vectors_ @ (np.ravel(profile) / norm), dtype=np.float64).ravel()


def window_popularity(
    log: InteractionLog, at: float, window_days: float
) -> tuple[IntArray, FloatArray]:
    """The ``POPULAR_DEPTH`` most engaged products (weighted) in ``window_days`` before
    ``at``, strongest first."""
    # A fit on the whole log (``at`` infinite, what serving gets) counts the window that
    # ends with the log's last event.
    end = at if np.isfinite(at) else log.last_ts() + 1.0
    counts = log.counts_between(end - window_days * DAY, end)
    order = np.argsort(-counts, kind="stable")[:POPULAR_DEPTH]
    order = order[counts[order] > 0]
    return order.astype(np.int64), np.asarray(counts[order], dtype=np.float64)


@dataclass(frozen=True)
class LearnedFit:
    """What one fit at ``at`` learned from the events strictly before it."""

    at: float
    knn_index: IntArray  # (n_products, KNN_WIDTH), -1 padded
    knn_score: FloatArray
    popular: tuple[IntArray, FloatArray]

    def knn_of(self, products: IntArray) -> dict[int, tuple[IntArray, FloatArray]]:
        out: dict[int, tuple[IntArray, FloatArray]] = {}
        for p in products.tolist():
            keep = self.knn_index[p] >= 0
            out[p] = (self.knn_index[p][keep], self.knn_score[p][keep].astype(np.float64))
        return out

    def lists(self, catalog: Catalog) -> list[tuple[str, list[tuple[str, float]]]]:
        """Every product's kNN neighbours by id, strongest first (what the store keeps)."""
        ids = catalog.product_ids
        out = []
        for i in range(len(ids)):
            keep = self.knn_index[i] >= 0
            pairs = [
                (str(ids[j]), float(s))
                for j, s in zip(self.knn_index[i][keep], self.knn_score[i][keep], strict=True)
            ]
            out.append((str(ids[i]), pairs))
        return out

    def popular_ids(self, catalog: Catalog) -> list[tuple[str, float]]:
        return [(str(catalog.product_ids[i]), float(s)) for i, s in zip(*self.popular, strict=True)]


def fit_learned(
    log: InteractionLog,
    at: float,
    window_days: float = DEFAULT_WINDOW_DAYS,
    k: int = KNN_K,
) -> LearnedFit:
    """kNN neighbours and window popularity from the interactions strictly before ``at``
    (``k`` 0: no neighbours, for a timeline whose K is chosen before its kNN is fitted)."""
    matrix = log.matrix_before(at) if k > 0 else None
    if matrix is not None and matrix.nnz:
        index, score = ItemKNN(k=k).fit(matrix).neighbours(KNN_WIDTH)
    else:
        index = np.full((log.n_products, KNN_WIDTH), -1, dtype=np.int64)
        score = np.zeros((log.n_products, KNN_WIDTH), dtype=np.float32)
    return LearnedFit(
        at=at,
        knn_index=index,
        knn_score=np.asarray(score, dtype=np.float64),
        popular=window_popularity(log, at, window_days),
    )


def popular_from_list(
    catalog: Catalog, fetched: list[tuple[str, float]]
) -> tuple[IntArray, FloatArray]:
    index = catalog.index_of([p for p, _ in fetched])
    score = np.array([s for _, s in fetched], dtype=np.float64)
    keep = index >= 0
    return index[keep].astype(np.int64), score[keep]


def _log_rank(values: FloatArray) -> FloatArray:
    """log1p of each product's rank by ``values`` (0 = best), ``NO_RANK`` when not positive."""
    order = np.argsort(-values, kind="stable")
    rank = np.empty(len(values))
    rank[order] = np.arange(len(values), dtype=np.float64)
    return np.log1p(np.where(values > 0, rank, NO_RANK))


def learned_rows(learned: LearnedScores, products: IntArray) -> FloatArray:
    """``(len(products), len(LEARNED_FEATURES))``: the learned sources' scores and ranks."""
    return np.column_stack(
        [
            learned.knn[products],
            _log_rank(learned.knn)[products],
            learned.content[products],
            np.log1p(learned.popular_window[products]),
            _log_rank(learned.popular_window)[products],
        ]
    )
