"""What a shopper went on to do after a decision point: the relevance labels of ranking.

Per list (one per decision), the products the shopper engaged with and their graded gains
(purchase 3, cart 2, click or view 1). Training labels its candidates with them and every
metric in ``models.evaluation.metrics`` scores a ranked list against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Judgements:
    """Relevant products per list: ``items[i]`` (indices) with ``gains[i]`` (> 0)."""

    items: list[IntArray]
    gains: list[FloatArray]

    def __post_init__(self) -> None:
        if len(self.items) != len(self.gains):
            raise ValueError("items and gains must have one entry per list")

    def __len__(self) -> int:
        return len(self.items)

    def ranked_gains(self, ranked: IntArray) -> FloatArray:
        """Gain of each ranked product (0 when not relevant), shape of ``ranked``."""
        out = np.zeros(ranked.shape, dtype=np.float64)
        for i, (items, gains) in enumerate(zip(self.items, self.gains, strict=True)):
            if len(items) == 0:
                continue
            lookup = dict(zip(items.tolist(), gains.tolist(), strict=True))
            row = ranked[i]
            for j, product in enumerate(row.tolist()):
                if product >= 0:
                    out[i, j] = lookup.get(product, 0.0)
        return out

    def ideal_gains(self, k: int) -> FloatArray:
        """The k largest gains per list, descending, zero-padded: the ideal ranking."""
        out = np.zeros((len(self), k), dtype=np.float64)
        for i, gains in enumerate(self.gains):
            best = np.sort(gains[gains > 0])[::-1][:k]
            out[i, : len(best)] = best
        return out

    def n_relevant(self) -> IntArray:
        return np.array([int((g > 0).sum()) for g in self.gains], dtype=np.int64)
