"""Faithful reasons: the feature groups that actually raised a product's score.

For each recommended product and each reason group, the group's columns are set to their
population baseline (saved with the model) and the product is re-scored; the score drop
is that group's contribution. All (product, group) variants go through ONE predict call.
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


def score_drops(
    estimator: ShopRanker,
    rows: npt.NDArray[np.float32],
    scores: FloatArray,
    groups: dict[str, list[int]],
    baseline: FloatArray,
) -> list[list[GroupDrop]]:
    """Per row, the groups whose baseline-replacement lowers its score, largest drop first."""
    names = [g for g in groups if g not in NOT_A_REASON and groups[g]]
    if len(rows) == 0 or not names:
        return [[] for _ in range(len(rows))]
    variants = np.repeat(rows[None, :, :], len(names), axis=0)  # (groups, rows, features)
    for g, name in enumerate(names):
        columns = groups[name]
        variants[g][:, columns] = baseline[columns].astype(np.float32)
    flat = variants.reshape(-1, rows.shape[1])
    perturbed = estimator.score_rows(flat).reshape(len(names), -1)
    drops = scores[None, :] - perturbed
    out: list[list[GroupDrop]] = []
    for i in range(len(rows)):
        positive = [GroupDrop(names[g], float(drops[g, i])) for g in np.argsort(-drops[:, i])]
        out.append([d for d in positive if d.drop > 1e-9])
    return out
