"""The point-in-time training set: candidates retrieval would have produced at each
decision, their features as of then, and graded labels from what the shopper did next.

Negatives are subsampled per decision (every positive kept) and weighted by the inverse
of their sampling rate, so the fitted expected gain stays unbiased. Each decision draws
from its own generator, seeded by (seed, decision id): a decision's rows do not depend on
which other decisions are built beside it, so a shopper partition built elsewhere
(``models.ranking.distributed``) yields exactly the rows the whole log would. Positives that
retrieval missed are not rows: the ranker only ever sees retrieved candidates, here as
in serving; retrieval's misses are reported as its recall instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from models.ranking.decisions import DecisionPoints
from models.ranking.features import RANKING_FEATURES, RankingFeatures
from models.ranking.ranker import one_thread
from models.ranking.replay import Replay
from models.retrieval.candidates import SOURCES, CandidateSet, candidates_for

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NEGATIVES_PER_DECISION = 40
Progress = Callable[[int], None]


@dataclass
class RetrievalRecall:
    """How many of the shoppers' engaged products each source (and all) retrieved."""

    relevant: int = 0
    purchases: int = 0
    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*SOURCES, "all"), 0))
    found_purchases: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*SOURCES, "all"), 0)
    )
    candidates: int = 0
    decisions: int = 0

    def add(self, candidates: CandidateSet, items: IntArray, gains: FloatArray) -> None:
        self.decisions += 1
        self.candidates += len(candidates)
        position = {int(p): i for i, p in enumerate(candidates.products)}
        for product, gain in zip(items.tolist(), gains.tolist(), strict=True):
            self.relevant += 1
            bought = gain >= 3.0
            self.purchases += int(bought)
            row = position.get(product)
            if row is None:
                continue
            self.found["all"] += 1
            self.found_purchases["all"] += int(bought)
            for name, on in zip(SOURCES, candidates.sources[row], strict=True):
                if on:
                    self.found[name] += 1
                    self.found_purchases[name] += int(bought)

    def summary(self) -> dict[str, float]:
        out = {"mean_candidates": self.candidates / max(self.decisions, 1)}
        for name in (*SOURCES, "all"):
            out[f"recall_{name}"] = self.found[name] / max(self.relevant, 1)
            out[f"purchase_recall_{name}"] = self.found_purchases[name] / max(self.purchases, 1)
        return out


@dataclass(frozen=True)
class TrainingSet:
    X: npt.NDArray[np.float32]
    y: FloatArray
    weight: FloatArray
    decision: IntArray
    feature_names: tuple[str, ...]
    recall: RetrievalRecall

    def __len__(self) -> int:
        return len(self.y)


def build_training_set(
    replay: Replay,
    points: DecisionPoints,
    rows: RankingFeatures,
    negatives: int = NEGATIVES_PER_DECISION,
    seed: int = 0,
    progress: Progress | None = None,
    ids: IntArray | None = None,
) -> TrainingSet:
    """Rows for every decision in ``points`` (features strictly before each decision).

    ``ids`` names the decisions (the ``decision`` column and the sampling seed); by
    default their rows in ``points``.
    """
    if ids is None:
        ids = np.arange(len(points), dtype=np.int64)
    with one_thread():
        return _build(replay, points, rows, negatives, seed, progress, ids)


def _build(
    replay: Replay,
    points: DecisionPoints,
    rows: RankingFeatures,
    negatives: int,
    seed: int,
    progress: Progress | None,
    ids: IntArray,
) -> TrainingSet:
    recall = RetrievalRecall()
    blocks: list[npt.NDArray[np.float32]] = []
    labels: list[FloatArray] = []
    weights: list[FloatArray] = []
    groups: list[IntArray] = []
    for inputs in replay(points):
        items = points.truth.items[inputs.row]
        gains = points.truth.gains[inputs.row]
        found = candidates_for(
            inputs.signals, inputs.snapshot, inputs.neighbour_map(), inputs.query_scores
        )
        recall.add(found, items, gains)
        gain_of = dict(zip(items.tolist(), gains.tolist(), strict=True))
        y = np.array([gain_of.get(int(p), 0.0) for p in found.products])
        positive = np.flatnonzero(y > 0)
        negative = np.flatnonzero(y == 0)
        decision = int(ids[inputs.row])
        rng = np.random.default_rng((seed, decision))
        keep_neg = (
            rng.choice(negative, size=negatives, replace=False)
            if len(negative) > negatives
            else negative
        )
        rate = len(keep_neg) / max(len(negative), 1)
        chosen = np.concatenate([positive, keep_neg])
        subset = found.take(chosen)
        blocks.append(rows.rows(inputs.state, subset, inputs.products, inputs.at))
        labels.append(y[chosen])
        weights.append(
            np.concatenate([np.ones(len(positive)), np.full(len(keep_neg), 1.0 / max(rate, 1e-9))])
        )
        groups.append(np.full(len(chosen), decision, dtype=np.int64))
        if progress is not None:
            progress(1)
    width = len(RANKING_FEATURES)
    return TrainingSet(
        X=np.vstack(blocks) if blocks else np.zeros((0, width), dtype=np.float32),
        y=np.concatenate(labels) if labels else np.zeros(0),
        weight=np.concatenate(weights) if weights else np.zeros(0),
        decision=np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64),
        feature_names=RANKING_FEATURES,
        recall=recall,
    )


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
