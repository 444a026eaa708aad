"""How many candidates each source proposes, tuned on the validation slice.

Greedy, as the research's ``tune_quota`` did: the tuned sources start at their floor and,
a step of slots at a time, the source whose extra slots find the most of the slice's
purchases (then engaged products) gets them, while the mean candidate count stays within
the budget; the sources not tuned (brand, query, new, trending: a log has those signals or
they find nothing and cost nothing) keep their quotas. Pure: the caller replays the
slice's decisions (``models.ranking`` has the replay) and hands in what retrieval saw.

A trial changes one source's quota: each decision keeps every source's picks by quota
(``DecisionPicks``) and recomputes only the changed source's, with the candidates
``candidates_for`` would give (``tune_quota(..., cached=False)`` calls it every time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from models.retrieval.candidates import (
    SOURCES,
    RetrievalSnapshot,
    ShopperSignals,
    candidates_for,
)
from models.retrieval.quota import CandidateQuota
from models.retrieval.source_picks import PickInputs, cooc_scores, pick_source, source_quota

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


def _allowed(d: SliceDecision, exclude_seen: bool) -> npt.NDArray[np.bool_] | None:
    if not exclude_seen or not len(d.seen):
        return None
    allowed = np.ones(d.snapshot.n_products, dtype=bool)
    allowed[d.seen] = False
    return allowed


class DecisionPicks:
    """One decision's picks of every source, by the source's quota, kept across trials."""

    def __init__(self, d: SliceDecision, exclude_seen: bool) -> None:
        allowed = _allowed(d, exclude_seen)
        available = d.snapshot.available()
        if allowed is not None:
            available = available & allowed
        cooc = cooc_scores(d.signals, d.neighbours, d.snapshot.n_products)
        self.inputs = PickInputs(
            d.signals,
            d.snapshot,
            available,
            allowed is not None,
            cooc,
            d.query_scores,
            d.signals.learned,
        )
        self.picks: dict[tuple[str, tuple[int, ...]], IntArray] = {}

    def products(self, quota: CandidateQuota) -> IntArray:
        """The candidates ``candidates_for`` gives with ``quota`` (its catalog positions)."""
        chosen = np.zeros(self.inputs.snapshot.n_products, dtype=bool)
        for name in SOURCES:
            key = (name, source_quota(name, quota))
            found = self.picks.get(key)
            if found is None:
                found = self.picks[key] = pick_source(name, quota, self.inputs)
            chosen[found] = True
        return np.flatnonzero(chosen & self.inputs.available).astype(np.int64)


def trial(
    decisions: Sequence[SliceDecision],
    quota: CandidateQuota,
    exclude_seen: bool = False,
    picks: Sequence[DecisionPicks] | None = None,
) -> QuotaTrial:
    """Retrieval over ``decisions`` with ``quota`` (seen products left out before the cut
    with ``exclude_seen``); ``picks`` (one per decision, made with the same
    ``exclude_seen``) keeps the sources' picks between trials."""
    found = found_bought = relevant = bought = candidates = 0
    for i, d in enumerate(decisions):
        if picks is not None:
            products = picks[i].products(quota)
        else:
            signals = d.signals
            if signals.learned is not None:
                signals = replace(signals, learned=replace(signals.learned, quota=None))
            products = candidates_for(
                signals,
                d.snapshot,
                d.neighbours,
                d.query_scores,
                quota,
                _allowed(d, exclude_seen),
                with_features=False,
            ).products
        candidates += len(products)
        hit = np.isin(d.items, products)
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
    cached: bool = True,
) -> tuple[QuotaTrial, list[QuotaTrial]]:
    """The best quotas found and every trial made (for the report). ``exclude_seen``
    (None: when the slice's ``repeat_share`` is at most ``REPEAT_SHARE_TO_EXCLUDE``)
    tunes with seen products left out before the cut; ``cached=False`` runs
    ``candidates_for`` afresh in every trial (the same trials, slower)."""
    if exclude_seen is None:
        exclude_seen = repeat_share(decisions) <= REPEAT_SHARE_TO_EXCLUDE
    picks = [DecisionPicks(d, exclude_seen) for d in decisions] if cached else None
    floors = {name: floor.get(name, 0) for name in tuned}
    best = trial(decisions, replace(start, **floors), exclude_seen, picks)
    tried = [best]
    while True:
        trials = [
            trial(
                decisions,
                replace(best.quota, **{name: getattr(best.quota, name) + step}),
                exclude_seen,
                picks,
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
