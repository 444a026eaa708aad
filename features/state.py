"""What the store knows about a shopper and about products at a moment ``at``.

Both engines produce the same raw form (the fields of the user's Redis hash, the recent
sorted set, the packed product vectors) and decode it here, with the same functions:
training/serving skew cannot come from decoding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from features.definitions import (
    CONVERSION_PRIOR_RATE,
    CONVERSION_PRIOR_VIEWS,
    COUNTED_TYPES,
    FIRST_SEEN,
    HALF_LIVES,
    MEMBER_KINDS,
    PRICE_HALF_LIFE,
    PRODUCT_SLOTS,
    RANK_TYPE,
    SLOT_INDEX,
    SUM_HALF_LIVES,
    TIME_ORIGIN,
    WINDOWS,
    decay_to,
    first_seen_of,
)
from features.events.schema import EventType
from features.folds import unpack_counts

N_SLOTS = len(PRODUCT_SLOTS)
STATS_FORMAT = f"<{N_SLOTS}d"


@dataclass(frozen=True, slots=True)
class RecentItem:
    product_id: str
    type: EventType
    ts: float


@dataclass(frozen=True, slots=True)
class PriceProfile:
    """Decayed count, mean and spread of the prices seen; weight 0 means no profile."""

    weight: float = 0.0
    mean: float = 0.0
    std: float = 0.0


@dataclass(frozen=True)
class UserState:
    """A shopper's behavioural signals as of ``at`` (empty for an unknown shopper)."""

    user_id: str
    at: float
    category_affinity: dict[str, dict[str, float]] = field(default_factory=dict)
    brand_affinity: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    recent: tuple[RecentItem, ...] = ()
    price_viewed: PriceProfile = PriceProfile()
    price_bought: PriceProfile = PriceProfile()
    purchased: dict[str, float] = field(default_factory=dict)
    followed_brands: dict[str, float] = field(default_factory=dict)
    liked_categories: dict[str, float] = field(default_factory=dict)
    last_event_ts: float | None = None

    @property
    def known(self) -> bool:
        return self.last_event_ts is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "at": self.at,
            "last_event_ts": self.last_event_ts,
            "category_affinity": self.category_affinity,
            "brand_affinity": self.brand_affinity,
            "counts": self.counts,
            "recent": [
                {"product_id": r.product_id, "type": r.type.value, "ts": r.ts} for r in self.recent
            ],
            "price_viewed": vars_of(self.price_viewed),
            "price_bought": vars_of(self.price_bought),
            "purchased": self.purchased,
            "followed_brands": self.followed_brands,
            "liked_categories": self.liked_categories,
        }


def vars_of(profile: PriceProfile) -> dict[str, float]:
    return {"weight": profile.weight, "mean": profile.mean, "std": profile.std}


def _price_profile(sums: Mapping[str, float], prefix: str, at: float) -> PriceProfile:
    lw = sums.get(f"{prefix}:w")
    if lw is None:
        return PriceProfile()
    lx, lxx = sums.get(f"{prefix}:x", -math.inf), sums.get(f"{prefix}:xx", -math.inf)
    mean = 2.0 ** (lx - lw)
    variance = 2.0 ** (lxx - lw) - mean * mean
    # A difference of two large sums: below this, it is float rounding, not spread.
    if variance <= 1e-9 * mean * mean:
        variance = 0.0
    weight = float(decay_to(lw, at, PRICE_HALF_LIFE))
    return PriceProfile(weight=weight, mean=mean, std=math.sqrt(variance))


_AFFINITY_HEADS = {f"a{label}": label for label in SUM_HALF_LIVES}


def decode_user_state(
    user_id: str,
    fields: Mapping[str, str | float | int],
    recent: Sequence[tuple[str, float]],
    at: float,
) -> UserState:
    """A ``UserState`` from the user's hash fields and recent (member, ts) pairs, where a
    member is the interaction rank followed by the product id (``recent_member``)."""
    sums: dict[str, float] = {}
    counts = {w.name: {t.value: 0 for t in COUNTED_TYPES} for w in WINDOWS}
    windows = {w.code: (w, w.first_bucket(at), w.bucket(at)) for w in WINDOWS}
    members: dict[str, dict[str, float]] = {name: {} for name in MEMBER_KINDS.values()}
    # Affinity sums by (half-life, target): keys and raw sums, decayed below in one
    # ``decay_to`` per half-life (the same values as one call per field: a long history
    # holds hundreds of them).
    affinity: dict[tuple[str, str], tuple[list[str], list[float]]] = {}
    last_ts: float | None = None
    for name, raw in fields.items():
        head, _, rest = name.partition(":")
        label = _AFFINITY_HEADS.get(head)
        if label is not None:
            target, _, key = rest.partition(":")
            found = affinity.get((label, target))
            if found is None:
                found = affinity[(label, target)] = ([], [])
            found[0].append(key)
            found[1].append(float(raw))
        elif head == "t":
            last_ts = float(raw)
        elif head in ("pv", "pb"):
            sums[name] = float(raw)
        elif head == "w":
            code, _, bucket = rest.partition(":")
            window, first, last = windows[code]
            if first <= int(bucket) <= last:
                totals = counts[window.name]
                for kind, count in zip(COUNTED_TYPES, unpack_counts(str(raw)), strict=True):
                    totals[kind.value] += count
        elif head in MEMBER_KINDS:
            members[MEMBER_KINDS[head]][rest] = float(raw)
    categories: dict[str, dict[str, float]] = {label: {} for label in SUM_HALF_LIVES}
    brands: dict[str, dict[str, float]] = {label: {} for label in SUM_HALF_LIVES}
    for (label, target), (keys, raws) in affinity.items():
        values = np.asarray(decay_to(np.asarray(raws, dtype=np.float64), at, label)).tolist()
        (categories if target == "c" else brands)[label].update(zip(keys, values, strict=True))
    ordered = sorted(recent, key=lambda pair: (pair[1], pair[0].encode()), reverse=True)
    items = tuple(
        RecentItem(member[1:], RANK_TYPE[int(member[0])], float(ts)) for member, ts in ordered
    )
    return UserState(
        user_id=user_id,
        at=at,
        category_affinity=categories,
        brand_affinity=brands,
        counts=counts,
        recent=items,
        price_viewed=_price_profile(sums, "pv", at),
        price_bought=_price_profile(sums, "pb", at),
        purchased=members["purchased"],
        followed_brands=members["followed_brands"],
        liked_categories=members["liked_categories"],
        last_event_ts=last_ts,
    )


