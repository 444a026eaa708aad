"""Calibration of predicted gains against what shoppers did (for the report's plot)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def calibration(predicted: FloatArray, actual: FloatArray) -> list[tuple[float, float, int]]:
    """Mean predicted vs mean observed gain per predicted-score bin.

    Bins are quantiles, finer at the top: most candidates score near zero, and the top
    few percent are the ones that get shown.
    """
    if len(predicted) == 0:
        return []
    quantiles = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0]
    edges = np.unique(np.quantile(predicted, quantiles))
    if len(edges) < 2:
        return [(float(predicted.mean()), float(actual.mean()), len(predicted))]
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        mask = which == b
        if mask.any():
            out.append((float(predicted[mask].mean()), float(actual[mask].mean()), int(mask.sum())))
    return out
