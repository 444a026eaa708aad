"""Cross features at request time: one row per candidate product, from a UserState and
product features. Column names and groups are stable: the ranker, its reason codes and
training all index columns through ``FEATURE_NAMES`` / ``FEATURE_GROUPS``.
"""

from __future__ import annotations

import dataclasses
import functools
from itertools import repeat

import numpy as np

from features.catalog import Catalog
from features.definitions import DAY, RECENT_RANK
from features.events.rules import EventType
from features.state import PriceProfile, ProductFeatures, UserState, conversion_of, trending_of

HOUR = 3600.0
NEVER_HOURS = 24.0 * 365  # "hours since" for something that never happened
UNKNOWN_AGE_DAYS = 365.0
# The product signals the matrix reads, gathered in one go.
PRODUCT_COLUMNS = (
    ("popularity", "14d"),
    (EventType.VIEW.value, "14d"),
    (EventType.PURCHASE.value, "14d"),
    ("popularity", "1d"),
    ("popularity", "all"),
)

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    # ..._all: over the shopper's whole history (never decayed).
    "category_affinity": (
        "category_affinity_1d",
        "category_affinity_14d",
        "category_share_14d",
        "log_category_affinity_all",
        "category_share_all",
    ),
    "brand_affinity": (
        "brand_affinity_1d",
        "brand_affinity_14d",
        "brand_share_14d",
        "brand_share_all",
    ),
    "declared_interest": ("liked_category", "followed_brand"),
    "recency": ("interacted_before", "log_hours_since_interaction", "last_interaction_rank"),
    "purchased_before": ("purchased_before",),
    "price_fit": ("price_z_viewed", "price_ratio_viewed", "price_z_bought", "log_price"),
    # Over the whole log too: engagement, the product's age in the log (days since its
    # first event) and engagement per day of that age.
    "popularity": (
        "log_popularity_14d",
        "log_views_14d",
        "log_purchases_14d",
        "log_popularity_all",
        "log_days_in_log",
        "log_popularity_all_per_day",
    ),
    "trending": ("trending", "log_popularity_1d"),
    "conversion": ("conversion_rate",),
    "discount": ("discount",),
    "similarity_to_recent": ("recent_same_category_share", "recent_same_brand_share"),
    "freshness": ("log_days_since_launch",),
    "activity": ("log_views_24h", "log_purchases_7d", "log_events_1h"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(name for group in FEATURE_GROUPS.values() for name in group)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
GROUP_COLUMNS: dict[str, tuple[int, ...]] = {
    group: tuple(FEATURE_INDEX[name] for name in names) for group, names in FEATURE_GROUPS.items()
}


_LOOP_MAX = 16


@functools.lru_cache(maxsize=16)
def _code_index(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(vocabulary)}


def _by_code(values: dict[str, float], vocabulary: tuple[str, ...]) -> np.ndarray:
    """A per-code lookup array with one trailing slot (code -1) holding 0."""
    out = np.zeros(len(vocabulary) + 1)
    # A shopper touches a few of the shop's hundreds of brands: walk theirs, not the shop's.
    index = _code_index(vocabulary)
    if len(values) <= _LOOP_MAX:
        for name, value in values.items():
            code = index.get(name)
            if code is not None:
                out[code] = value
        return out
    # A ratings log's shopper touches hundreds of genres: look them up in one pass.
    codes = np.fromiter(map(index.get, values, repeat(-1)), dtype=np.int64, count=len(values))
    known = codes >= 0
    out[codes[known]] = np.fromiter(values.values(), dtype=np.float64, count=len(values))[known]
    return out


def _share(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total > 0 else {}


def _price_z(price: np.ndarray, profile: PriceProfile) -> np.ndarray:
    if profile.weight <= 0:
        return np.zeros_like(price)
    spread = max(profile.std, 0.1 * profile.mean, 1e-6)
    return np.asarray((price - profile.mean) / spread)


def feature_matrix(
    user: UserState,
    products: np.ndarray,
    product_features: ProductFeatures,
    catalog: Catalog,
    at: float | None = None,
) -> np.ndarray:
    """``(len(products), len(FEATURE_NAMES))`` float32 features for catalog positions."""
    at = user.at if at is None else at
    products = np.asarray(products, dtype=np.int64)
    pf = (
        product_features
        if product_features.at == at
        else dataclasses.replace(product_features, at=at)
    )
    n = len(products)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    category = catalog.category_code[products]
    brand = catalog.brand_code[products]
    price = catalog.price[products]

    def put(name: str, values: np.ndarray | float) -> None:
        out[:, FEATURE_INDEX[name]] = values

    for label in ("1d", "14d"):
        put(
            f"category_affinity_{label}",
            _by_code(user.category_affinity.get(label, {}), catalog.categories)[category],
        )
        put(
            f"brand_affinity_{label}",
            _by_code(user.brand_affinity.get(label, {}), catalog.brands)[brand],
        )
    put(
        "category_share_14d",
        _by_code(_share(user.category_affinity.get("14d", {})), catalog.categories)[category],
    )
    put(
        "brand_share_14d",
        _by_code(_share(user.brand_affinity.get("14d", {})), catalog.brands)[brand],
    )
    whole_categories = user.category_affinity.get("all", {})
    put(
        "log_category_affinity_all",
        np.log1p(_by_code(whole_categories, catalog.categories)[category]),
    )
    put("category_share_all", _by_code(_share(whole_categories), catalog.categories)[category])
    put(
        "brand_share_all",
        _by_code(_share(user.brand_affinity.get("all", {})), catalog.brands)[brand],
    )
    put(
        "liked_category",
        _by_code(dict.fromkeys(user.liked_categories, 1.0), catalog.categories)[category],
    )
    put("followed_brand", _by_code(dict.fromkeys(user.followed_brands, 1.0), catalog.brands)[brand])

    recent_positions = catalog.index_of([item.product_id for item in user.recent])
    hours = np.full(n, NEVER_HOURS)
    rank = np.zeros(n)
    # Candidates × recent items (a few hundred × at most RECENT_CAP): where a product
    # is listed twice, its later entry counts (as in a dict built in list order).
    match = products[:, None] == recent_positions[None, :]
    seen = np.flatnonzero(match.any(axis=1))
    if len(seen):
        last = match.shape[1] - 1 - np.argmax(match[seen, ::-1], axis=1)
        ts = np.array([item.ts for item in user.recent])[last]
        hours[seen] = np.minimum(np.maximum(at - ts, 0.0) / HOUR, NEVER_HOURS)
        rank[seen] = np.array([RECENT_RANK[item.type] for item in user.recent])[last]
    purchased = catalog.index_of(list(user.purchased))
    bought = np.zeros(len(catalog) + 1)  # the last slot takes unknown ids (-1)
    bought[purchased] = 1.0
    bought = bought[products]
    put("interacted_before", (rank > 0).astype(np.float64))
    put("log_hours_since_interaction", np.log1p(hours))
    put("last_interaction_rank", rank)
    put("purchased_before", bought)

    put("price_z_viewed", _price_z(price, user.price_viewed))
    mean = user.price_viewed.mean
    put("price_ratio_viewed", price / mean if user.price_viewed.weight > 0 and mean > 0 else 1.0)
    put("price_z_bought", _price_z(price, user.price_bought))
    put("log_price", np.log1p(price))

    popularity_14d, views_14d, purchases_14d, popularity_1d, popularity_all = pf.decayed_columns(
        PRODUCT_COLUMNS, products
    ).T
    put("log_popularity_14d", np.log1p(popularity_14d))
    put("log_popularity_all", np.log1p(popularity_all))
    first_seen = pf.first_seen(products)
    days_in_log = np.where(np.isfinite(first_seen), np.maximum(at - first_seen, 0.0) / DAY, 0.0)
    put("log_days_in_log", np.log1p(days_in_log))
    put("log_popularity_all_per_day", np.log1p(popularity_all / np.maximum(days_in_log, 1.0)))
    put("log_views_14d", np.log1p(views_14d))
    put("log_purchases_14d", np.log1p(purchases_14d))
    put("trending", trending_of(popularity_1d, popularity_14d))
    put("log_popularity_1d", np.log1p(popularity_1d))
    put("conversion_rate", conversion_of(purchases_14d, views_14d))
    put("discount", catalog.discount[products])

    if user.recent:
        known = recent_positions[recent_positions >= 0]
        size = max(len(user.recent), 1)
        cat_counts = np.bincount(catalog.category_code[known], minlength=len(catalog.categories))
        brand_codes = catalog.brand_code[known]
        brand_counts = np.bincount(brand_codes[brand_codes >= 0], minlength=len(catalog.brands))
        put("recent_same_category_share", np.append(cat_counts, 0)[category] / size)
        put("recent_same_brand_share", np.append(brand_counts, 0)[brand] / size)

    launch = catalog.launch_ts[products]
    age_days = np.where(np.isnan(launch), UNKNOWN_AGE_DAYS, np.maximum(at - launch, 0.0) / 86400)
    put("log_days_since_launch", np.log1p(age_days))

    counts = user.counts
    put("log_views_24h", np.log1p(counts.get("24h", {}).get(EventType.VIEW, 0)))
    put("log_purchases_7d", np.log1p(counts.get("7d", {}).get(EventType.PURCHASE, 0)))
    put("log_events_1h", np.log1p(sum(counts.get("1h", {}).values())))
    return out.astype(np.float32)
