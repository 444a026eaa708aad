"""Fewer repeats of one brand or category at the top: maximal marginal relevance (MMR).

Two products are alike by halves: 0.5 for the same category, 0.5 for the same brand.
``mmr_order`` picks, one at a time, the product with the best
``(1 - diversity) * relevance - diversity * (likeness to anything already picked)``, with
relevance scaled to 0-1 over the list. ``diversity=0`` keeps the ranker's order; ``1``
spreads brands and categories as far as the candidates allow (relevance breaks ties).
``intra_list_diversity`` is the mean unlikeness over pairs of a shown list: 0 when every
product shares brand and category, 1 when no two share either.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

# Relevance still orders products that are equally alike to the picked set.
_TIE_BREAK = 1e-6


def _codes(labels: Sequence[Hashable] | npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    index: dict[Hashable, int] = {}
    return np.fromiter(
        (index.setdefault(label, len(index)) for label in labels), dtype=np.int64, count=len(labels)
    )


def likeness(
    categories: Sequence[Hashable] | npt.NDArray[np.generic],
    brands: Sequence[Hashable] | npt.NDArray[np.generic],
) -> npt.NDArray[np.float64]:
    """Pairwise likeness matrix (0, 0.5 or 1) of products given by category and brand."""
    cat, brand = _codes(categories), _codes(brands)
    same_cat = cat[:, None] == cat[None, :]
    same_brand = brand[:, None] == brand[None, :]
    alike: npt.NDArray[np.float64] = 0.5 * same_cat + 0.5 * same_brand
    return alike


def mmr_order(
    relevance: Sequence[float] | npt.NDArray[np.floating],
    categories: Sequence[Hashable] | npt.NDArray[np.generic],
    brands: Sequence[Hashable] | npt.NDArray[np.generic],
    diversity: float,
    k: int,
) -> list[int]:
    """Positions (into the inputs) of the ``k`` products to show, in display order."""
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be within 0-1, got {diversity}")
    rel = np.asarray(relevance, dtype=np.float64)
    n = len(rel)
    if not (len(categories) == len(brands) == n):
        raise ValueError("relevance, categories and brands must have the same length")
    k = min(k, n)
    if k <= 0:
        return []
    if diversity == 0.0:
        return [int(i) for i in np.argsort(-rel, kind="stable")[:k]]
    spread = float(rel.max() - rel.min())
    scaled = (rel - rel.min()) / spread if spread > 0 else np.zeros(n)
    alike = likeness(categories, brands)
    closest = np.zeros(n)  # likeness to the nearest already-picked product
    open_ = np.ones(n, dtype=bool)
    picked: list[int] = []
    for _ in range(k):
        gain = (1.0 - diversity) * scaled - diversity * closest + _TIE_BREAK * scaled
        gain[~open_] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        open_[best] = False
        closest = np.maximum(closest, alike[best])
    return picked


def intra_list_diversity(
    categories: Sequence[Hashable] | npt.NDArray[np.generic],
    brands: Sequence[Hashable] | npt.NDArray[np.generic],
) -> float:
    """Mean pairwise unlikeness (1 - likeness) of one list; 0.0 for fewer than two items."""
    n = len(categories)
    if n < 2:
        return 0.0
    alike = likeness(categories, brands)
    upper = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - alike[upper]))
