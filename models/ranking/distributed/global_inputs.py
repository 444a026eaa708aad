"""The inputs every shopper part needs, reduced once from all parts on the driver.

Decision points merge into the whole log's time order (so the time split and the sample
are the single-process ones), co-occurrence pairs into one log whose neighbours are
computed once per needed day, and hourly product sums into one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.ranking.decisions import DecisionPoints
from models.ranking.judgements import Judgements
from models.ranking.replay import COOC_REBUILD_SECONDS
from models.ranking.training_set import RetrievalRecall, TrainingSet
from models.retrieval.cooccurrence import NEIGHBOURS, CooccurrenceLog, Neighbours

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def merge_points(parts: list[DecisionPoints]) -> DecisionPoints:
    """The parts' decisions in the order ``decision_points`` gives the whole log: by time,
    ties by shopper id, then by the part's own order."""
    user_id = np.concatenate([p.user_id for p in parts]) if parts else np.zeros(0, dtype=object)
    ts = np.concatenate([p.ts for p in parts]) if parts else np.zeros(0)
    local = np.concatenate([np.arange(len(p)) for p in parts]) if parts else np.zeros(0)
    users, _ = pd.factorize(pd.Series(user_id, dtype=object).astype(str), sort=True)
    order = np.lexsort((local, users, ts))
    query = [q for p in parts for q in p.query]
    items = [i for p in parts for i in p.truth.items]
    gains = [g for p in parts for g in p.truth.gains]
    return DecisionPoints(
        user_id=user_id[order],
        ts=ts[order],
        query=[query[i] for i in order],
        truth=Judgements(items=[items[i] for i in order], gains=[gains[i] for i in order]),
    )


def merge_cooccurrence(parts: list[CooccurrenceLog]) -> CooccurrenceLog:
    """One co-occurrence log from the parts' (every pair is within one shopper)."""
    known = np.concatenate([p.known_ts for p in parts])
    order = np.argsort(known, kind="stable")
    return CooccurrenceLog(
        parts[0].n_products,
        np.concatenate([p.a for p in parts])[order],
        np.concatenate([p.b for p in parts])[order],
        np.concatenate([p.weight for p in parts])[order],
        known[order],
    )


def days_of(points: DecisionPoints) -> FloatArray:
    """The co-occurrence rebuild days the replay of ``points`` asks for."""
    return np.unique(np.floor(points.ts / COOC_REBUILD_SECONDS) * COOC_REBUILD_SECONDS)


def neighbours_on(cooccurrence: CooccurrenceLog, day: float) -> Neighbours:
    return cooccurrence.as_of(day)


@dataclass(frozen=True)
class NeighbourTimeline(CooccurrenceLog):
    """Neighbours computed once for each day a replay needs, without the pairs behind them."""

    days: dict[float, Neighbours] = field(default_factory=dict)

    @classmethod
    def of(cls, n_products: int, days: list[float], *found: Neighbours) -> NeighbourTimeline:
        none = np.zeros(0)
        return cls(
            n_products,
            none.astype(np.int64),
            none.astype(np.int64),
            none,
            none,
            days=dict(zip(days, found, strict=True)),
        )

    def as_of(self, ts: float, width: int = NEIGHBOURS) -> Neighbours:
        found = self.days.get(ts)
        if found is None or width != NEIGHBOURS:
            raise KeyError(f"neighbours as of {ts} (width {width}) were not computed")
        return found


def concat_sets(parts: list[TrainingSet]) -> TrainingSet:
    """The parts' rows in decision order (the single-process order), recall summed."""
    decision = np.concatenate([p.decision for p in parts])
    order = np.argsort(decision, kind="stable")
    recall = RetrievalRecall()
    for p in parts:
        r = p.recall
        recall.relevant += r.relevant
        recall.purchases += r.purchases
        recall.candidates += r.candidates
        recall.decisions += r.decisions
        for name, n in r.found.items():
            recall.found[name] += n
        for name, n in r.found_purchases.items():
            recall.found_purchases[name] += n
    return TrainingSet(
        X=np.vstack([p.X for p in parts])[order],
        y=np.concatenate([p.y for p in parts])[order],
        weight=np.concatenate([p.weight for p in parts])[order],
        decision=decision[order],
        feature_names=parts[0].feature_names,
        recall=recall,
    )
