"""What a batch of events adds to each entity: ``contributions(events, catalog)``.

The declarations in ``features.definitions`` turned into rows, one per (event, field): both
engines take these rows and fold them (``features.folds``), the online one into Redis, the
offline one in pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.definitions import (
    AFFINITY_WEIGHTS,
    COUNTED_TYPES,
    FIRST_SEEN,
    FIRST_SEEN_SCALE,
    HALF_LIVES,
    INTEREST_WEIGHT,
    POPULARITY_WEIGHTS,
    PRICE_HALF_LIFE,
    PRICE_MOMENTS,
    PRICE_VIEWED_TYPES,
    PRODUCT_SIGNALS,
    RANKING_HALF_LIFE,
    RECENT_RANK,
    SLOT_INDEX,
    SUM_HALF_LIVES,
    TIME_ORIGIN,
    WINDOWS,
    Contributions,
)
from features.events.schema import EventType


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
        for label, half_life in SUM_HALF_LIVES.items():
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
        for suffix, power in PRICE_MOMENTS:
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
        # Rows in slot order (PRODUCT_SLOTS): the rankings below take theirs by slot.
        for label in SUM_HALF_LIVES if signal == "popularity" else HALF_LIVES:
            product_rows.append(
                {
                    "row": rows[mask],
                    "product_id": products[mask],
                    "slot": SLOT_INDEX[(signal, label)],
                    "exponent": np.log2(counted[mask])
                    + (ts[mask] - TIME_ORIGIN) / SUM_HALF_LIVES[label],
                }
            )
    product_rows.append(
        {
            "row": rows[has_product],
            "product_id": products[has_product],
            "slot": SLOT_INDEX[FIRST_SEEN],
            "exponent": -(ts[has_product] - TIME_ORIGIN) / FIRST_SEEN_SCALE,
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