def trending_of(popularity_1d: np.ndarray, popularity_14d: np.ndarray) -> np.ndarray:
    """``ProductFeatures.trending`` from the two decayed popularities."""
    ratio = HALF_LIVES["14d"] / HALF_LIVES["1d"]
    return np.asarray(np.log2((popularity_1d * ratio + 1.0) / (popularity_14d + 1.0)))


def conversion_of(bought_14d: np.ndarray, viewed_14d: np.ndarray) -> np.ndarray:
    """``ProductFeatures.conversion`` from decayed purchases and views."""
    prior = CONVERSION_PRIOR_RATE * CONVERSION_PRIOR_VIEWS
    return np.asarray((bought_14d + prior) / (viewed_14d + CONVERSION_PRIOR_VIEWS))


@dataclass(frozen=True, eq=False)
class ProductFeatures:
    """Products' decayed signals as of ``at``.

    ``log_sums[i]`` holds the raw log2 sums (``-inf`` for none) of catalog position
    ``positions[i]``; values come out decayed to ``at``.
    """

    at: float
    positions: np.ndarray
    log_sums: np.ndarray

    @functools.cached_property
    def _row_of(self) -> np.ndarray | None:
        """The row of each catalog position (-1 when absent); None when row i is position i
        (a whole-catalog snapshot). Built once: a request asks for several signals."""
        n = len(self.positions)
        if np.array_equal(self.positions, np.arange(n)):
            return None
        lookup = np.full(int(self.positions.max(initial=-1)) + 1, -1, dtype=np.int64)
        lookup[self.positions] = np.arange(n)
        return lookup

    def rows_for(self, positions: np.ndarray) -> np.ndarray:
        """Raw log sums for catalog ``positions`` (rows of ``-inf`` where unknown)."""
        positions = np.asarray(positions, dtype=np.int64)
        lookup = self._row_of
        known = len(self.positions) if lookup is None else len(lookup)
        inside = (positions >= 0) & (positions < known)
        rows = np.where(inside, positions, 0)
        rows = np.where(inside, rows if lookup is None else lookup[rows], -1)
        if len(self.log_sums) == 0:
            return np.full((len(positions), N_SLOTS), -np.inf)
        out = self.log_sums[np.maximum(rows, 0)]
        out[rows < 0] = -np.inf
        return np.asarray(out)

    def decayed(self, signal: str, half_life: str, positions: np.ndarray) -> np.ndarray:
        slot = SLOT_INDEX[(signal, half_life)]
        return np.asarray(decay_to(self.rows_for(positions)[:, slot], self.at, half_life))

    def decayed_columns(
        self, wanted: Sequence[tuple[str, str]], positions: np.ndarray
    ) -> np.ndarray:
        """``decayed`` for several (signal, half-life) pairs from one gather: an
        ``(len(positions), len(wanted))`` array, the same arithmetic element by element."""
        slots = [SLOT_INDEX[pair] for pair in wanted]
        half_lives = np.array([SUM_HALF_LIVES[half_life] for _, half_life in wanted])
        raw = self.rows_for(positions)[:, slots]
        return np.asarray(np.exp2(raw - (self.at - TIME_ORIGIN) / half_lives))

    def first_seen(self, positions: np.ndarray) -> np.ndarray:
        """Time of each product's first event (inf: none yet)."""
        return first_seen_of(self.rows_for(positions)[:, SLOT_INDEX[FIRST_SEEN]])

    def popularity(self, half_life: str, positions: np.ndarray) -> np.ndarray:
        return self.decayed("popularity", half_life, positions)

    def trending(self, positions: np.ndarray) -> np.ndarray:
        """log2 of short- over long-term popularity, scaled so a steady product scores 0."""
        return trending_of(self.popularity("1d", positions), self.popularity("14d", positions))

    def conversion(self, positions: np.ndarray) -> np.ndarray:
        """Purchases per view (14-day decayed), smoothed towards a prior rate."""
        bought = self.decayed(EventType.PURCHASE.value, "14d", positions)
        viewed = self.decayed(EventType.VIEW.value, "14d", positions)
        return conversion_of(bought, viewed)

    def to_json(self, product_ids: Sequence[str], positions: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        rows = self.rows_for(positions)
        for i, product_id in enumerate(product_ids):
            values: dict[str, float | None] = {
                f"{signal}_{half_life}": float(
                    decay_to(rows[i, SLOT_INDEX[(signal, half_life)]], self.at, half_life)
                )
                for signal, half_life in PRODUCT_SLOTS
                if (signal, half_life) != FIRST_SEEN
            }
            first = float(first_seen_of(rows[i, SLOT_INDEX[FIRST_SEEN]]))
            values["first_seen"] = first if math.isfinite(first) else None
            out[product_id] = values
        return out
