"""How many candidates each source proposes, tuned on the validation slice.

Greedy, as the research's ``tune_quota`` did: the tuned sources start at their floor and,
a step of slots at a time, the source whose extra slots find the most of the slice's
purchases (then engaged products) gets them, while the mean candidate count stays within
the budget; the sources not tuned (brand, query, new, trending: a log has those signals or
they find nothing and cost nothing) keep their quotas. Pure: the caller replays the
slice's decisions (``models.ranking`` has the replay) and hands in what retrieval saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

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

STEP = 25
# The sources whose quota is tuned (ties go to the first: the research's order of value on
# a sparse log); brand, query, new and trending keep theirs.
TUNED = ("popular_window", "popular", "item_knn", "co_occurrence", "top_category", "content")
# Personal sources keep a floor whatever the slice's recall says: the ranker can only
# lift what retrieval proposed, and on MovieLens a recall-only tuning gave every slot to
# window popularity (purchase recall .393, ranker NDCG@10 .059 against .072 with them).
FLOOR = {"item_knn": 25, "content": 25, "co_occurrence": 25, "top_category": 25}
CANDIDATE_BUDGET = 200
PURCHASE_GAIN = 3.0
# A log whose shoppers almost never come back to a product they engaged with (ratings:
# one per movie) is served with ``exclude_seen``: its quotas are tuned with seen products
# left out before the cut, as such a request's retrieval leaves them out (``allowed``).
REPEAT_SHARE_TO_EXCLUDE = 0.02


@dataclass(frozen=True)
class SliceDecision:
    """What retrieval saw at one validation decision, and what the shopper engaged with."""

    signals: ShopperSignals
    snapshot: RetrievalSnapshot
    neighbours: Mapping[int, tuple[IntArray, FloatArray]]
    query_scores: FloatArray | None
    items: IntArray
    gains: FloatArray
    seen: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class QuotaTrial:
    quota: CandidateQuota
    purchase_recall: float
    recall: float
    mean_candidates: float
    seen_excluded: bool = False


def repeat_share(decisions: Sequence[SliceDecision]) -> float:
    """The share of the decisions' engaged products their shopper had engaged with before."""
    repeats = sum(int(np.isin(d.items, d.seen).sum()) for d in decisions)
    return repeats / max(sum(len(d.items) for d in decisions), 1)


def trial(
    decisions: Sequence[SliceDecision], quota: CandidateQuota, exclude_seen: bool = False
) -> QuotaTrial:
    """Retrieval over ``decisions`` with ``quota`` (seen products left out before the cut
    with ``exclude_seen``)."""
    found = found_bought = relevant = bought = candidates = 0
    for d in decisions:
        signals = d.signals
        if signals.learned is not None:
            signals = replace(signals, learned=replace(signals.learned, quota=None))
        allowed = None
        if exclude_seen and len(d.seen):
            allowed = np.ones(d.snapshot.n_products, dtype=bool)
            allowed[d.seen] = False
        got = candidates_for(
            signals, d.snapshot, d.neighbours, d.query_scores, quota, allowed, with_features=False
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
        seen_excluded=exclude_seen,
    )


def tune_quota(
    decisions: Sequence[SliceDecision],
    start: CandidateQuota = CandidateQuota(),
    budget: float = CANDIDATE_BUDGET,
    step: int = STEP,
    tuned: Sequence[str] = TUNED,
    floor: Mapping[str, int] = FLOOR,
    exclude_seen: bool | None = None,
) -> tuple[QuotaTrial, list[QuotaTrial]]:
    """The best quotas found and every trial made (for the report). ``exclude_seen``
    (None: when the slice's ``repeat_share`` is at most ``REPEAT_SHARE_TO_EXCLUDE``)
    tunes with seen products left out before the cut."""
    if exclude_seen is None:
        exclude_seen = repeat_share(decisions) <= REPEAT_SHARE_TO_EXCLUDE
    floors = {name: floor.get(name, 0) for name in tuned}
    best = trial(decisions, replace(start, **floors), exclude_seen)
    tried = [best]
    while True:
        trials = [
            trial(
                decisions,
                replace(best.quota, **{name: getattr(best.quota, name) + step}),
                exclude_seen,
            )
            for name in tuned
        ]
        tried += trials
        fits = [t for t in trials if t.mean_candidates <= budget]
        if not fits:
            return best, tried
        top = max(fits, key=lambda t: (t.purchase_recall, t.recall))
        if (top.purchase_recall, top.recall) <= (best.purchase_recall, best.recall):
            return best, tried
        best = top
