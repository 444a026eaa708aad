"""Shoppers: who they are (region, age, signup), what they secretly like, what they declare.

Hidden tastes are a sparse Dirichlet over categories (a few categories per shopper) that
drifts towards a second sparse vector over the period, brand affinities for a handful of
brands (and the odd dislike), a price sensitivity and an activity level. The declared
interests in ``users.parquet`` are a noisy, partial view of those tastes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from world.catalog import CATEGORY_DEPARTMENT, Catalog
from world.config import DAY, WorldConfig
from world.vocabulary import AGE_BANDS, CATEGORIES, DEPARTMENTS, REGIONS


@dataclass(frozen=True)
class Shoppers:
    user_ids: np.ndarray  # str
    region: np.ndarray  # int index into REGIONS
    age_band: np.ndarray  # int index into AGE_BANDS
    signup_ts: np.ndarray
    taste_start: np.ndarray  # (users, categories), rows sum to 1
    taste_end: np.ndarray  # where each shopper's tastes drift to by the end of the period
    drift: np.ndarray  # how far along that path a shopper gets, 0..1
    price_sensitivity: np.ndarray
    activity: np.ndarray  # relative session rate, mean 1
    affinity_user: np.ndarray  # sparse brand affinities: (user, brand, value) triples
    affinity_brand: np.ndarray
    affinity_value: np.ndarray
    brands_followed: list[list[str]]
    categories_liked: list[list[str]]

    @property
    def size(self) -> int:
        return len(self.user_ids)

    def to_table(self) -> pa.Table:
        return pa.table(
            {
                "user_id": pa.array(self.user_ids, pa.string()),
                "region": pa.array(np.array(REGIONS)[self.region], pa.string()),
                "age_band": pa.array(np.array(AGE_BANDS)[self.age_band], pa.string()),
                "signup_ts": pa.array(self.signup_ts, pa.float64()),
                "brands_followed": pa.array(self.brands_followed, pa.list_(pa.string())),
                "categories_liked": pa.array(self.categories_liked, pa.list_(pa.string())),
            }
        )


def category_prior(rng: np.random.Generator, region: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Per-shopper odds over categories: a shop-wide base tilted by region and age band."""
    n_depts = len(DEPARTMENTS)
    base = rng.gamma(2.0, size=len(CATEGORIES))
    region_tilt = rng.lognormal(0.0, 0.4, size=(len(REGIONS), n_depts))
    age_tilt = rng.lognormal(0.0, 0.4, size=(len(AGE_BANDS), n_depts))
    tilt = region_tilt[region][:, CATEGORY_DEPARTMENT] * age_tilt[age][:, CATEGORY_DEPARTMENT]
    prior = base[None, :] * tilt
    return np.asarray(prior / prior.sum(axis=1, keepdims=True))


def _sparse_tastes(rng: np.random.Generator, prior: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """A few categories per shopper (clustered by department), Dirichlet weights over them."""
    n, n_cats = prior.shape
    with np.errstate(divide="ignore"):  # zero prior: a category the shopper cannot pick
        log_prior = np.log(prior)
    first = np.argmax(log_prior + rng.gumbel(size=prior.shape), axis=1)
    same_dept = CATEGORY_DEPARTMENT[None, :] == CATEGORY_DEPARTMENT[first][:, None]
    score = log_prior + np.log1p(4.0 * same_dept) + rng.gumbel(size=prior.shape)
    score[np.arange(n), first] = np.inf
    rank = np.argsort(np.argsort(-score, axis=1), axis=1)
    chosen = rank < picks[:, None]
    weights = np.where(chosen, rng.gamma(1.0, size=(n, n_cats)) + 1e-3, 0.0)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True))


