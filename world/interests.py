"""Interest events over time: shoppers follow brands and like categories now and then.

They mostly follow a brand they have an affinity for and like a category they currently
care about (drift included); some are noise, as in any real shop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from world.config import DAY, WorldConfig
from world.truth import Truth

DAILY_CHANCE = 0.012  # per day, for a shopper of average activity
NOISE = 0.2


@dataclass(frozen=True)
class InterestEvents:
    user: np.ndarray
    ts: np.ndarray
    is_follow: np.ndarray  # True: follow_brand, False: like_category
    brand: np.ndarray  # -1 for like_category
    category: np.ndarray  # -1 for follow_brand


def interest_events(
    config: WorldConfig, truth: Truth, signup_ts: np.ndarray, rng: np.random.Generator
) -> InterestEvents:
    n_users, days = truth.user_ids.size, config.days
    day_starts = config.start_ts + DAY * np.arange(days)
    chance = np.clip(DAILY_CHANCE * truth.activity, 0.0, 0.5)[:, None]
    happens = (rng.random((n_users, days)) < chance) & (signup_ts[:, None] < day_starts[None, :])
    user, day = np.nonzero(happens)
    ts = np.round(day_starts[day] + rng.uniform(60.0, DAY - 60.0, size=user.size), 3)
    is_follow = rng.random(user.size) < 0.5
    noisy = rng.random(user.size) < NOISE
    n_brands, n_cats = truth.brand_names.size, truth.taste_start.shape[1]

    # A followed brand: one the shopper likes, if any; otherwise (or as noise) any brand on sale.
    key_user = truth.affinity_key // n_brands
    liked = truth.affinity_value > 0
    lo = np.searchsorted(key_user, user)
    hi = np.searchsorted(key_user, user, side="right")
    pick = lo + np.floor(rng.random(user.size) * (hi - lo)).astype(np.int64)
    pick = np.minimum(pick, truth.affinity_key.size - 1)
    has_liked = (hi > lo) & liked[pick]
    on_sale = np.unique(truth.brand)  # noise only among brands the shop actually sells
    anything = on_sale[rng.integers(0, on_sale.size, user.size)]
    brand = np.where(has_liked & ~noisy, truth.affinity_key[pick] % n_brands, anything)

    tastes = truth.tastes_at(user, ts)
    in_taste = np.argmax(np.cumsum(tastes, axis=1) > rng.random(user.size)[:, None], axis=1)
    category = np.where(noisy, rng.integers(0, n_cats, user.size), in_taste)
    return InterestEvents(
        user=user,
        ts=ts,
        is_follow=is_follow,
        brand=np.where(is_follow, brand, -1),
        category=np.where(is_follow, -1, category),
    )
