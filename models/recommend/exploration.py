"""A bounded share of the list for new products that have no signals of their own yet.

A ranker learns from interactions, so a product launched yesterday scores low everywhere
and, shown nowhere, never earns any: the cold-item trap. Like Amazon Personalize's
``explorationWeight`` and ``explorationItemAgeCutOff``, a policy opens at most
``floor(k * weight)`` slots of a list to products launched within ``max_age_days`` that
have fewer than ``min_signals`` interactions; the rest of the list is earned. Which new
products fill the slots is drawn with odds rising with their score, from a generator the
caller seeds (per shopper and day), so exposure spreads over the new arrivals instead of
always going to the same one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DAY = 86_400.0


@dataclass(frozen=True)
class ExplorationPolicy:
    """How much of a list new products may take, and when a product stops being new."""

    weight: float = 0.1
    max_age_days: float = 30.0
    min_signals: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 0.5:
            raise ValueError(f"exploration weight must be within 0-0.5, got {self.weight}")
        if self.max_age_days <= 0 or self.min_signals < 0:
            raise ValueError("max_age_days must be positive and min_signals non-negative")

    def slots(self, k: int) -> int:
        """How many of ``k`` positions new products may hold."""
        return int(np.floor(max(k, 0) * self.weight + 1e-9))

    def is_new(
        self,
        launch_ts: npt.NDArray[np.floating],
        signals: npt.NDArray[np.floating],
        now: float,
    ) -> npt.NDArray[np.bool_]:
        """New: launched within the cut-off (not in the future) and still short of signals."""
        age = now - np.asarray(launch_ts, dtype=np.float64)
        recent = np.isfinite(age) & (age >= 0) & (age <= self.max_age_days * DAY)
        return recent & (np.asarray(signals, dtype=np.float64) < self.min_signals)


@dataclass(frozen=True)
class ExploredList:
    """The final order, and which of its entries hold an exploration slot."""

    order: list[int]
    explored: frozenset[int]


def _slot_positions(k: int, slots: int) -> list[int]:
    # Spread over the list (1 slot of 10 → position 5), never the very top.
    return [max(1, min(k - 1, round((j + 1) * k / (slots + 1)))) for j in range(slots)]


def with_exploration(
    ranked: list[int],
    scores: npt.NDArray[np.floating],
    new: npt.NDArray[np.bool_],
    k: int,
    policy: ExplorationPolicy,
    rng: np.random.Generator,
) -> ExploredList:
    """Blend new products into the top ``k`` of ``ranked`` (candidate positions, best first).

    ``scores`` and ``new`` are indexed by candidate position. New products that earned a
    place in the top ``k`` keep it and count against the slots; the slots left are filled
    by a score-weighted draw among the other new candidates, at spread positions.
    """
    top = ranked[:k]
    earned_new = sum(1 for i in top if new[i])
    shown = set(top)
    waiting = np.array([i for i in np.flatnonzero(new).tolist() if i not in shown], dtype=np.int64)
    slots = min(policy.slots(k) - earned_new, len(waiting))
    if slots <= 0:
        return ExploredList(order=top, explored=frozenset())
    raw = np.asarray(scores, dtype=np.float64)[waiting]
    finite = raw[np.isfinite(raw)]
    raw = np.where(np.isfinite(raw), raw, finite.min() if finite.size else 0.0)
    odds = np.exp((raw - raw.max()) / (raw.std() + 1e-9))
    odds /= odds.sum()
    drawn = rng.choice(len(waiting), size=slots, replace=False, p=odds)
    chosen = [int(waiting[j]) for j in sorted(drawn, key=lambda j: -raw[j])]
    order = top[: k - slots] if len(top) >= k else list(top)
    for position, product in zip(_slot_positions(k, slots), chosen, strict=True):
        order.insert(min(position, len(order)), product)
    return ExploredList(order=order[:k], explored=frozenset(chosen))
