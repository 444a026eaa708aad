"""Candidate generation: a few hundred products worth ranking for one shopper at one time.

Every source tags what it contributed, so the ranker can weigh sources and the response
can say where an item came from. ``candidates_for`` is pure: offline (training,
evaluation) it gets point-in-time inputs, online the service passes the user state,
snapshot and co-occurrence neighbours it fetched; the code path is the same.

Sources, in the order of ``SOURCES``:

- ``co_occurrence``: neighbours of the shopper's recent products (co-view, co-purchase);
- ``top_category``: the most popular products of the shopper's top categories;
- ``brand``: the most popular products of followed or frequently engaged brands;
- ``trending``: products whose last-day engagement outpaces their weekly rate;
- ``new``: recently launched products (exploration);
- ``query``: TF-IDF matches of the shopper's free-text request;
- ``popular``: global popularity, the fallback that always fills the set;
- ``item_knn``: item-item neighbours (implicit, BM25) of the shopper's history;
- ``content``: products whose text reads like the shopper's history (TF-IDF);
- ``popular_window``: popularity over a window fitted to the log's cadence.

The last three come from ``models.retrieval.learned`` (``LearnedScores``), fitted at train.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.retrieval.learned import LEARNED_FEATURES, LearnedScores, learned_rows
from models.retrieval.quota import CandidateQuota as CandidateQuota
from models.retrieval.source_picks import PickInputs, cooc_scores, pick_source

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SOURCES: tuple[str, ...] = (
    "co_occurrence",
    "top_category",
    "brand",
    "trending",
    "new",
    "query",
    "popular",
    "item_knn",
    "content",
    "popular_window",
)
NEW_PRODUCT_SECONDS = 14 * 86_400.0


def _top_per_group(
    order: IntArray, group: IntArray, n_groups: int, per_group: int
) -> tuple[IntArray, ...]:
    """The first ``per_group`` of ``order`` within each group, keeping ``order``'s order."""
    valid = group >= 0
    order, group = order[valid], group[valid]
    by_group = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[by_group], np.arange(n_groups + 1))
    ranked = order[by_group]
    return tuple(
        ranked[starts[g] : min(starts[g] + per_group, starts[g + 1])] for g in range(n_groups)
    )


@dataclass(frozen=True)
class RetrievalSnapshot:
    """Shop-wide retrieval structures valid at ``at``, kept in process (rebuilt as the
    feature snapshot refreshes). Arrays are aligned with catalog positions."""

    at: float
    popularity: FloatArray
    trending: FloatArray
    launch_ts: FloatArray
    category_code: IntArray
    brand_code: IntArray
    category_top: tuple[IntArray, ...]
    brand_top: tuple[IntArray, ...]
    by_popularity: IntArray
    by_trending: IntArray
    new_product_seconds: float = NEW_PRODUCT_SECONDS

    @classmethod
    def build(
        cls,
        at: float,
        popularity: FloatArray,
        trending: FloatArray,
        launch_ts: FloatArray,
        category_code: npt.NDArray[np.integer],
        brand_code: npt.NDArray[np.integer],
        per_group: int = 60,
        new_product_seconds: float = NEW_PRODUCT_SECONDS,
    ) -> RetrievalSnapshot:
        launched = ~(launch_ts > at)  # NaN launch: always available
        pop = np.where(launched, popularity, -np.inf)
        order = np.argsort(-pop, kind="stable")
        order = order[launched[order]]
        cats = np.asarray(category_code, dtype=np.int64)
        brands = np.asarray(brand_code, dtype=np.int64)
        n_cats = int(cats.max()) + 1 if cats.size else 0
        n_brands = int(brands.max()) + 1 if brands.size else 0
        category_top = _top_per_group(order, cats[order], n_cats, per_group)
        brand_top = _top_per_group(order, brands[order], n_brands, per_group)
        trend = np.where(launched, trending, -np.inf)
        by_trending = np.argsort(-trend, kind="stable")
        by_trending = by_trending[launched[by_trending] & (trending[by_trending] > 0)]
        return cls(
            at=at,
            popularity=popularity,
            trending=trending,
            launch_ts=launch_ts,
            category_code=cats,
            brand_code=brands,
            category_top=category_top,
            brand_top=brand_top,
            by_popularity=order,
            by_trending=by_trending,
            new_product_seconds=new_product_seconds,
        )

    @property
    def n_products(self) -> int:
        return len(self.popularity)

    def available(self) -> BoolArray:
        return np.asarray(~(self.launch_ts > self.at))


