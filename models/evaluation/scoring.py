"""One ranked list per decision, scored: the metrics every system in an evaluation reports.

Shared by the ranker, its baselines (``models.evaluation.evaluate``) and the peers
(``models.evaluation.peers``), so each is judged by the same code on the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.catalog import Catalog
from features.events.rules import ENGAGEMENT_TYPES
from models.evaluation.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    map_at_k,
    ndcg_at_k,
    novelty,
    recall_at_k,
)
from models.ranking.decisions import DecisionPoints
from models.ranking.training import Prepared

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

KS = (1, 3, 5, 10, 20, 50)
HEADLINE = "ndcg@10"


@dataclass
class SystemScores:
    name: str
    metrics: dict[str, float]
    by_k: dict[str, dict[int, float]]


def score_ranked(
    ranked: IntArray, truth: DecisionPoints, catalog: Catalog, popularity: FloatArray
) -> SystemScores:
    judgements = truth.truth
    attributes = [np.asarray(catalog.category_code), np.asarray(catalog.brand_code)]
    metrics = {
        "ndcg@10": ndcg_at_k(ranked, judgements, 10),
        "recall@10": recall_at_k(ranked, judgements, 10),
        "recall@50": recall_at_k(ranked, judgements, 50),
        "map@10": map_at_k(ranked, judgements, 10),
        "hit_rate@10": hit_rate_at_k(ranked, judgements, 10),
        "coverage@10": catalog_coverage(ranked, len(catalog), 10),
        "diversity@10": intra_list_diversity(ranked, attributes, 10),
        "novelty@10": novelty(ranked, popularity, 10),
    }
    by_k = {
        "ndcg": {k: ndcg_at_k(ranked, judgements, k) for k in KS},
        "recall": {k: recall_at_k(ranked, judgements, k) for k in KS},
    }
    return SystemScores(name="", metrics=metrics, by_k=by_k)


def seen_row(histories: sp.csr_matrix | None, row: int) -> IntArray:
    """The products decision ``row``'s shopper engaged with before it (none: no exclusion)."""
    if histories is None:
        return np.zeros(0, dtype=np.int64)
    lo, hi = histories.indptr[row], histories.indptr[row + 1]
    return np.asarray(histories.indices[lo:hi], dtype=np.int64)


def unseen(ranked: IntArray, seen: IntArray) -> IntArray:
    """``ranked`` without the products in ``seen`` (and without -1 padding), order kept."""
    kept = ranked[ranked >= 0]
    return kept[~np.isin(kept, seen)] if len(seen) else kept


def unseen_mask(seen: IntArray, n_products: int) -> npt.NDArray[np.bool_]:
    """Catalog positions not in ``seen``: what a request with ``exclude_seen`` allows."""
    mask = np.ones(n_products, dtype=bool)
    mask[seen] = False
    return mask


def training_popularity(prepared: Prepared) -> FloatArray:
    """Engagement counts per product before the split (for novelty)."""
    events = prepared.engine.events_
    engaged = events[
        (events["ts"] < prepared.split_ts)
        & events["type"].isin([kind.value for kind in ENGAGEMENT_TYPES])
    ]
    positions = prepared.log.catalog.index_of(engaged["product_id"].astype(str))
    counts = np.bincount(positions[positions >= 0], minlength=len(prepared.log.catalog))
    return counts.astype(np.float64)
