"""From the feature store's view (UserState, ProductFeatures) to retrieval's inputs.

The same functions run offline (states replayed from the log) and online (states read
from Redis), with the same ``TimeScales`` (the model's), so retrieval sees the same shopper
either way.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.events.rules import EventType
from features.state import ProductFeatures, UserState
from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals
from models.retrieval.time_scales import TimeScales

FloatArray = npt.NDArray[np.float64]

RECENT_ITEMS = 10
DEFAULT_SCALES = TimeScales()
# A stronger interaction says more about what the shopper wants next.
INTERACTION_WEIGHT: dict[str, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.5,
    EventType.ADD_TO_CART: 2.0,
    EventType.PURCHASE: 2.0,
}
DECLARED_INTEREST = 1.0  # weight of a followed brand / liked category (~ one view)


@lru_cache(maxsize=16)
def _index(names: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def _by_code(values: dict[str, float], names: tuple[str, ...]) -> FloatArray:
    out = np.zeros(len(names))
    index = _index(names)
    for name, value in values.items():
        i = index.get(name)
        if i is not None:
            out[i] += value
    return out


def last_activity(state: UserState) -> float:
    """When the shopper last did anything (the request time for a shopper with no events)."""
    times = [state.last_event_ts] if state.last_event_ts is not None else []
    times += [item.ts for item in state.recent[:1]]
    return min(max(times), state.at) if times else state.at


def signals_from_state(
    state: UserState, catalog: Catalog, scales: TimeScales = DEFAULT_SCALES
) -> ShopperSignals:
    """Recent products (most recent first, weighted by how long before the shopper's last
    activity they came) and category/brand affinity at ``scales``."""
    recent = state.recent[:RECENT_ITEMS]
    positions = catalog.index_of([item.product_id for item in recent])
    last = last_activity(state)
    weights = np.array(
        [
            INTERACTION_WEIGHT.get(item.type.value, 1.0)
            * 2.0 ** (-max(last - item.ts, 0.0) / scales.recent_half_life)
            for item in recent
        ],
        dtype=np.float64,
    )
    keep = positions >= 0
    affinity = scales.affinity_half_life
    categories = _by_code(state.category_affinity.get(affinity, {}), catalog.categories)
    categories += DECLARED_INTEREST * _by_code(
        dict.fromkeys(state.liked_categories, 1.0), catalog.categories
    )
    brands = _by_code(state.brand_affinity.get(affinity, {}), catalog.brands)
    brands += DECLARED_INTEREST * _by_code(
        dict.fromkeys(state.followed_brands, 1.0), catalog.brands
    )
    return ShopperSignals(
        recent=positions[keep],
        recent_weight=weights[keep] if len(weights) else np.zeros(0),
        category_affinity=categories,
        brand_affinity=brands,
    )


def snapshot_from_products(
    products: ProductFeatures, catalog: Catalog, scales: TimeScales = DEFAULT_SCALES
) -> RetrievalSnapshot:
    """Shop-wide popularity (at ``scales``) and trending rankings as of ``products.at``."""
    everything = np.arange(len(catalog), dtype=np.int64)
    # Trending = engagement over the last day, among products rising against their
    # fortnight: the raw rise ratio alone is topped by products with two events.
    rising = products.trending(everything) > 0
    return RetrievalSnapshot.build(
        at=products.at,
        popularity=products.popularity(scales.popularity_half_life, everything),
        trending=np.where(rising, products.popularity("1d", everything), 0.0),
        launch_ts=np.asarray(catalog.launch_ts, dtype=np.float64),
        category_code=catalog.category_code,
        brand_code=catalog.brand_code,
        new_product_seconds=scales.new_product_seconds,
    )
