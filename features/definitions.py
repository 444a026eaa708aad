"""Every behavioural feature, declared once, as contributions of events to named sums.

Both engines execute these declarations: ``features.online`` folds a batch's
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

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.events import EventType

DAY = 86_400.0
# Exponents count time from this origin (2026-01-01Z), not from 1970: smaller exponents keep
# more float64 digits for the sums (a price spread is a difference of two of them).
TIME_ORIGIN = 1_767_225_600.0
HALF_LIVES: dict[str, float] = {"1d": DAY, "14d": 14 * DAY}

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


def decay_to(log_sum: float | np.ndarray, at: float, half_life: str) -> float | np.ndarray:
    """The value at ``at`` of a decayed sum stored as ``log_sum``."""
    return np.exp2(log_sum - (at - TIME_ORIGIN) / HALF_LIVES[half_life])


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
PRODUCT_SLOTS: tuple[tuple[str, str], ...] = tuple(
    (signal, half_life) for signal in PRODUCT_SIGNALS for half_life in HALF_LIVES
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


def _event_targets(events: pd.DataFrame, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Category and brand an event is about: the catalog's, or the interest event's own."""
    positions = catalog.index_of(events["product_id"].to_numpy(dtype=object))
    known = positions >= 0
    categories = np.array((*catalog.categories, ""), dtype=object)
    brands = np.array((*catalog.brands, ""), dtype=object)
    category = categories[np.where(known, catalog.category_code[positions], -1)]
    brand_code = np.where(known, catalog.brand_code[positions], -1)
    brand = brands[brand_code]
    kinds = events["type"].to_numpy(dtype=object)
    liked = kinds == EventType.LIKE_CATEGORY.value
    followed = kinds == EventType.FOLLOW_BRAND.value
    category[liked] = events["category"].to_numpy(dtype=object)[liked]
    brand[followed] = events["brand"].to_numpy(dtype=object)[followed]
    return category, brand


def _event_prices(events: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    positions = catalog.index_of(events["product_id"].to_numpy(dtype=object))
    listed = np.where(positions >= 0, catalog.price[positions], np.nan)
    given = events["price"].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(given), listed, given)


def _frame(**columns: object) -> pd.DataFrame:
    # Object columns stay object: inferring Arrow strings for millions of short-lived
    # field names costs more than the rest of the replay.
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object)
            if isinstance(values, np.ndarray) and values.dtype == object
            else values
            for name, values in columns.items()
        }
    )


def _stacked(parts: list[dict[str, Any]]) -> pd.DataFrame:
    """``pd.concat`` of ``_frame(**part)`` for each part, built as one frame (a frame per
    part costs more than the arithmetic on a batch of live events); a scalar repeats."""
    sizes = [len(part["row"]) for part in parts]
    columns: dict[str, object] = {}
    for name in parts[0]:
        pieces = [
            np.full(size, part[name], dtype=object if isinstance(part[name], str) else None)
            if np.ndim(part[name]) == 0
            else np.asarray(part[name])
            for part, size in zip(parts, sizes, strict=True)
        ]
        values = np.concatenate(pieces)
        columns[name] = pd.Series(values, dtype=object) if values.dtype == object else values
    return pd.DataFrame(columns)


def _prefixed(prefix: str, names: np.ndarray) -> np.ndarray:
    return np.array([prefix + name for name in names.tolist()], dtype=object)


