"""How many candidates each source proposes, tuned on the validation slice.

Coordinate ascent over a coarse grid per source (the others held), two rounds: keep the
quotas that retrieve the most of the slice's purchases (then engaged products), among
those whose mean candidate count stays within the budget (the defaults may exceed it on
a log they were not made for: then the fewest candidates win until it fits). Pure: the
caller replays the slice's decisions (``models.ranking`` has the replay) and hands in what
retrieval saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from models.retrieval.candidates import (
    RetrievalSnapshot,
    ShopperSignals,
    candidates_for,
)
from models.retrieval.quota import CandidateQuota

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

GRID = (0, 25, 50, 100, 150)
# The sources whose quota is tuned, most valuable on a sparse log first (the research's
# order); brand, query and new products keep theirs: a log either has those signals or
# the sources find nothing and cost nothing.
TUNED = ("popular_window", "popular", "item_knn", "co_occurrence", "top_category", "content")
CANDIDATE_BUDGET = 200
PURCHASE_GAIN = 3.0


@dataclass(frozen=True)
class SliceDecision:
    """What retrieval saw at one validation decision, and what the shopper engaged with."""

    signals: ShopperSignals
    snapshot: RetrievalSnapshot
    neighbours: Mapping[int, tuple[IntArray, FloatArray]]
    query_scores: FloatArray | None
    items: IntArray
    gains: FloatArray


@dataclass(frozen=True)
class QuotaTrial:
    quota: CandidateQuota
    purchase_recall: float
    recall: float
    mean_candidates: float


def trial(decisions: Sequence[SliceDecision], quota: CandidateQuota) -> QuotaTrial:
    """Retrieval over ``decisions`` with ``quota``."""
    found = found_bought = relevant = bought = candidates = 0
    for d in decisions:
        signals = d.signals
        if signals.learned is not None:
            signals = replace(signals, learned=replace(signals.learned, quota=None))
        got = candidates_for(
            signals, d.snapshot, d.neighbours, d.query_scores, quota, with_features=False
        )
        candidates += len(got)
        hit = np.isin(d.items, got.products)
        purchase = d.gains >= PURCHASE_GAIN
        relevant += len(d.items)
        bought += int(purchase.sum())
        found += int(hit.sum())
        found_bought += int((hit & purchase).sum())
    n = max(len(decisions), 1)
    return QuotaTrial(
        quota=quota,
        purchase_recall=found_bought / max(bought, 1),
        recall=found / max(relevant, 1),
        mean_candidates=candidates / n,
    )


def _better(a: QuotaTrial, b: QuotaTrial, budget: float) -> bool:
    """``a`` beats ``b``: within budget first, then purchases found, then all found."""
    a_ok, b_ok = a.mean_candidates <= budget, b.mean_candidates <= budget
    if a_ok != b_ok:
        return a_ok
    if not a_ok:
        return a.mean_candidates < b.mean_candidates
    return (a.purchase_recall, a.recall) > (b.purchase_recall, b.recall)


def tune_quota(
    decisions: Sequence[SliceDecision],
    start: CandidateQuota = CandidateQuota(),
    budget: float = CANDIDATE_BUDGET,
    rounds: int = 2,
    tuned: Sequence[str] = TUNED,
) -> tuple[QuotaTrial, list[QuotaTrial]]:
    """The best quotas found and every trial made (for the report)."""
    best = trial(decisions, start)
    tried = [best]
    for _ in range(rounds):
        moved = False
        for name in tuned:
            for size in GRID:
                if getattr(best.quota, name) == size:
                    continue
                candidate = trial(decisions, replace(best.quota, **{name: size}))
                tried.append(candidate)
                if _better(candidate, best, budget):
                    best, moved = candidate, True
        if not moved:
            break
    return best, tried
