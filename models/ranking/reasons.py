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

    def __call__(self, rows: npt.NDArray[np.float32], scores: FloatArray) -> list[list[GroupDrop]]:
        if len(rows) == 0 or not self.names:
            return [[] for _ in range(len(rows))]
        covers, at_baseline = self.covers, self.at_baseline
        differs = rows != at_baseline
        group_of, row_of = np.nonzero((covers[:, None, :] & differs[None, :, :]).any(axis=2))
        drops = np.zeros((len(self.names), len(rows)))
        if len(row_of):
            variants = np.where(covers[group_of], at_baseline, rows[row_of])
            drops[group_of, row_of] = scores[row_of] - self.estimator.score_rows(variants)
        out: list[list[GroupDrop]] = []
        for column in drops.T:
            lowered = np.flatnonzero(column > 1e-9)
            lowered = lowered[np.argsort(-column[lowered], kind="stable")]
            out.append([GroupDrop(self.names[g], float(column[g])) for g in lowered.tolist()])
        return out


def score_drops(
    estimator: ShopRanker,
    rows: npt.NDArray[np.float32],
    scores: FloatArray,
    groups: dict[str, list[int]],
    baseline: FloatArray,
) -> list[list[GroupDrop]]:
    """``ScoreDrops`` for a single call."""
    return ScoreDrops(estimator, groups, baseline)(rows, scores)