def build_shoppers(config: WorldConfig, catalog: Catalog, rng: np.random.Generator) -> Shoppers:
    n = config.users
    region = rng.integers(0, len(REGIONS), size=n)
    age = rng.choice(len(AGE_BANDS), size=n, p=[0.14, 0.27, 0.23, 0.17, 0.12, 0.07])
    newcomer = rng.random(n) < 0.12
    signup_ts = np.round(
        np.where(
            newcomer,
            config.start_ts + rng.uniform(0.0, config.days - 1.0, size=n) * DAY,
            config.start_ts - rng.uniform(1.0, 1_000.0, size=n) * DAY,
        ),
        3,
    )

    prior = category_prior(rng, region, age)
    picks = 1 + np.minimum(rng.poisson(1.2, size=n), 4)
    taste_start = _sparse_tastes(rng, prior, picks)
    # Drift: part of the mass moves towards one new category and reshuffles the rest.
    fresh = _sparse_tastes(rng, prior * (taste_start == 0), np.ones(n, dtype=np.int64))
    reshuffled = taste_start * rng.gamma(2.0, size=taste_start.shape)
    reshuffled /= reshuffled.sum(axis=1, keepdims=True)
    taste_end = 0.6 * reshuffled + 0.4 * fresh
    drift = rng.beta(2.0, 3.0, size=n)

    young = (age <= 1).astype(np.float64)
    price_sensitivity = rng.lognormal(0.0, 0.5, size=n) * (1.0 + 0.3 * young)
    activity = rng.lognormal(0.0, 0.9, size=n)
    activity /= activity.mean()

    aff_user, aff_brand, aff_value = _brand_affinities(rng, catalog, taste_start)
    brands_followed, categories_liked = _declared(
        rng, catalog, taste_start, aff_user, aff_brand, aff_value
    )
    return Shoppers(
        user_ids=np.array([f"u{i + 1:06d}" for i in range(n)]),
        region=region,
        age_band=age,
        signup_ts=signup_ts,
        taste_start=taste_start,
        taste_end=taste_end,
        drift=drift,
        price_sensitivity=price_sensitivity,
        activity=activity,
        affinity_user=aff_user,
        affinity_brand=aff_brand,
        affinity_value=aff_value,
        brands_followed=brands_followed,
        categories_liked=categories_liked,
    )


def _brand_affinities(
    rng: np.random.Generator, catalog: Catalog, taste: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One or two favourite brands per liked category, plus an occasional disliked brand."""
    pair_users, pair_cats = np.nonzero(taste)
    second = rng.random(len(pair_users)) < 0.5
    users = np.concatenate([pair_users, pair_users[second]])
    cats = np.concatenate([pair_cats, pair_cats[second]])
    brands = np.empty(len(users), dtype=np.int64)
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(cats == c)
        makers, counts = np.unique(catalog.brand[catalog.category == c], return_counts=True)
        if len(rows) and len(makers):
            brands[rows] = rng.choice(makers, size=len(rows), p=counts / counts.sum())
        elif len(rows):
            brands[rows] = -1
    values = np.clip(rng.normal(1.0, 0.35, size=len(users)), 0.2, None)
    n_brands = len(catalog.brand_names)
    dislikers = np.flatnonzero(rng.random(taste.shape[0]) < 0.2)
    users = np.concatenate([users, dislikers])
    on_sale = np.unique(catalog.brand)
    disliked = on_sale[rng.integers(0, on_sale.size, size=len(dislikers))]
    brands = np.concatenate([brands, disliked])
    values = np.concatenate([values, -rng.uniform(0.5, 1.2, size=len(dislikers))])
    keep = brands >= 0
    key = users[keep] * n_brands + brands[keep]
    # A brand drawn twice for a shopper keeps its first value.
    unique_key, first = np.unique(key, return_index=True)
    return unique_key // n_brands, unique_key % n_brands, values[keep][first]


def _declared(
    rng: np.random.Generator,
    catalog: Catalog,
    taste: np.ndarray,
    aff_user: np.ndarray,
    aff_brand: np.ndarray,
    aff_value: np.ndarray,
) -> tuple[list[list[str]], list[list[str]]]:
    n, n_cats = taste.shape
    cat_names = [c.name for c in CATEGORIES]
    liked = (taste >= 0.2) & (rng.random(taste.shape) < 0.75)
    noisy = np.flatnonzero(rng.random(n) < 0.15)
    liked[noisy, rng.integers(0, n_cats, size=noisy.size)] = True
    categories = [[cat_names[c] for c in np.flatnonzero(row)] for row in liked]

    follow = (aff_value > 0) & (rng.random(len(aff_value)) < 0.45)
    f_user, f_brand = aff_user[follow], aff_brand[follow]
    extra = np.flatnonzero(rng.random(n) < 0.1)
    f_user = np.concatenate([f_user, extra])
    on_sale = np.unique(catalog.brand)
    f_brand = np.concatenate([f_brand, on_sale[rng.integers(0, on_sale.size, len(extra))]])
    order = np.lexsort((f_brand, f_user))
    f_user, f_brand = f_user[order], f_brand[order]
    bounds = np.searchsorted(f_user, np.arange(n + 1))
    names = catalog.brand_names
    brands = [sorted({str(names[b]) for b in f_brand[bounds[u] : bounds[u + 1]]}) for u in range(n)]
    return brands, categories
