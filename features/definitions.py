"""Every behavioural feature, declared once, as contributions of events to named sums.

Both engines execute these declarations: ``features.store.online`` folds a batch's
contributions into Redis with Lua, ``features.offline`` folds a log's contributions in
pandas. Neither engine knows what a feature means; they only know four ways to fold:

- decayed sums: ``L = log2(Σ wᵢ·2^(tᵢ/h))`` per field (``fold: logaddexp2``). The value at
  time T is ``2^(L − T/h)``. Order-independent, no last-update time, exact for late events,
  decayed from event time, never arrival time.
- window buckets: integer counts per (granularity, bucket, event type) (``fold: +``); a
  window of n buckets at T covers buckets ``[b(T)−n+1, b(T)]`` in both engines. One field
  per bucket holds the counts of every type (``"3,1,0,0,1"``, in ``COUNTED_TYPES`` order).
- recent items: per product the latest (ts, interaction rank) (``fold: max``), capped.
- members: purchased products, followed brands, liked categories → latest ts, capped.

Product-side sums use the same decayed fold, packed into one float64 vector per product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.events.schema import EventType

DAY = 86_400.0
# Exponents count time from this origin (2026-01-01Z), not from 1970: smaller exponents keep
# more float64 digits for the sums (a price spread is a difference of two of them).
TIME_ORIGIN = 1_767_225_600.0
HALF_LIVES: dict[str, float] = {"1d": DAY, "14d": 14 * DAY}
# With a never-decaying total ("all": an infinite half-life, exponent log2 w, value 2^L):
# a shopper's category and brand affinity over their whole history, and a product's
# popularity over the whole log (PRODUCT_SLOTS).
SUM_HALF_LIVES: dict[str, float] = {**HALF_LIVES, "all": math.inf}

# How much each interaction says about taste, per target (category, brand).
AFFINITY_WEIGHTS: dict[EventType, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 2.0,
    EventType.ADD_TO_CART: 4.0,
    EventType.PURCHASE: 8.0,
}
INTEREST_WEIGHT = 6.0  # follow_brand / like_category (and interests declared at signup)

PRICE_HALF_LIFE = "14d"
PRICE_VIEWED_TYPES = (EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART)
# The decayed sums of a price profile: (suffix, power of the price): Σw, Σw·p, Σw·p².
PRICE_MOMENTS: tuple[tuple[str, float], ...] = (("w", 0.0), ("x", 1.0), ("xx", 2.0))


def decay_to(log_sum: float | np.ndarray, at: float, half_life: str) -> float | np.ndarray:
    """The value at ``at`` of a decayed sum stored as ``log_sum`` (``"all"``: never decays)."""
    return np.exp2(log_sum - (at - TIME_ORIGIN) / SUM_HALF_LIVES[half_life])


def first_seen_of(log_sum: np.ndarray) -> np.ndarray:
    """Event time of a product's first event from its ``FIRST_SEEN`` slot (inf: none yet)."""
    return np.asarray(TIME_ORIGIN - np.asarray(log_sum, dtype=np.float64) * FIRST_SEEN_SCALE)


@dataclass(frozen=True)
class Window:
    name: str
    code: str
    bucket_seconds: float
    buckets: int

    def bucket(self, ts: float) -> int:
        return math.floor((ts - TIME_ORIGIN) / self.bucket_seconds)

    def buckets_of(self, ts: np.ndarray) -> np.ndarray:
        """``bucket`` for many times at once (the same arithmetic)."""
        return np.floor((ts - TIME_ORIGIN) / self.bucket_seconds).astype(np.int64)

    def first_bucket(self, at: float) -> int:
        return self.bucket(at) - self.buckets + 1


WINDOWS: tuple[Window, ...] = (
    Window("1h", "m", 600.0, 6),
    Window("24h", "h", 3600.0, 24),
    Window("7d", "d", DAY, 7),
)
COUNTED_TYPES: tuple[EventType, ...] = tuple(EventType)

# Interactions remembered per product in the recent list; higher rank wins a tie in time.
RECENT_RANK: dict[EventType, int] = {
    EventType.VIEW: 1,
    EventType.CLICK: 2,
    EventType.ADD_TO_CART: 3,
    EventType.PURCHASE: 4,
}
RANK_TYPE: dict[int, EventType] = {rank: kind for kind, rank in RECENT_RANK.items()}
RECENT_CAP = 50
MEMBER_CAP = 100
MEMBER_KINDS = {"p": "purchased", "f": "followed_brands", "l": "liked_categories"}

# Product-side decayed sums, one float64 slot each: (event type or "popularity") × half-life.
POPULARITY_WEIGHTS: dict[EventType, float] = dict(AFFINITY_WEIGHTS)
PRODUCT_SIGNALS: tuple[str, ...] = (
    EventType.IMPRESSION.value,
    EventType.VIEW.value,
    EventType.CLICK.value,
    EventType.ADD_TO_CART.value,
    EventType.PURCHASE.value,
    "popularity",
)
# Two product-only slots after those, folded by the same log2-sum as every other:
# - ("popularity", "all"): the weighted engagement over the whole log, never decayed (an
#   infinite half-life: exponent log2 w, value 2^L);
# - ("first_seen", "min"): when the product's first event happened (its age in the log).
#   Each event adds exponent −(t − T₀)/FIRST_SEEN_SCALE, so L = log2 Σ 2^−(t−T₀) is
#   −(first − T₀) plus at most log2 of the events within a minute of the first (later ones
#   vanish below float64's digits): the first event's time to a few seconds
#   (``first_seen_of``), whatever order the events arrive in.
FIRST_SEEN = ("first_seen", "min")
FIRST_SEEN_SCALE = 1.0
PRODUCT_SLOTS: tuple[tuple[str, str], ...] = (
    *((signal, half_life) for signal in PRODUCT_SIGNALS for half_life in HALF_LIVES),
    ("popularity", "all"),
    FIRST_SEEN,
)
SLOT_INDEX: dict[tuple[str, str], int] = {slot: i for i, slot in enumerate(PRODUCT_SLOTS)}
RANKING_HALF_LIFE = "14d"  # category rankings order products by this popularity
CATEGORY_RANK_CAP = 1000
CONVERSION_PRIOR_RATE = 0.05
CONVERSION_PRIOR_VIEWS = 10.0


@dataclass(frozen=True, eq=False)
class Contributions:
    """What a set of events adds to each entity, before folding (one row per contribution).

    Every frame carries ``row`` (position of the event in the input) so an engine can keep
    only the events it accepted or that happened by a given time.
    """

    decayed: pd.DataFrame  # row, user_id, field, exponent
    windows: pd.DataFrame  # row, user_id, field, kind (index in COUNTED_TYPES)
    recent: pd.DataFrame  # row, user_id, product_id, rank, ts
    members: pd.DataFrame  # row, user_id, field, ts
    products: pd.DataFrame  # row, product_id, slot, exponent
    rankings: pd.DataFrame  # row, category, product_id, exponent