def contributions(events: pd.DataFrame, catalog: Catalog) -> Contributions:
    """Every contribution of ``events`` (a frame in ``EVENT_FIELDS`` form) to every entity."""
    events = events.reset_index(drop=True)
    rows = np.arange(len(events))
    users = events["user_id"].to_numpy(dtype=object)
    kinds = events["type"].to_numpy(dtype=object)
    ts = events["ts"].to_numpy(dtype=np.float64)
    products = events["product_id"].to_numpy(dtype=object)
    category, brand = _event_targets(events, catalog)
    prices = _event_prices(events, catalog)

    decayed: list[dict[str, Any]] = []
    weight = np.zeros(len(events))
    for kind, w in AFFINITY_WEIGHTS.items():
        weight[kinds == kind.value] = w
    interest = (kinds == EventType.LIKE_CATEGORY.value) | (kinds == EventType.FOLLOW_BRAND.value)
    weight[interest] = INTEREST_WEIGHT
    for target, names in (("c", category), ("b", brand)):
        mask = (weight > 0) & (names != "")
        for label, half_life in HALF_LIVES.items():
            decayed.append(
                {
                    "row": rows[mask],
                    "user_id": users[mask],
                    "field": _prefixed(f"a{label}:{target}:", names[mask]),
                    "exponent": np.log2(weight[mask]) + (ts[mask] - TIME_ORIGIN) / half_life,
                }
            )
    price_h = HALF_LIVES[PRICE_HALF_LIFE]
    for prefix, types in (("pv", PRICE_VIEWED_TYPES), ("pb", (EventType.PURCHASE,))):
        mask = np.isin(kinds, [t.value for t in types]) & (prices > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_price = np.log2(prices[mask])
        for suffix, power in (("w", 0.0), ("x", 1.0), ("xx", 2.0)):
            decayed.append(
                {
                    "row": rows[mask],
                    "user_id": users[mask],
                    "field": f"{prefix}:{suffix}",
                    "exponent": power * log_price + (ts[mask] - TIME_ORIGIN) / price_h,
                }
            )

    kind_index = np.zeros(len(events), dtype=np.int64)
    for i, kind in enumerate(COUNTED_TYPES):
        kind_index[kinds == kind.value] = i
    windows: list[dict[str, Any]] = []
    for window in WINDOWS:
        buckets = window.buckets_of(ts)
        fields = _prefixed(f"w:{window.code}:", buckets.astype(str).astype(object))
        windows.append({"row": rows, "user_id": users, "field": fields, "kind": kind_index})

    ranks = np.zeros(len(events), dtype=np.int64)
    for kind, rank in RECENT_RANK.items():
        ranks[kinds == kind.value] = rank
    interacted = ranks > 0
    recent = _frame(
        row=rows[interacted],
        user_id=users[interacted],
        product_id=products[interacted],
        rank=ranks[interacted],
        ts=ts[interacted],
    )

    members: list[dict[str, Any]] = []
    for code, kind, names in (
        ("p", EventType.PURCHASE, products),
        ("f", EventType.FOLLOW_BRAND, brand),
        ("l", EventType.LIKE_CATEGORY, category),
    ):
        mask = kinds == kind.value
        members.append(
            {
                "row": rows[mask],
                "user_id": users[mask],
                "field": _prefixed(f"{code}:", names[mask]),
                "ts": ts[mask],
            }
        )

    product_rows: list[dict[str, Any]] = []
    has_product = pd.notna(products)
    popularity = np.zeros(len(events))
    for kind, value in POPULARITY_WEIGHTS.items():
        popularity[kinds == kind.value] = value
    for signal in PRODUCT_SIGNALS:
        if signal == "popularity":
            counted = popularity
            mask = has_product & (counted > 0)
        else:
            counted = np.ones(len(events))
            mask = has_product & (kinds == signal)
        for label, half_life in HALF_LIVES.items():
            product_rows.append(
                {
                    "row": rows[mask],
                    "product_id": products[mask],
                    "slot": SLOT_INDEX[(signal, label)],
                    "exponent": np.log2(counted[mask]) + (ts[mask] - TIME_ORIGIN) / half_life,
                }
            )
    popular = _frame(**product_rows[SLOT_INDEX[("popularity", RANKING_HALF_LIFE)]])
    ranked = popular.assign(category=pd.Series(category[popular["row"].to_numpy()], dtype=object))
    ranked = ranked[ranked["category"] != ""]

    return Contributions(
        decayed=_stacked(decayed),
        windows=_stacked(windows),
        recent=recent,
        members=_stacked(members),
        products=_stacked(product_rows),
        rankings=ranked[["row", "category", "product_id", "exponent"]].reset_index(drop=True),
    )


def group_codes(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its group among the distinct ``by`` values (numbered in order of first
    appearance, like ``groupby(sort=False)``; -1 for a missing key, which groupby drops),
    and the first row of each group."""
    codes = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    for column in by:
        own, uniques = pd.factorize(frame[column], sort=False)
        missing |= own < 0
        codes = codes * (len(uniques) + 1) + own
    codes, _ = pd.factorize(codes, sort=False)
    codes = codes.astype(np.int64)
    codes[missing] = -1
    present = np.flatnonzero(~missing)
    _, first = np.unique(codes[present], return_index=True)
    return codes, present[first]


def log_sum(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fold decayed contributions: ``exponent`` becomes log2 Σ 2^exponent per group."""
    if frame.empty:
        return frame[[*by, "exponent"]].copy()
    # Plain numpy on group codes: a pandas groupby costs ~1 ms of fixed overhead, paid
    # several times per batch of live events.
    codes, first = group_codes(frame, by)
    exponent = frame["exponent"].to_numpy(dtype=np.float64)
    present = codes >= 0
    codes, exponent = codes[present], exponent[present]
    peak = np.full(len(first), -np.inf)
    np.maximum.at(peak, codes, exponent)
    scaled = np.bincount(codes, weights=np.exp2(exponent - peak[codes]), minlength=len(first))
    return _firsts(frame, by, first, exponent=peak + np.log2(scaled))


def _firsts(
    frame: pd.DataFrame, by: list[str], first: np.ndarray, **values: object
) -> pd.DataFrame:
    """The ``by`` columns at rows ``first``, plus ``values``, as a new frame."""
    columns: dict[str, object] = {}
    for column in by:
        cells = frame[column].to_numpy()[first]
        columns[column] = pd.Series(cells, dtype=object) if cells.dtype == object else cells
    return pd.DataFrame(columns | values)


def pack_counts(counts: list[int]) -> str:
    """A window bucket's counts per type as text, trailing zeros dropped: ``"3,1,0,2"``."""
    return _packed(tuple(counts))


@functools.lru_cache(maxsize=4096)
def _packed(counts: tuple[int, ...]) -> str:
    # Few distinct tallies recur (a bucket holds a handful of events): cached.
    last = len(counts)
    while last > 1 and counts[last - 1] == 0:
        last -= 1
    return ",".join(str(c) for c in counts[:last])


def unpack_counts(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part]
    return values + [0] * (len(COUNTED_TYPES) - len(values))


def window_counts(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fold window contributions: one packed ``counts`` string per group (``by`` + field)."""
    keys = [*by, "field"]
    if frame.empty:
        return pd.DataFrame({key: pd.Series(dtype=object) for key in [*keys, "counts"]})
    group, first = group_codes(frame, keys)
    present = group >= 0
    tally = np.zeros((len(first), len(COUNTED_TYPES)), dtype=np.int64)
    np.add.at(tally, (group[present], frame["kind"].to_numpy(dtype=np.int64)[present]), 1)
    counts = pd.Series([_packed(tuple(row)) for row in tally.tolist()], dtype=object)
    return _firsts(frame, keys, first, counts=counts)


def recent_member(rank: int, product_id: str) -> str:
    """The recent sorted set's member: the interaction rank, then the product id."""
    return f"{rank}{product_id}"


def latest_recent(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per product the latest interaction; at equal times the stronger kind wins."""
    ordered = frame.sort_values(["ts", "rank"], kind="stable")
    return ordered.drop_duplicates(by, keep="last")
