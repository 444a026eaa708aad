"""Faithful reasons: the feature groups that actually raised a product's score.

For each recommended product and each reason group, the group's columns are set to their
population baseline (saved with the model) and the product is re-scored; the score drop
is that group's contribution. Only the shown products are re-scored, only for groups the
trees use and whose values differ from the baseline, all in ONE call to the compiled trees.
Only groups whose removal lowers the score become reasons, strongest first;
``models.recommend.reasons.ReasonFacts`` gives each the facts it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.ranking.ranker import ShopRanker

FloatArray = npt.NDArray[np.float64]
# Groups that say something about the shopper, not about why this product fits them.
NOT_A_REASON = frozenset({"activity"})


@dataclass(frozen=True)
class GroupDrop:
    group: str
    drop: float


@dataclass(frozen=True)
class RankedDrops:
    """Per row, the groups that lowered its score, strongest first (``ScoreDrops.ranked``):
    row ``i``'s are ``group[i, :count[i]]`` (indices into ``ScoreDrops.names``) with
    ``drop[i, :count[i]]``, and ``total[i]`` their sum (added in that order)."""

    group: npt.NDArray[np.intp]
    drop: FloatArray
    count: npt.NDArray[np.intp]
    total: list[float]


class ScoreDrops:
    """Per row, the groups whose baseline-replacement lowers its score, largest drop first.

    Only variants that can score differently are scored, in one call: a group the trees
    never split on, or a row already at the baseline on all of a group's columns, keeps
    its score exactly (a drop of 0, never a reason). Built once per model: which groups
    count and which columns each covers do not change between requests.
    """

    def __init__(
        self, estimator: ShopRanker, groups: dict[str, list[int]], baseline: FloatArray
    ) -> None:
        self.estimator = estimator
        used = estimator.used_features()
        self.names = [
            g for g in groups if g not in NOT_A_REASON and groups[g] and used[groups[g]].any()
        ]
        self.covers = np.zeros((len(self.names), len(used)), dtype=bool)
        for g, name in enumerate(self.names):
            self.covers[g, groups[name]] = True
        self.at_baseline = baseline.astype(np.float32)
        # The variants are built as the trees read them: float64 holding float32 values.
        self._baseline64 = self.at_baseline.astype(np.float64)
        self._covers_t = np.ascontiguousarray(self.covers.T)

    def drops(self, rows: npt.NDArray[np.float32], scores: FloatArray) -> FloatArray:
        """``(len(rows), len(names))``: each row's score minus its score with the group's
        columns at the baseline (0 where that cannot change it)."""
        out = np.zeros((len(rows), len(self.names)))
        if len(rows) == 0 or not self.names:
            return out
        # (row, group) pairs where the row is off the baseline on one of the group's columns.
        row_of, group_of = np.nonzero((rows != self.at_baseline) @ self._covers_t)
        if len(row_of):
            variants = np.where(self.covers[group_of], self._baseline64, rows[row_of])
            out[row_of, group_of] = scores[row_of] - self.estimator.score_rows(variants)
        return out

    def ranked(self, rows: npt.NDArray[np.float32], scores: FloatArray) -> RankedDrops:
        """The groups that lowered each row's score (by more than 1e-9), largest first;
        ties keep the groups' order."""
        drops = self.drops(rows, scores)
        order = np.argsort(-drops, axis=1, kind="stable")
        ordered = np.take_along_axis(drops, order, axis=1)
        lowered = ordered > 1e-9
        count = lowered.sum(axis=1)
        # Summed left to right, strongest first, as Python's sum would.
        total = [sum(row[:n]) for row, n in zip(ordered.tolist(), count.tolist(), strict=True)]
        return RankedDrops(order, ordered, count, total)

    def __call__(self, rows: npt.NDArray[np.float32], scores: FloatArray) -> list[list[GroupDrop]]:
        ranked = self.ranked(rows, scores)
        return [
            [GroupDrop(self.names[g], d) for g, d in zip(groups[:n], drops[:n], strict=True)]
            for groups, drops, n in zip(
                ranked.group.tolist(), ranked.drop.tolist(), ranked.count.tolist(), strict=True
            )
        ]


def score_drops(
    estimator: ShopRanker,
    rows: npt.NDArray[np.float32],
    scores: FloatArray,
    groups: dict[str, list[int]],
    baseline: FloatArray,
) -> list[list[GroupDrop]]:
    """``ScoreDrops`` for a single call."""
    return ScoreDrops(estimator, groups, baseline)(rows, scores)
