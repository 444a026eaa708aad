"""Ranking quality metrics, pure numpy.

Every metric takes the ranked lists as a matrix of product indices, shape (n_lists, L),
padded with -1, and the judgements as ``Judgements``: for each list, the products the
shopper actually engaged with and their graded gains (purchase 3, cart 2, click 1).
Lists without any relevant product are left out of the averages (nothing to find).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.ranking.judgements import Judgements

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _discounts(k: int) -> FloatArray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _mean_over_judged(values: FloatArray, judged: npt.NDArray[np.bool_]) -> float:
    return float(values[judged].mean()) if judged.any() else 0.0


def ndcg_at_k(ranked: IntArray, truth: Judgements, k: int) -> float:
    """Graded NDCG@k with gain ``2**g - 1`` and log2 position discount."""
    gains = truth.ranked_gains(ranked[:, :k])
    disc = _discounts(gains.shape[1])
    dcg = ((2.0**gains - 1.0) * disc).sum(axis=1)
    ideal = truth.ideal_gains(k)
    idcg = ((2.0**ideal - 1.0) * _discounts(k)).sum(axis=1)
    judged = idcg > 0
    ratio = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=judged)
    return _mean_over_judged(ratio, judged)


def recall_at_k(ranked: IntArray, truth: Judgements, k: int) -> float:
    """Share of each list's relevant products found in its top k."""
    hits = (truth.ranked_gains(ranked[:, :k]) > 0).sum(axis=1).astype(np.float64)
    n_rel = truth.n_relevant().astype(np.float64)
    judged = n_rel > 0
    ratio = np.divide(hits, n_rel, out=np.zeros_like(hits), where=judged)
    return _mean_over_judged(ratio, judged)


def map_at_k(ranked: IntArray, truth: Judgements, k: int) -> float:
    """Mean average precision at k (binary relevance), normalised by min(k, n_relevant)."""
    rel = (truth.ranked_gains(ranked[:, :k]) > 0).astype(np.float64)
    positions = np.arange(1, rel.shape[1] + 1, dtype=np.float64)
    precision = np.cumsum(rel, axis=1) / positions
    n_rel = truth.n_relevant().astype(np.float64)
    judged = n_rel > 0
    norm = np.minimum(n_rel, float(k))
    ap = np.divide((precision * rel).sum(axis=1), norm, out=np.zeros(len(rel)), where=judged)
    return _mean_over_judged(ap, judged)


def hit_rate_at_k(ranked: IntArray, truth: Judgements, k: int) -> float:
    """Share of lists with at least one relevant product in the top k."""
    hit: FloatArray = np.asarray(
        (truth.ranked_gains(ranked[:, :k]) > 0).any(axis=1), dtype=np.float64
    )
    return _mean_over_judged(hit, truth.n_relevant() > 0)


def catalog_coverage(ranked: IntArray, n_products: int, k: int) -> float:
    """Share of the catalog that appears in at least one top-k list."""
    shown = ranked[:, :k]
    return float(np.unique(shown[shown >= 0]).size) / float(n_products) if n_products else 0.0


def intra_list_diversity(ranked: IntArray, attributes: list[IntArray], k: int) -> float:
    """1 − mean pairwise similarity within each top-k list, averaged over lists.

    ``attributes`` holds one integer code per product for each attribute (e.g. category,
    brand); a pair's similarity is the share of attributes the two products share.
    """
    top = ranked[:, :k]
    n_lists, width = top.shape
    if width < 2 or not attributes:
        return 0.0
    valid = top >= 0
    safe = np.where(valid, top, 0)
    upper = np.triu(np.ones((width, width), dtype=bool), k=1)
    pair_ok = valid[:, :, None] & valid[:, None, :] & upper[None]
    same = np.zeros((n_lists, width, width), dtype=np.float64)
    for codes in attributes:
        values = codes[safe]
        same += values[:, :, None] == values[:, None, :]
    same /= len(attributes)
    n_pairs = pair_ok.sum(axis=(1, 2))
    sim = np.divide(
        (same * pair_ok).sum(axis=(1, 2)),
        n_pairs,
        out=np.zeros(n_lists),
        where=n_pairs > 0,
    )
    has_pairs = n_pairs > 0
    return float((1.0 - sim[has_pairs]).mean()) if has_pairs.any() else 0.0


def novelty(ranked: IntArray, popularity: FloatArray, k: int) -> float:
    """Mean self-information −log2(p) of recommended products, p = popularity share.

    ``popularity`` is a non-negative count per product (e.g. training interactions);
    products never seen get half a count so the measure stays finite.
    """
    counts = np.maximum(popularity.astype(np.float64), 0.5)
    share = counts / counts.sum()
    top = ranked[:, :k]
    shown = top[top >= 0]
    return float((-np.log2(share[shown])).mean()) if shown.size else 0.0
