"""What each retrieval source proposes for one shopper: ``pick_source`` (the products,
before the final availability mask) for ``candidates_for`` and quota tuning alike.

A source's picks depend on the shopper's inputs (``PickInputs``) and on its own part of
the quota only (``source_quota``): quota tuning keeps every source's picks for a decision
and recomputes only the source whose quota a trial changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from models.retrieval.learned import LearnedScores, weighted_neighbours
from models.retrieval.quota import CandidateQuota

if TYPE_CHECKING:
    from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NOTHING = np.zeros(0, dtype=np.int64)


def top(values: FloatArray, k: int, eligible: BoolArray) -> IntArray:
    """Positions of the ``k`` largest positive ``values`` among ``eligible``."""
    pool = np.flatnonzero(eligible & (values > 0))
    if len(pool) > k:
        pool = pool[np.argpartition(-values[pool], k - 1)[:k]]
    return pool[np.argsort(-values[pool], kind="stable")]


def spread(weights: FloatArray, k_groups: int, quota: int) -> list[tuple[int, int]]:
    """The top ``k_groups`` groups by weight and how many products each gets."""
    if weights.size == 0 or quota <= 0:
        return []
    best = np.argsort(-weights, kind="stable")[:k_groups]
    best = best[weights[best] > 0]
    if len(best) == 0:
        return []
    share = weights[best] / weights[best].sum()
    return [(int(g), max(5, round(quota * s))) for g, s in zip(best, share, strict=True)]


def cooc_scores(
    signals: ShopperSignals,
    neighbours: Mapping[int, tuple[IntArray, FloatArray]],
    n_products: int,
) -> FloatArray:
    """Sum over recent products of (recency weight × neighbour score), per product."""
    return weighted_neighbours(signals.recent, signals.recent_weight, neighbours, n_products)


@dataclass(frozen=True)
class PickInputs:
    """One shopper's retrieval inputs at one time (``available``: launched and allowed;
    ``filtered``: a request filter narrowed it, so group lists are masked before the cut)."""

    signals: ShopperSignals
    snapshot: RetrievalSnapshot
    available: BoolArray
    filtered: bool
    cooc: FloatArray
    query_scores: FloatArray | None
    learned: LearnedScores | None


def source_quota(name: str, quota: CandidateQuota) -> tuple[int, ...]:
    """The part of ``quota`` that source ``name``'s picks depend on."""
    if name == "top_category":
        return (quota.top_categories, quota.top_category)
    if name == "brand":
        return (quota.top_brands, quota.brand)
    return (int(getattr(quota, name)),)


def _cut(order: IntArray, count: int, inputs: PickInputs) -> IntArray:
    return order[inputs.available[order]][:count] if inputs.filtered else order[:count]


def _groups(
    tops: tuple[IntArray, ...], weights: FloatArray, k: int, quota: int, inputs: PickInputs
) -> IntArray:
    found = [
        _cut(tops[g], count, inputs) for g, count in spread(weights, k, quota) if g < len(tops)
    ]
    return np.concatenate(found) if found else NOTHING


def pick_source(name: str, quota: CandidateQuota, inputs: PickInputs) -> IntArray:
    """The catalog positions source ``name`` proposes (some may be unavailable without a
    filter: the caller masks the union with ``inputs.available``)."""
    snapshot, available, learned = inputs.snapshot, inputs.available, inputs.learned
    if name == "co_occurrence":
        return top(inputs.cooc, quota.co_occurrence, available)
    if name == "top_category":
        weights = inputs.signals.category_affinity
        return _groups(
            snapshot.category_top, weights, quota.top_categories, quota.top_category, inputs
        )
    if name == "brand":
        weights = inputs.signals.brand_affinity
        return _groups(snapshot.brand_top, weights, quota.top_brands, quota.brand, inputs)
    if name == "trending":
        return _cut(snapshot.by_trending, quota.trending, inputs)
    if name == "new":
        age = snapshot.at - snapshot.launch_ts
        new_for = snapshot.new_product_seconds
        recent_launch = available & (age >= 0) & (age < new_for)
        fresh = np.where(recent_launch, new_for - age + 1.0, 0.0)
        return top(np.nan_to_num(fresh), quota.new, recent_launch)
    if name == "query":
        if inputs.query_scores is None:
            return NOTHING
        return top(inputs.query_scores, quota.query, available)
    if name == "popular":
        return _cut(snapshot.by_popularity, quota.popular, inputs)
    if learned is None:
        return NOTHING
    if name == "item_knn":
        return top(learned.knn, quota.item_knn, available)
    if name == "content":
        return top(learned.content, quota.content, available)
    if name == "popular_window":
        return top(learned.popular_window, quota.popular_window, available)
    raise ValueError(f"unknown retrieval source {name!r}")
