"""Discrete choice with the Gumbel trick: multinomial logit, Plackett-Luce, binary logit.

Adding independent Gumbel noise to log-weights and taking the top k draws k items without
replacement in proportion to their weights; comparing noisy utilities against a noisy
outside option is a multinomial logit with a no-choice alternative.
"""

from __future__ import annotations

import numpy as np


def top_k(score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of each row's ``k`` best scores, best first, and which are finite."""
    k = min(k, score.shape[1])
    part = np.argpartition(-score, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(score, part, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    return best, np.isfinite(np.take_along_axis(score, best, axis=1))


def sample_top_k(
    rng: np.random.Generator, log_weight: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` items per row without replacement, drawn in proportion to ``exp(log_weight)``."""
    return top_k(log_weight + rng.gumbel(size=log_weight.shape), k)


def choices_before_leaving(
    rng: np.random.Generator, attraction: np.ndarray, leave: float, most: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plackett-Luce picks from each row until "leave" wins, at most ``most`` per row.

    Returns (row, column, rank) of every pick, in row order and then pick order.
    """
    noisy = attraction + rng.gumbel(size=attraction.shape)
    outside = leave + rng.gumbel(size=(attraction.shape[0], 1))
    order = np.argsort(-noisy, axis=1, kind="stable")
    picked = np.take_along_axis(noisy > outside, order, axis=1)
    rank = np.cumsum(picked, axis=1) - 1
    keep = picked & (rank < most)
    rows, slots = np.nonzero(keep)
    return rows, order[rows, slots], rank[rows, slots]


def accepts(rng: np.random.Generator, utility: np.ndarray, threshold: float) -> np.ndarray:
    """Binary logit: each item beats a no-choice option of utility ``threshold``."""
    chance = 1.0 / (1.0 + np.exp(np.clip(threshold - utility, -50.0, 50.0)))
    return np.asarray(rng.random(utility.shape) < chance)


def first_unique(drawn: np.ndarray, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` distinct allowed items of each row, in draw order, and which exist.

    Rows drawn with replacement, repeats skipped: sampling without replacement.
    """
    order = np.argsort(drawn, axis=1, kind="stable")
    ordered = np.take_along_axis(drawn, order, axis=1)
    repeat_sorted = np.zeros(drawn.shape, dtype=bool)
    repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    repeat = np.empty_like(repeat_sorted)
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    keep = allowed & ~repeat
    key = np.where(keep, np.arange(drawn.shape[1])[None, :], drawn.shape[1])
    slots = np.argsort(key, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(drawn, slots, axis=1), np.take_along_axis(keep, slots, axis=1)


def exponential(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Exp(1) draws in float32 (fast), kept away from zero so they can divide."""
    draws = rng.standard_exponential(size=shape, dtype=np.float32)
    return np.maximum(draws, np.float32(1e-30))
