"""Hand-made catalogs and comparisons shared by the feature-store tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.definitions import DAY, TIME_ORIGIN
from features.state import PriceProfile, ProductFeatures, UserState

BASE_TS = TIME_ORIGIN + 300 * DAY  # midnight UTC, so day/hour/10-minute buckets align
REL = 1e-6


def small_catalog() -> Catalog:
    """Five products; ids and names with the characters that could break a key layout."""
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": ["p1", "p:2", "p{3}", "p*4", "p 5"],
                "title": ["Trail shoe", "Road shoe", "Tote", "Rain jacket", "Cap"],
                "category": ["Trail Running", "Trail Running", "Bags:Totes", "{Jackets}", "Caps"],
                "brand": ["Nord", "Sol", None, "Nord", "Vent*"],
                "price": [120.0, 95.0, 40.0, 210.0, 0.0],
                "discount": [0.0, 0.1, 0.3, 0.0, 0.0],
                "launch_ts": [BASE_TS - 50 * DAY, BASE_TS - 5 * DAY, np.nan, BASE_TS, BASE_TS],
            }
        )
    )


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-9)


def _close_maps(a: dict[str, float], b: dict[str, float], what: str) -> None:
    assert a.keys() == b.keys(), what
    for key in a:
        assert close(a[key], b[key]), (what, key, a[key], b[key])


def _close_profile(a: PriceProfile, b: PriceProfile, what: str) -> None:
    assert close(a.weight, b.weight), (what, a, b)
    assert close(a.mean, b.mean), (what, a, b)
    assert math.isclose(a.std, b.std, rel_tol=1e-4, abs_tol=1e-3 * max(a.mean, 1.0)), (what, a, b)


def assert_same_state(online: UserState, offline: UserState) -> None:
    """Equal up to float rounding (rel 1e-6); a spread is a difference of two sums, so looser."""
    assert online.user_id == offline.user_id
    assert online.last_event_ts == offline.last_event_ts
    for label in online.category_affinity.keys() | offline.category_affinity.keys():
        _close_maps(
            online.category_affinity.get(label, {}),
            offline.category_affinity.get(label, {}),
            f"category {label}",
        )
        _close_maps(
            online.brand_affinity.get(label, {}),
            offline.brand_affinity.get(label, {}),
            f"brand {label}",
        )
    assert online.counts == offline.counts
    assert online.recent == offline.recent
    _close_profile(online.price_viewed, offline.price_viewed, "price_viewed")
    _close_profile(online.price_bought, offline.price_bought, "price_bought")
    assert online.purchased == offline.purchased
    assert online.followed_brands == offline.followed_brands
    assert online.liked_categories == offline.liked_categories


def assert_same_products(online: ProductFeatures, offline: ProductFeatures) -> None:
    positions = online.positions
    a, b = online.rows_for(positions), offline.rows_for(positions)
    assert np.array_equal(np.isneginf(a), np.isneginf(b))
    finite = np.isfinite(a)
    values_a = np.exp2(a[finite] - b[finite])  # ratio of the decayed values
    assert np.allclose(values_a, 1.0, rtol=REL, atol=0)