@dataclass(frozen=True)
class ShopperSignals:
    """What retrieval knows of one shopper at one time (from the user state).

    ``recent`` holds catalog positions of recently engaged products (most recent first)
    with a recency weight each; affinities are decayed engagement per category / brand
    code, with followed brands and liked categories already folded in.
    """

    recent: IntArray
    recent_weight: FloatArray
    category_affinity: FloatArray
    brand_affinity: FloatArray
    learned: LearnedScores | None = None  # the sources fitted at train, scored for them

    @classmethod
    def cold(cls, n_categories: int, n_brands: int) -> ShopperSignals:
        return cls(
            recent=np.zeros(0, dtype=np.int64),
            recent_weight=np.zeros(0),
            category_affinity=np.zeros(n_categories),
            brand_affinity=np.zeros(n_brands),
        )


@dataclass(frozen=True)
class CandidateSet:
    """Candidates (catalog positions) with a row of source flags each, and the raw
    retrieval scores the ranker uses as request features."""

    products: IntArray
    sources: BoolArray  # (n, len(SOURCES))
    cooc_score: FloatArray
    query_score: FloatArray
    learned: FloatArray | None = None  # (n, len(LEARNED_FEATURES)), None: no learned sources

    def __len__(self) -> int:
        return len(self.products)

    def take(self, rows: IntArray) -> CandidateSet:
        return CandidateSet(
            products=self.products[rows],
            sources=self.sources[rows],
            cooc_score=self.cooc_score[rows],
            query_score=self.query_score[rows],
            learned=None if self.learned is None else self.learned[rows],
        )

    def learned_features(self) -> FloatArray:
        if self.learned is None:
            return np.zeros((len(self.products), len(LEARNED_FEATURES)))
        return self.learned

    def sources_of(self, row: int) -> list[str]:
        return [name for name, on in zip(SOURCES, self.sources[row], strict=True) if on]


def candidates_for(
    signals: ShopperSignals,
    snapshot: RetrievalSnapshot,
    neighbours: Mapping[int, tuple[IntArray, FloatArray]],
    query_scores: FloatArray | None = None,
    quota: CandidateQuota = CandidateQuota(),
    allowed: BoolArray | None = None,
    learned: LearnedScores | None = None,
    with_features: bool = True,
) -> CandidateSet:
    """Candidates for one shopper at ``snapshot.at``; never includes unlaunched products.

    ``neighbours`` maps a recent product's position to its (neighbours, scores), from
    ``Neighbours`` offline or from Redis online; ``query_scores`` is the request's
    ``QueryIndex.scores`` (None without a request text). ``allowed`` (a mask over the
    catalog) applies the request's hard filters inside every source, so a narrow filter
    still yields a full candidate set. ``learned`` (default: ``signals.learned``) adds
    the item-kNN, content and window-popularity sources and their scores
    (``CandidateSet.learned``; ``with_features=False`` skips those scores when only the
    products and flags are wanted).
    """
    if learned is None:
        learned = signals.learned
    if learned is not None and learned.quota is not None:
        quota = learned.quota  # tuned with the fitted sources on this log
    available = snapshot.available()
    if allowed is not None:
        available = available & allowed
    cooc = cooc_scores(signals, neighbours, snapshot.n_products)
    inputs = PickInputs(
        signals, snapshot, available, allowed is not None, cooc, query_scores, learned
    )
    flags = np.zeros((len(SOURCES), snapshot.n_products), dtype=bool)
    for row, name in enumerate(SOURCES):
        flags[row, pick_source(name, quota, inputs)] = True
    query = np.zeros(snapshot.n_products) if query_scores is None else query_scores
    products = np.flatnonzero(flags.any(axis=0) & available).astype(np.int64)
    return CandidateSet(
        products=products,
        sources=np.ascontiguousarray(flags[:, products].T),
        cooc_score=cooc[products],
        query_score=query[products],
        learned=None if learned is None or not with_features else learned_rows(learned, products),
    )
